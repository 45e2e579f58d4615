"""16-bit PCM WAV files, read the way the Swift tool's libsndfile reads them (int16 / 32768 as float32)
and written at 16 kHz mono, and the list of sample recordings in ../shared/samples. Needs numpy.

Imported by fixtures/make-wav2vec2-fixtures.py, fixtures/make-whisper-fixtures.py,
fixtures/make-whisper-frontend-fixtures.py, fixtures/make-faster-whisper-reference.py,
bench/benchmark.py (and through it bench/benchmark-whisper.py and bench/profile-onnxruntime.py),
bench/whisper-wer.py and lib/fixture_tools.py.
"""

from __future__ import annotations

import csv
import wave
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
# The real recordings beside the repository, and transcripts.tsv, which lists them.
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "samples"


def read_pcm(path: Path, check: bool = True) -> np.ndarray:
    """The int16 samples of a 16-bit PCM WAV; with `check`, one that is not mono 16 kHz stops the script."""
    with wave.open(str(path), "rb") as w:
        if check and (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
            raise SystemExit(f"{path}: expected mono 16-bit {SAMPLE_RATE} Hz")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 / 32768 as float32: exactly what libsndfile's sf_readf_float returns for 16-bit PCM."""
    return pcm.astype(np.float32) / np.float32(32768.0)


def read_wav(path: Path, check: bool = True) -> np.ndarray:
    """A 16-bit PCM WAV as float32 samples in [-1, 1), as libsndfile reads it (see read_pcm for `check`)."""
    return to_float(read_pcm(path, check))


def write_wav(path: Path, pcm: np.ndarray | bytes) -> None:
    """A 16 kHz mono 16-bit PCM WAV of `pcm`: int16 samples, as an array or as little-endian bytes."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm if isinstance(pcm, (bytes, bytearray)) else pcm.astype("<i2").tobytes())


def sample_table(program: str, names: list[str] | None = None,
                 purpose: str = "it lists the sample clips") -> list[dict[str, str]]:  # fmt: skip
    """The rows of ../shared/samples/transcripts.tsv in its order (columns: file, seconds, ...,
    reference_transcript); `names` picks some, each of which must be listed. A missing table or an
    unlisted name stops the script with a message that starts with `program`."""
    table = SAMPLES / "transcripts.tsv"
    if not table.is_file():
        raise SystemExit(f"{program}: {table} is missing; {purpose}")
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    if names:
        unknown = sorted(set(names) - {row["file"] for row in rows})
        if unknown:
            raise SystemExit(f"{program}: not in transcripts.tsv: {', '.join(unknown)}")
        rows = [row for row in rows if row["file"] in names]
    return rows
