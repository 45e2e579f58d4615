#!/usr/bin/env bash
# Set up transcribe on a fresh Debian/Ubuntu machine: the C libraries, a release build, and the
# default model (facebook/wav2vec2-base-960h) in Models/. Safe to rerun.
#
# Usage: scripts/setup.sh            (then: .build/release/transcribe FILE...)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
packages=(pkg-config libsndfile1-dev libsamplerate0-dev libopenblas-dev)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

swift build -c release --product transcribe
echo "setup: built .build/release/transcribe" >&2

scripts/download-model.sh
