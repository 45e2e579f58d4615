# Sourced by scripts/setup.sh, scripts/test.sh and scripts/install-whisper.sh: installs what is
# missing, and nothing else.

# The Debian packages named, with apt-get, where any of them is not installed yet.
install_debian_packages() {
    dpkg -s "$@" >/dev/null 2>&1 && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

# The PyPI packages named (name==version), with pip, where any is missing or at another version.
# pip comes from Debian where there is none. $PYTHON (default python3) is the Python installed into.
install_python_packages() {
    local python=${PYTHON:-python3}
    "$python" - "$@" <<'PY' && return 0
import sys
from importlib.metadata import PackageNotFoundError, version
for spec in sys.argv[1:]:
    name, _, pinned = spec.partition("==")
    try:
        if version(name) != pinned:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
    "$python" -m pip --version >/dev/null 2>&1 || install_debian_packages python3-pip
    # Debian's own Python is "externally managed": pip needs to be told it may install there.
    local flags=()
    "$python" -m pip install --help | grep -q -- --break-system-packages && flags=(--break-system-packages)
    "$python" -m pip install -q "${flags[@]}" "$@"
}

# The PyPI packages of a requirements file (name==version lines), as install_python_packages.
install_python_requirements() {
    local specs
    mapfile -t specs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1")
    install_python_packages "${specs[@]}"
}
