#!/usr/bin/env bash
# Does a flood of refused tokens slow down good ones?
#
#   benches/flood.sh                 # ~1 minute
#
# Measures the median time of one `tokman verify` of a valid token (key file, token on stdin)
# three ways: on a quiet store; while another process floods it with a revoked token (each
# refusal appends an audit event: a write); and while it is flooded with unknown tokens (no
# write at all). Needs hyperfine (apt-get install hyperfine).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
RUNS=${RUNS:-60}
command -v hyperfine >/dev/null || { echo "flood.sh: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
(cd "$ROOT" && cargo build --release --quiet)
BIN=$TARGET/release/tokman
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
unset TOKMAN_PASSPHRASE TOKMAN_PASSPHRASE_FILE TOKMAN_NEW_PASSPHRASE
export TOKMAN_STORE=$WORK/store.db TOKMAN_KEY_FILE=$WORK/k.key
"$BIN" init --new-key-file "$TOKMAN_KEY_FILE" 2>/dev/null
for i in $(seq 1 200); do "$BIN" generate "user$i" --no-rate-limit >/dev/null 2>&1; done
"$BIN" generate good --no-rate-limit > "$WORK/good" 2>/dev/null
BAD=$("$BIN" generate bad 2>/dev/null)
"$BIN" revoke --user bad --yes 2>/dev/null
UNKNOWN=$(env -u TOKMAN_KEY_FILE TOKMAN_STORE="$WORK/other.db" TOKMAN_PASSPHRASE=x "$BIN" generate x 2>/dev/null)

measure() {
    hyperfine --style none --warmup 5 --runs "$RUNS" --export-json "$WORK/h.json" \
        "$BIN verify --quiet < $WORK/good" >/dev/null 2>&1
    python3 -c "import json;r=json.load(open('$WORK/h.json'))['results'][0];print(f\"{r['median']*1000:.2f} ms\")"
}
# A flood: one --stream process answering the same refused token as fast as it can.
flood() { yes "$1" | "$BIN" verify --stream > /dev/null 2>&1 & }

printf 'quiet store:                   %s\n' "$(measure)"
flood "$BAD"; sleep 1
EVENTS_BEFORE=$("$BIN" audit --json | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')
printf 'flood of a revoked token:      %s\n' "$(measure)"
EVENTS_AFTER=$("$BIN" audit --json | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')
kill %1; wait 2>/dev/null || true
echo "  (the flood wrote $((EVENTS_AFTER - EVENTS_BEFORE)) verify_refused events meanwhile)"
flood "$UNKNOWN"; sleep 1
printf 'flood of unknown tokens:       %s\n' "$(measure)"
kill %1 2>/dev/null; wait 2>/dev/null || true
"$BIN" audit --check >/dev/null 2>&1 && echo "audit log intact afterwards"
