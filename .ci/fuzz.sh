#!/usr/bin/env bash
# Fuzz stage: replays the committed seeds, then fuzzes every cargo-fuzz
# target for a bounded time. Stable Rust only (--sanitizer none).
#
#   FUZZ_SECONDS   fuzzing time per target (default 60)
#   FUZZ_TARGETS   space-separated targets (default: all of fuzz/fuzz_targets)
#
# Wall time: cargo-fuzz install (first time only, ~1-5 min) + one build of
# the fuzz crate (~2-3 min on 2 cores) + per target (replay, a few seconds,
# plus FUZZ_SECONDS). Every libFuzzer run is also wrapped in `timeout`.
# Exit status 1 when any target crashed, hung or failed its replay; the
# failing input is in fuzz/artifacts/<target>/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-60}"
SANITIZER=(--sanitizer none)
LIBFUZZER_OPTS=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1)

log() { printf 'fuzz: %s\n' "$*"; }

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    start=$SECONDS
    cargo install cargo-fuzz --locked
    log "cargo-fuzz installed in $((SECONDS - start))s"
fi
log "$(cargo fuzz --version)"

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    targets=()
    for f in fuzz/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi

start=$SECONDS
cargo fuzz build "${SANITIZER[@]}"
log "build of ${targets[*]} took $((SECONDS - start))s"

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# One line of libFuzzer's final stats, e.g. "194474 runs, 3188 exec/s".
stats() {
    awk '
        /^stat::number_of_executed_units/ { runs = $NF }
        /^stat::average_exec_per_sec/     { eps = $NF }
        /^stat::new_units_added/          { new = $NF }
        END { printf "%s runs, %s exec/s, %s new corpus units", runs, eps, new }
    ' "$1"
}

failed=()
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    seeds="fuzz/seeds/$t"
    mkdir -p "$corpus"
    n_seeds=0
    if [[ -d "$seeds" ]]; then
        cp -f "$seeds"/* "$corpus"/ 2>/dev/null || true
        n_seeds=$(find "$seeds" -type f | wc -l)
    fi

    # 1. Replay the committed seeds exactly once each.
    if ((n_seeds > 0)); then
        if timeout 300 cargo fuzz run "${SANITIZER[@]}" "$t" "$seeds" -- \
            -runs=0 "${LIBFUZZER_OPTS[@]}" >"$logs/$t.replay" 2>&1; then
            log "$t: replay of $n_seeds seeds OK"
        else
            log "$t: replay of $n_seeds seeds FAILED"
            tail -n 60 "$logs/$t.replay"
            failed+=("$t (replay)")
            continue
        fi
    else
        log "$t: no seeds in $seeds"
    fi

    # 2. Fuzz for FUZZ_SECONDS (the outer timeout only guards a stuck run),
    #    with fuzz/<target>.dict when there is one.
    dict=()
    if [[ -f "fuzz/$t.dict" ]]; then
        dict=(-dict="fuzz/$t.dict")
    fi
    if timeout $((FUZZ_SECONDS + 300)) cargo fuzz run "${SANITIZER[@]}" "$t" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" "${LIBFUZZER_OPTS[@]}" "${dict[@]}" >"$logs/$t.run" 2>&1; then
        log "$t: OK after ${FUZZ_SECONDS}s: $(stats "$logs/$t.run"), corpus $(find "$corpus" -type f | wc -l) files"
    else
        log "$t: FAILED: $(stats "$logs/$t.run")"
        grep -E -A 20 "panicked at|ERROR: libFuzzer|SUMMARY" "$logs/$t.run" | head -n 80 || true
        tail -n 25 "$logs/$t.run"
        log "$t: failing input(s): $(ls fuzz/artifacts/"$t"/ 2>/dev/null | tr '\n' ' ')"
        log "$t: reproduce: cargo fuzz run --sanitizer none $t fuzz/artifacts/$t/<file>"
        failed+=("$t")
    fi
done

if ((${#failed[@]} > 0)); then
    log "FAILED: ${failed[*]}"
    exit 1
fi
log "all targets OK: ${targets[*]}"
