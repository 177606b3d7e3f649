#!/usr/bin/env bash
# `tokman scan` beside ripgrep searching the same pattern over the same tree, in one run.
#
#   benches/scan.sh                       # 1 GB of text across 50,000 files (built once, cached)
#   FILES=5000 MB=100 benches/scan.sh     # a smaller tree
#
# Needs: cargo, rg (apt-get install ripgrep), hyperfine (apt-get install hyperfine), GNU time
# for peak RSS (apt-get install time). The tree is cached in $BENCH_DIR (default
# $CARGO_TARGET_DIR/bench-scan); delete it to rebuild. Both tools get a warm page cache: the
# tree is read once before timing, and hyperfine warms up too.
#
# The tree: FILES files of source-like text (lines of 40-100 characters), MB megabytes in all,
# with 100 real tokens (checksums hold), 100 look-alikes with a wrong checksum, and a
# .gitignore'd directory holding more of both that neither tool reads. Without a store, scan
# reports every token by format only (exit 1); rg is asked for the same regex, printing
# matches with line and column, as scan does.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${BENCH_DIR:-$TARGET/bench-scan}
FILES=${FILES:-50000}
MB=${MB:-1000}
RUNS=${RUNS:-5}
PATTERN='\b[a-z][a-z0-9]{0,15}_[0-9a-z]{12}_[0-9A-Za-z]{49}\b'

need() { command -v "$1" >/dev/null || { echo "scan.sh: $1 not found; $2" >&2; exit 1; }; }
need cargo "install Rust"
need rg "apt-get install ripgrep"
need hyperfine "apt-get install hyperfine"
need python3 "apt-get install python3"

cd "$ROOT"
echo "== building (release)" >&2
cargo build --release --quiet
BIN=$TARGET/release/tokman
TREE=$WORK/tree-$FILES-$MB
mkdir -p "$WORK"
unset TOKMAN_STORE TOKMAN_KEY_FILE TOKMAN_PASSPHRASE TOKMAN_PASSPHRASE_FILE
export HOME=$WORK

if [ ! -f "$TREE/.done" ]; then
    echo "== building a tree of $FILES files, $MB MB" >&2
    rm -rf "$TREE"
    # Real tokens come from a throwaway store (the checksums must hold).
    rm -rf "$WORK/store" && mkdir -m 700 "$WORK/store"
    "$BIN" --store "$WORK/store/s.db" init --new-key-file "$WORK/store/k.key" >/dev/null 2>&1
    for i in $(seq 1 120); do
        "$BIN" --store "$WORK/store/s.db" --key-file "$WORK/store/k.key" generate "user$i"
    done > "$WORK/tokens.txt" 2>/dev/null
    python3 - "$TREE" "$FILES" "$MB" "$WORK/tokens.txt" <<'PY'
import os, random, sys
tree, files, mb, tokens = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
random.seed(7)
toks = [t.strip() for t in open(tokens) if t.strip()]
real, hidden = toks[:100], toks[100:]
def lookalike(t):
    last = t[-1]
    return t[:-1] + ("0" if last != "0" else "1")
words = ("let value = config.get(key).unwrap_or_default(); return Ok(result); "
         "if (status != 200) { throw new Error('request failed'); } "
         "SELECT id, name FROM users WHERE active = true ORDER BY created_at; ").split()
per_file = mb * 1024 * 1024 // files
plants = {random.randrange(files): t for t in real}
fakes = {random.randrange(files): lookalike(t) for t in real}
for i in range(files):
    d = os.path.join(tree, f"d{i % 500:03d}")
    os.makedirs(d, exist_ok=True)
    out, size = [], 0
    while size < per_file:
        n = random.randrange(6, 15)
        line = " ".join(random.choice(words) for _ in range(n))
        out.append(line)
        size += len(line) + 1
    for extra in (plants.get(i), fakes.get(i)):
        if extra:
            out.insert(random.randrange(len(out)), f'    api_key = "{extra}"')
    with open(os.path.join(d, f"f{i:05d}.txt"), "w") as f:
        f.write("\n".join(out) + "\n")
ign = os.path.join(tree, "ignored")
os.makedirs(ign, exist_ok=True)
with open(os.path.join(ign, "secrets.txt"), "w") as f:
    f.write("\n".join(hidden + [lookalike(t) for t in hidden]) + "\n")
with open(os.path.join(tree, ".gitignore"), "w") as f:
    f.write("ignored/\n")
PY
    touch "$TREE/.done"
fi

cat "$TREE"/*/* > /dev/null 2>&1 || true
echo "== tree: $(find "$TREE" -type f | wc -l) files, $(du -sm "$TREE" | cut -f1) MB" >&2

# What each finds (scan exits 1 when it finds a token; rg exits 0 when it matches).
found_scan=$("$BIN" scan "$TREE" --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["hits"]))' || true)
found_rg=$(rg --no-config -o -n --column -e "$PATTERN" "$TREE" | wc -l)
echo "scan found $found_scan tokens (checksums hold); rg found $found_rg pattern matches (look-alikes included)"

hyperfine --style basic --runs "$RUNS" --warmup 1 -i \
    -n "rg" "rg --no-config -n --column -o -e '$PATTERN' '$TREE' > /dev/null" \
    -n "tokman scan" "'$BIN' scan '$TREE' > /dev/null" \
    --export-json "$WORK/scan.json" >&2

python3 - "$WORK/scan.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
rg, scan = r["rg"]["median"], r["tokman scan"]["median"]
print(f"rg            {rg:8.3f} s")
print(f"tokman scan   {scan:8.3f} s   {scan / rg:5.2f}x rg (goal <= 1.5x)")
PY

if [ -x /usr/bin/time ]; then
    rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
    echo "peak RSS: rg $(rss rg --no-config -n --column -o -e "$PATTERN" "$TREE") KiB," \
        "tokman scan $(rss "$BIN" scan "$TREE") KiB"
fi
