#!/usr/bin/env bash
# What the integrity root costs: tokman before it (a git revision, built from a worktree) and
# now, side by side in one run, beside the sqlite3 floor, on stores of 1,000 and 100,000 tokens.
#
#   benches/root_cost.sh                 # before = the last commit without the root (661b72d)
#   BEFORE=<rev> RUNS=30 benches/root_cost.sh
#
# Needs: cargo, git, sqlite3, hyperfine (apt-get install sqlite3 hyperfine). Each timing is a
# hyperfine median; the commands of one row run alternately in one hyperfine call, so machine
# noise falls on both sides alike. Stores are cached in $BENCH_DIR (default
# $CARGO_TARGET_DIR/bench-root); delete it to rebuild them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${BENCH_DIR:-$TARGET/bench-root}
BEFORE=${BEFORE:-661b72d}
RUNS=${RUNS:-40}
SLOW_RUNS=${SLOW_RUNS:-5}
for tool in cargo git sqlite3 hyperfine; do
    command -v "$tool" >/dev/null || { echo "root_cost.sh: $tool not found" >&2; exit 1; }
done
mkdir -p "$WORK"

mkstore_of() { # DIR TARGET_DIR: build tokman and the mkstore bench helper, print mkstore's path
    (cd "$1" && CARGO_TARGET_DIR=$2 cargo build --release --quiet --locked &&
        CARGO_TARGET_DIR=$2 cargo bench --no-run --bench mkstore --message-format=json 2>/dev/null) |
        grep -o '"executable":"[^"]*mkstore[^"]*"' | tail -1 | sed 's/"executable":"\(.*\)"/\1/'
}

echo "== building now ($(git -C "$ROOT" rev-parse --short HEAD)) and before ($BEFORE)" >&2
if [ ! -d "$WORK/before-src" ]; then
    git -C "$ROOT" worktree add --detach "$WORK/before-src" "$BEFORE" >/dev/null 2>&1
fi
git -C "$WORK/before-src" checkout --quiet --detach "$BEFORE"
MK_NOW=$(mkstore_of "$ROOT" "$TARGET")
MK_OLD=$(mkstore_of "$WORK/before-src" "$WORK/before-target")
NOW=$TARGET/release/tokman
OLD=$WORK/before-target/release/tokman
cd "$WORK"
unset TOKMAN_STORE TOKMAN_KEY_FILE TOKMAN_PASSPHRASE TOKMAN_PASSPHRASE_FILE TOKMAN_NEW_PASSPHRASE
export HOME=$WORK

make_store() { # NAME BIN MKSTORE N
    local name=$1 bin=$2 mk=$3 n=$4
    [ -s "$name.tok" ] && return
    echo "== building $name ($n tokens)" >&2
    rm -f "$name".*
    "$bin" --store "$name.db" init --new-key-file "$name.key" >/dev/null 2>&1
    "$mk" "$name.db" "$name.key" "$n" "$name.tok" 10 1
    awk '$1 == "active" && ++i == 7 { print $2; exit }' "$name.tok" >"$name.one"
}
make_floor() { # N
    [ -s "f$1.db" ] && return
    sqlite3 "f$1.db" "PRAGMA journal_mode=WAL;
        CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER NOT NULL, v BLOB NOT NULL) WITHOUT ROWID;
        WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $1)
        INSERT INTO t SELECT printf('tm_%012d', i), 0, randomblob(400) FROM c;" >/dev/null
}
for n in 1000 100000; do
    make_store "old$n" "$OLD" "$MK_OLD" "$n"
    make_store "new$n" "$NOW" "$MK_NOW" "$n"
    make_floor "$n"
done

# medians RUNS PREPARE CMD...: the median in ms of each command, one per line.
medians() {
    local runs=$1 prepare=$2
    shift 2
    local args=(--style none --runs "$runs" --export-json "$WORK/h.json")
    if [ -n "$prepare" ]; then args+=(--prepare "$prepare"); else args+=(--warmup 3); fi
    hyperfine "${args[@]}" "$@" >/dev/null 2>&1 || { echo "root_cost.sh: failed: $*" >&2; exit 1; }
    grep -o '"median": *[0-9.e+-]*' "$WORK/h.json" | awk '{ printf "%.2f\n", $2 * 1000 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
FLOOR_SQL="PRAGMA synchronous=NORMAL; BEGIN IMMEDIATE; SELECT n, v FROM t WHERE id='tm_000000000777'; UPDATE t SET n = n + 1 WHERE id='tm_000000000777'; COMMIT;"

echo "| row | before | now | now ÷ before | sqlite3 floor | now ÷ floor |"
echo "|---|---|---|---|---|---|"
for n in 1000 100000; do
    mapfile -t m < <(medians "$RUNS" "" \
        "$OLD --key-file old$n.key --store old$n.db verify < old$n.one" \
        "$NOW --key-file new$n.key --store new$n.db verify < new$n.one" \
        "sqlite3 f$n.db \"$FLOOR_SQL\"")
    echo "| verify, $n tokens | ${m[0]} ms | ${m[1]} ms | $(ratio "${m[1]}" "${m[0]}") | ${m[2]} ms | $(ratio "${m[1]}" "${m[2]}") |"
done
mapfile -t m < <(medians "$RUNS" "" \
    "$OLD --version" "$NOW --version")
echo "| \`tokman --version\` (process start) | ${m[0]} ms | ${m[1]} ms | $(ratio "${m[1]}" "${m[0]}") | - | - |"
mapfile -t m < <(medians "$SLOW_RUNS" "" \
    "$OLD --key-file old100000.key --store old100000.db list --json > /dev/null" \
    "$NOW --key-file new100000.key --store new100000.db list --json > /dev/null")
echo "| list --json, 100000 tokens | ${m[0]} ms | ${m[1]} ms | $(ratio "${m[1]}" "${m[0]}") | - | - |"
mapfile -t m < <(medians "$SLOW_RUNS" \
    "rm -f po.db* pn.db*; cp old100000.db po.db; cp new100000.db pn.db" \
    "$OLD --key-file old100000.key --store po.db purge --json > /dev/null" \
    "$NOW --key-file new100000.key --store pn.db purge --json > /dev/null")
echo "| purge, 100000 tokens (10% expired) | ${m[0]} ms | ${m[1]} ms | $(ratio "${m[1]}" "${m[0]}") | - | - |"
mapfile -t m < <(medians "$SLOW_RUNS" "" \
    "$NOW --key-file new100000.key --store new100000.db audit --check")
echo "| audit --check (whole state), 100000 tokens | - | ${m[0]} ms | - | - | - |"
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(hyperfine --version); runs: verify $RUNS, others $SLOW_RUNS; medians"
