#!/usr/bin/env bash
# tokman verify on PostgreSQL beside the floor (psql sending the very statements one verify
# sends, over the same kind of connection), on a throwaway cluster of its own, in one run.
#
#   benches/pg_verify.sh                        # full run, ~4 min (+ ~1 min the first time:
#                                               #   the 100,000-token SQLite store is cached)
#   BIG=0 RUNS=16 benches/pg_verify.sh          # 1,000 tokens only, fewer repetitions
#   BEFORE_BIN=/path/to/old/tokman benches/pg_verify.sh   # add an older build's verify beside
#
# Knobs: RUNS (timed runs of each command, default 40), ROUNDS (they are spread over this many
# hyperfine calls that follow each other, so that machine noise falls on every command alike;
# default 20), PGBENCH_TX (pgbench transactions between two rounds, 10), STREAM_LINES (5000),
# STREAM_RUNS (5, one a round), BIG (1: also 100,000 tokens), BENCH_DIR (the SQLite store
# cache, default $CARGO_TARGET_DIR/bench-pg), PG_BIN (default: the highest
# /usr/lib/postgresql/*/bin).
#
# Needs: cargo, PostgreSQL server binaries with psql and pgbench (apt-get install postgresql),
# openssl, hyperfine, GNU time (apt-get install hyperfine time); strace for the client-side
# round-trip count (optional). As root, the server side (openssl for its key, initdb, pg_ctl)
# runs as the `postgres` user through `runuser -u postgres --`.
#
# What it does:
#  1. starts a cluster in a fresh /tmp/tokman-pgbench.XXXXXX (data, socket, TLS key, log) on a
#     free port of 127.0.0.1: TLS on with a self-signed certificate (openssl), fsync,
#     synchronous_commit and full_page_writes on (the defaults: a real server), TCP only with
#     TLS (hostssl), SCRAM-SHA-256 passwords on TCP and on the socket; a role `bench` with a
#     password, databases tok1k (and tok100k). A trap stops it and removes the directory on
#     exit, however the script ends.
#  2. tok1k: `tokman init --new-key-file`, then 1,000 `tokman generate` (one process each, over
#     the socket). tok100k (BIG=1): a SQLite store of 100,000 tokens made by benches/mkstore.rs
#     (10% expired, 1% revoked; cached) copied in with `tokman copy --to URL`.
#  3. times, per store, in ROUNDS hyperfine calls: `tokman verify` over TCP+TLS
#     (sslmode=require) and over the Unix socket; psql sending the statements of one verify
#     (the floor; written out by floor_sql below), one request each as tokman sends them; psql
#     sending them all in one request; psql running `SELECT 1` (process + connection);
#     `tokman --version` (process start); on tok100k, verify on the SQLite original. Between
#     the hyperfine calls, pgbench runs the same statements, on one open connection and with
#     a new connection each time (-C): the database work without any process start.
#  4. one verify of each kind (and psql's floor, and 640 lines of verify --stream) with
#     log_min_duration_statement=0: each message the server saw, its server-side time, the
#     round trips they make; with strace, the round trips the client waited on, connection
#     set-up included.
#  5. `verify --stream`: STREAM_LINES copies of one token (no rate limit) on stdin, its slot
#     last touched by another process less than a minute before (as on any busy store) and
#     more than a minute before; and STREAM_LINES lines cycling through all 1,000 tokens.
#  6. peak RSS of one verify and one stream (GNU time), and what the run's updates did to the
#     tokens table (HOT or not).
#
# Every timing is the median of RUNS runs (wall time, shell spawn subtracted by hyperfine).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CACHE=${BENCH_DIR:-$TARGET/bench-pg}
RUNS=${RUNS:-40}
ROUNDS=${ROUNDS:-20}
STREAM_RUNS=${STREAM_RUNS:-5}
STREAM_LINES=${STREAM_LINES:-5000}
BIG=${BIG:-1}
BEFORE_BIN=${BEFORE_BIN:-}
if [ -z "${PG_BIN:-}" ]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
fi

die() { echo "pg_verify.sh: $*" >&2; exit 1; }
for tool in cargo openssl hyperfine awk; do
    command -v "$tool" >/dev/null || die "$tool not found"
done
for tool in initdb pg_ctl postgres psql pgbench; do
    [ -x "$PG_BIN/$tool" ] || die "no $tool in '$PG_BIN' (set PG_BIN)"
done
# psql and pgbench from the server's bin directory: Debian's /usr/bin/psql is a Perl wrapper
# that costs ~20 ms a start.
PSQL_BIN=$PG_BIN/psql
PGBENCH=$PG_BIN/pgbench
[ -z "$BEFORE_BIN" ] || [ -x "$BEFORE_BIN" ] || die "BEFORE_BIN=$BEFORE_BIN is not executable"
[ $((RUNS % ROUNDS)) = 0 ] || die "RUNS ($RUNS) must be a multiple of ROUNDS ($ROUNDS)"
TIME_V=/usr/bin/time
[ -x "$TIME_V" ] || { echo "pg_verify.sh: no /usr/bin/time (apt-get install time); RSS not measured" >&2; TIME_V=; }
STRACE=$(command -v strace || true)
AS_PG=()
if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- true 2>/dev/null || die "running as root but cannot runuser -u postgres"
    AS_PG=(runuser -u postgres --)
fi

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- build ----------------------------------------------------------------------------------
cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet
BIN=$TARGET/release/tokman
if [ "$BIG" = 1 ]; then
    MKSTORE=$(cargo bench --no-run --bench mkstore --message-format=json 2>/dev/null |
        grep -o '"executable":"[^"]*mkstore[^"]*"' | tail -1 | sed 's/"executable":"\(.*\)"/\1/')
    [ -x "$MKSTORE" ] || die "could not build benches/mkstore.rs"
fi

# ---- the throwaway cluster -----------------------------------------------------------------
BASE=$(mktemp -d /tmp/tokman-pgbench.XXXXXX)
DATA=$BASE/data SOCK=$BASE/sock TLS=$BASE/tls LOG=$BASE/log/server.log W=$BASE/client
cleanup() {
    if [ -f "$DATA/postmaster.pid" ]; then
        "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$DATA" stop -m immediate -w >/dev/null 2>&1 || true
    fi
    rm -rf "$BASE"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$DATA" "$SOCK" "$TLS" "$BASE/log" "$W"
chmod 755 "$BASE"
chmod 700 "$DATA" "$W"
[ ${#AS_PG[@]} = 0 ] || chown postgres: "$DATA" "$SOCK" "$TLS" "$BASE/log"

# Nothing from the caller's environment may point tokman or libpq elsewhere.
unset TOKMAN_STORE TOKMAN_KEY_FILE TOKMAN_PASSPHRASE TOKMAN_PASSPHRASE_FILE TOKMAN_NEW_PASSPHRASE
for v in $(env | grep -o '^PG[A-Z_]*=' | tr -d = | grep -vx PG_BIN || true); do unset "$v"; done
export HOME=$W PGPASSFILE=$W/no-pgpass PGGSSENCMODE=disable PGAPPNAME=psql
PASS=$(openssl rand -hex 16)

echo "== cluster in $BASE" >&2
(cd "$TLS" && "${AS_PG[@]}" openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -nodes -keyout server.key -out server.crt -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null && chmod 600 server.key)
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=reject \
    -E UTF8 --locale=C >/dev/null
cat >>"$DATA/postgresql.conf" <<EOF

# benches/pg_verify.sh; everything else as initdb left it (fsync, synchronous_commit and
# full_page_writes on, shared_buffers 128MB)
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCK'
ssl = on
ssl_cert_file = '$TLS/server.crt'
ssl_key_file = '$TLS/server.key'
password_encryption = 'scram-sha-256'
lc_messages = 'C'
log_line_prefix = '%m [%p] %a '
EOF
cat >"$DATA/pg_hba.conf" <<EOF
# benches/pg_verify.sh: the superuser on the socket only (setup and logging switches); every
# other role with a password, and over TCP only with TLS.
local   all     postgres                    trust
local   all     all                         scram-sha-256
hostssl all     all         127.0.0.1/32    scram-sha-256
EOF
PORT=
for _ in 1 2 3 4 5; do
    p=$(shuf -i 20000-60000 -n 1)
    [ "$p" = 55432 ] && continue
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue # taken
    if "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $p" -w -t 60 start >/dev/null; then
        PORT=$p
        break
    fi
done
[ -n "$PORT" ] || die "the cluster did not start (log: $(tail -5 "$LOG" 2>/dev/null))"
su_sql() { "$PSQL_BIN" -X -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d postgres -c "$1" >/dev/null; }
su_sql "CREATE ROLE bench LOGIN PASSWORD '$PASS'"
su_sql "CREATE DATABASE tok1k OWNER bench"
[ "$BIG" = 0 ] || su_sql "CREATE DATABASE tok100k OWNER bench"
export PGPASSWORD=$PASS

# URLs for tokman and conninfo strings for libpq, per database and connection kind. The socket
# directory is the URL's host, percent-encoded (libpq's form, which every tokman reads).
url_tcp() { echo "postgres://bench@127.0.0.1:$PORT/$1?sslmode=require"; }
url_sock() { echo "postgres://bench@${SOCK//\//%2F}:$PORT/$1?sslmode=disable"; }
ci_tcp() { echo "host=127.0.0.1 port=$PORT dbname=$1 user=bench sslmode=require"; }
ci_sock() { echo "host=$SOCK port=$PORT dbname=$1 user=bench sslmode=disable"; }
KINDS=(tcp sock)
declare -A KIND_NAME=([tcp]="TCP+TLS" [sock]="Unix socket")
PSQL="$PSQL_BIN -X -q -v ON_ERROR_STOP=1"
cd "$W"

# ---- stores ---------------------------------------------------------------------------------
echo "== tok1k: tokman init + 1,000 tokman generate (socket)" >&2
"$BIN" --store "$(url_sock tok1k)" init --new-key-file k1k >/dev/null 2>init.err ||
    die "tokman init failed: $(cat init.err)"
t0=$(date +%s%N)
for i in $(seq -w 1 1000); do
    "$BIN" --key-file k1k --store "$(url_sock tok1k)" generate "user-$i" --name "service $i" --json
done | grep -o '"token": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' >tok1k.all
GEN_MS=$((($(date +%s%N) - t0) / 1000000))
[ "$(wc -l <tok1k.all)" = 1000 ] || die "generate made $(wc -l <tok1k.all) tokens, not 1000"
sed -n 7p tok1k.all >tok1k.one

if [ "$BIG" = 1 ]; then
    mkdir -p "$CACHE"
    if [ ! -s "$CACHE/s100000.tok" ]; then
        echo "== building the 100,000-token SQLite store in $CACHE (once)" >&2
        rm -f "$CACHE"/s100000.*
        "$BIN" --store "$CACHE/s100000.db" init --new-key-file "$CACHE/s100000.key" >/dev/null 2>&1
        "$MKSTORE" "$CACHE/s100000.db" "$CACHE/s100000.key" 100000 "$CACHE/s100000.tok" 10 1
    fi
    # A private copy: the SQLite verify below writes to it.
    cp "$CACHE/s100000.db" s100k.db
    install -m 600 "$CACHE/s100000.key" k100k
    awk '$1 == "active" && ++i == 7 { print $2; exit }' "$CACHE/s100000.tok" >tok100k.one
    echo "== tok100k: tokman copy --to (socket)" >&2
    t0=$(date +%s%N)
    "$BIN" --key-file k100k --store s100k.db copy --to "$(url_sock tok100k)" --yes >/dev/null 2>copy.err ||
        die "tokman copy failed: $(cat copy.err)"
    COPY_MS=$((($(date +%s%N) - t0) / 1000000))
    su_sql "VACUUM ANALYZE" # as autovacuum would have by now on a store that old
fi
DBS=(tok1k)
[ "$BIG" = 0 ] || DBS+=(tok100k)

# ---- the floor: the statements of one verify, as psql sends them ------------------------------
# The floor sends exactly what one `tokman verify` sends, taken from the server's log of one
# verify of the same token (log_min_duration_statement=0 logs every request, and the values of
# its parameters): each Execute (query_typed: Parse + Bind + Execute in one request) and each
# simple Query (batch_execute), in order, with the logged values put in place of $1, $2, ...
# A simple Query of several statements (BEGIN; SET LOCAL ...; SELECT ... FOR UPDATE) stays one
# request, with psql's `\;`. The replayed UPDATE of `usage` writes back the sealed value of the
# logged run (usage is outside the integrity root: the token stays valid for the tokman runs
# that alternate with these).
log_on() {
    su_sql "ALTER SYSTEM SET log_min_duration_statement = 0"
    su_sql "ALTER SYSTEM SET log_disconnections = on"
    su_sql "SELECT pg_reload_conf()"
    sleep 0.5
}
log_off() {
    su_sql "ALTER SYSTEM RESET log_min_duration_statement"
    su_sql "ALTER SYSTEM RESET log_disconnections"
    su_sql "SELECT pg_reload_conf()"
}
# logged CMD: run CMD (one client) and leave what the server logged meanwhile in $W/one.log.
logged() {
    local from
    from=$(($(stat -c %s "$LOG") + 1))
    bash -c "$1" >/dev/null 2>&1 || die "failed: $1"
    sleep 0.3
    tail -c +"$from" "$LOG" >"$W/one.log"
}
# floor_from_log SEP < one.log: the requests, one a line, each ended by SEP (";": one request
# each; "\;": all in one request, where a statement before the first BEGIN goes after it, since
# BEGIN ISOLATION LEVEL refuses to follow a statement of the same request).
floor_from_log() {
    awk -v sep="$1" '
        function flush() { if (have) out[++n] = sql; have = 0 }
        / duration: [0-9.]+ ms  (parse|bind) / { flush(); next }
        / duration: [0-9.]+ ms  (execute [^:]*|statement): / {
            flush()
            sql = $0; sub(/.* ms  (execute [^:]*|statement): /, "", sql)
            gsub(/;[ ]*/, "\\\\; ", sql); sub(/\\; $/, "", sql)
            have = 1; next
        }
        / DETAIL:  parameters: / && have {
            p = $0; sub(/.* DETAIL:  parameters: /, "", p)
            delete v
            while (match(p, /\$[0-9]+ = (NULL|\047[^\047]*\047)/)) {
                item = substr(p, RSTART, RLENGTH); p = substr(p, RSTART + RLENGTH)
                k = item; sub(/^\$/, "", k); sub(/ = .*/, "", k)
                val = item; sub(/^\$[0-9]+ = /, "", val)
                gsub(/\\/, "\\\\\\\\", val); gsub(/&/, "\\\\\\&", val)
                v[k + 0] = val
            }
            for (k = 9; k >= 1; k--) if (k in v) gsub("\\$" k, v[k], sql)
        }
        END {
            flush()
            if (sep != ";" && out[1] !~ /^BEGIN/ && out[2] ~ /^BEGIN/) { t = out[1]; out[1] = out[2]; out[2] = t }
            for (i = 1; i <= n; i++) print out[i] (i < n ? sep : ";")
        }'
}
log_on
for db in "${DBS[@]}"; do
    logged "$BIN --key-file k${db#tok} --store '$(url_sock "$db")' verify < $db.one"
    floor_from_log ";" <"$W/one.log" >"$db.floor.sql"
    floor_from_log "\\;" <"$W/one.log" >"$db.floor1.sql"
    [ "$(grep -c . "$db.floor.sql")" -ge 10 ] && ! grep -q '\$[0-9]' "$db.floor.sql" ||
        die "could not read one verify's statements from the server log ($db.floor.sql)"
done
log_off
for db in "${DBS[@]}"; do
    for f in "$db.floor.sql" "$db.floor1.sql"; do # each must run clean and find its rows
        [ "$($PSQL -At "$(ci_sock "$db")" -f "$f" | grep -c .)" -ge 8 ] ||
            die "$f did not return the rows of one verify"
    done
done

# ---- timing helpers -------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { sort -g | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m }'; }
# medians RUNS ROUNDS CMD...: per command, one line: the median wall time and the mean CPU
# time (user + system) in ms. hyperfine runs all of one command's runs before the next
# command's: the runs are spread over ROUNDS hyperfine calls one after another, so that what
# else the machine does falls on every command alike. Between the calls runs $ROUND_HOOK if
# set; PREPARES, if set, holds one --prepare command per CMD.
medians() {
    local runs=$1 rounds=$2 r i args=()
    shift 2
    for i in "${PREPARES[@]}"; do args+=(--prepare "$i"); done
    [ ${#args[@]} -gt 0 ] || args=(--warmup 1)
    rm -f "$W"/t.* "$W"/c.*
    for ((r = 0; r < rounds; r++)); do
        hyperfine --style none --runs $((runs / rounds)) "${args[@]}" --export-json "$W/h.json" "$@" \
            >/dev/null 2>&1 || die "hyperfine failed on one of: $*"
        awk -v dir="$W" '/"command":/ { n++ }
            /"(user|system)":/ { v = $2; gsub(/,/, "", v); print v * 1000 >> (dir "/c." n) }
            /"times": \[/ { on = 1; next }
            on && /\]/ { on = 0 }
            on { gsub(/[ ,]/, ""); print $0 * 1000 >> (dir "/t." n) }' "$W/h.json"
        [ -z "${ROUND_HOOK:-}" ] || "$ROUND_HOOK"
    done
    for ((i = 1; i <= $#; i++)); do
        printf '%s %s\n' "$(median <"$W/t.$i")" "$(awk '{ s += $1 } END { printf "%.1f", 2 * s / NR }' "$W/c.$i")"
    done
}
PREPARES=() ROUND_HOOK=
# rss CMD: peak RSS in MB of one run.
rss() {
    [ -n "$TIME_V" ] || { echo "-"; return; }
    "$TIME_V" -v bash -c "exec $1" 2>&1 >/dev/null |
        awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }'
}
# pgbench_latency FILE CONNINFO [-C]: ms a transaction of FILE, from pgbench's own report.
pgbench_latency() {
    "$PGBENCH" -n -t "$PGBENCH_TX" ${3:-} -f "$1" "$2" 2>&1 |
        awk '/^latency average/ { print $4 }' | grep . || die "pgbench failed on $1 ($2)"
}
PGBENCH_TX=${PGBENCH_TX:-10}
# Set the key-file slot's last_used_at to just now (as another verify would have: every
# touch_slot of a stream then matches no row) or to an hour ago (the stream's first touch
# writes, and it skips the rest for a minute).
SLOT_SQL="UPDATE tokman_slots SET last_used_at = extract(epoch FROM now())::bigint"
SLOT_RECENT="$PSQL '$(ci_sock tok1k)' -c '$SLOT_SQL'"
SLOT_OLD="$PSQL '$(ci_sock tok1k)' -c '$SLOT_SQL - 3600'"

# ---- verify beside the floor ----------------------------------------------------------------
ROWS=() UNDER=() BEFORE_ROWS=() VERSION_MS=()
time_store() { # DB LABEL [SQLITE_STORE]
    local db=$1 label=$2 sqlite=${3:-} n=${1#tok} kind i
    local names=() cmds=()
    add() { names+=("$1"); cmds+=("$2"); }
    for kind in "${KINDS[@]}"; do
        add "verify $kind" "$BIN --key-file k$n --store '$(url_$kind "$db")' verify < $db.one"
        add "floor $kind" "$PSQL '$(ci_$kind "$db")' -f $db.floor.sql"
        add "one $kind" "$PSQL '$(ci_$kind "$db")' -f $db.floor1.sql"
        add "connect $kind" "$PSQL '$(ci_$kind "$db")' -c 'SELECT 1'"
        [ -z "$BEFORE_BIN" ] ||
            add "before $kind" "$BEFORE_BIN --key-file k$n --store '$(url_$kind "$db")' verify < $db.one"
    done
    add version "$BIN --version"
    [ -z "$sqlite" ] || add sqlite "$BIN --key-file k$n --store $sqlite verify < $db.one"
    # Every command must succeed (a verify: answer "valid", exit 0) before it is timed.
    for i in "${!cmds[@]}"; do bash -c "${cmds[$i]}" >/dev/null 2>&1 || die "failed: ${cmds[$i]}"; done
    echo "== $label: ${#cmds[@]} commands, $RUNS runs each in $ROUNDS rounds, pgbench between" >&2
    # pgbench between the rounds: the statements on one open connection, and with a new
    # connection for each (-C), per kind.
    rm -f "$W"/pgb.*
    pgbench_round() {
        local k
        for k in "${KINDS[@]}"; do
            pgbench_latency "$db.floor.sql" "$(ci_$k "$db")" >>"$W/pgb.warm.$k"
            pgbench_latency "$db.floor.sql" "$(ci_$k "$db")" -C >>"$W/pgb.conn.$k"
        done
    }
    local -A m c cpu
    ROUND_HOOK=pgbench_round
    mapfile -t got < <(medians "$RUNS" "$ROUNDS" "${cmds[@]}")
    ROUND_HOOK=
    [ "${#got[@]}" = "${#cmds[@]}" ] || die "timing $label failed"
    for i in "${!names[@]}"; do
        m[${names[$i]}]=${got[$i]% *}
        cpu[${names[$i]}]=${got[$i]#* }
        c[${names[$i]}]=${cmds[$i]}
    done
    VERSION_MS+=("${m[version]}")
    for kind in "${KINDS[@]}"; do
        local warm conn
        warm=$(median <"$W/pgb.warm.$kind")
        conn=$(median <"$W/pgb.conn.$kind")
        ROWS+=("| verify, $label, ${KIND_NAME[$kind]} | ${m[verify $kind]} ms (CPU ${cpu[verify $kind]}) | ${m[floor $kind]} ms (CPU ${cpu[floor $kind]}) | **$(ratio "${m[verify $kind]}" "${m[floor $kind]}")** | $(ratio "${m[verify $kind]}" "${m[version]}") | $(rss "${c[verify $kind]}") MB |")
        UNDER+=("| $label, ${KIND_NAME[$kind]} | ${m[one $kind]} ms | ${m[connect $kind]} ms | $conn ms | $warm ms | $(ratio "${m[floor $kind]}" "${m[one $kind]}") | $(ratio "${m[verify $kind]}" "$warm") |")
        [ -z "$BEFORE_BIN" ] ||
            BEFORE_ROWS+=("| verify, $label, ${KIND_NAME[$kind]} | ${m[before $kind]} ms | ${m[verify $kind]} ms | $(ratio "${m[verify $kind]}" "${m[before $kind]}") |")
    done
    [ -z "$sqlite" ] ||
        ROWS+=("| verify, $label, SQLite file (the same rows; reference) | ${m[sqlite]} ms (CPU ${cpu[sqlite]}) | - | - | $(ratio "${m[sqlite]}" "${m[version]}") | $(rss "${c[sqlite]}") MB |")
    return 0
}
time_store tok1k "1,000 tokens"
[ "$BIG" = 0 ] || time_store tok100k "100,000 tokens" s100k.db

# ---- where one verify's time goes: its messages and round trips --------------------------------
# With log_min_duration_statement=0 the server logs each Parse, Bind and Execute message of the
# extended protocol and each simple Query, with its server-side time. Round trips (one per
# Sync the client waits on): a simple Query (batch_execute; psql) is one; an Execute is one,
# with the Parse and Bind sent along (query_typed) or the Bind of a prepared statement; a Parse
# of a named statement (s0, s1, ...: Client::prepare, Parse+Describe+Sync) is one of its own.
# The connection's set-up is not logged; strace counts every round trip the client waits on.
echo "== round trips (server log, strace)" >&2
log_on
TRIPS=() STATEMENTS=
trips() { # LABEL CMD
    local client=-
    logged "$2"
    if [ -n "$STRACE" ]; then
        # Each time the client, having sent, next reads something: one round trip.
        "$STRACE" -f -qq -e trace=sendto,recvfrom,sendmsg,recvmsg -o "$W/one.strace" bash -c "exec $2" >/dev/null 2>&1
        client=$(awk '/send(to|msg)\(/ { sent = 1 } /recv(from|msg)\(/ && !/= -1/ { if (sent) n++; sent = 0 } END { print n + 0 }' "$W/one.strace")
    fi
    awk -v label="$1" -v client="$client" '
        / duration: / {
            ms = $0; sub(/.* duration: /, "", ms); sub(/ ms.*/, "", ms); server += ms
            if ($0 ~ / ms  parse <unnamed>/) parse_u++
            else if ($0 ~ / ms  parse /) parse_n++
            else if ($0 ~ / ms  execute /) exec++
            else if ($0 ~ / ms  statement: /) simple++
        }
        / disconnection: / { s = $0; sub(/.*session time: /, "", s); sub(/ .*/, "", s); session = s }
        END {
            split(session, p, ":")
            printf "| %s | %d | %d | %d | %d | %d | %s | %.2f ms | %.0f ms |\n", label, simple, exec,
                parse_u, parse_n, exec + parse_n + simple, client, server,
                (p[1] * 3600 + p[2] * 60 + p[3]) * 1000
        }' "$W/one.log"
}
# what_was_sent: each message of one.log, in order: what, server ms, the statement (shortened).
what_was_sent() {
    awk '/ duration: / {
        line = $0; sub(/.* duration: /, "", line)
        ms = line; sub(/ ms.*/, "", ms)
        what = line; sub(/^[^ ]* ms  /, "", what)
        kind = what; sub(/:.*/, "", kind)
        sql = what; sub(/^[^:]*: /, "", sql); gsub(/  +/, " ", sql)
        if (length(sql) > 84) sql = substr(sql, 1, 81) "..."
        printf "    %-18s %6.3f ms  %s\n", kind, ms, sql
    }' "$W/one.log"
}
for kind in "${KINDS[@]}"; do
    TRIPS+=("$(trips "tokman verify, ${KIND_NAME[$kind]}" "$BIN --key-file k1k --store '$(url_$kind tok1k)' verify < tok1k.one")")
    [ "$kind" = tcp ] && STATEMENTS=$(what_was_sent)
    [ -z "$BEFORE_BIN" ] ||
        TRIPS+=("$(trips "BEFORE_BIN verify, ${KIND_NAME[$kind]}" "$BEFORE_BIN --key-file k1k --store '$(url_$kind tok1k)' verify < tok1k.one")")
    TRIPS+=("$(trips "psql floor, ${KIND_NAME[$kind]}" "$PSQL '$(ci_$kind tok1k)' -f tok1k.floor.sql")")
    TRIPS+=("$(trips "psql \`SELECT 1\`, ${KIND_NAME[$kind]}" "$PSQL '$(ci_$kind tok1k)' -c 'SELECT 1'")")
done
# The requests of verify --stream, per line: 640 lines (10 batches of 64) of one token, then
# 640 lines cycling through the 1,000 tokens; the slot touched just before, as by another verify.
awk -v t="$(cat tok1k.one)" 'BEGIN { for (i = 0; i < 640; i++) print t }' >stream.640one
head -n 640 tok1k.all >stream.640all
per_line() { # the requests of one.log by statement, per line of a 640-line stream
    awk '/ duration: .* ms  (execute|statement)/ { s = $0; sub(/.* ms  /, "", s)
            sub(/^execute [^:]*: /, "", s); sub(/^statement: /, "", s); n[substr(s, 1, 64)]++ }
        END { for (k in n) printf "%d\t%.2f\t%s\n", n[k], n[k] / 640, k }' "$W/one.log" |
        sort -rn | head -6 | awk -F '\t' '{ printf "    %5d  %5.2f a line  %s\n", $1, $2, $3 }'
}
STREAM_STATEMENTS=
for input in one all; do
    bash -c "$SLOT_RECENT" >/dev/null
    TRIPS+=("$(trips "verify --stream, 640 lines of $([ $input = one ] && echo "one token" || echo "640 tokens"), socket" "$BIN --key-file k1k --store '$(url_sock tok1k)' verify --stream < stream.640$input")")
    STREAM_STATEMENTS+="  $([ $input = one ] && echo "one token × 640" || echo "640 tokens × 1"):"$'\n'"$(per_line)"$'\n'
done
log_off
# WAL written by one verify (20 in a row over the socket, nothing else running), and the row
# its UPDATE of `usage` rewrites whole.
lsn() { $PSQL_BIN -X -At -h "$SOCK" -p "$PORT" -U postgres -d postgres -c "SELECT pg_current_wal_insert_lsn()"; }
lsn0=$(lsn)
for _ in $(seq 20); do "$BIN" --key-file k1k --store "$(url_sock tok1k)" verify <tok1k.one >/dev/null; done
WAL_PER_VERIFY=$($PSQL_BIN -X -At -h "$SOCK" -p "$PORT" -U postgres -d postgres -c \
    "SELECT round(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0') / 20)")
ROW_BYTES=$($PSQL_BIN -X -At "$(ci_sock tok1k)" -c \
    "SELECT round(avg(pg_column_size(t.*))) || ' B a row, usage ' || round(avg(length(usage))) || ' B' FROM tokman_tokens t")
# What libpq's SCRAM-SHA-256 costs psql and pgbench: a new connection running SELECT 1 as the
# superuser (trust) and as bench (SCRAM), over the socket.
echo 'SELECT 1;' >select1.sql
for _ in 1 2 3; do
    PGPASSWORD= pgbench_latency select1.sql "host=$SOCK port=$PORT dbname=tok1k user=postgres" -C >>scram.trust
    pgbench_latency select1.sql "$(ci_sock tok1k)" -C >>scram.scram
done
SCRAM_NOTE="pgbench -C \`SELECT 1\` over the socket: $(median <scram.scram) ms with SCRAM-SHA-256 (bench), $(median <scram.trust) ms with trust (postgres)"

# ---- verify --stream --------------------------------------------------------------------------
echo "== verify --stream, $STREAM_LINES lines, $STREAM_RUNS runs each, in $STREAM_RUNS rounds" >&2
awk -v t="$(cat tok1k.one)" -v n="$STREAM_LINES" 'BEGIN { for (i = 0; i < n; i++) print t }' >stream.one
awk -v n="$STREAM_LINES" '{ t[NR] = $0 } END { for (i = 0; i < n; i++) print t[i % NR + 1] }' tok1k.all >stream.all
names=() cmds=() PREPARES=()
for kind in "${KINDS[@]}"; do
    for what in "one recent" "one old" "all recent"; do
        read -r input slot <<<"$what"
        cmd="$BIN --key-file k1k --store '$(url_$kind tok1k)' verify --stream < stream.$input > stream.out"
        prep=$([ "$slot" = recent ] && echo "$SLOT_RECENT" || echo "$SLOT_OLD")
        bash -c "$prep >/dev/null && $cmd" || die "failed: $cmd"
        valid=$(grep -c '"valid":true' stream.out || true)
        [ "$valid" = "$STREAM_LINES" ] || die "verify --stream: $valid of $STREAM_LINES valid ($kind, $input)"
        names+=("${KIND_NAME[$kind]}, $([ "$input" = one ] && echo "one token × $STREAM_LINES" || echo "1,000 tokens × $((STREAM_LINES / 1000))"), slot touched $([ "$slot" = recent ] && echo "< 1 min" || echo "> 1 min") before")
        cmds+=("$cmd")
        PREPARES+=("$prep")
    done
done
mapfile -t got < <(medians "$STREAM_RUNS" "$STREAM_RUNS" "${cmds[@]}")
[ "${#got[@]}" = "${#cmds[@]}" ] || die "timing verify --stream failed"
STREAM=()
for i in "${!cmds[@]}"; do
    ms=${got[$i]% *}
    STREAM+=("| ${names[$i]} | $(awk -v n="$STREAM_LINES" -v ms="$ms" 'BEGIN { printf "%d/s", n / (ms / 1000) }') | $ms ms (CPU ${got[$i]#* }) | $(bash -c "${PREPARES[$i]}" >/dev/null; rss "${cmds[$i]}") MB |")
done
PREPARES=()

# What every verify's UPDATE of `usage` did to tokman_tokens over the whole run (a HOT update
# writes no index entry; any other writes one in each of the table's four indexes).
TABLE_STATS=$($PSQL_BIN -X -At -F '|' "$(ci_sock tok1k)" -c "SELECT n_tup_upd, n_tup_hot_upd, n_dead_tup,
    autovacuum_count, pg_size_pretty(pg_table_size('tokman_tokens')), pg_size_pretty(pg_indexes_size('tokman_tokens'))
    FROM pg_stat_user_tables WHERE relname = 'tokman_tokens'")

# ---- report ---------------------------------------------------------------------------------
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end; $(hyperfine --version); $("$PG_BIN/postgres" --version); tokman $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo '+changes')"
echo "runs: $RUNS a command in $ROUNDS rounds (medians); pgbench $PGBENCH_TX transactions a round (median of the rounds' averages); stream $STREAM_RUNS runs in $STREAM_RUNS rounds"
echo "cluster: fsync=on, synchronous_commit=on (verify turns it off in its own transaction, SET LOCAL), full_page_writes=on; $($PSQL_BIN -X -At "$(ci_tcp tok1k)" -c "SELECT version || ' ' || cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()"); SCRAM-SHA-256 on TCP and socket"
awk -v ms="$GEN_MS" 'BEGIN { printf "tok1k: tokman init, then 1,000 tokman generate over the socket: %.1f s, %.1f ms a generate (process, connection, one transaction with fsync)\n", ms / 1000, ms / 1000 }'
[ "$BIG" = 0 ] || awk -v ms="$COPY_MS" 'BEGIN { printf "tok100k: tokman copy --to from a SQLite store of 100,000 tokens made by benches/mkstore.rs (10%% expired, 1%% revoked): %.1f s\n", ms / 1000 }'
echo
echo "| verify | tokman (CPU: user + sys) | psql floor (same statements, same connection) | tokman ÷ floor (goal ≤ 1.5) | tokman ÷ \`tokman --version\` | peak RSS |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo "| \`tokman --version\` (process start) | $(printf '%s ms, ' "${VERSION_MS[@]}" | sed 's|, $||') | - | - | 1 | - |"
echo
echo "| under the floor | psql, all in one request | psql \`SELECT 1\` | pgbench -C (connect + statements, no process) | pgbench, open connection (statements only) | psql floor ÷ one request | tokman ÷ statements only |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${UNDER[@]}"
if [ -n "$BEFORE_BIN" ]; then
    echo
    echo "| BEFORE_BIN ($BEFORE_BIN) and now | before | now | now ÷ before |"
    echo "|---|---|---|---|"
    printf '%s\n' "${BEFORE_ROWS[@]}"
fi
echo
echo "| verify --stream, 1,000 tokens, $STREAM_LINES lines | tokens/s | wall (CPU: user + sys) | peak RSS |"
echo "|---|---|---|---|"
printf '%s\n' "${STREAM[@]}"
echo
echo "| one run, 1,000 tokens | simple Query | Execute | Parse, unnamed (sent with its Execute) | Parse, named (a prepare) | round trips after connecting (server log) | round trips in all (strace, client) | server time (sum) | session time |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${TRIPS[@]}"
echo
echo "what one tokman verify sent over TCP+TLS, in order (message, server time, statement):"
echo "$STATEMENTS"
echo
echo "verify --stream, 640 lines over the socket, the slot touched just before: the requests sent most often (count, per line, statement):"
printf '%s' "$STREAM_STATEMENTS"
echo
IFS='|' read -r upd hot dead avac tsize isize <<<"$TABLE_STATS"
echo "tokman_tokens of tok1k after the run: $upd updates, $hot of them HOT ($(awk -v a="$hot" -v b="$upd" 'BEGIN { printf "%.0f%%", 100 * a / b }')), $dead dead rows, $avac autovacuum runs; table $tsize, indexes $isize; $ROW_BYTES"
echo "WAL written by one verify: $WAL_PER_VERIFY bytes (20 in a row)"
echo "$SCRAM_NOTE"
