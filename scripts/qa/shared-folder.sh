#!/usr/bin/env bash
# The README's shared-folder recipe under stress: runs that cannot see each other's processes (each
# in its own PID namespace, as on two machines or in two containers) write into one --output-dir
# at the same time, one long run and a run restarted several times (each start clears what it
# takes for left-over temporary files). Afterwards every output must be whole and none missing,
# and no temporary file left. Needs root (unshare).
#
# Usage: scripts/qa/shared-folder.sh BINARY MODEL_DIR CLIP.wav [COPIES]
set -euo pipefail
binary=$(realpath "$1")
model=$(realpath "$2")
clip=$(realpath "$3")
copies=${4:-40}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/in" "$work/out"
for i in $(seq -w 1 "$copies"); do ln -s "$clip" "$work/in/clip-$i.wav"; done
ls "$work"/in/*.wav > "$work/list.txt"

# The long run: in its own PID namespace, behind a shell, so that its pid (2) names no process
# of the other namespace.
unshare --pid --fork sh -c "\"$binary\" --quiet --model '$model' --files-from '$work/list.txt' \
    --output-dir '$work/out' --format json --jobs 2 --threads 1; echo \$? > '$work/status.long'" &
long=$!
# The restarted run: five runs over the same list, each in a namespace of its own.
for round in 1 2 3 4 5; do
    unshare --pid --fork "$binary" --quiet --model "$model" --files-from "$work/list.txt" \
        --output-dir "$work/out" --format json --threads 1 || { echo "shared-folder: round $round failed" >&2; exit 1; }
done
wait "$long"
[ "$(cat "$work/status.long")" = 0 ] || { echo "shared-folder: the long run failed" >&2; exit 1; }

outputs=$(find "$work/out" -name '*.json' | wc -l)
leftovers=$(find "$work/out" -name '.*.tmp' | wc -l)
broken=0
for file in "$work"/out/*.json; do
    python3 -c 'import json, sys; assert "text" in json.load(open(sys.argv[1]))' "$file" 2>/dev/null || broken=$((broken + 1))
done
echo "shared-folder: $outputs of $copies outputs, $broken not whole, $leftovers temporary files left"
[ "$outputs" = "$copies" ] && [ "$broken" = 0 ] && [ "$leftovers" = 0 ]
