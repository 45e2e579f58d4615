# Sourced by scripts/setup.sh and scripts/test.sh: installs what is missing, and nothing else.

# The Debian packages named, with apt-get, where any of them is not installed yet.
install_debian_packages() {
    dpkg -s "$@" >/dev/null 2>&1 && return 0
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "$@"
}

# The PyPI packages of a requirements file (name==version lines), with pip, where any is missing
# or at another version. pip comes from Debian where there is none.
install_python_requirements() {
    local requirements=$1
    python3 - "$requirements" <<'PY' && return 0
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line:
        continue
    name, _, pinned = line.partition("==")
    try:
        if version(name) != pinned:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
    python3 -m pip --version >/dev/null 2>&1 || install_debian_packages python3-pip
    # Debian's own Python is "externally managed": pip needs to be told it may install there.
    local flags=()
    python3 -m pip install --help | grep -q -- --break-system-packages && flags=(--break-system-packages)
    python3 -m pip install -q "${flags[@]}" -r "$requirements"
}
