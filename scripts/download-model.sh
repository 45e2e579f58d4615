#!/usr/bin/env bash
# Download a Wav2Vec2 CTC checkpoint, or an audio classifier (Wav2Vec2 or HuBERT keyword spotting,
# the Audio Spectrogram Transformer), from the Hugging Face hub into a local directory.
#
# Usage: scripts/download-model.sh [TARGET_DIR] [REPO_ID]
#
#   e.g. scripts/download-model.sh Models/ast-audioset MIT/ast-finetuned-audioset-10-10-0.4593
#        scripts/download-model.sh Models/wav2vec2-ks superb/wav2vec2-base-superb-ks
#
#   TARGET_DIR  default: Models/<repo name> under the repository root (Models/wav2vec2-base-960h)
#   REPO_ID     default: $REPO, else facebook/wav2vec2-base-960h
#
# Environment: REPO (repo id), REVISION (branch, tag or commit; default main),
# HF_ENDPOINT (a hub mirror; default https://huggingface.co), HF_TOKEN (for gated or private repos).
#
# Idempotent: each file is downloaded to a temporary name and renamed when complete, so a rerun
# skips what is already there. If the hub has no model.safetensors, pytorch_model.bin is fetched
# and converted by scripts/convert-to-safetensors.py, which needs torch. At the end every JSON file
# and the safetensors header are checked with the Python standard library.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# A CTC model also needs vocab.json; a classifier's labels are in config.json.
readonly CTC_FILES=(vocab.json preprocessor_config.json)
readonly CLASSIFIER_FILES=(preprocessor_config.json)
readonly OPTIONAL_FILES=(tokenizer_config.json special_tokens_map.json)

if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then
    sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"
    exit 0
fi

repo="${2:-${REPO:-facebook/wav2vec2-base-960h}}"
target="${1:-$ROOT/Models/${repo##*/}}"
revision="${REVISION:-main}"
endpoint="${HF_ENDPOINT:-https://huggingface.co}"

say() { printf 'download-model: %s\n' "$*" >&2; }
die() { say "$@"; exit 1; }

offline() { # url, curl's error
    cat >&2 <<EOF
download-model: cannot reach $1
  ($2)
This machine seems to be offline, or cannot reach ${endpoint}.
To get the model another way, copy a Hugging Face model directory for $repo
(config.json, preprocessor_config.json, model.safetensors or pytorch_model.bin, and vocab.json
for a CTC model)
from a machine that has it, for example from its
~/.cache/huggingface/hub/models--${repo//\//--}/snapshots/<revision>/, then either
  transcribe --model DIR ...        or        export TRANSCRIBE_MODEL=DIR
(or put it in $target and rerun this script to check it).
EOF
    exit 1
}

curl_auth=()
if [[ -n "${HF_TOKEN:-}" ]]; then curl_auth=(--header "Authorization: Bearer $HF_TOKEN"); fi
progress=(--silent --show-error)
if [[ -t 2 ]]; then progress=(--progress-bar); fi

partial=""
created=""
cleanup() {
    if [[ -n "$partial" ]]; then rm -f "$partial"; fi
    if [[ -n "$created" ]]; then rmdir "$target" 2>/dev/null || true; fi # only if still empty
}
trap cleanup EXIT

# fetch FILE: 0 when FILE is in $target (now or already), 1 when the hub answers 404.
# Any other answer, or no answer at all, ends the script.
fetch() {
    local file="$1" dest="$target/$1"
    local url="$endpoint/$repo/resolve/$revision/$file"
    if [[ -s "$dest" ]]; then
        say "$file: already there"
        return 0
    fi
    partial="$dest.partial.$$"
    local status error
    error="$(mktemp)"
    status="$(curl --location --connect-timeout 10 --retry 2 --retry-delay 1 --retry-max-time 30 \
        "${progress[@]}" ${curl_auth[@]+"${curl_auth[@]}"} --output "$partial" --write-out '%{http_code}' \
        "$url" 2>"$error")" || {
        local reason
        reason="$(grep -m1 'curl:' "$error" || true)"
        rm -f "$error" "$partial"
        [[ "$status" == 000 || -z "$status" ]] && offline "$url" "${reason:-curl failed}"
        die "$file: download from $url failed (${reason:-curl failed})"
    }
    rm -f "$error"
    case "$status" in
        200)
            mv -f "$partial" "$dest"
            partial=""
            say "$file: downloaded"
            return 0
            ;;
        404)
            rm -f "$partial"
            partial=""
            return 1
            ;;
        401 | 403)
            rm -f "$partial"
            die "$url: HTTP $status; $repo does not exist, or is gated or private (set HF_TOKEN)"
            ;;
        *)
            rm -f "$partial"
            die "$url: HTTP $status"
            ;;
    esac
}

if [[ ! -d "$target" ]]; then
    mkdir -p "$target"
    created=1
fi
say "$repo@$revision -> $target"

fetch config.json || die "config.json: not in $repo (HTTP 404); is it a transformers checkpoint?"
if grep -qE '"(Wav2Vec2ForSequenceClassification|HubertForSequenceClassification|ASTForAudioClassification)"' \
    "$target/config.json"; then
    required=("${CLASSIFIER_FILES[@]}")
else
    required=("${CTC_FILES[@]}")
fi
for file in "${required[@]}"; do
    fetch "$file" || die "$file: not in $repo (HTTP 404); is it a Wav2Vec2 CTC checkpoint or an audio classifier?"
done
for file in "${OPTIONAL_FILES[@]}"; do
    fetch "$file" || say "$file: not in $repo (optional, skipped)"
done

if ! fetch model.safetensors; then
    say "model.safetensors: not in $repo; fetching pytorch_model.bin to convert it"
    fetch pytorch_model.bin || die "neither model.safetensors nor pytorch_model.bin is in $repo"
    if ! python3 -c 'import torch, safetensors' 2>/dev/null; then
        die "converting pytorch_model.bin needs torch and safetensors: python3 -m pip install torch safetensors," \
            "then rerun this script (the download is kept)"
    fi
    python3 "$ROOT/scripts/convert-to-safetensors.py" "$target"
    say "pytorch_model.bin is no longer needed and can be deleted"
fi

command -v python3 >/dev/null || { say "python3 not found; skipped checking the files"; exit 0; }
python3 - "$target" <<'EOF' || exit 1
"""Check what was downloaded: JSON parses; the safetensors header is sound. Standard library only."""
import json
import struct
import sys
from pathlib import Path

directory = Path(sys.argv[1])
problems = []

for name in ["config.json", "vocab.json", "preprocessor_config.json", "tokenizer_config.json", "special_tokens_map.json"]:
    path = directory / name
    if not path.exists():
        continue
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        problems.append(f"{name}: not valid JSON ({error})")
        continue
    if not isinstance(value, dict) or not value:
        problems.append(f"{name}: expected a non-empty JSON object")
    elif name == "vocab.json" and not all(isinstance(i, int) for i in value.values()):
        problems.append(f"{name}: expected token -> integer id")

path = directory / "model.safetensors"
size = path.stat().st_size
with path.open("rb") as file:
    prefix = file.read(8)
    header_length = struct.unpack("<Q", prefix)[0] if len(prefix) == 8 else None
    if header_length is None or 8 + header_length > size:
        problems.append(f"model.safetensors: header length does not fit in the {size}-byte file")
        header = None
    else:
        try:
            header = json.loads(file.read(header_length))
        except ValueError as error:
            problems.append(f"model.safetensors: header is not JSON ({error})")
            header = None
if header is not None:
    data_size = size - 8 - header_length
    header.pop("__metadata__", None)
    end, outside = 0, []
    for key, entry in header.items():
        begin, stop = entry.get("data_offsets", (None, None)) if isinstance(entry, dict) else (None, None)
        if isinstance(begin, int) and isinstance(stop, int) and 0 <= begin <= stop <= data_size:
            end = max(end, stop)
        else:
            outside.append(key)
    if outside:
        more = f" and {len(outside) - 1} more" if len(outside) > 1 else ""
        problems.append(f"model.safetensors: {outside[0]}{more}: data_offsets outside the {data_size}-byte data; truncated?")
    if not header:
        problems.append("model.safetensors: no tensors")
    elif end != data_size and not problems:
        problems.append(f"model.safetensors: tensors end at byte {end} of {data_size}; the file is the wrong size")

if problems:
    print("download-model: " + "\ndownload-model: ".join(problems), file=sys.stderr)
    print(f"download-model: delete the files named above from {directory} and rerun", file=sys.stderr)
    sys.exit(1)
print(f"download-model: checked {directory}: {len(header)} tensors, JSON files parse", file=sys.stderr)
EOF
created=""
echo "$target"
