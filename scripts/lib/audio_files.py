"""Audio as the Swift tool reads it, and the list of sample recordings in ../shared/samples. Needs numpy.

- 16-bit PCM WAV files read as libsndfile reads them (int16 / 32768 as float32), and written at
  16 kHz mono: read_pcm, to_float, read_wav, write_wav.
- Any file the Swift tool reads, decoded by the system libsndfile and resampled by the system
  libsamplerate through ctypes, exactly as Sources/TranscribeKit/Audio does it (the samples are bit for
  bit the Swift tool's): SwiftStyleAudio, or read_audio for one file.
- The rows of ../shared/samples/transcripts.tsv: sample_table.

Imported by fixtures/make-wav2vec2-fixtures.py, fixtures/make-whisper-fixtures.py,
fixtures/make-whisper-frontend-fixtures.py, fixtures/make-faster-whisper-reference.py,
fixtures/make-faster-whisper-base-reference.py, fixtures/make-faster-whisper-words.py,
fixtures/make-faster-whisper-vad-reference.py,
fixtures/make-vad-reference.py, fixtures/make-classification-fixtures.py, bench/benchmark.py (and through it bench/benchmark-whisper.py and
bench/profile-onnxruntime.py), bench/whisper-wer.py and lib/fixture_tools.py.
"""

from __future__ import annotations

import csv
import ctypes
import ctypes.util
import functools
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


# ---------------------------------------------------------------------------------------------------
# Audio as the Swift tool reads it: libsndfile + libsamplerate, through ctypes


class SFInfo(ctypes.Structure):
    _fields_ = [("frames", ctypes.c_int64), ("samplerate", ctypes.c_int), ("channels", ctypes.c_int),
                ("format", ctypes.c_int), ("sections", ctypes.c_int), ("seekable", ctypes.c_int)]  # fmt: skip


class SRCData(ctypes.Structure):
    _fields_ = [("data_in", ctypes.POINTER(ctypes.c_float)), ("data_out", ctypes.POINTER(ctypes.c_float)),
                ("input_frames", ctypes.c_long), ("output_frames", ctypes.c_long),
                ("input_frames_used", ctypes.c_long), ("output_frames_gen", ctypes.c_long),
                ("end_of_input", ctypes.c_int), ("src_ratio", ctypes.c_double)]  # fmt: skip


SFM_READ = 0x10
SRC_SINC_MEDIUM_QUALITY = 1  # StreamingResampler's converter
BLOCK_FRAMES = 2048  # AudioStream.blockFrames


def load_library(name: str) -> ctypes.CDLL:
    found = ctypes.util.find_library(name)
    if not found:
        raise SystemExit(f"audio_files: lib{name} not found (apt-get install -y lib{name}1 or libsndfile1)")
    return ctypes.CDLL(found)


class SwiftStyleAudio:
    """File -> (samples,) float32 mono at 16 kHz, as Sources/TranscribeKit/Audio/AudioStream does it."""

    def __init__(self) -> None:
        self.sndfile = load_library("sndfile")
        self.samplerate = load_library("samplerate")
        sf, src = self.sndfile, self.samplerate
        sf.sf_open.restype = ctypes.c_void_p
        sf.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(SFInfo)]
        sf.sf_readf_float.restype = ctypes.c_int64
        sf.sf_readf_float.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.c_int64]
        sf.sf_close.argtypes = [ctypes.c_void_p]
        sf.sf_strerror.restype = ctypes.c_char_p
        sf.sf_strerror.argtypes = [ctypes.c_void_p]
        sf.sf_version_string.restype = ctypes.c_char_p
        src.src_new.restype = ctypes.c_void_p
        src.src_new.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        src.src_process.argtypes = [ctypes.c_void_p, ctypes.POINTER(SRCData)]
        src.src_delete.argtypes = [ctypes.c_void_p]
        src.src_strerror.restype = ctypes.c_char_p
        src.src_get_version.restype = ctypes.c_char_p

    def versions(self) -> dict[str, str]:
        return {"libsndfile": self.sndfile.sf_version_string().decode(),
                "libsamplerate": self.samplerate.src_get_version().decode()}  # fmt: skip

    def load(self, path: Path) -> np.ndarray:
        info = SFInfo()
        handle = self.sndfile.sf_open(str(path).encode(), SFM_READ, ctypes.byref(info))
        if not handle:
            raise RuntimeError(f"libsndfile cannot open {path}: {self.sndfile.sf_strerror(None).decode()}")
        state = None
        try:
            ratio = SAMPLE_RATE / info.samplerate
            if info.samplerate != SAMPLE_RATE:
                error = ctypes.c_int(0)
                state = self.samplerate.src_new(SRC_SINC_MEDIUM_QUALITY, 1, ctypes.byref(error))
                if not state:
                    raise RuntimeError(f"src_new: {self.samplerate.src_strerror(error.value).decode()}")
            interleaved = np.zeros(BLOCK_FRAMES * info.channels, dtype=np.float32)

            def read_block() -> np.ndarray:
                """AudioStream.readBlock: up to 2048 frames, channels averaged; empty at the end."""
                read = self.sndfile.sf_readf_float(handle, as_float_pointer(interleaved), BLOCK_FRAMES)
                frames = interleaved[: max(0, read) * info.channels].reshape(-1, info.channels)
                # Swift: sum = 0; sum += each channel in order; sum * (1 / Float(channels)), all float32.
                mono = frames[:, 0].copy()
                for channel in range(1, info.channels):
                    mono += frames[:, channel]
                if info.channels > 1:
                    mono *= np.float32(1.0) / np.float32(info.channels)
                return mono

            # AudioStream.next: blocks are read one ahead, so the last non-empty block reaches
            # src_process with end_of_input (an empty end_of_input call flushes nothing).
            out: list[np.ndarray] = []
            lookahead: np.ndarray | None = None
            finished = False
            while not finished:
                block = lookahead if lookahead is not None else read_block()
                following = read_block() if len(block) else np.zeros(0, dtype=np.float32)
                lookahead = following
                finished = len(following) == 0
                out.append(block if state is None else self.resample_block(state, block, ratio, finished))
            return np.concatenate(out).astype(np.float32)
        finally:
            if state:
                self.samplerate.src_delete(state)
            self.sndfile.sf_close(handle)

    def resample_block(self, state: int, block: np.ndarray, ratio: float, end: bool) -> np.ndarray:
        """StreamingResampler.process: src_process until the block is used (and, at the end, flushed)."""
        block = np.ascontiguousarray(block, dtype=np.float32)
        scratch = np.zeros(max(4096, int(len(block) * ratio) + 64), dtype=np.float32)
        made_all, consumed = [], 0
        while True:
            data = SRCData()
            data.data_in = as_float_pointer(block[consumed:]) if consumed < len(block) else None
            data.input_frames = len(block) - consumed
            data.data_out = as_float_pointer(scratch)
            data.output_frames = len(scratch)
            data.src_ratio = ratio
            data.end_of_input = 1 if end else 0
            status = self.samplerate.src_process(state, ctypes.byref(data))
            if status != 0:
                raise RuntimeError(f"src_process: {self.samplerate.src_strerror(status).decode()}")
            used, made = data.input_frames_used, data.output_frames_gen
            consumed += used
            made_all.append(scratch[:made].copy())
            if consumed >= len(block) and (not end or made == 0):
                break
            if used == 0 and made == 0:
                break
        return np.concatenate(made_all)


def as_float_pointer(array: np.ndarray):
    return array.ctypes.data_as(ctypes.POINTER(ctypes.c_float))



@functools.cache
def swift_style_audio() -> SwiftStyleAudio:
    """One SwiftStyleAudio for the whole run (the libraries are loaded once)."""
    return SwiftStyleAudio()


def read_audio(path: Path) -> np.ndarray:
    """Any audio file as float32 mono samples at 16 kHz, bit for bit as the Swift tool decodes it
    (SwiftStyleAudio.load); needs the system libsndfile and libsamplerate."""
    return swift_style_audio().load(path)


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
