#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer (with LeakSanitizer), then under ThreadSanitizer.
# Each has its own build folder (.build-asan, .build-tsan); the binary the CLI tests spawn is
# instrumented too, so a report from it fails those tests through its stderr.
#
# Usage: scripts/qa/sanitizers.sh [address|thread]...     (default: both; about 5 minutes each)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

export LSAN_OPTIONS="suppressions=$PWD/scripts/qa/lsan-suppressions.txt:print_suppressions=0"
export TSAN_OPTIONS="halt_on_error=1"
# Tests that need the binary under a memory limit step aside (MemoryLimitTests).
export TRANSCRIBE_SANITIZER=1
for sanitizer in "${@:-address thread}"; do
    for name in $sanitizer; do
        echo "sanitizers: swift test -sanitize=$name" >&2
        swift test --scratch-path ".build-${name:0:1}san" -Xswiftc "-sanitize=$name"
    done
done
