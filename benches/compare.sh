#!/usr/bin/env bash
# tokman beside the floor: the sqlite3 shell doing the same storage work on a same-size table.
#
#   benches/compare.sh            # full run (a few minutes; the 100k store is built once, ~30 s)
#   RUNS=15 benches/compare.sh    # fewer repetitions
#
# Needs: cargo, sqlite3 (apt-get install sqlite3), GNU time for peak RSS (apt-get install time).
# Uses hyperfine when present (apt-get install hyperfine); otherwise a plain loop timing each run
# with `date +%s%N` (same medians, no shell-overhead correction). Stores are cached in
# $BENCH_DIR (default $CARGO_TARGET_DIR/bench-stores); delete it to rebuild them.
#
# Every timing is the median of RUNS runs (verify) or fewer for the slow rows (see below).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${BENCH_DIR:-$TARGET/bench-stores}
RUNS=${RUNS:-40}
SLOW_RUNS=${SLOW_RUNS:-5}
STREAM_LINES=${STREAM_LINES:-20000}
SQLITE=${SQLITE:-sqlite3}

need() { command -v "$1" >/dev/null || { echo "compare.sh: $1 not found; $2" >&2; exit 1; }; }
need cargo "install Rust"
need "$SQLITE" "apt-get install sqlite3"
TIME_V=/usr/bin/time
[ -x "$TIME_V" ] || { echo "compare.sh: /usr/bin/time not found (apt-get install time); RSS not measured" >&2; TIME_V=; }
HAVE_HYPERFINE=0
command -v hyperfine >/dev/null && HAVE_HYPERFINE=1

cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet
MKSTORE=$(cargo bench --no-run --bench mkstore --message-format=json 2>/dev/null |
    grep -o '"executable":"[^"]*mkstore[^"]*"' | tail -1 | sed 's/"executable":"\(.*\)"/\1/')
[ -x "$MKSTORE" ] || { echo "compare.sh: could not build benches/mkstore.rs" >&2; exit 1; }
BIN=$TARGET/release/tokman
mkdir -p "$WORK"
cd "$WORK"
# Nothing from the caller's environment may point tokman elsewhere.
unset TOKMAN_STORE TOKMAN_KEY_FILE TOKMAN_PASSPHRASE TOKMAN_PASSPHRASE_FILE TOKMAN_NEW_PASSPHRASE
export HOME=$WORK

# ---- stores ---------------------------------------------------------------------------------
# tokman: s$N.db unlocked by s$N.key, N tokens issued through ops::generate (10% expired, 1%
# revoked); s$N.tok lists "STATUS TOKEN" lines. floor: f$N.db, a WAL table of N rows keyed by a
# token-like id with a counter and a 400-byte blob (about a sealed record).
make_store() {
    local n=$1
    [ -s "s$n.tok" ] && [ -s "f$n.db" ] && return
    echo "== building stores of $n tokens" >&2
    rm -f "s$n".* "f$n".*
    "$BIN" --store "s$n.db" init --new-key-file "s$n.key" >/dev/null 2>&1
    "$MKSTORE" "s$n.db" "s$n.key" "$n" "s$n.tok" 10 1
    "$SQLITE" "f$n.db" "PRAGMA journal_mode=WAL;
        CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, v BLOB NOT NULL) WITHOUT ROWID;
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $n)
        INSERT INTO t SELECT printf('tm_%012d', i), 0, randomblob(400) FROM c;" >/dev/null
}
for n in 1000 2000 10000 100000; do make_store $n; done
for n in 1000 2000 10000 100000; do
    awk '$1 == "active" && ++i == 7 { print $2; exit }' "s$n.tok" >"tok$n"
done

# ---- timing ---------------------------------------------------------------------------------
# median_of RUNS PREPARE COMMAND: median wall time in ms.
median_of() {
    local runs=$1 prepare=$2 cmd=$3
    if [ "$HAVE_HYPERFINE" = 1 ]; then
        local args=(--style none --runs "$runs" --export-json "$WORK/h.json")
        [ -n "$prepare" ] && args+=(--prepare "$prepare") || args+=(--warmup 3)
        hyperfine "${args[@]}" "$cmd" >/dev/null 2>&1 ||
            { echo "compare.sh: failed: $cmd" >&2; exit 1; }
        grep -o '"median": *[0-9.e+-]*' "$WORK/h.json" | head -1 |
            awk '{ printf "%.2f", $2 * 1000 }'
    else
        local i t0 t1
        for ((i = 0; i < 3; i++)); do bash -c "$cmd" >/dev/null 2>&1 || true; done
        for ((i = 0; i < runs; i++)); do
            [ -n "$prepare" ] && bash -c "$prepare" >/dev/null 2>&1
            t0=$(date +%s%N)
            bash -c "$cmd" >/dev/null 2>&1 || { echo "compare.sh: failed: $cmd" >&2; exit 1; }
            t1=$(date +%s%N)
            echo $(((t1 - t0) / 1000))
        done | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m / 1000 }'
    fi
}

# rss_of PREPARE COMMAND: peak RSS in MB of one run.
rss_of() {
    [ -n "$TIME_V" ] || { echo "-"; return; }
    [ -n "$1" ] && bash -c "$1" >/dev/null 2>&1
    "$TIME_V" -v bash -c "exec $2" 2>&1 >/dev/null |
        awk -F: '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

ROWS=()
row() { ROWS+=("$(printf '| %s | %s | %s | %s | %s | %s |' "$@")"); }

T="$BIN --key-file"
VERIFY_SQL() { # the floor of one verify: open, one indexed lookup, one counter update
    echo "PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE; SELECT n, v FROM t WHERE id='tm_000000000777'; UPDATE t SET n = n + 1 WHERE id='tm_000000000777'; COMMIT;"
}

echo "== verify" >&2
declare -A V F R L P
for n in 1000 2000 100000; do
    V[$n]=$(median_of "$RUNS" "" "$T s$n.key --store s$n.db verify < tok$n")
    F[$n]=$(median_of "$RUNS" "" "$SQLITE f$n.db \"$(VERIFY_SQL)\"")
done
R[v]=$(rss_of "" "$T s100000.key --store s100000.db verify < tok100000")
R[f]=$(rss_of "" "$SQLITE f100000.db \"$(VERIFY_SQL)\"")
row "verify, 2,000 tokens" "${V[2000]} ms" "${F[2000]} ms" "$(ratio "${V[2000]}" "${F[2000]}")" "≤ 1.5" "-"
row "verify, 1,000 tokens" "${V[1000]} ms" "${F[1000]} ms" "$(ratio "${V[1000]}" "${F[1000]}")" "-" "-"
row "verify, 100,000 tokens" "${V[100000]} ms" "${F[100000]} ms" "$(ratio "${V[100000]}" "${F[100000]}")" "-" "${R[v]} MB (floor ${R[f]} MB)"
row "verify 100k ÷ verify 1k (flat)" "$(ratio "${V[100000]}" "${V[1000]}")" "$(ratio "${F[100000]}" "${F[1000]}")" "-" "≤ 1.2" "≤ 10 MB"

echo "== generate, revoke" >&2
cp s2000.db m.db
cp f2000.db fm.db
G=$(median_of "$SLOW_RUNS" "$T s2000.key --store m.db revoke --user bench-g --yes || true" \
    "$T s2000.key --store m.db generate bench-g")
GF=$(median_of "$SLOW_RUNS" "$SQLITE fm.db \"DELETE FROM t WHERE id = 'tm_bench'\"" \
    "$SQLITE fm.db \"PRAGMA synchronous=FULL; BEGIN IMMEDIATE; INSERT INTO t VALUES ('tm_bench', 0, randomblob(400)); COMMIT;\"")
RV=$(median_of "$SLOW_RUNS" "$T s2000.key --store m.db generate bench-r" \
    "$T s2000.key --store m.db revoke --user bench-r --yes")
RVF=$(median_of "$SLOW_RUNS" "" \
    "$SQLITE fm.db \"PRAGMA synchronous=FULL; BEGIN IMMEDIATE; UPDATE t SET v = randomblob(400) WHERE id = 'tm_000000000777'; COMMIT;\"")
R[g]=$(rss_of "$T s2000.key --store m.db revoke --user bench-g --yes || true" "$T s2000.key --store m.db generate bench-g")
row "generate, 2,000 tokens" "$G ms" "$GF ms (insert)" "$(ratio "$G" "$GF")" "≤ 2" "${R[g]} MB"
row "revoke, 2,000 tokens" "$RV ms" "$RVF ms (update)" "$(ratio "$RV" "$RVF")" "≤ 2" "-"

echo "== list --json, purge" >&2
for n in 10000 100000; do
    L[$n]=$(median_of "$SLOW_RUNS" "" "$T s$n.key --store s$n.db list --json > /dev/null")
    R[l$n]=$(rss_of "" "$T s$n.key --store s$n.db list --json")
    P[$n]=$(median_of "$SLOW_RUNS" "rm -f p.db p.db-wal p.db-shm; cp s$n.db p.db" \
        "$T s$n.key --store p.db purge --json > /dev/null")
    R[p$n]=$(rss_of "rm -f p.db p.db-wal p.db-shm; cp s$n.db p.db" "$T s$n.key --store p.db purge --json")
done
LF=$(median_of "$SLOW_RUNS" "" "$SQLITE -json f100000.db 'SELECT id, n, hex(v) FROM t' > /dev/null")
PF=$(median_of "$SLOW_RUNS" "rm -f fp.db*; cp f100000.db fp.db" \
    "$SQLITE fp.db \"PRAGMA synchronous=FULL; DELETE FROM t WHERE substr(id, -1) = '7'\"")
row "list --json, 10,000 tokens" "${L[10000]} ms" "-" "-" "-" "${R[l10000]} MB"
row "list --json, 100,000 tokens" "${L[100000]} ms" "$LF ms (scan to JSON)" "$(ratio "${L[100000]}" "$LF")" "< 2 s" "${R[l100000]} MB"
row "purge, 10,000 tokens (1,000 expired)" "${P[10000]} ms" "-" "-" "-" "${R[p10000]} MB"
row "purge, 100,000 tokens (10,000 expired)" "${P[100000]} ms" "$PF ms (delete 10%)" "$(ratio "${P[100000]}" "$PF")" "< 2 s" "${R[p100000]} MB"

echo "== verify --stream" >&2
# STREAM_LINES lines of active tokens of the 100k store, each token 4 times, spread out.
awk -v k=$((STREAM_LINES / 4)) '$1 == "active" { print $2; if (++i == k) exit }' s100000.tok >stream1
cat stream1 stream1 stream1 stream1 >stream.in
SAMPLE=$(head -1 stream1)
SAMPLE_ID=${SAMPLE%_*}
before=$($T s100000.key --store s100000.db inspect "$SAMPLE_ID" --json | grep -o '"use_count": *[0-9]*' | grep -o '[0-9]*$')
t0=$(date +%s%N)
$T s100000.key --store s100000.db verify --stream <stream.in >stream.out
t1=$(date +%s%N)
after=$($T s100000.key --store s100000.db inspect "$SAMPLE_ID" --json | grep -o '"use_count": *[0-9]*' | grep -o '[0-9]*$')
lines=$(wc -l <stream.out)
valid=$(grep -c '"valid":true' stream.out || true)
S_MS=$(((t1 - t0) / 1000000))
S_RATE=$(awk -v n="$lines" -v ms="$S_MS" 'BEGIN { printf "%d", n / (ms / 1000) }')
# The floor: one sqlite3 process doing the same number of lookup+update transactions.
awk -v n="$STREAM_LINES" 'BEGIN { print "PRAGMA synchronous=NORMAL;"; for (i = 0; i < n; i++) {
    id = sprintf("tm_%012d", (i % (n / 4)) + 1)
    printf "BEGIN IMMEDIATE; SELECT n, v FROM t WHERE id=\047%s\047; UPDATE t SET n = n + 1 WHERE id=\047%s\047; COMMIT;\n", id, id } }' >stream.sql
t0=$(date +%s%N)
"$SQLITE" f100000.db <stream.sql >/dev/null
t1=$(date +%s%N)
SF_MS=$(((t1 - t0) / 1000000))
SF_RATE=$(awk -v n="$STREAM_LINES" -v ms="$SF_MS" 'BEGIN { printf "%d", n / (ms / 1000) }')
R[s]=$(rss_of "" "$T s100000.key --store s100000.db verify --stream < stream.in")
row "verify --stream, 100,000 tokens ($lines lines)" "$S_RATE/s ($S_MS ms)" "$SF_RATE/s ($SF_MS ms)" "$(ratio "$SF_MS" "$S_MS") of floor speed" "≥ 20,000/s" "${R[s]} MB"
counted=$((after - before))

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "timer: $([ "$HAVE_HYPERFINE" = 1 ] && hyperfine --version || echo 'plain loop'); runs: verify $RUNS, others $SLOW_RUNS; medians"
echo
echo "| row | tokman | floor (sqlite3) | ratio | goal | peak RSS |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
echo "stream: $lines answers for $STREAM_LINES lines, $valid valid; sample token use_count +$counted (4 expected)"
