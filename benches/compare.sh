#!/usr/bin/env bash
# tokman beside its limits, side by side in one run, every figure also as a ratio:
# - `tokman --version`: starting the process, the limit of a process-per-check `verify`;
# - the floor: the sqlite3 shell doing the same storage work on a same-size table;
# - with BEFORE or BEFORE_BIN, an earlier tokman on its own copies of the same stores.
#
#   benches/compare.sh                          # this tree only (a few minutes)
#   BEFORE=a4974db benches/compare.sh           # also an earlier revision, built in a worktree
#   BEFORE_BIN=/path/to/tokman benches/compare.sh   # also an earlier tokman binary
#   RUNS=15 SLOW_RUNS=3 benches/compare.sh      # fewer repetitions
#
# Needs: cargo, sqlite3, hyperfine (apt-get install sqlite3 hyperfine), GNU time for peak RSS
# (apt-get install time), valgrind for the instruction counts (optional). Every timing is the
# hyperfine median of RUNS runs (verify) or SLOW_RUNS (the slow rows); the commands of one row
# run in one hyperfine call, one after the other. Stores are cached in $BENCH_DIR (default
# $CARGO_TARGET_DIR/bench-stores); delete it to rebuild them (the 100k store takes ~30 s).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${BENCH_DIR:-$TARGET/bench-stores}
RUNS=${RUNS:-40}
SLOW_RUNS=${SLOW_RUNS:-5}
STREAM_LINES=${STREAM_LINES:-20000}
SQLITE=${SQLITE:-sqlite3}
BEFORE=${BEFORE:-}
BEFORE_BIN=${BEFORE_BIN:-}

need() { command -v "$1" >/dev/null || { echo "compare.sh: $1 not found; $2" >&2; exit 1; }; }
need cargo "install Rust"
need "$SQLITE" "apt-get install sqlite3"
need hyperfine "apt-get install hyperfine"
TIME_V=/usr/bin/time
[ -x "$TIME_V" ] || { echo "compare.sh: /usr/bin/time not found (apt-get install time); RSS not measured" >&2; TIME_V=; }
HAVE_VALGRIND=0
command -v valgrind >/dev/null && HAVE_VALGRIND=1

cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet --locked
MKSTORE=$(cargo bench --no-run --locked --bench mkstore --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*mkstore[^"]*"' | tail -1 | sed 's/"executable":"\(.*\)"/\1/')
[ -x "$MKSTORE" ] || { echo "compare.sh: could not build benches/mkstore.rs" >&2; exit 1; }
BIN=$TARGET/release/tokman
mkdir -p "$WORK"
if [ -z "$BEFORE_BIN" ] && [ -n "$BEFORE" ]; then
    echo "== building $BEFORE" >&2
    [ -d "$WORK/before-src" ] || git -C "$ROOT" worktree add --detach "$WORK/before-src" "$BEFORE" >/dev/null 2>&1
    git -C "$WORK/before-src" checkout --quiet --detach "$BEFORE"
    (cd "$WORK/before-src" && CARGO_TARGET_DIR=$WORK/before-target cargo build --release --quiet --locked)
    BEFORE_BIN=$WORK/before-target/release/tokman
fi
OLD=$BEFORE_BIN
cd "$WORK"
# Nothing from the caller's environment may point tokman elsewhere.
unset TOKMAN_STORE TOKMAN_KEY_FILE TOKMAN_PASSPHRASE TOKMAN_PASSPHRASE_FILE TOKMAN_NEW_PASSPHRASE
export HOME=$WORK

# ---- stores ---------------------------------------------------------------------------------
# tokman: s$N.db unlocked by s$N.key, N tokens issued through Service::generate (10% expired,
# 1% revoked); s$N.tok lists "STATUS TOKEN" lines. floor: f$N.db, a WAL table of N rows keyed by
# a token-like id with a counter and a 400-byte blob (about a sealed record). The earlier tokman
# gets o$N.db, a fresh copy of s$N.db with the bucket index it made (on `bucket` alone).
make_store() {
    local n=$1
    if ! [ -s "s$n.tok" ] || ! [ -s "f$n.db" ]; then
        echo "== building stores of $n tokens" >&2
        rm -f "s$n".* "f$n".*
        "$BIN" --store "s$n.db" init --new-key-file "s$n.key" >/dev/null 2>&1
        "$MKSTORE" "s$n.db" "s$n.key" "$n" "s$n.tok" 10 1
        "$SQLITE" "f$n.db" "PRAGMA journal_mode=WAL;
            CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, v BLOB NOT NULL) WITHOUT ROWID;
            WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
            INSERT INTO t SELECT printf('tm_%012d', i), 0, randomblob(400) FROM c;" >/dev/null
    fi
    # A management command settles the store (and gives a store cached by an older build the
    # covering bucket index).
    "$BIN" --key-file "s$n.key" --store "s$n.db" info >/dev/null
}
settle() { # N: a management command folds verify's WAL into s$N.db, so the file alone is whole
    "$BIN" --key-file "s$1.key" --store "s$1.db" info >/dev/null
}
old_store() { # N: a fresh copy for the earlier tokman
    settle "$1"
    rm -f "o$1.db" "o$1.db-wal" "o$1.db-shm"
    cp "s$1.db" "o$1.db"
    "$SQLITE" "o$1.db" "DROP INDEX tokens_by_bucket; CREATE INDEX tokens_by_bucket ON tokens (bucket);"
}
for n in 1000 2000 10000 100000; do make_store $n; done
for n in 1000 2000 10000 100000; do
    awk '$1 == "active" && ++i == 7 { print $2; exit }' "s$n.tok" >"tok$n"
done
if [ -n "$OLD" ]; then for n in 1000 100000; do old_store $n; done; fi

# ---- timing ---------------------------------------------------------------------------------
# medians RUNS PREPARE CMD...: the median in ms of each command, one per line, from one
# hyperfine call.
medians() {
    local runs=$1 prepare=$2
    shift 2
    local args=(--style none --runs "$runs" --export-json "$WORK/h.json")
    if [ -n "$prepare" ]; then args+=(--prepare "$prepare"); else args+=(--warmup 3); fi
    hyperfine "${args[@]}" "$@" >/dev/null 2>&1 || { echo "compare.sh: failed: $*" >&2; exit 1; }
    grep -o '"median": *[0-9.e+-]*' "$WORK/h.json" | awk '{ printf "%.2f\n", $2 * 1000 }'
}

# rss_of PREPARE COMMAND: peak RSS in MB of one run.
rss_of() {
    [ -n "$TIME_V" ] || { echo "-"; return; }
    [ -n "$1" ] && bash -c "$1" >/dev/null 2>&1
    "$TIME_V" -v bash -c "exec $2" 2>&1 >/dev/null |
        awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0 || a == "-" || b == "-") print "-"; else printf "%.2f", a / b }'; }

ROWS=()
row() { ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s | %s |' "$@")"); }

T="$BIN --key-file"
VERIFY_SQL() { # the floor of one verify: open, one indexed lookup, one counter update
    echo "PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE; SELECT n, v FROM t WHERE id='tm_000000000777'; UPDATE t SET n = n + 1 WHERE id='tm_000000000777'; COMMIT;"
}

echo "== verify" >&2
declare -A V O F R L P S CG
for n in 1000 100000; do
    cmds=("$BIN --version" "$T s$n.key --store s$n.db verify < tok$n" "$SQLITE f$n.db \"$(VERIFY_SQL)\"")
    [ -n "$OLD" ] && cmds+=("$OLD --key-file s$n.key --store o$n.db verify < tok$n")
    mapfile -t m < <(medians "$RUNS" "" "${cmds[@]}")
    VERSION=${m[0]} V[$n]=${m[1]} F[$n]=${m[2]} O[$n]=${m[3]:--}
    [ $n = 1000 ] && label="verify, 1,000 tokens" || label="verify, 100,000 tokens"
    row "$label" "${V[$n]} ms" "$VERSION ms" "${F[$n]} ms" "${O[$n]} ms" \
        "$(ratio "${V[$n]}" "$VERSION") (≤ 1.5) · $(ratio "${V[$n]}" "${F[$n]}") (≤ 0.75) · $(ratio "${O[$n]}" "${V[$n]}")" "-"
done
R[v]=$(rss_of "" "$T s100000.key --store s100000.db verify < tok100000")
R[f]=$(rss_of "" "$SQLITE f100000.db \"$(VERIFY_SQL)\"")
row "verify 100k ÷ verify 1k (flat)" "$(ratio "${V[100000]}" "${V[1000]}")" "-" "$(ratio "${F[100000]}" "${F[1000]}")" \
    "$(ratio "${O[100000]}" "${O[1000]}")" "≤ 1.2" "${R[v]} MB, ≤ 10 MB (floor ${R[f]} MB)"

echo "== generate, revoke" >&2
cp s2000.db m.db
cp f2000.db fm.db
G=$(medians "$SLOW_RUNS" "$T s2000.key --store m.db revoke --user bench-g --yes || true" \
    "$T s2000.key --store m.db generate bench-g")
GF=$(medians "$SLOW_RUNS" "$SQLITE fm.db \"DELETE FROM t WHERE id = 'tm_bench'\"" \
    "$SQLITE fm.db \"PRAGMA synchronous=FULL; BEGIN IMMEDIATE; INSERT INTO t VALUES ('tm_bench', 0, randomblob(400)); COMMIT;\"")
RV=$(medians "$SLOW_RUNS" "$T s2000.key --store m.db generate bench-r" \
    "$T s2000.key --store m.db revoke --user bench-r --yes")
RVF=$(medians "$SLOW_RUNS" "" \
    "$SQLITE fm.db \"PRAGMA synchronous=FULL; BEGIN IMMEDIATE; UPDATE t SET v = randomblob(400) WHERE id = 'tm_000000000777'; COMMIT;\"")
R[g]=$(rss_of "$T s2000.key --store m.db revoke --user bench-g --yes || true" "$T s2000.key --store m.db generate bench-g")
row "generate, 2,000 tokens" "$G ms" "-" "$GF ms (insert)" "-" "$(ratio "$G" "$GF") of floor (≤ 2)" "${R[g]} MB"
row "revoke, 2,000 tokens" "$RV ms" "-" "$RVF ms (update)" "-" "$(ratio "$RV" "$RVF") of floor (≤ 2)" "-"

echo "== list --json, purge" >&2
cmds=("$T s100000.key --store s100000.db list --json > /dev/null"
    "$SQLITE -json f100000.db 'SELECT id, n, hex(v) FROM t' > /dev/null")
[ -n "$OLD" ] && cmds+=("$OLD --key-file s100000.key --store o100000.db list --json > /dev/null")
mapfile -t m < <(medians "$SLOW_RUNS" "" "${cmds[@]}")
L[n]=${m[0]} L[f]=${m[1]} L[o]=${m[2]:--}
R[l]=$(rss_of "" "$T s100000.key --store s100000.db list --json")
row "list --json, 100,000 tokens" "${L[n]} ms" "-" "${L[f]} ms (scan to JSON)" "${L[o]} ms" \
    "$(ratio "${L[n]}" "${L[f]}") of floor (≤ 2) · $(ratio "${L[o]}" "${L[n]}")" "${R[l]} MB"
settle 100000
prep="rm -f p.db* po.db* fp.db*; cp s100000.db p.db; cp f100000.db fp.db"
[ -n "$OLD" ] && prep+="; cp o100000.db po.db"
cmds=("$T s100000.key --store p.db purge --json > /dev/null"
    "$SQLITE fp.db \"PRAGMA synchronous=FULL; DELETE FROM t WHERE substr(id, -1) = '7'\"")
[ -n "$OLD" ] && cmds+=("$OLD --key-file s100000.key --store po.db purge --json > /dev/null")
mapfile -t m < <(medians "$SLOW_RUNS" "$prep" "${cmds[@]}")
P[n]=${m[0]} P[f]=${m[1]} P[o]=${m[2]:--}
R[p]=$(rss_of "$prep" "$T s100000.key --store p.db purge --json")
row "purge, 100,000 tokens (10,000 expired)" "${P[n]} ms" "-" "${P[f]} ms (delete 10%)" "${P[o]} ms" \
    "$(ratio "${P[n]}" "${P[f]}") of floor (≤ 2) · $(ratio "${P[o]}" "${P[n]}")" "${R[p]} MB"

echo "== verify --stream" >&2
# STREAM_LINES lines of active tokens of the 100k store, each token 4 times, spread out; each
# tokman on a fresh copy of the store.
awk -v k=$((STREAM_LINES / 4)) '$1 == "active" { print $2; if (++i == k) exit }' s100000.tok >stream1
cat stream1 stream1 stream1 stream1 >stream.in
SAMPLE=$(head -1 stream1)
use_count() { # BIN STORE
    "$1" --key-file s100000.key --store "$2" inspect "${SAMPLE%_*}" --json |
        grep -o '"use_count": *[0-9]*' | grep -o '[0-9]*$'
}
stream_ms() { # BIN STORE: wall ms of one stream run; checks the sample token counted 4 uses
    local before after t0 t1
    before=$(use_count "$1" "$2")
    t0=$(date +%s%N)
    "$1" --key-file s100000.key --store "$2" verify --stream <stream.in >stream.out
    t1=$(date +%s%N)
    after=$(use_count "$1" "$2")
    [ $((after - before)) = 4 ] || echo "compare.sh: $1 counted $((after - before)) uses, not 4" >&2
    [ "$(grep -c '"valid":true' stream.out)" = "$STREAM_LINES" ] || echo "compare.sh: $1: not every line valid" >&2
    echo $(((t1 - t0) / 1000000))
}
rate() { awk -v n="$STREAM_LINES" -v ms="$1" 'BEGIN { if (ms == "-") print "-"; else printf "%d", n / (ms / 1000) }'; }
settle 100000
rm -f st.db*; cp s100000.db st.db
S[n]=$(stream_ms "$BIN" st.db)
S[o]=-
if [ -n "$OLD" ]; then old_store 100000; S[o]=$(stream_ms "$OLD" o100000.db); fi
# The floor: one sqlite3 process doing the same number of lookup+update transactions.
awk -v n="$STREAM_LINES" 'BEGIN { print "PRAGMA synchronous=NORMAL;"; for (i = 0; i < n; i++) {
    id = sprintf("tm_%012d", (i % (n / 4)) + 1)
    printf "BEGIN IMMEDIATE; SELECT n, v FROM t WHERE id=\047%s\047; UPDATE t SET n = n + 1 WHERE id=\047%s\047; COMMIT;\n", id, id } }' >stream.sql
t0=$(date +%s%N)
"$SQLITE" f100000.db <stream.sql >/dev/null
t1=$(date +%s%N)
S[f]=$(((t1 - t0) / 1000000))
R[s]=$(rss_of "rm -f st.db*; cp s100000.db st.db" "$T s100000.key --store st.db verify --stream < stream.in")
row "verify --stream, 100,000 tokens ($STREAM_LINES lines)" "$(rate "${S[n]}")/s" "-" "$(rate "${S[f]}")/s" "$(rate "${S[o]}")/s" \
    "$(ratio "${S[f]}" "${S[n]}") of floor speed · $(ratio "${S[o]}" "${S[n]}") (≥ 2)" "${R[s]} MB"

if [ "$HAVE_VALGRIND" = 1 ]; then
    echo "== callgrind" >&2
    # instructions BIN STORE: instructions of one verify on the 100k store, after one verify
    # that leaves the store in its steady state (a verify's WAL in place, or none before).
    instructions() {
        "$1" --key-file s100000.key --store "$2" verify --quiet <tok100000
        valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --key-file s100000.key \
            --store "$2" verify --quiet <tok100000 2>&1 | awk '/Collected/ { print $NF }'
    }
    "$BIN" --key-file s100000.key --store s100000.db info >/dev/null
    CG[n]=$(instructions "$BIN" s100000.db)
    CG[v]=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" --version 2>&1 >/dev/null | awk '/Collected/ { print $NF }')
    CG[o]=-
    [ -n "$OLD" ] && { old_store 100000; CG[o]=$(instructions "$OLD" o100000.db); }
fi

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "timer: $(hyperfine --version); runs: verify $RUNS, others $SLOW_RUNS; medians; tokman $(git -C "$ROOT" rev-parse --short HEAD)${OLD:+, before: $OLD${BEFORE:+ ($BEFORE)}}"
echo
echo "| row | tokman | \`tokman --version\` | floor (sqlite3) | before | ratios: now ÷ version · now ÷ floor · before ÷ now | peak RSS |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
if [ "$HAVE_VALGRIND" = 1 ]; then
    echo
    echo "callgrind, instructions of one verify (100,000 tokens): now ${CG[n]}, before ${CG[o]}, \`tokman --version\` ${CG[v]}"
fi
