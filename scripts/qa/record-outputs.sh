#!/usr/bin/env bash
# Every output the binary makes from the test fixtures, written into one folder, so that a change
# that should not change behaviour (a refactor, a file move) can be checked byte for byte:
#
#   scripts/qa/record-outputs.sh .build/release/transcribe /tmp/before     # before the change
#   scripts/qa/record-outputs.sh .build/release/transcribe /tmp/after      # after it
#   diff -r /tmp/before /tmp/after && echo identical
#
# For each fixture checkpoint (every config.json under Tests/Fixtures) and Models/whisper-tiny.en
# when installed: every output format over every fixture clip, json with --characters, and the CTC
# emissions (and two of ../shared/samples for tiny.en, when present). Models and clips are copied
# into a temporary folder and named relative to it, so the paths printed in the outputs do not
# depend on where the fixtures live in the tree.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

binary=$(realpath "${1:?usage: record-outputs.sh BINARY OUTPUT_DIR}")
out=${2:?usage: record-outputs.sh BINARY OUTPUT_DIR}
rm -rf "$out" && mkdir -p "$out"
out=$(realpath "$out")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/models" "$work/clips" "$work/samples"

for config in $(find Tests/Fixtures -name config.json | sort); do
    cp -r "$(dirname "$config")" "$work/models/"
done
[ -d Models/whisper-tiny.en ] && ln -s "$PWD/Models/whisper-tiny.en" "$work/models/whisper-tiny.en"
for clip in $(find Tests/Fixtures -path '*speech/*.wav' | sort); do
    cp "$clip" "$work/clips/"
done
if [ -d ../shared/samples ]; then
    for sample in jfk_inaugural_1961.flac ljspeech_LJ001-0001.wav; do cp "../shared/samples/$sample" "$work/samples/"; done
fi

cd "$work"
clips=(clips/*.wav)
for model in models/*; do
    name=$(basename "$model")
    inputs=("${clips[@]}")
    [ "$name" = whisper-tiny.en ] && inputs=(clips/*.wav samples/*)
    for format in txt json jsonl tsv; do
        "$binary" --quiet --model "$model" --format "$format" --threads 2 "${inputs[@]}" \
            > "$out/$name.$format" 2> "$out/$name.$format.stderr" || echo "exit $?" >> "$out/$name.$format.stderr"
    done
    for format in srt vtt; do
        "$binary" --quiet --model "$model" --format "$format" --output-dir "$out/$name.$format" "${inputs[@]}" \
            2> "$out/$name.$format.stderr" || echo "exit $?" >> "$out/$name.$format.stderr"
    done
    "$binary" --quiet --model "$model" --format json --characters --case sentence "${inputs[@]}" \
        > "$out/$name.characters.json" 2>&1 || echo "exit $?" >> "$out/$name.characters.json"
    if grep -q '"wav2vec2"' "$model/config.json"; then
        "$binary" --quiet --model "$model" --emissions "$out/$name.emissions" "${inputs[@]}" > /dev/null
    fi
done
echo "record-outputs: $(find "$out" -type f | wc -l) files in $out" >&2
