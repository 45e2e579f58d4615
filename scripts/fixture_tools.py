"""What the fixture scripts (make-fixtures.py, make-whisper-fixtures.py) share: running a tool,
and the package versions the fixtures were made with (scripts/requirements-fixtures.txt)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent / "requirements-fixtures.txt"


def run(cmd: list[str]) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise SystemExit(f"{cmd[0]} not found; install it (apt-get install espeak-ng sox)")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{error.stderr}")


def pins() -> dict[str, str]:
    """The `name==version` lines of requirements-fixtures.txt."""
    found = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.strip()] = version.strip()
    return found


def check_pins() -> None:
    """Warns (on stderr) of every installed package whose version is not the pinned one."""
    for name, version in pins().items():
        installed = importlib.metadata.version(name)
        if installed != version:
            print(f"warning: {name} {installed} installed, fixtures were made with {version}; "
                  "outputs may differ", file=sys.stderr)  # fmt: skip
