#!/usr/bin/env bash
# Install the Silero VAD v6 voice activity detector (MIT, 309k parameters) into Models/silero-vad-v6:
# the ONNX file faster-whisper ships (faster_whisper/assets/silero_vad_v6.onnx in its PyPI wheel,
# downloaded alone, without its dependencies), converted to safetensors by
# scripts/convert-silero-vad.py. `transcribe --vad` finds it there.
#
# Usage: scripts/install-vad.sh [--force] [DEST]
#
# Environment: PYTHON (default python3). Idempotent: "nothing to do" when DEST holds the converted
# model. Non-interactive; exits 1 with a message.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PYTHON="${PYTHON:-python3}"
source "$ROOT/scripts/lib/packages.sh"

say() { printf 'install-vad: %s\n' "$*" >&2; }
die() { say "$@"; exit 1; }

force=0 dest=""
while (($#)); do
    case "$1" in
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        --force) force=1 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) [[ -z "$dest" ]] || die "one DEST (see --help)"; dest="$1" ;;
    esac
    shift
done
dest="${dest:-$ROOT/Models/silero-vad-v6}"

if [[ "$force" == 0 && -s "$dest/model.safetensors" && -s "$dest/config.json" ]] \
    && grep -q '"silero_vad"' "$dest/config.json"; then
    say "nothing to do: $dest is installed"
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3 (apt-get install python3 python3-pip)"
wheel_spec="$(grep -E '^faster-whisper==' "$ROOT/scripts/requirements/vad.txt")"
onnx_spec="$(grep -E '^onnx==' "$ROOT/scripts/requirements/vad.txt")"
install_python_packages "$onnx_spec"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
say "downloading $wheel_spec (the wheel alone) for its silero_vad_v6.onnx"
"$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$work" "$wheel_spec" \
    || die "could not download $wheel_spec from PyPI (offline?)"
"$PYTHON" - "$work" <<'PY' || die "the wheel has no faster_whisper/assets/silero_vad_v6.onnx"
import sys, zipfile, pathlib
work = pathlib.Path(sys.argv[1])
wheel = next(work.glob("faster_whisper-*.whl"))
with zipfile.ZipFile(wheel) as archive:
    (work / "silero_vad_v6.onnx").write_bytes(archive.read("faster_whisper/assets/silero_vad_v6.onnx"))
PY
"$PYTHON" "$ROOT/scripts/convert-silero-vad.py" "$work/silero_vad_v6.onnx" "$work/model"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
mv "$work/model" "$dest.partial"
rm -rf "$dest"
mv "$dest.partial" "$dest"
say "installed $dest"
