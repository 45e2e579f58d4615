"""What the scripts that make checkpoints share (fixtures/make-wav2vec2-fixtures.py,
fixtures/make-whisper-fixtures.py, fixtures/make-classification-fixtures.py, and
bench/make-benchmark-model.py for save_pretrained): running a
tool, the package versions the fixtures were made with (scripts/requirements/fixtures.txt), speech
from espeak-ng, seeded re-initialisation, saving and strictly reloading a checkpoint, and the
summary table."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from audio_files import SAMPLE_RATE

REQUIREMENTS = Path(__file__).resolve().parents[1] / "requirements" / "fixtures.txt"


def run(cmd: list[str]) -> None:
    try:
        subprocess.run(cmd, check=True, capture_output=True, text=True)
    except FileNotFoundError:
        raise SystemExit(f"{cmd[0]} not found; install it (apt-get install espeak-ng sox)")
    except subprocess.CalledProcessError as error:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{error.stderr}")


def pins() -> dict[str, str]:
    """The `name==version` lines of requirements/fixtures.txt."""
    found = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.strip()] = version.strip()
    return found


def check_pins() -> None:
    """Warns (on stderr) of every pinned package that is missing or at another version. (Not every
    script needs every pin: torchaudio, say, only make-classification-fixtures.py.)"""
    for name, version in pins().items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            print(f"warning: {name} is not installed, fixtures were made with {version}", file=sys.stderr)
            continue
        if installed != version:
            print(f"warning: {name} {installed} installed, fixtures were made with {version}; "
                  "outputs may differ", file=sys.stderr)  # fmt: skip


def synthesise(text: str, out_path: Path, voice: str, words_per_minute: int, seconds: float | None = None) -> None:
    """espeak-ng (22.05 kHz) -> sox -> 16 kHz mono 16-bit PCM WAV, trimmed to `seconds` when given.
    -D: no dither, so reruns match."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        run(["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text])
        trim = ["trim", "0", str(seconds)] if seconds is not None else []
        run(["sox", "-D", "-V1", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
             "-e", "signed-integer", "-t", "wav", str(out_path), *trim])  # fmt: skip


def normal_(tensor: torch.Tensor, std: float, gen: torch.Generator, mean: float = 0.0) -> None:
    tensor.copy_(torch.randn(tensor.shape, generator=gen, dtype=torch.float32) * std + mean)


def save_pretrained(model, processor, out: Path) -> None:
    """model.save_pretrained (safetensors) and processor.save_pretrained into `out`."""
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    # transformers 5 writes the feature extractor inside processor_config.json; checkpoints on the hub
    # (and our CLI) read preprocessor_config.json, so write that too.
    processor.feature_extractor.save_pretrained(out)


def load_float32(model_class, path: Path):  # noqa: ANN201
    """model_class.from_pretrained(path), in eval mode: float32 compute on the stored (possibly
    float16/bfloat16-rounded) weights, eager attention; strict about keys."""
    model, info = model_class.from_pretrained(
        path, dtype=torch.float32, attn_implementation="eager", output_loading_info=True
    )
    problems = {k: v for k, v in info.items() if v}
    if problems:
        raise SystemExit(f"{path}: transformers did not load the checkpoint cleanly: {problems}")
    return model.eval()


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def print_table(columns: list[tuple[str, int]], last: str, rows: list[tuple[list, str]]) -> None:
    """A plain-text table: `columns` are (name, width), then a last column headed `last`; each row is
    its cells and the last column's text, already formatted."""
    header = "  ".join(f"{name:<{w}}" for name, w in columns) + "  " + last
    print(header)
    print("-" * len(header))
    for cells, text in rows:
        print("  ".join(f"{str(c):<{w}}" for c, (_, w) in zip(cells, columns)) + text)
