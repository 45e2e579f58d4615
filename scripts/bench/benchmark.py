#!/usr/bin/env python3
"""Benchmark transcribe against transformers+torch and onnxruntime on one machine, in one run (issue 3).

How to run (from the repository root; CPU only):

    apt-get install -y sox ffmpeg time libopenblas-dev gcc   # sox/ffmpeg: audio, time: GNU time for peak RSS
    python3 -m pip install -r scripts/requirements/benchmark.txt
    python3 scripts/bench/benchmark.py --quick               # smoke run, 5 s and 20 s, under ~3 minutes
    python3 scripts/bench/benchmark.py                       # full run, 5 s, 20 s, 60 s, 10 min: ~30 minutes
    python3 scripts/bench/benchmark.py --lengths 5,60 --runs 3 --engines transcribe,onnxruntime
    python3 scripts/bench/benchmark.py --render bench-out/results.json   # the tables of a saved run again

The tables go to stdout and to bench-out/results.md (raw numbers in bench-out/results.json); progress
goes to stderr.  Everything generated lives in bench-out/ (git-ignored) and in
Models/bench-wav2vec2-base-960h-random/ (git-ignored); never commit either.

What it does, in order:

1. Runs scripts/bench/make-benchmark-model.py (skips what exists): a randomly initialised, seeded
   Wav2Vec2ForCTC with the exact facebook/wav2vec2-base-960h configuration, as safetensors for
   transcribe and transformers and as model.onnx for onnxruntime.  All three engines run these weights.
2. `swift build -c release` (retried, since others may be mid-edit; a stale binary is used, and said to
   be, when the build keeps failing), then compiles scripts/bench/sgemm-ceiling.c.
3. Builds 16 kHz mono 16-bit WAVs in bench-out/audio/ from the real speech in ../shared/samples: every
   clip resampled with sox (ffmpeg for MP3), concatenated with sox, looped and trimmed to each length;
   a 0.1 s file for transcribe's startup; 2-4 s clips for the batch table.
4. Measures, every process wrapped in GNU time for its peak resident memory and watched: past
   --mem-limit-gib resident (default 75% of RAM) it is killed, so an engine that runs out of memory
   fails alone with an "OOM" cell instead of waking the kernel's OOM killer.  A failing or timed-out
   engine gives an "error"/"OOM"/"timeout" cell and the run goes on; the notes under the tables say why.

Table 1, speed (one row per input length and engine):

    engine       transcribe (process): `transcribe --model DIR --threads T -f jsonl FILE`, timed from spawn to
                   exit, so it includes process start, model load (safetensors), reading the WAV,
                   normalisation, the forward pass, CTC decoding and printing.  One process per run,
                   after one untimed run (page cache) for inputs up to 60 s.
                 transcribe − startup: the same minus transcribe's median startup (the same command on
                   a 0.1 s file: process start + model load + a 4-frame forward), i.e. its compute.
                 transcribe warm (per copy): one process given the same input n times (n = 60 s / the
                   length, at least 3; inputs up to 60 s), timed as above: (its time − the process
                   row's median) / (n − 1), i.e. what one more input costs a process already running,
                   audio reading and CTC decoding included.  The startup's own spread (model load:
                   page faults over 377 MB) does not enter it, so it is the steadier compute figure.
                 transformers+torch: Wav2Vec2ForCTC.from_pretrained in float32, eager PyTorch (no
                   torch.compile), transformers' default attention (printed in the header; --torch-attn),
                   torch.set_num_threads(T).  Timed: model(input_values).logits + argmax only, on the
                   already-loaded model, warm (one untimed forward first), inside one Python process per
                   length; loading, reading and normalising the audio are not timed.
                 onnxruntime: the same weights as model.onnx, CPUExecutionProvider, intra_op_num_threads=T,
                   inter_op_num_threads=1, sequential, all graph optimisations.  Timed: session.run + argmax,
                   warm, in one process per length, as for torch.
                 At 10 minutes (~30k frames) one head's attention matrix is 30k x 30k floats = 3.6 GB.
                 transformers' default "sdpa" attention runs PyTorch's fused CPU kernel, which never
                 materialises it; model.onnx was exported with plain MatMul/Softmax attention, which does
                 (12 heads at once), so onnxruntime is expected to fail there with "OOM".
    runs         timed repetitions (--runs for inputs up to 60 s, --long-runs above, 1 by default).
                 transcribe's two rows alternate run by run.  The Python engines' runs are timed in one
                 process after its warm-up, so not interleaved with transcribe's: a fresh process
                 per run would time onnxruntime's second forward, slower than its steady state (in
                 one such run 0.62 s at 5 s and 14.2 s at one minute, against 0.51 and 7.9 s timed
                 after the warm-up in one process an hour earlier).
                 The untimed warm-up of the Python engines uses the same input up to 60 s and its first
                 5 s above that (a second forward over 10 minutes would double the run time).
    median s     median wall time of the runs, seconds.   min–max s: fastest and slowest run.
    RTF          real-time factor: median s / audio seconds (below 1 is faster than real time).
    ÷ process    median s / transcribe (process) median s.    ÷ compute: / transcribe − startup.
                 ÷ warm: / transcribe warm.  Above 1 means slower than transcribe.  The Python rows
                 time less work than the transcribe process (no load, no audio reading), so "÷ compute"
                 and "÷ warm" are the fairer ratios.
    peak RSS     GNU time's %M of the process, MiB: for transcribe the largest over its runs; for the
                 Python engines the worker process of that length (interpreter, imports, model, warm-up
                 and timed runs), so it includes the Python runtime's own footprint.  Each length and
                 engine has its own process, so a peak belongs to that input alone.
    others       CPU cores that other processes on the machine kept busy while the row's processes ran
                 (/proc/stat busy time minus this benchmark's own CPU time, steal included, divided by
                 wall time).  0 on a quiet machine; with 2 cores, 0.5 or more means the row is distorted.

Table 2, GFLOP/s.  The model's floating-point operations for an input of S samples, from config.json
(multiply-add = 2 FLOPs; norms, activations, softmax, biases and residuals, all O(T*H), are left out):

    T_0 = S;  T_i = floor((T_{i-1} - K_i) / S_i) + 1                           frames after conv layer i
    conv feature encoder   sum_i 2 * C_{i-1} * K_i * C_i * T_i                  (C_0 = 1)
    feature projection     2 * T * C_last * H                                   (T = T_7 frames)
    positional conv        2 * H * (H / groups) * K_pos * T
    per encoder layer      4 * 2 * T * H * H        q, k, v and out projections
                         + 2 * 2 * T * T * H        attention scores Q K^T and context P V, all heads
                         + 2 * 2 * T * H * I        feed-forward up and down
    lm head                2 * T * H * V
    total = conv + projection + positional conv + L * per layer + lm head

    transcribe runs inputs longer than 30 s as overlapping 30 s windows with 1.5 s of context on each
    side (WindowPlan in Sources/TranscribeKit/Model/Windowing.swift; both numbers are read from that file
    and window_lengths() ports its arithmetic), so its attention never spans more than ~1500 frames,
    whereas transformers and onnxruntime attend over the whole input.  "one pass" is the formula on the
    whole input (what the Python engines compute); "transcribe GFLOP" is the formula summed over
    transcribe's windows, context included.  Up to 30 s the two are equal; at 10 minutes the one pass
    is ~3.7x more work, so the speed rows above 30 s compare different computations (the notes say so).

    GFLOP/s = each engine's own FLOPs / its median seconds / 1e9; for transcribe the seconds are
    "transcribe − startup".
    % sustained / % peak = transcribe's GFLOP/s / the cblas_sgemm GFLOP/s that scripts/bench/sgemm-ceiling.c
    measures with T threads in this same run, on the model's product shapes (M = 1000 or 3000 frames, N
    and K from 768 to 3072), each repeated for half a second: "sustained" is the highest median repeat
    over the shapes (what sgemm keeps up, run after run, on its best shape), "peak" the fastest single
    repeat of any shape (an outlier on a shared virtual machine, typically 5-15% above the sustained).

Table 3, cold start: a fresh process transcribing the 5 s file end to end, --cold-runs times, median:
    transcribe (same command as above) against `python3 scripts/bench/python-cold-start.py DIR FILE`, which
    does what the Hugging Face tutorials do (imports, from_pretrained, wave, processor, logits, argmax,
    batch_decode, print).  The page cache is warm (one untimed run of each first; --quick skips the
    Python one, whose files the torch rows have just read).

Table 4, batch: --batch-files 2-4 s clips transcribed by ONE `transcribe` process (all files on one
    command line), by one process with `--jobs T --threads 1` (T files at once, one thread each), and
    by one `transcribe` process per file, run one after the other; total wall time.

The machine may be shared (other engineers' builds and tests) and is virtualised.  Before each
measurement the script waits up to --wait-quiet seconds (default 20) for other processes to use under a
quarter of a core; the "others" columns, the load averages in the header, the spread columns and the two
sgemm ceilings (start and end) show how much noise is left.  Numbers are a snapshot of the Swift engine
at the commit in the header (uncommitted changes under Sources/ are counted there).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))  # audio_files, imported where needed

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench-out"
AUDIO = OUT / "audio"
SAMPLES = REPO.parent / "shared" / "samples"
DEFAULT_MODEL = REPO / "Models" / "bench-wav2vec2-base-960h-random"
SAMPLE_RATE = 16_000
STARTUP_SECONDS = 0.1
COLD_START_SECONDS = 5
WARM_AUDIO_SECONDS = 60  # the warm row's copies of an input add up to about this much audio
LONG_INPUT_SECONDS = 60  # above this: --long-runs repeats, and a 5 s warm-up for the Python engines
WARMUP_SECONDS_LONG = 5
BATCH_MIN_SECONDS, BATCH_MAX_SECONDS = 2.0, 4.0
GNU_TIME = "/usr/bin/time"
WATCHDOG_INTERVAL_S = 0.1  # how often Runner checks a measured process's memory and time
QUIET_WINDOW_S, QUIET_CORES = 3.0, 0.25
BUSY_CORES = 0.5  # a row measured while others used this much CPU gets a warning under the tables  # --wait-quiet: "quiet" is others using < 0.25 cores over 3 s
ENGINES = ("transcribe", "torch", "onnxruntime")
ENGINE_NAMES = {"torch": "transformers+torch", "onnxruntime": "onnxruntime"}


def log(message: str) -> None:
    print(f"[benchmark {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# Processes


@dataclass
class Run:
    """One process: wall seconds from spawn to exit, GNU time's peak RSS, and how it ended."""

    seconds: float
    peak_kib: int | None
    returncode: int | None
    stdout: str
    stderr: str
    error: str | None = None  # None, or a short cell text: "OOM", "timeout (>N s)", "error (rc N)"
    others_cpu_s: float = 0.0  # CPU seconds other processes on the machine used meanwhile


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used since boot (every state but idle and iowait; steal included)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    guest = sum(fields[8:10])  # already counted in user and nice
    return (sum(fields) - idle - guest) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


class CpuWatch:
    """How much CPU the rest of the machine used while a measurement ran: busy time minus our own."""

    def __init__(self) -> None:
        self.busy, self.own, self.wall = machine_busy_seconds(), own_cpu_seconds(), time.perf_counter()

    def others_seconds(self) -> float:
        return max(0.0, machine_busy_seconds() - self.busy - (own_cpu_seconds() - self.own))


def wait_until_quiet(limit_s: float, what: str) -> None:
    """Waits (up to limit_s) until other processes use under QUIET_CORES over a QUIET_WINDOW_S window."""
    if limit_s <= 0:
        return
    deadline = time.monotonic() + limit_s
    while True:
        watch = CpuWatch()
        time.sleep(QUIET_WINDOW_S)
        cores = watch.others_seconds() / QUIET_WINDOW_S
        if cores < QUIET_CORES:
            return
        if time.monotonic() >= deadline:
            log(f"machine still busy ({cores:.2f} cores used by others); measuring {what} anyway")
            return
        log(f"machine busy ({cores:.2f} cores used by others); waiting before {what}")


def round_order(rows: list, round_index: int) -> list:
    """The rows to measure in round `round_index` of interleaved rounds: rotated by one row per
    round, so that no engine is always first, without those that have failed (`row.m.error`)."""
    shift = round_index % len(rows) if rows else 0
    return [row for row in rows[shift:] + rows[:shift] if not row.m.error]


def note_run(m: Measurement, label: str, notes: list[str], say=log) -> None:  # noqa: ANN001
    """After one timed run of an interleaved round: its time in the log (`say`, the calling script's),
    or the row's error, labelled, in the notes."""
    if m.error:
        notes.append(f"{label}: {m.error}: {m.detail or 'no message'}")
    else:
        say(f"  {seconds_cell(m.times[-1])} s")


def tree_rss_bytes(root: int) -> int:
    """Resident memory of process `root` and all its descendants (GNU time and the measured command)."""
    total, page, stack = 0, os.sysconf("SC_PAGE_SIZE"), [root]
    while stack:
        pid = stack.pop()
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
            for task in os.scandir(f"/proc/{pid}/task"):
                stack += [int(child) for child in Path(task.path, "children").read_text().split()]
        except (OSError, ValueError):
            continue  # exited meanwhile
    return total


class Runner:
    """Runs one measured command in its own process group, under GNU time, a timeout and a memory watchdog.

    A watchdog thread samples the tree's resident memory every WATCHDOG_INTERVAL_S and kills it past
    --mem-limit-gib, so an engine that needs more memory than the machine has fails alone ("OOM") rather
    than waking the kernel's OOM killer, which might pick someone else's process.  (An address-space
    rlimit would be simpler but makes OpenBLAS spin forever in blas_memory_alloc when malloc fails.)
    """

    def __init__(self, mem_limit_bytes: int | None, timeout: float) -> None:
        self.mem_limit_bytes = mem_limit_bytes
        self.timeout = timeout
        self.gnu_time = GNU_TIME if Path(GNU_TIME).exists() else None

    def run(self, command: list[str], timeout: float | None = None, env: dict[str, str] | None = None) -> Run:
        timeout = timeout or self.timeout
        with tempfile.TemporaryDirectory(dir=OUT, prefix="run-") as work:
            time_path, out_path, err_path = (Path(work) / name for name in ("time.txt", "stdout.txt", "stderr.txt"))
            wrapped = [self.gnu_time, "-f", "%M", "-o", str(time_path), *command] if self.gnu_time else command
            watch = CpuWatch()
            started = time.perf_counter()
            with open(out_path, "w") as stdout_file, open(err_path, "w") as stderr_file:
                try:
                    process = subprocess.Popen(wrapped, stdout=stdout_file, stderr=stderr_file, stdin=subprocess.DEVNULL,
                                               start_new_session=True, env=env, cwd=REPO)  # fmt: skip
                except OSError as error:
                    return Run(0.0, None, None, "", str(error), error=f"error ({type(error).__name__})")
                killed_for: list[str] = []
                sampled_peak = [0]  # the watchdog's own largest sample, for processes GNU time could not report
                done = threading.Event()

                def watchdog() -> None:
                    while not done.wait(WATCHDOG_INTERVAL_S):
                        rss = tree_rss_bytes(process.pid) if self.mem_limit_bytes else 0
                        sampled_peak[0] = max(sampled_peak[0], rss)
                        if time.perf_counter() - started > timeout:
                            killed_for.append(f"timeout (>{timeout:.0f} s)")
                        elif self.mem_limit_bytes and rss > self.mem_limit_bytes:
                            killed_for.append(f"OOM (>{self.mem_limit_bytes / 2**30:g} GiB)")
                        if killed_for:
                            os.killpg(process.pid, signal.SIGKILL)
                            return

                thread = threading.Thread(target=watchdog, daemon=True)
                thread.start()
                try:
                    process.wait()
                finally:  # interrupted (Ctrl-C, SIGTERM): take the measured process down too
                    done.set()
                    if process.poll() is None:
                        os.killpg(process.pid, signal.SIGKILL)
                        process.wait()
                    thread.join()
            seconds = time.perf_counter() - started
            report = time_path.read_text().strip().splitlines() if time_path.exists() else []
            stdout = out_path.read_text(errors="replace")
            stderr = err_path.read_text(errors="replace")
        peak = int(report[-1]) if report and report[-1].strip().isdigit() else (sampled_peak[0] // 1024 or None)
        signalled = next((int(m.group(1)) for line in report if (m := re.search(r"terminated by signal (\d+)", line))), None)  # fmt: skip
        run = Run(seconds, peak, process.returncode, stdout, stderr, others_cpu_s=watch.others_seconds())
        if killed_for:
            run.error = killed_for[0]
        elif process.returncode != 0 or signalled:
            run.error = classify_failure(process.returncode, signalled, stderr)
        return run


OOM_PATTERNS = re.compile(
    r"out of memory|can't allocate memory|cannot allocate memory|failed to allocate|bad_alloc|MemoryError|"
    r"std::bad_alloc|memory allocation", re.IGNORECASE)  # fmt: skip


def classify_failure(returncode: int | None, signalled: int | None, stderr: str) -> str:
    if OOM_PATTERNS.search(stderr):
        return "OOM"
    if signalled == signal.SIGKILL or returncode in (-signal.SIGKILL, 128 + signal.SIGKILL):
        return "OOM (killed)"
    if signalled:
        return f"error (signal {signalled})"
    return f"error (rc {returncode})"


def last_line(text: str, limit: int = 300) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip() and not line.startswith("Loading weights")]  # fmt: skip
    return (lines[-1] if lines else "")[:limit]


# ---------------------------------------------------------------------------------------------------
# Measurements and their cells


@dataclass
class Measurement:
    """Repeated timings of one engine on one input, or why there are none."""

    times: list[float] = field(default_factory=list)
    peak_kib: int | None = None
    error: str | None = None
    detail: str = ""  # stderr's last line, for the notes
    others_cpu_s: float = 0.0  # CPU seconds other processes used during the measuring processes
    wall_s: float = 0.0  # wall seconds of the measuring processes, whole (including untimed parts)

    def add_load(self, run: Run) -> None:
        self.others_cpu_s += run.others_cpu_s
        self.wall_s += run.seconds

    @property
    def others_cores(self) -> float | None:
        return self.others_cpu_s / self.wall_s if self.wall_s > 0 else None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.times)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.ok else None

    def shifted(self, by: float) -> Measurement:
        return Measurement([t - by for t in self.times], self.peak_kib, self.error, self.detail, self.others_cpu_s, self.wall_s)

    def merged(self, other: Measurement) -> Measurement:
        """This measurement's runs and `other`'s (later ones) together; an error in either ends the row."""
        if self.error or other.error:
            return self if self.error else other
        peak = max(self.peak_kib or 0, other.peak_kib or 0) or None
        return Measurement(self.times + other.times, peak, None, self.detail, self.others_cpu_s + other.others_cpu_s,
                           self.wall_s + other.wall_s)  # fmt: skip

    def per_extra_input(self, one: float | None, copies: int) -> Measurement:
        """Runs over `copies` copies of an input, as the time each copy past the first added to `one`,
        the median run over a single copy: the process's start and model load cancel out."""
        if one is None or not self.ok:
            return Measurement(error=self.error or "no single-copy run", detail=self.detail)
        times = [(t - one) / (copies - 1) for t in self.times]
        return Measurement(times, self.peak_kib, None, self.detail, self.others_cpu_s, self.wall_s)

    def as_json(self) -> dict:
        return {"times_s": self.times, "median_s": self.median, "peak_rss_kib": self.peak_kib, "error": self.error,
                "detail": self.detail, "others_cores": self.others_cores, "others_cpu_s": self.others_cpu_s,
                "wall_s": self.wall_s}  # fmt: skip

    @staticmethod
    def from_json(saved: dict) -> Measurement:
        cores = saved.get("others_cores")
        return Measurement(list(saved.get("times_s") or []), saved.get("peak_rss_kib"), saved.get("error"),
                           saved.get("detail") or "", saved.get("others_cpu_s", cores or 0.0),
                           saved.get("wall_s", 1.0 if cores is not None else 0.0))  # fmt: skip


def seconds_cell(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if abs(seconds) >= 100:
        return f"{seconds:.0f}"
    if abs(seconds) >= 10:
        return f"{seconds:.1f}"
    return f"{seconds:.3f}" if abs(seconds) < 1 else f"{seconds:.2f}"


def spread_cell(m: Measurement) -> str:
    return f"{seconds_cell(min(m.times))}–{seconds_cell(max(m.times))}" if m.ok else "–"


def mib_cell(kib: int | None) -> str:
    return f"{kib / 1024:.0f}" if kib else "–"


def load_cell(m: Measurement | None) -> str:
    cores = m.others_cores if m is not None else None
    return "–" if cores is None else f"{cores:.2f}"


def ratio_cell(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator or denominator <= 0:
        return "–"
    return f"{numerator / denominator:.2f}×"


# ---------------------------------------------------------------------------------------------------
# FLOPs


def model_flops(samples: int, config: dict) -> tuple[int, int]:
    """(frames, floating-point operations) of one forward pass; the formula is in the module docstring."""
    frames, channels_in, conv = samples, 1, 0
    for channels_out, kernel, stride in zip(config["conv_dim"], config["conv_kernel"], config["conv_stride"]):
        frames = (frames - kernel) // stride + 1
        conv += 2 * channels_in * kernel * channels_out * frames
        channels_in = channels_out
    t = frames
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    projection = 2 * t * channels_in * hidden
    positional = 2 * hidden * (hidden // config["num_conv_pos_embedding_groups"]) * config["num_conv_pos_embeddings"] * t
    per_layer = 4 * 2 * t * hidden * hidden + 2 * 2 * t * t * hidden + 2 * 2 * t * hidden * inter
    head = 2 * t * hidden * config["vocab_size"]
    return frames, conv + projection + positional + config["num_hidden_layers"] * per_layer + head


WINDOWING_SWIFT = REPO / "Sources" / "TranscribeKit" / "Model" / "Windowing.swift"


def transcribe_windowing() -> tuple[float, float] | None:
    """transcribe's (maximumWindowSeconds, contextSeconds), read from its WindowPlan source; None: one pass."""
    try:
        text = WINDOWING_SWIFT.read_text()
    except OSError:
        return None
    window = re.search(r"static let maximumWindowSeconds\s*=\s*([0-9.]+)", text)
    context = re.search(r"static let contextSeconds\s*=\s*([0-9.]+)", text)
    return (float(window.group(1)), float(context.group(1))) if window and context else None


def window_lengths(samples: int, config: dict, windowing: tuple[float, float] | None) -> list[int]:
    """The input lengths, in samples, that transcribe runs the model on: a port of WindowPlan.init.

    Inputs up to maximumWindowSeconds are one pass.  Longer ones are cut into chunks of frames, each
    window carrying contextSeconds of audio (at most a quarter window) on both sides, computed and dropped.
    """
    if windowing is None:
        return [samples]
    maximum_seconds, context_seconds = windowing
    stride = math.prod(config["conv_stride"])
    field, jump = 1, 1  # receptive field of one frame, in samples
    for kernel, conv_stride in zip(config["conv_kernel"], config["conv_stride"]):
        field += (kernel - 1) * jump
        jump *= conv_stride
    frames = model_flops(samples, config)[0]
    window_frames = max(1, (int(maximum_seconds * SAMPLE_RATE) - field) // stride + 1)
    if frames <= window_frames:
        return [samples]
    context = min(int(context_seconds * SAMPLE_RATE) // stride, window_frames // 4)
    chunk = window_frames - 2 * context
    lengths, start = [], 0
    while start < frames:
        end = min(start + chunk, frames)
        first, last = max(0, start - context), min(frames, end + context)
        stop = samples if last == frames else (last - 1 - first) * stride + field + first * stride
        lengths.append(stop - first * stride)
        start = end
    return lengths


# ---------------------------------------------------------------------------------------------------
# Inputs


def wav_seconds(path: Path) -> float | None:
    try:
        with wave.open(str(path), "rb") as f:
            ok = f.getframerate() == SAMPLE_RATE and f.getnchannels() == 1 and f.getsampwidth() == 2
            return f.getnframes() / SAMPLE_RATE if ok else None
    except (OSError, EOFError, wave.Error):
        return None


def check(command: list[str]) -> None:
    try:
        result = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise SystemExit(f"benchmark: cannot run {command[0]} ({error}); see the install line at the top of this script")
    if result.returncode != 0:
        raise SystemExit(f"benchmark: {' '.join(command)} failed:\n{result.stderr.strip()[-2000:]}")


def to_wav16k(source: Path, target: Path) -> None:
    """`source` as a 16 kHz mono 16-bit WAV: sox, or ffmpeg where sox cannot read it."""
    sox = ["sox", str(source), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(target)]
    try:
        if subprocess.run(sox, capture_output=True).returncode == 0:
            return
    except OSError:
        pass
    # Debian's sox has no MP3 reader without libsox-fmt-mp3.
    check(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(source),
           "-ar", str(SAMPLE_RATE), "-ac", "1", "-sample_fmt", "s16", str(target)])  # fmt: skip


def speech_loop() -> Path:
    """Every sample clip at 16 kHz mono 16-bit, concatenated with sox, in file-name order."""
    loop = AUDIO / "speech-loop.wav"
    if wav_seconds(loop):
        return loop
    if not SAMPLES.is_dir():
        raise SystemExit(f"benchmark: {SAMPLES} is missing; it holds the real speech the inputs are made of")
    clips_dir = AUDIO / "clips"
    clips_dir.mkdir(parents=True, exist_ok=True)
    sources = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".wav", ".flac", ".mp3", ".ogg"))
    clips = []
    for index, source in enumerate(sources):
        clip = clips_dir / f"{index:02d}.wav"
        if not wav_seconds(clip):
            to_wav16k(source, clip)
        clips.append(str(clip))
    check(["sox", *clips, str(loop)])
    log(f"speech loop: {len(clips)} clips, {wav_seconds(loop):.1f} s")
    return loop


def make_input(loop: Path, seconds: float, name: str) -> Path:
    """The speech loop repeated with sox until it lasts `seconds`, then trimmed to it."""
    path = AUDIO / name
    have = wav_seconds(path)
    if have is not None and abs(have - seconds) < 1e-3:
        return path
    loop_seconds = wav_seconds(loop) or 1.0
    repeats = max(0, math.ceil(seconds / loop_seconds) - 1)
    check(["sox", str(loop), str(path), "repeat", str(repeats), "trim", "0", f"{seconds}"])
    return path


def make_batch(loop: Path, count: int) -> list[Path]:
    """`count` clips of 2-4 s cut one after another out of the speech loop (wrapping around)."""
    from audio_files import write_wav

    batch_dir = AUDIO / "batch"
    batch_dir.mkdir(parents=True, exist_ok=True)
    with wave.open(str(loop), "rb") as f:
        pcm = f.readframes(f.getnframes())
    total = len(pcm) // 2
    paths, offset = [], 0
    for index in range(count):
        seconds = BATCH_MIN_SECONDS + (BATCH_MAX_SECONDS - BATCH_MIN_SECONDS) * ((index * 37) % 101) / 100
        n = int(seconds * SAMPLE_RATE)
        path = batch_dir / f"clip-{index:03d}.wav"
        if wav_seconds(path) is None or abs(wav_seconds(path) - n / SAMPLE_RATE) > 1e-6:
            chunk = bytearray()
            while len(chunk) < 2 * n:
                start = offset % total
                take = min(2 * n - len(chunk), 2 * (total - start))
                chunk += pcm[2 * start : 2 * start + take]
                offset += take // 2
            write_wav(path, bytes(chunk))
        else:
            offset += n
        paths.append(path)
    return paths


def length_name(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def parse_length(text: str) -> float:
    m = re.fullmatch(r"\s*([0-9.]+)\s*(s|sec|m|min)?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a length: {text!r} (e.g. 5, 20s, 10m)")
    value = float(m.group(1)) * (60 if (m.group(2) or "s").startswith("m") else 1)
    if value <= 0:
        raise argparse.ArgumentTypeError("lengths must be positive")
    return value


# ---------------------------------------------------------------------------------------------------
# Building


def build_transcribe(args: argparse.Namespace, notes: list[str]) -> Path:
    binary = Path(args.transcribe) if args.transcribe else REPO / ".build" / "release" / "transcribe"
    if args.skip_build or args.transcribe:
        if not binary.exists():
            notes.append(f"{binary} does not exist; every transcribe cell is an error.")
        return binary
    log_path = OUT / "swift-build.log"
    for attempt in range(args.build_retries + 1):
        log(f"swift build -c release (attempt {attempt + 1})")
        with open(log_path, "w") as build_log:
            try:
                result = subprocess.run(["swift", "build", "-c", "release", "--product", "transcribe"],
                                        cwd=REPO, stdout=build_log, stderr=subprocess.STDOUT)  # fmt: skip
            except OSError as error:
                build_log.write(f"cannot run swift: {error}\n")
                break
        if result.returncode == 0:
            return binary
        if attempt < args.build_retries:
            log(f"build failed (someone may be mid-edit; see {log_path}); retrying in 60 s")
            time.sleep(60)
    if binary.exists():
        stamp = datetime.datetime.fromtimestamp(binary.stat().st_mtime).isoformat(timespec="seconds")
        notes.append(f"`swift build -c release` failed ({log_path}); timed the previous binary, built {stamp}.")
        log(notes[-1])
    else:
        notes.append(f"`swift build -c release` failed ({log_path}) and there is no binary.")
    return binary


def sgemm_ceiling(threads: int, seconds_per_shape: float, notes: list[str]) -> tuple[float | None, float | None, str]:
    """(peak, sustained, OpenBLAS config) from scripts/bench/sgemm-ceiling.c; Nones where it failed."""
    binary = OUT / "sgemm-ceiling"
    try:
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "openblas"], capture_output=True, text=True)
        link = flags.stdout.split() if flags.returncode == 0 else ["-lopenblas"]
    except OSError:
        link = ["-lopenblas"]
    try:
        compiled = subprocess.run(["gcc", "-O2", str(REPO / "scripts" / "bench" / "sgemm-ceiling.c"), "-o", str(binary), *link],
                                  capture_output=True, text=True)  # fmt: skip
        if compiled.returncode != 0:
            notes.append(f"sgemm-ceiling.c did not compile: {last_line(compiled.stderr)}")
            return None, None, ""
        result = subprocess.run([str(binary), str(threads), str(seconds_per_shape)], capture_output=True, text=True,
                                env=transcribe_env())  # the kernels transcribe gets
    except OSError as error:
        notes.append(f"sgemm ceiling unavailable: {error}")
        return None, None, ""
    best = re.search(r"^best ([0-9.]+)$", result.stdout, re.MULTILINE)
    sustained = re.search(r"^sustained ([0-9.]+)$", result.stdout, re.MULTILINE)
    config = re.search(r"^config (.*)$", result.stdout, re.MULTILINE)
    for line in result.stdout.splitlines():
        log(f"  {line}")
    if result.returncode != 0 or not best:
        notes.append(f"sgemm-ceiling failed: {last_line(result.stderr)}")
        return None, None, ""
    return float(best.group(1)), float(sustained.group(1)) if sustained else None, config.group(1) if config else ""


# ---------------------------------------------------------------------------------------------------
# Engines


def onnxruntime_session(model: Path, threads: int, profile_prefix: str | None = None):  # noqa: ANN201
    """The benchmark's onnxruntime session on model.onnx: `threads` intra-op threads, one operator at
    a time, every graph optimisation; with `profile_prefix`, onnxruntime's profiler on (that file name)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(model / "model.onnx"), options, providers=["CPUExecutionProvider"])


def time_transcribe_rows(runner: Runner, binary: Path, model: Path, audio: Path, seconds: float, threads: int,
                         runs: int, long: bool) -> dict[str, Measurement]:  # fmt: skip
    """The transcribe rows of one input: a process on the input alone and, for inputs up to 60 s, one
    on `warm_copies` copies of it, the two alternating run by run (after an untimed run of the first);
    the warm row is what each copy past the first added to the single run's median."""
    copies = warm_copies(seconds)
    single = Measurement()
    repeated = Measurement() if not long else None
    for index in range(runs):
        single = single.merged(time_transcribe(runner, binary, model, [audio], threads, 1, warmup=index == 0 and not long))
        if repeated is not None and not single.error:
            repeated = repeated.merged(time_transcribe(runner, binary, model, [audio] * copies, threads, 1))
        if single.error or (repeated is not None and repeated.error):
            break
    rows = {"transcribe": single}
    if repeated is not None and not single.error:
        rows["transcribe-warm"] = repeated.per_extra_input(single.median, copies)
    return rows


def warm_copies(seconds: float) -> int:
    """Copies of an input for the warm row: about a minute of audio in all, at least three."""
    return max(3, math.ceil(WARM_AUDIO_SECONDS / seconds))


def time_transcribe(runner: Runner, binary: Path, model: Path, files: list[Path], threads: int, runs: int,
                    warmup: bool = False, jobs: int = 1) -> Measurement:  # fmt: skip
    """`runs` fresh transcribe processes over `files`; each must print one line per file and exit 0
    (jsonl: one record per input, where txt has a line per subtitle cue)."""
    command = [str(binary), "--model", str(model), "--threads", str(threads), "--jobs", str(jobs), "-f", "jsonl",
               *map(str, files)]  # fmt: skip
    return time_processes(runner, command, len(files), runs, warmup)


BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def transcribe_env() -> dict[str, str]:
    """This shell's environment without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: OpenBLAS's own choice
    of kernels, as a user gets it.  Every timed transcribe command runs with it."""
    return {k: v for k, v in os.environ.items() if k not in BLAS_VARIABLES}


def openblas_corename(env: dict[str, str]) -> str:
    """openblas_get_corename() of libopenblas.so.0 in a fresh process with `env`."""
    code = ("import ctypes; lib = ctypes.CDLL('libopenblas.so.0'); lib.openblas_get_corename.restype = ctypes.c_char_p; "
            "print(lib.openblas_get_corename().decode())")  # fmt: skip
    try:
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unknown ({error})"
    return result.stdout.strip() if result.returncode == 0 else f"unknown ({last_line(result.stderr)})"


def openblas_report() -> dict:
    """The kernels the timed transcribe commands get, those this shell's environment gives, and the
    OpenBLAS variables it sets: for the tables' headers."""
    return {"timed": openblas_corename(transcribe_env()), "shell": openblas_corename(dict(os.environ)),
            "shell_variables": {k: os.environ[k] for k in BLAS_VARIABLES if k in os.environ}}  # fmt: skip


def openblas_line(blas: dict) -> str:
    """The header's words for openblas_report()."""
    shell = ", ".join(f"{k}={v}" for k, v in blas["shell_variables"].items()) or "neither variable set"
    return (f"OpenBLAS kernels of the timed transcribe commands (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE unset): "
            f"{blas['timed']} (this shell: {shell}, {blas['shell']})")  # fmt: skip


def time_processes(runner: Runner, command: list[str], lines: int, runs: int, warmup: bool) -> Measurement:
    """`runs` fresh transcribe processes of `command` (after an untimed one if `warmup`), with
    transcribe_env(); each must print `lines` transcript lines and exit 0, or the first that does not
    is the measurement's error."""
    result = Measurement()
    for index in range(-1 if warmup else 0, runs):
        run = runner.run(command, env=transcribe_env())
        if run.error is None and run.stdout.count("\n") != lines:
            run.error = "error (output)"
            run.stderr += f"\nexpected {lines} transcript lines, got {run.stdout.count(chr(10))}"
        if run.error:
            return Measurement(error=run.error, detail=last_line(run.stderr), peak_kib=run.peak_kib)
        if index >= 0:
            result.times.append(run.seconds)
            result.peak_kib = max(result.peak_kib or 0, run.peak_kib or 0) or None
            result.add_load(run)
    return result


def python_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               TRANSFORMERS_VERBOSITY="error", PYTHONWARNINGS="ignore", OMP_NUM_THREADS=str(threads))  # fmt: skip
    return env


def time_python_engine(runner: Runner, engine: str, model: Path, audio: Path, args: argparse.Namespace,
                       runs: int, timeout: float) -> tuple[Measurement, dict]:  # fmt: skip
    """One worker process (this script, `_worker`) that loads the engine and times `runs` warm forwards."""
    command = [sys.executable, str(Path(__file__).resolve()), "_worker", engine, str(model), str(audio),
               "--runs", str(runs), "--threads", str(args.threads), "--torch-attn", args.torch_attn]  # fmt: skip
    run = runner.run(command, timeout=timeout, env=python_env(args.threads))
    report = worker_report(run)
    if run.error is None and not report.get("times"):
        run.error = "error (no report)"
    if report.get("error"):
        return Measurement(error=report["error"], detail=report.get("detail", ""), peak_kib=run.peak_kib), report
    if run.error:
        return Measurement(error=run.error, detail=last_line(run.stderr), peak_kib=run.peak_kib), report
    m = Measurement(report["times"], run.peak_kib)
    m.add_load(run)
    return m, report


def worker_report(run: Run) -> dict:
    """The JSON object a `_worker` process printed last on stdout; {} when there is none."""
    return next((json.loads(line) for line in reversed(run.stdout.splitlines()) if line.startswith("{")), {})


def model_input(path: Path):  # noqa: ANN201
    """`(1, samples)` input_values of a 16-bit WAV, as Wav2Vec2FeatureExtractor(do_normalize=True) makes
    them: zero mean, unit variance over the whole input."""
    import numpy as np
    from audio_files import read_wav

    x = read_wav(path, check=False)
    return ((x - x.mean()) / np.sqrt(x.var() + 1e-7)).astype(np.float32)[None]


def worker(argv: list[str]) -> None:
    """`benchmark.py _worker ENGINE MODEL AUDIO`: prints one JSON line {times, frames, ...} or {error}."""
    parser = argparse.ArgumentParser(prog="benchmark.py _worker")
    parser.add_argument("engine", choices=ENGINES[1:])
    parser.add_argument("model", type=Path)
    parser.add_argument("audio", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--torch-attn", default="default")
    args = parser.parse_args(argv)
    report: dict = {"engine": args.engine}
    try:
        import numpy as np

        x = model_input(args.audio)  # (1, samples)
        long = x.shape[1] > LONG_INPUT_SECONDS * SAMPLE_RATE
        warm = x[:, : WARMUP_SECONDS_LONG * SAMPLE_RATE] if long else x
        if args.engine == "torch":
            import torch
            from torchaudio_kaldi import stub_broken_torchaudio

            stub_broken_torchaudio()  # before transformers is imported
            import transformers
            from transformers import Wav2Vec2ForCTC

            torch.set_num_threads(args.threads)
            options = {} if args.torch_attn == "default" else {"attn_implementation": args.torch_attn}
            model = Wav2Vec2ForCTC.from_pretrained(args.model, dtype=torch.float32, **options).eval()
            report.update(attention=model.config._attn_implementation, torch=torch.__version__,
                          transformers=transformers.__version__, threads=torch.get_num_threads())  # fmt: skip

            def forward(values: np.ndarray) -> int:
                with torch.inference_mode():
                    logits = model(torch.from_numpy(values)).logits  # (1, frames, vocab)
                    return int(torch.argmax(logits, dim=-1).shape[1])
        else:
            import onnxruntime as ort

            session = onnxruntime_session(args.model, args.threads)
            report.update(onnxruntime=ort.__version__)

            def forward(values: np.ndarray) -> int:
                (logits,) = session.run(["logits"], {"input_values": values})  # (1, frames, vocab)
                return int(np.argmax(logits, axis=-1).shape[1])

        forward(warm)
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            report["frames"] = forward(x)
            times.append(time.perf_counter() - started)
        report["times"] = times
    except BaseException as error:  # noqa: BLE001 - every failure becomes a cell
        text = f"{type(error).__name__}: {error}"
        report.update(error="OOM" if isinstance(error, MemoryError) or OOM_PATTERNS.search(text) else "error",
                      detail=text.strip().splitlines()[0][:300] if text.strip() else type(error).__name__)  # fmt: skip
        print(json.dumps(report), flush=True)
        sys.exit(1)
    print(json.dumps(report), flush=True)


# ---------------------------------------------------------------------------------------------------
# The run


def versions() -> dict[str, str]:
    found = {}
    for package in ("torch", "transformers", "onnxruntime", "onnx", "numpy"):
        try:
            from importlib.metadata import version

            found[package] = version(package)
        except Exception:  # noqa: BLE001
            found[package] = "missing"
    return found


def git_state() -> str:
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "Sources", "Package.swift"], cwd=REPO,
                           capture_output=True, text=True)  # fmt: skip
    changed = len([line for line in dirty.stdout.splitlines() if line.strip()])
    return f"{head.stdout.strip() or 'unknown'}" + (f" + {changed} uncommitted change(s) under Sources/, Package.swift" if changed else "")  # fmt: skip


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The docstring at the top of scripts/bench/benchmark.py explains every column.")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5 s and 20 s, 3 runs, 2 cold runs, 10 batch files, short sgemm")  # fmt: skip
    parser.add_argument("--lengths", type=lambda s: [parse_length(x) for x in s.split(",")],
                        help="comma-separated input lengths, e.g. 5,20,60,10m (default 5,20,60,600; quick 5,20)")  # fmt: skip
    parser.add_argument("--runs", type=int, help="timed runs per engine for inputs up to 60 s (default 5; quick 3)")
    parser.add_argument("--long-runs", type=int, default=1, help="timed runs for inputs over 60 s (default 1)")
    parser.add_argument("--startup-runs", type=int, help="transcribe runs on the 0.1 s file (default 7; quick 5)")
    parser.add_argument("--cold-runs", type=int, help="fresh-process runs per cold-start command (default 5; quick 2)")
    parser.add_argument("--batch-files", type=int, help="clips in the batch table (default 100; quick 10; 0 skips it)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="subset of transcribe,torch,onnxruntime")
    parser.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model dir (default: the random base-960h)")
    parser.add_argument("--torch-attn", default="default", choices=["default", "eager", "sdpa"],
                        help="transformers attention implementation (default: transformers' own default)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one process is killed (1800)")
    parser.add_argument("--mem-limit-gib", type=float, default=round(mem_total_bytes() * 0.75 / 2**30, 1),
                        help="kill a measured process whose resident memory passes this, GiB; 0 disables "
                             "(default 75%% of RAM)")  # fmt: skip
    parser.add_argument("--transcribe", help="time this binary instead of building .build/release/transcribe")
    parser.add_argument("--skip-build", action="store_true", help="use .build/release/transcribe as it is")
    parser.add_argument("--wait-quiet", type=float,
                        help="before each measurement, wait up to this many seconds for other processes to "
                             "go quiet (default 20; quick 0)")  # fmt: skip
    parser.add_argument("--build-retries", type=int, default=2, help="retries, 60 s apart, of a failing build")
    parser.add_argument("--render", type=Path, metavar="RESULTS_JSON",
                        help="measure nothing: print the tables of a saved bench-out/results.json again")  # fmt: skip
    args = parser.parse_args(argv)
    args.lengths = args.lengths or ([5, 20] if args.quick else [5, 20, 60, 600])
    args.runs = args.runs or (3 if args.quick else 5)
    args.startup_runs = args.startup_runs or (5 if args.quick else 7)
    args.cold_runs = args.cold_runs or (2 if args.quick else 5)
    args.wait_quiet = args.wait_quiet if args.wait_quiet is not None else (0 if args.quick else 20)
    args.batch_files = args.batch_files if args.batch_files is not None else (10 if args.quick else 100)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {','.join(ENGINES)}")
    if min(args.runs, args.long_runs, args.startup_runs, args.cold_runs, args.threads) < 1:
        parser.error("runs and threads must be at least 1")
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    if args.render:
        render_saved(args.render, argv)
        return
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so Runner kills its process
    started = time.time()
    OUT.mkdir(exist_ok=True)
    AUDIO.mkdir(exist_ok=True)
    notes: list[str] = []
    load_before = os.getloadavg()
    if not Path(GNU_TIME).exists():
        notes.append(f"{GNU_TIME} is missing (apt-get install -y time): no peak RSS column.")
    for tool in ("sox", "ffmpeg", "gcc", "swift"):
        if not shutil.which(tool):
            notes.append(f"`{tool}` is not on PATH.")

    # 1. Model
    if args.model == DEFAULT_MODEL:
        log("scripts/bench/make-benchmark-model.py (skips what exists)")
        made = subprocess.run([sys.executable, str(REPO / "scripts" / "bench" / "make-benchmark-model.py"), "--out", str(args.model)],
                              stdout=sys.stderr, stderr=subprocess.STDOUT, env=python_env(args.threads))  # fmt: skip
        if made.returncode != 0:
            notes.append("scripts/bench/make-benchmark-model.py failed; engines without their files give error cells.")
    if not (args.model / "config.json").is_file():
        raise SystemExit(f"benchmark: {args.model}/config.json is missing; run scripts/bench/make-benchmark-model.py")
    config = json.loads((args.model / "config.json").read_text())

    # 2. Binaries
    binary = build_transcribe(args, notes)
    built_from = git_state()  # others may commit while the benchmark runs: name what was built
    wait_until_quiet(args.wait_quiet, "the sgemm ceiling")
    log("sgemm ceiling (first of two: one now, one at the end)")
    ceilings = [sgemm_ceiling(args.threads, 0.2 if args.quick else 0.5, notes)]

    # 3. Audio
    loop = speech_loop()
    inputs = {seconds: make_input(loop, seconds, f"speech-{seconds:g}s.wav") for seconds in args.lengths}
    startup_file = make_input(loop, STARTUP_SECONDS, f"speech-{STARTUP_SECONDS:g}s.wav")
    cold_file = make_input(loop, COLD_START_SECONDS, f"speech-{COLD_START_SECONDS:g}s.wav")
    batch = make_batch(loop, args.batch_files) if args.batch_files else []

    runner = Runner(int(args.mem_limit_gib * 2**30) if args.mem_limit_gib > 0 else None, args.timeout)
    results: dict = {"lengths": {}, "notes": notes}

    # 4. transcribe's startup
    startup = Measurement(error="not run")
    if "transcribe" in args.engines:
        log(f"transcribe startup: {args.startup_runs} runs on the {STARTUP_SECONDS} s file")
        wait_until_quiet(args.wait_quiet, "the startup runs")
        startup = time_transcribe(runner, binary, args.model, [startup_file], args.threads, args.startup_runs, warmup=True)
        log(f"  median {seconds_cell(startup.median)} s {startup.error or ''}")

    # 5. Per length
    speed: dict[float, dict[str, Measurement]] = {}
    python_reports: dict[str, dict] = {}
    for seconds, audio in inputs.items():
        long = seconds > LONG_INPUT_SECONDS
        runs = args.long_runs if long else args.runs
        row: dict[str, Measurement] = {}
        if "transcribe" in args.engines:
            wait_until_quiet(args.wait_quiet, f"transcribe on {length_name(seconds)}")
            log(f"{length_name(seconds)}: transcribe x{runs}, on the input and on {warm_copies(seconds)} copies of it")
            row.update(time_transcribe_rows(runner, binary, args.model, audio, seconds, args.threads, runs, long))
            if row["transcribe"].ok and startup.ok:
                row["transcribe-compute"] = row["transcribe"].shifted(startup.median)
        for engine in ("torch", "onnxruntime"):
            if engine in args.engines:
                wait_until_quiet(args.wait_quiet, f"{ENGINE_NAMES[engine]} on {length_name(seconds)}")
                log(f"{length_name(seconds)}: {ENGINE_NAMES[engine]} x{runs}")
                row[engine], report = time_python_engine(runner, engine, args.model, audio, args, runs, args.timeout)
                expected_frames = model_flops(int(round(seconds * SAMPLE_RATE)), config)[0]
                if report.get("frames") not in (None, expected_frames):
                    notes.append(f"{length_name(seconds)}: {ENGINE_NAMES[engine]} gave {report['frames']} frames, "
                                 f"the FLOP formula assumes {expected_frames}")  # fmt: skip
                if report.get("times"):
                    python_reports[engine] = {k: v for k, v in report.items() if k not in ("times", "frames")}
        for name, m in row.items():
            log(f"  {name}: median {seconds_cell(m.median)} s {m.error or ''} {m.detail}")
            if m.error:
                notes.append(f"{length_name(seconds)}, {ENGINE_NAMES.get(name, name)}: {m.error}: {m.detail or 'no message'}")
        speed[seconds] = row
        results["lengths"][str(seconds)] = {name: m.as_json() for name, m in row.items()}

    # 6. Cold start
    cold: dict[str, Measurement] = {}
    if "transcribe" in args.engines:
        wait_until_quiet(args.wait_quiet, "the cold starts")
        log(f"cold start: transcribe x{args.cold_runs}")
        cold["transcribe"] = time_transcribe(runner, binary, args.model, [cold_file], args.threads, args.cold_runs, warmup=True)
    if "torch" in args.engines:
        log(f"cold start: scripts/bench/python-cold-start.py x{args.cold_runs}")
        command = [sys.executable, str(REPO / "scripts" / "bench" / "python-cold-start.py"), str(args.model), str(cold_file),
                   "--threads", str(args.threads)]  # fmt: skip
        m = Measurement()
        for index in range(0 if args.quick else -1, args.cold_runs):  # --quick: the torch rows warmed the cache
            run = runner.run(command, env=python_env(args.threads))
            if run.error is None and run.stdout.count("\n") != 1:
                run.error = "error (output)"
            if run.error:
                m = Measurement(error=run.error, detail=last_line(run.stderr), peak_kib=run.peak_kib)
                break
            if index >= 0:
                m.times.append(run.seconds)
                m.peak_kib = max(m.peak_kib or 0, run.peak_kib or 0) or None
                m.add_load(run)
        cold["python"] = m
    for name, m in cold.items():
        log(f"  {name}: median {seconds_cell(m.median)} s {m.error or ''}")
        if m.error:
            notes.append(f"cold start, {name}: {m.error}: {m.detail or 'no message'}")

    # 7. Batch
    batch_rows: dict[str, Measurement] = {}
    if batch and "transcribe" in args.engines:
        wait_until_quiet(args.wait_quiet, "the batch")
        log(f"batch: {len(batch)} files in one process")
        batch_rows["one"] = time_transcribe(runner, binary, args.model, batch, args.threads, 1, warmup=False)
        if args.threads > 1:
            log(f"batch: {len(batch)} files in one process, --jobs {args.threads} --threads 1")
            batch_rows["jobs"] = time_transcribe(runner, binary, args.model, batch, 1, 1, jobs=args.threads)
        log(f"batch: {len(batch)} separate processes")
        total, separate, failed = time.perf_counter(), Measurement(), None
        for path in batch:
            one = time_transcribe(runner, binary, args.model, [path], args.threads, 1)
            if not one.ok:
                failed = one
                break
            separate.peak_kib = max(separate.peak_kib or 0, one.peak_kib or 0) or None
            separate.others_cpu_s += one.others_cpu_s
            separate.wall_s += one.wall_s
        separate.times = [time.perf_counter() - total]
        batch_rows["separate"] = failed or separate
        for name, m in batch_rows.items():
            log(f"  {name}: {seconds_cell(m.median)} s {m.error or ''}")
            if m.error:
                notes.append(f"batch ({name}): {m.error}: {m.detail or 'no message'}")

    wait_until_quiet(args.wait_quiet, "the sgemm ceiling")
    log("sgemm ceiling (second)")
    ceilings.append(sgemm_ceiling(args.threads, 0.2 if args.quick else 0.5, notes))
    ceiling = max((c for c, _, _ in ceilings if c), default=None)
    sustained = max((c for _, c, _ in ceilings if c), default=None)
    blas_config = next((b for _, _, b in ceilings if b), "")
    load_after = os.getloadavg()
    context = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "duration_min": (time.time() - started) / 60,
        "cpu": cpu_name(), "cores": os.cpu_count(), "memory_gib": mem_total_bytes() / 2**30,
        "load_before": load_before, "load_after": load_after, "git": built_from,
        "versions": versions(), "blas": blas_config, "ceiling": ceiling, "ceilings": [c for c, _, _ in ceilings],
        "sustained": sustained, "sustaineds": [c for _, c, _ in ceilings], "python_reports": python_reports,
        "openblas": openblas_report(),
    }  # fmt: skip
    context["windowing"] = transcribe_windowing()
    context["batch_files"] = len(batch)
    context["batch_audio_s"] = sum(wav_seconds(p) or 0 for p in batch)
    results.update(context=context, startup=startup.as_json(),
                   cold={k: m.as_json() for k, m in cold.items()},
                   batch={k: m.as_json() for k, m in batch_rows.items()},
                   args={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()})  # fmt: skip
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
    markdown = render(args, context, config, startup, speed, cold, batch_rows, notes)
    (OUT / "results.md").write_text(markdown)
    print(markdown, end="")
    log(f"done in {context['duration_min']:.1f} min; tables in {OUT / 'results.md'}")


def render_saved(path: Path, argv: list[str]) -> None:
    """--render FILE: the tables of a saved results.json again (after a change to the layout)."""
    saved = json.loads(path.read_text())
    args = parse_args([a for a in argv if a != "--render" and a != str(path)])
    for key, value in saved.get("args", {}).items():
        setattr(args, key, Path(value) if key == "model" else value)
    context = saved["context"]
    context.setdefault("windowing", transcribe_windowing())
    if "batch_audio_s" not in context:
        batch = sorted((AUDIO / "batch").glob("clip-*.wav"))[: args.batch_files]
        context["batch_files"], context["batch_audio_s"] = len(batch), sum(wav_seconds(p) or 0 for p in batch)
    config = json.loads((args.model / "config.json").read_text())
    speed = {float(seconds): {name: Measurement.from_json(m) for name, m in row.items()}
             for seconds, row in saved["lengths"].items()}  # fmt: skip
    cold = {name: Measurement.from_json(m) for name, m in saved.get("cold", {}).items()}
    batch_rows = {name: Measurement.from_json(m) for name, m in saved.get("batch", {}).items()}
    markdown = render(args, context, config, Measurement.from_json(saved["startup"]), speed, cold, batch_rows,
                      list(saved.get("notes", [])))  # fmt: skip
    print(markdown, end="")


def ceiling_cell(value: float | None, runs: list[float | None]) -> str:
    """`162.7 GFLOP/s (160.1 and 162.7)`: the ceiling used and the run at the start and the end."""
    if not value:
        return "unavailable"
    return f"{value:.1f} GFLOP/s ({' and '.join(f'{c:.1f}' if c else 'failed' for c in runs)})"


def render(args, context, config, startup, speed, cold, batch_rows, notes) -> str:  # noqa: ANN001
    """The markdown tables; everything they show comes from the arguments (see results.json)."""
    threads = args.threads
    ceiling = context.get("ceiling")
    sustained = context.get("sustained")
    windowing = context.get("windowing")
    notes = list(notes)
    busy = [m for row in speed.values() for m in row.values() if m.ok and (m.others_cores or 0) >= BUSY_CORES]
    busy += [m for m in (*cold.values(), *batch_rows.values()) if m.ok and (m.others_cores or 0) >= BUSY_CORES]
    if busy:
        notes.append(
            f"{len(busy)} row(s) ran while other processes kept {BUSY_CORES:g} or more of the {context['cores']} "
            f"cores busy (the others column): their times are inflated, and comparisons between a busy row and a "
            f"quiet one are not fair. Rerun on a quiet machine (or with a longer --wait-quiet) to compare them."
        )
    for seconds in speed:
        windows = window_lengths(int(round(seconds * SAMPLE_RATE)), config, windowing)
        if len(windows) > 1 and "transcribe" in speed[seconds]:
            one_pass = model_flops(int(round(seconds * SAMPLE_RATE)), config)[1]
            windowed = sum(model_flops(n, config)[1] for n in windows)
            notes.append(
                f"{length_name(seconds)}: transcribe cuts inputs over {windowing[0]:g} s into overlapping windows "
                f"({windowing[1]:g} s context each side; Sources/TranscribeKit/Model/Windowing.swift), here "
                f"{len(windows)}, so it attends within windows while transformers and onnxruntime attend over "
                f"the whole input: {one_pass / windowed:.2f}× the FLOPs of transcribe's {windowed / 1e9:.0f} GFLOP. "
                f"The speed rows at this length compare different computations; the GFLOP/s columns count each "
                f"engine's own."
            )
    attention = context["python_reports"].get("torch", {}).get("attention", args.torch_attn)
    v = context["versions"]
    lines = [
        "# transcribe benchmark" + (" (--quick)" if args.quick else ""),
        "",
        f"- {context['date']}, {context['duration_min']:.1f} min; {context['cpu']}, {context['cores']} cores, "
        f"{context['memory_gib']:.0f} GiB; load average {context['load_before'][0]:.2f} before, "
        f"{context['load_after'][0]:.2f} after",
        f"- transcribe at {context['git']}; `--threads {threads}`; "
        + (openblas_line(context["openblas"]) if "openblas" in context else "OpenBLAS kernels not recorded"),
        f"- model: {args.model.relative_to(REPO) if args.model.is_relative_to(REPO) else args.model} "
        f"(random weights, facebook/wav2vec2-base-960h configuration), float32 everywhere",
        f"- torch {v['torch']}, transformers {v['transformers']} (attention: {attention}, eager mode), "
        f"onnxruntime {v['onnxruntime']}; {context['blas'] or 'OpenBLAS ?'}",
        f"- transcribe startup (process on a {STARTUP_SECONDS} s file, median of {len(startup.times)}): "
        f"{seconds_cell(startup.median)} s ({spread_cell(startup)}), {startup.error or ''}".rstrip(", "),
        f"- sgemm ceiling (scripts/bench/sgemm-ceiling.c, {threads} threads, the higher of a run at the start and one "
        f"at the end): sustained {ceiling_cell(sustained, context.get('sustaineds', []))}, "
        f"peak {ceiling_cell(ceiling, context['ceilings'])}",
        f"- a measured process is killed past {args.mem_limit_gib:g} GiB resident, timeout {args.timeout:.0f} s; "
        f"runs: {args.runs} per engine up to {LONG_INPUT_SECONDS} s, {args.long_runs} above",
        "",
        "## Speed",
        "",
        "transcribe (process) = whole process (start, model load, audio read, forward, decode); "
        "transcribe − startup = that minus the startup above. transcribe warm = one process given the input "
        "n times (n × length ≈ 60 s, n ≥ 3): what each copy past the first adds to the process's median. "
        "Python rows: warm forward + argmax only, "
        "model already loaded. ÷ = engine median / transcribe median (above 1: slower than transcribe). "
        "others = cores that other processes on the machine kept busy meanwhile (0 on a quiet machine; "
        "0.5 and up means the row is distorted).",
        "",
        "| audio | engine | runs | median s | min–max s | RTF | ÷ process | ÷ compute | ÷ warm | peak RSS MiB | others |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    labels = {"transcribe": "transcribe (process)", "transcribe-compute": "transcribe − startup",
              "transcribe-warm": "transcribe warm (per copy)", "torch": "transformers+torch",
              "onnxruntime": "onnxruntime"}  # fmt: skip
    derived = ("transcribe-compute", "transcribe-warm")
    for seconds, row in speed.items():
        bases = [row.get(name) for name in ("transcribe", "transcribe-compute", "transcribe-warm")]
        for name in labels:
            m = row.get(name)
            if m is None:
                continue
            if not m.ok:
                lines.append(f"| {length_name(seconds)} | {labels[name]} | – | {m.error} | – | – | – | – | – | {mib_cell(m.peak_kib)} | – |")  # fmt: skip
                continue
            ratios = " | ".join(ratio_cell(m.median, base.median if base else None) for base in bases)
            lines.append(
                f"| {length_name(seconds)} | {labels[name]} | {len(m.times)} | {seconds_cell(m.median)} | "
                f"{spread_cell(m)} | {m.median / seconds:.3f} | {ratios} | "
                f"{mib_cell(m.peak_kib) if name not in derived else '–'} | "
                f"{load_cell(m) if name not in derived else '–'} |"
            )
    lines += [
        "",
        "## Achieved GFLOP/s",
        "",
        "Model FLOPs from config.json (formula in scripts/bench/benchmark.py): conv encoder + feature projection + "
        "positional conv + 12 × (QKV/out projections + attention scores/context + FFN) + lm head. "
        "one pass = the whole input at once, as transformers and onnxruntime run it; transcribe = the sum "
        "over the windows transcribe runs (one window up to "
        f"{f'{windowing[0]:g} s' if windowing else 'any length'}). transcribe uses its time minus startup.",
        "",
        "| audio | frames | GFLOP one pass | transcribe windows | transcribe GFLOP | transcribe − startup s | "
        "transcribe GFLOP/s | % of sgemm sustained | % of sgemm peak | torch GFLOP/s | onnxruntime GFLOP/s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for seconds, row in speed.items():
        samples = int(round(seconds * SAMPLE_RATE))
        frames, flops = model_flops(samples, config)
        windows = window_lengths(samples, config, windowing)
        ours_flops = sum(model_flops(n, config)[1] for n in windows)

        def rate(name: str, count: float) -> str:
            m = row.get(name)
            if m is None:
                return "–"
            return f"{count / 1e9 / m.median:.1f}" if m.ok and m.median > 0 else (m.error or "–")

        compute = row.get("transcribe-compute")
        ours = ours_flops / 1e9 / compute.median if compute is not None and compute.ok and compute.median > 0 else None
        lines.append(
            f"| {length_name(seconds)} | {frames} | {flops / 1e9:.1f} | {len(windows)} | {ours_flops / 1e9:.1f} | "
            f"{seconds_cell(compute.median if compute else None)} | "
            f"{f'{ours:.1f}' if ours else rate('transcribe', 0)} | "
            f"{f'{100 * ours / sustained:.0f}%' if ours and sustained else '–'} | "
            f"{f'{100 * ours / ceiling:.0f}%' if ours and ceiling else '–'} | "
            f"{rate('torch', flops)} | {rate('onnxruntime', flops)} |"
        )
    lines += [
        "",
        f"## Cold start ({COLD_START_SECONDS} s file, fresh process each run, warm page cache)",
        "",
        "| command | runs | median s | min–max s | ÷ transcribe | peak RSS MiB | others |",
        "|---|--:|--:|--:|--:|--:|--:|",
    ]
    cold_labels = {"transcribe": f"transcribe --threads {threads}",
                   "python": f"python3 scripts/bench/python-cold-start.py (transformers tutorial, {threads} threads)"}  # fmt: skip
    base = cold.get("transcribe")
    for name, m in cold.items():
        if m.ok:
            lines.append(f"| {cold_labels[name]} | {len(m.times)} | {seconds_cell(m.median)} | {spread_cell(m)} | "
                         f"{ratio_cell(m.median, base.median if base else None)} | {mib_cell(m.peak_kib)} | {load_cell(m)} |")  # fmt: skip
        else:
            lines.append(f"| {cold_labels[name]} | – | {m.error} | – | – | {mib_cell(m.peak_kib)} | – |")
    if batch_rows:
        audio_seconds, count = context["batch_audio_s"], context["batch_files"]
        lines += [
            "",
            f"## Batch: {count} clips of {BATCH_MIN_SECONDS:g}–{BATCH_MAX_SECONDS:g} s ({audio_seconds:.0f} s of audio)",
            "",
            "| mode | processes | total wall s | per file s | RTF | ÷ one process | peak RSS MiB | others |",
            "|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        one = batch_rows.get("one")
        for name, label, processes in (("one", "one transcribe process, all files", 1),
                                       ("jobs", f"the same with `--jobs {threads} --threads 1` (files side by side)", 1),
                                       ("separate", "one transcribe process per file", count)):  # fmt: skip
            m = batch_rows.get(name)
            if m is None:
                continue
            if m.ok:
                lines.append(f"| {label} | {processes} | {seconds_cell(m.median)} | {seconds_cell(m.median / count)} | "
                             f"{m.median / audio_seconds:.3f} | {ratio_cell(m.median, one.median if one else None)} | "
                             f"{mib_cell(m.peak_kib)} | {load_cell(m)} |")  # fmt: skip
            else:
                lines.append(f"| {label} | {processes} | {m.error} | – | – | – | {mib_cell(m.peak_kib)} | – |")
    return markdown(lines, notes)


def markdown(lines: list[str], notes: list[str]) -> str:
    """The tables' lines and, under them, the notes, as one markdown document."""
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"


def dispatch(worker, main) -> None:  # noqa: ANN001
    """`SCRIPT _worker ...` runs the script's worker (the measured process), anything else its main."""
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(sys.argv[2:])
    else:
        main(sys.argv[1:])


if __name__ == "__main__":
    dispatch(worker, main)
