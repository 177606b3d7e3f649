#!/usr/bin/env bash
# Fuzz tokman's parsers and store opening, each target for a bounded time, one after another.
#
#   fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]     default: 60 seconds, every target
#   fuzz/run.sh 300                                   five minutes each
#   fuzz/run.sh 60 token policy                       only these targets
#
# Needs a nightly toolchain (`rustup toolchain install nightly`); installs cargo-fuzz from
# crates.io when it is missing. Not part of CI (.ci/run): it takes minutes and a nightly.
# Each target fuzzes a copy of its committed seeds (fuzz/corpus/<target>) in
# fuzz/work/corpus/<target>, which grows from run to run and is never committed.
# Exits 1 when any target crashed (a panic, a failed check, a time-out or running out of
# memory), after running the others, and names each crash input and how to reproduce it.
#
# Environment: TOKMAN_FUZZ_ALLOW_INTERNAL=1 / TOKMAN_FUZZ_REVIVAL=1 (store_open, see its
# header); FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS=-max_len=256).
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-60}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(token duration policy store_open)
fi
case $seconds in
'' | *[!0-9]*)
    echo "usage: fuzz/run.sh [SECONDS_PER_TARGET [TARGET...]]" >&2
    exit 2
    ;;
esac

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# One build for all targets (the same flags as `cargo fuzz run` uses, so nothing rebuilds).
cargo +nightly fuzz build

export TOKMAN_FUZZ_SEED_DIR="$PWD/work/store_open-seed"
mkdir -p work/logs
failed=()
for t in "${targets[@]}"; do
    mkdir -p "work/corpus/$t" "artifacts/$t"
    cp -n "corpus/$t"/* "work/corpus/$t/" 2>/dev/null || true
    before=$(ls "artifacts/$t" | sort)
    log="work/logs/$t.log"
    echo "== $t: ${seconds}s (log: fuzz/$log)"
    set +e
    # shellcheck disable=SC2086
    cargo +nightly fuzz run "$t" "work/corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    set -e
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/   /' || true
    new=$(comm -13 <(echo "$before") <(ls "artifacts/$t" | sort) | sed '/^$/d')
    if [ $rc -ne 0 ] || [ -n "$new" ]; then
        failed+=("$t")
        echo "!! $t failed (exit $rc); the end of its log:" >&2
        grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/   /' >&2
        for f in $new; do
            echo "   crash input: fuzz/artifacts/$t/$f" >&2
            flags=$(env | grep -E '^TOKMAN_FUZZ_(REVIVAL|ALLOW_INTERNAL)=' | tr '\n' ' ' || true)
            echo "   reproduce:   cd fuzz && ${flags}TOKMAN_FUZZ_SEED_DIR=\$PWD/work/store_open-seed cargo +nightly fuzz run $t artifacts/$t/$f" >&2
        done
    fi
done

if [ ${#failed[@]} -ne 0 ]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
echo "no crash in: ${targets[*]}"
