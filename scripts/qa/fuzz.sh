#!/usr/bin/env bash
# Builds the libFuzzer targets in Fuzz/ (with AddressSanitizer, into .build-fuzz) and runs each for
# a set time, then prints a summary. Inputs that crash, hang (over 10 s), run out of memory or leak
# are kept in .fuzz/crashes/<target>/; the corpus grows in .fuzz/corpus/<target>/ from the seeds
# scripts/qa/make-fuzz-corpus.py writes to .fuzz/seeds/ (made on the first run). All of .fuzz/ is
# git-ignored; a crash that is fixed becomes a test in Tests/TranscribeKitTests/FuzzRegressionTests.swift.
#
# Usage: scripts/qa/fuzz.sh [TARGET|all] [SECONDS]     (default: all, 300 s each)
#        scripts/qa/fuzz.sh FuzzAudio 0 .fuzz/crashes/FuzzAudio/crash-...   (replay inputs, no fuzzing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

target="${1:-all}"
seconds="${2:-300}"
shift $(($# > 2 ? 2 : $#))
replay=("$@")

# Longest input per target: a small checkpoint, a config, a vocabulary, a short audio file.
declare -A max_len=([FuzzSafeTensors]=131072 [FuzzConfig]=8192 [FuzzVocabulary]=8192 [FuzzAudio]=65536
    [FuzzWhisperConfig]=8192 [FuzzWhisperTokenizer]=32768)
default_max_len=65536

if [[ "$target" == all ]]; then
    targets=()
    for folder in Fuzz/Fuzz*/; do targets+=("$(basename "$folder")"); done
else
    targets=("$target")
fi

for name in "${targets[@]}"; do
    [[ -d ".fuzz/seeds/$name" ]] || { python3 scripts/qa/make-fuzz-corpus.py; break; }
done

export LSAN_OPTIONS="suppressions=$PWD/scripts/qa/lsan-suppressions.txt:print_suppressions=0"
# Crashes go to libFuzzer (which keeps the input), not to the Swift runtime's backtracer.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
summary=()
for name in "${targets[@]}"; do
    echo "fuzz: building $name" >&2
    TRANSCRIBE_FUZZ=1 swift build --scratch-path .build-fuzz -Xswiftc -sanitize=fuzzer,address \
        -Xswiftc -parse-as-library --product "$name" 2>&1 | grep -v "Cannot export local symbol" >&2
    binary=".build-fuzz/debug/$name"
    length="${max_len[$name]:-$default_max_len}"

    if ((${#replay[@]})); then
        "$binary" -runs=1 -max_len="$length" "${replay[@]}"
        continue
    fi

    mkdir -p ".fuzz/corpus/$name" ".fuzz/crashes/$name" ".fuzz/seeds/$name" .fuzz/logs
    log=".fuzz/logs/$name.log"
    dictionary=()
    [[ -f ".fuzz/dict/$name.dict" ]] && dictionary=(-dict=".fuzz/dict/$name.dict")
    echo "fuzz: running $name for $seconds s (max_len $length, log $log)" >&2
    before=$(find ".fuzz/crashes/$name" -maxdepth 1 -type f | wc -l)
    start=$(date +%s)
    # Fork mode with one worker keeps going after a crash, so one run can find several.
    "$binary" ".fuzz/corpus/$name" ".fuzz/seeds/$name" "${dictionary[@]}" \
        -max_total_time="$seconds" -max_len="$length" -timeout=10 -rss_limit_mb=2048 \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -artifact_prefix=".fuzz/crashes/$name/" > "$log" 2>&1 || true
    elapsed=$(($(date +%s) - start))
    # A kept input that does not fail again when replayed 100 times (LeakSanitizer's reports of
    # Swift objects it lost track of, mostly) goes to unreproduced/.
    mkdir -p ".fuzz/crashes/$name/unreproduced"
    while IFS= read -r kept; do
        if "$binary" -runs=100 -timeout=10 -rss_limit_mb=2048 -max_len="$length" "$kept" > /dev/null 2>&1; then
            mv "$kept" ".fuzz/crashes/$name/unreproduced/"
        fi
    done < <(find ".fuzz/crashes/$name" -maxdepth 1 -type f -newermt "@$start")
    # The last status line: "#1234: cov: 567 ft: 890 corp: 12 exec/s 345 oom/timeout/crash: 0/0/0 ..."
    status=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1 || true)
    runs=$(sed -nE 's/^#([0-9]+):.*/\1/p' <<<"$status")
    coverage=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$status")
    corpus=$(find ".fuzz/corpus/$name" -type f | wc -l)
    found=$(($(find ".fuzz/crashes/$name" -maxdepth 1 -type f | wc -l) - before))
    unreproduced=$(find ".fuzz/crashes/$name/unreproduced" -type f -newermt "@$start" | wc -l)
    rate=$(( ${runs:-0} / (elapsed > 0 ? elapsed : 1) ))
    summary+=("$(printf '%-16s %7s %11s %8s %6s %7s %s' "$name" "$elapsed" "${runs:-?}" "$rate" \
        "${coverage:-?}" "$corpus" "$found (+$unreproduced not reproduced)")")
done

if ((${#summary[@]})); then
    echo
    printf '%-16s %7s %11s %8s %6s %7s %s\n' target seconds runs exec/s cov corpus "new crashes/hangs/OOMs/leaks"
    printf '%s\n' "${summary[@]}"
    echo "(inputs kept in .fuzz/crashes/<target>/, those that did not fail again on replay in unreproduced/;"
    echo " replay one: scripts/qa/fuzz.sh TARGET 0 FILE)"
fi
