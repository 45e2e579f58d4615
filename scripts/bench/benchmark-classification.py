#!/usr/bin/env python3
"""Audio classifiers: transcribe against transformers' audio-classification pipeline, speed and agreement.

An Audio Spectrogram Transformer (AudioSet sound tagging) and a Wav2Vec2 keyword spotter (Speech
Commands), each on one short clip and on a long recording cut into windows, in both engines.

How to run (from the repository root; CPU only; needs GNU time for peak RSS, the Swift toolchain, and the
system libsndfile and libsamplerate, which transcribe links anyway):

    apt-get install -y time libsndfile1 libsamplerate0
    python3 -m pip install -r scripts/requirements/benchmark.txt   # torch, transformers, safetensors, numpy
    python3 -m pip install --no-deps torchaudio==2.11.0             # only its compliance/kaldi.py is used (below)
    python3 scripts/bench/benchmark-classification.py --quick       # smoke run: a 1-minute recording, 1 run (~5 min)
    python3 scripts/bench/benchmark-classification.py               # full run: 10 minutes, 3 runs (about an hour on 2 cores)
    python3 scripts/bench/benchmark-classification.py --models ks --runs 5

The tables go to stdout and to bench-out/classification.md, the raw numbers (every time, the windows
where the engines disagree) to bench-out/classification.json; the clips and the pipeline workers'
stderr to bench-out/classification/; progress goes to stderr.  The checkpoints go to Models/ (below).
Everything written is git-ignored; never commit it.

1. Checkpoints (made once, in a child process, skipped when model.safetensors exists; --force-models
   rewrites them).  Random, seeded weights with the real models' exact configurations, saved with
   save_pretrained (model.safetensors, config.json, preprocessor_config.json), float32:
     Models/bench-ast-audioset-random/   ASTForAudioClassification as MIT/ast-finetuned-audioset-10-10-0.4593:
                                         hidden 768, 12 layers, 12 heads, intermediate 3072, 16x16 patches with
                                         frequency and time strides 10, 1024 frames of 128 mel bins,
                                         layer_norm_eps 1e-12, 527 labels named label_0 ... label_526 (not the
                                         AudioSet names), ASTFeatureExtractor's defaults.
     Models/bench-wav2vec2-ks-random/    Wav2Vec2ForSequenceClassification as superb/wav2vec2-base-superb-ks:
                                         wav2vec2-base (hidden 768, 12 layers, 12 heads, intermediate 3072, seven
                                         512-channel convolutions, group norm, post-layer-norm), the weighted sum of
                                         the layers, a 256-wide projector, 12 labels (yes no up down left right on
                                         off stop go _silence_ _unknown_); Wav2Vec2FeatureExtractor, do_normalize.
   The weights are drawn as scripts/fixtures/make-classification-fixtures.py draws its tiny models'
   (its build_model: fan-in scaled normals, perturbed norms, the output layer calibrated on the first
   CALIBRATION_CLIPS sample recordings so that labels differ from clip to clip).  transformers' own
   init gives nearly equal logits everywhere, which would make the agreement check a test of ties.
   Importing ASTFeatureExtractor needs torchaudio's Kaldi filter bank; a torchaudio wheel built for
   another CUDA than torch's refuses to import, so the model maker and the pipeline workers import
   make-classification-fixtures.py, which (through lib/torchaudio_kaldi.py) loads only its compliance/kaldi.py
   (and the workers check that the extractor took that path, as upstream does, not its numpy fallback).
2. `swift build -c release --product transcribe` (benchmark.py's build_transcribe: retried, a stale
   binary used and said to be when the build keeps failing; --skip-build, --transcribe BINARY).
3. Inputs, 16-bit 16 kHz mono WAVs: the long recording is benchmark-vad.py's (its long_recording:
   the sample clips of ../shared/samples/transcripts.tsv in order, decoded as transcribe decodes
   them, with 1-6 s of silence or faint noise between them, seeded; written to
   bench-out/vad/long-Mmin.wav, at least --minutes long, default 10, --quick 1).  The clips are cut
   out of it where its first speech begins: 10 s for AST, 1 s for the keyword spotter
   (bench-out/classification/clip-*.wav).
4. Rows: for each model, its clip and the long recording, in each engine (--threads T, default 2):
     transcribe  `BINARY --model DIR --threads T -f json FILE`, the whole process timed from spawn to
                 exit (process start, model load, audio reading, every window, writing the JSON), under
                 GNU time.  OpenBLAS picks its own kernels: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are
                 removed from the timed command's environment only (benchmark-vad.py's transcribe_env);
                 the header names the kernels that environment gets (openblas_get_corename()).  One
                 untimed run on the clip first (page cache).  transcribe's default windows: the
                 model's input (AST 1024 frames = 164080 samples = 10.255 s; keyword spotter 1 s =
                 16000 samples), a hop of half a window.
     pipeline    transformers.pipeline("audio-classification", model=DIR, top_k=5, dtype=float32,
                 device="cpu") in a worker process (this script, `_worker serve`) that stays up for the
                 row: torch.set_num_threads(T), OMP_NUM_THREADS=T, default attention, eager mode.  It
                 loads the pipeline, calls it once on the clip (warm-up), then per run reads the WAV
                 (untimed), cuts it into transcribe's windows (untimed) and times the pipeline call
                 alone: on the clip itself for a clip, on the list of windows with batch_size=1 for
                 the recording.  "load s" is the worker's spawn until the pipeline is built
                 (interpreter, imports, from_pretrained), the warm-up left out.
   The windows, as transcribe's AudioClassifier.classify cuts them (window_spans below): an input no
   longer than a window is one window; a longer one has a window every hop from the start while a
   whole window fits, then one last window ending at the input's end.
   --runs rounds (default 3); each round runs every row of a model once, rotated by one row per
   round, so that the engines are interleaved and none is always first; the models one after the
   other (only one model's workers are up at a time).  Before each measurement the script waits up
   to --wait-quiet seconds for the machine to go quiet.
5. Agreement, from each row's first run: transcribe's top label per window (its JSON
   `windows[i].labels[0]`, or `labels[0]` for a single window) against the pipeline's, the number
   that differ, and the largest |score difference| over the labels both engines put in their top 5
   of a window.  "smallest gap" is the smallest difference between the pipeline's first and second
   score over the windows: a disagreement on a window whose gap is ~1e-5 is a tie, not a bug.

Columns: median s and min–max s over the runs (wall); RTF = median / audio seconds; ÷ transcribe =
median / transcribe's median on the same input (above 1: slower than transcribe; the pipeline's time
leaves out process start, model load and audio reading, which transcribe's includes); peak RSS MiB =
GNU time's %M of the transcribe process (the largest over its runs), the worker's ru_maxrss after its
last call (interpreter, imports, model, warm-up and calls); others = CPU cores that other processes
kept busy meanwhile (0 on a quiet machine; on 2 cores 0.5 and up means the row is distorted).  Both
engines suffer from a busy core, torch most: its two OpenMP threads meet at a barrier in each of the
~150 parallel regions of a forward, so one descheduled thread stalls all of them; on this 2-core
machine a 1 s keyword-spotter call took 2.2 s instead of 0.12 s while another process held a core.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
import benchmark as bench  # noqa: E402  (scripts/bench/benchmark.py: Runner, Measurement, cells, build)


def import_script(path: Path, name: str):  # noqa: ANN201
    """A script whose file name has hyphens, imported as module `name`."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


vad = import_script(Path(__file__).with_name("benchmark-vad.py"), "benchmark_vad")  # long_recording, OpenBLAS, worker
FIXTURES_SCRIPT = bench.REPO / "scripts" / "fixtures" / "make-classification-fixtures.py"

REPO = bench.REPO
OUT = bench.OUT / "classification"
SAMPLE_RATE = 16_000
TOP_K = 5  # transcribe's default --top-k, given to the pipeline
CALIBRATION_CLIPS = 8
QUICK = {"minutes": 1.0, "runs": 1}
PROGRAM = "benchmark-classification"

# Kaldi's frames, as ASTFeatureExtractor takes them: 25 ms long, every 10 ms.
KALDI_FRAME_LENGTH, KALDI_FRAME_SHIFT = 400, 160
AST_MAX_LENGTH = 1024
AST_WINDOW = (AST_MAX_LENGTH - 1) * KALDI_FRAME_SHIFT + KALDI_FRAME_LENGTH  # 164080 samples, 10.255 s
KS_WINDOW = SAMPLE_RATE  # one second, the Speech Commands clips

# MIT/ast-finetuned-audioset-10-10-0.4593's config.json (dropouts are 0 there, and unused in eval).
AST_AUDIOSET = dict(
    hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
    layer_norm_eps=1e-12, qkv_bias=True, patch_size=16, frequency_stride=10, time_stride=10,
    max_length=AST_MAX_LENGTH, num_mel_bins=128,
)  # fmt: skip
# superb/wav2vec2-base-superb-ks's config.json: wav2vec2-base's encoder and its classification head.
WAV2VEC2_BASE_KS = dict(
    hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, hidden_act="gelu",
    layer_norm_eps=1e-5, feat_extract_norm="group", feat_extract_activation="gelu", conv_dim=(512,) * 7,
    conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_bias=False,
    num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16, do_stable_layer_norm=False,
    use_weighted_layer_sum=True, classifier_proj_size=256,
)  # fmt: skip
SPEECH_COMMANDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "_silence_", "_unknown_"]


@dataclass(frozen=True)
class BenchModel:
    key: str  # --models name
    title: str
    original: str  # the checkpoint whose configuration it has
    directory: Path
    family: str  # make-classification-fixtures.py's: "ast" or "wav2vec2"
    config: dict
    labels: list[str]
    seed: int
    window: int  # transcribe's default window and hop, samples
    hop: int
    clip_seconds: float


MODELS = {
    "ast": BenchModel("ast", "AST", "MIT/ast-finetuned-audioset-10-10-0.4593", REPO / "Models" / "bench-ast-audioset-random",
                      "ast", AST_AUDIOSET, [f"label_{i}" for i in range(527)], 4593, AST_WINDOW, AST_WINDOW // 2, 10.0),
    "ks": BenchModel("ks", "Wav2Vec2 KS", "superb/wav2vec2-base-superb-ks", REPO / "Models" / "bench-wav2vec2-ks-random",
                     "wav2vec2", WAV2VEC2_BASE_KS, SPEECH_COMMANDS, 1012, KS_WINDOW, KS_WINDOW // 2, 1.0),
}  # fmt: skip
ENGINES = ("transcribe", "pipeline")
ENGINE_LABELS = {"transcribe": "transcribe (process)", "pipeline": "transformers pipeline (call)"}


def log(message: str) -> None:
    print(f"[{PROGRAM} {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def window_spans(samples: int, window: int, hop: int) -> list[tuple[int, int]]:
    """(start, end) of each window transcribe classifies, in samples (AudioClassifier.classify)."""
    if samples <= window:
        return [(0, samples)]
    spans = [(start, start + window) for start in range(0, samples - window + 1, hop)]
    if spans[-1][1] < samples:
        spans.append((samples - window, samples))
    return spans


# ---------------------------------------------------------------------------------------------------
# Child processes: the model maker and the pipeline workers


def import_fixtures():  # noqa: ANN201
    """make-classification-fixtures.py as a module: importing it installs the torchaudio stub, then
    imports torch and transformers."""
    return import_script(FIXTURES_SCRIPT, "make_classification_fixtures")


def make_models(argv: list[str]) -> None:
    """`_worker make-models KEY...`: writes each model's checkpoint that is missing (see the docstring)."""
    parser = argparse.ArgumentParser(prog=f"{PROGRAM} _worker make-models")
    parser.add_argument("models", nargs="+", choices=list(MODELS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    fixtures = import_fixtures()
    import shutil

    import torch
    from audio_files import read_audio, sample_table

    fixtures.transformers_logging.disable_progress_bar()  # "Writing model shards"
    torch.set_num_threads(args.threads)
    rows = sample_table(PROGRAM, purpose="its first recordings calibrate the random models")[:CALIBRATION_CLIPS]
    recordings = [read_audio(bench.SAMPLES / row["file"]) for row in rows]
    for key in args.models:
        spec = MODELS[key]
        if (spec.directory / "model.safetensors").is_file() and not args.force:
            log(f"{spec.directory.relative_to(REPO)} exists; skipped")
            continue
        log(f"making {spec.directory.relative_to(REPO)}: {spec.original}'s configuration, seed {spec.seed}, "
            f"calibrated on {len(recordings)} recordings")  # fmt: skip
        variant = fixtures.Variant(spec.directory.name, spec.family, torch.float32, spec.labels, spec.config, spec.seed)
        fe = fixtures.feature_extractor(variant)  # stops if the AST extractor took its numpy path
        inputs = [fe(x[: spec.window], sampling_rate=SAMPLE_RATE, return_tensors="pt") for x in recordings]
        model = fixtures.build_model(variant, spec.seed, inputs)
        partial = spec.directory.with_name(spec.directory.name + ".partial")  # a killed run leaves no checkpoint
        fixtures.save_checkpoint(model, fe, partial)
        if spec.directory.exists():
            shutil.rmtree(spec.directory)
        partial.rename(spec.directory)
        log(f"  {sum(p.numel() for p in model.parameters()) / 1e6:.1f} M parameters")


def serve(argv: list[str]) -> None:
    """`_worker serve DIR --window W --hop H [--warmup WAV]`: builds the pipeline, warms it up, prints
    {"ready", "startup_s", ...}; then per line on stdin (a WAV path) times one pipeline call over its
    windows and prints {"seconds", "cpu_s", "windows", "top", "maxrss_kib"}.  benchmark-vad.py's
    worker protocol: one JSON object a line on the original stdout, everything else on stderr."""
    started = time.perf_counter()
    parser = argparse.ArgumentParser(prog=f"{PROGRAM} _worker serve")
    parser.add_argument("model")
    parser.add_argument("--window", type=int, required=True)
    parser.add_argument("--hop", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup")
    args = parser.parse_args(argv)
    reply, cpu = vad.worker_channel()

    try:
        fixtures = import_fixtures()
        import torch
        import transformers
        from audio_files import read_wav

        torch.set_num_threads(args.threads)
        classifier = transformers.pipeline("audio-classification", model=args.model, top_k=TOP_K,
                                           dtype=torch.float32, device="cpu")  # fmt: skip
        startup_s = time.perf_counter() - started
        features = classifier.feature_extractor
        if hasattr(features, "mel_filters") or (
            isinstance(features, transformers.ASTFeatureExtractor) and not fixtures.ast_features.is_speech_available()
        ):
            raise RuntimeError("ASTFeatureExtractor took its numpy filter bank, not torchaudio's (the stub)")

        def classify(path: str) -> tuple[list[tuple[int, int]], list, float]:
            samples = read_wav(Path(path))
            spans = window_spans(len(samples), args.window, args.hop)
            inputs = [{"raw": samples[start:end], "sampling_rate": SAMPLE_RATE} for start, end in spans]
            started = time.perf_counter()
            ranked = [classifier(inputs[0])] if len(inputs) == 1 else classifier(inputs, batch_size=1)
            return spans, ranked, time.perf_counter() - started

        warmup_s = classify(args.warmup)[2] if args.warmup else 0.0
        reply({"ready": True, "startup_s": startup_s, "warmup_s": warmup_s, "torch": torch.__version__,
               "transformers": transformers.__version__, "threads": torch.get_num_threads(),
               "attention": classifier.model.config._attn_implementation})  # fmt: skip
    except BaseException as error:  # noqa: BLE001 - the parent shows it as the row's error
        reply({"error": "error", "detail": f"{type(error).__name__}: {error}".splitlines()[0][:300]})
        sys.exit(1)
    for line in sys.stdin:
        try:
            before = cpu()
            spans, ranked, seconds = classify(line.rstrip("\n"))
            reply({"seconds": seconds, "cpu_s": cpu() - before, "windows": spans,
                   "top": [[[r["label"], float(r["score"])] for r in window] for window in ranked]})  # fmt: skip
        except Exception as error:  # noqa: BLE001
            reply({"error": "error", "detail": f"{type(error).__name__}: {error}".splitlines()[0][:300]})


def worker(argv: list[str]) -> None:
    """`SCRIPT _worker make-models ...` or `SCRIPT _worker serve ...`."""
    commands = {"make-models": make_models, "serve": serve}
    if not argv or argv[0] not in commands:
        raise SystemExit(f"{PROGRAM} _worker: one of {', '.join(commands)}")
    commands[argv[0]](argv[1:])


class PipelineWorker(vad.FasterWhisperWorker):
    """One `_worker serve` process, started, loaded and warmed up on construction.  It speaks
    benchmark-vad.py's worker protocol, so that class's reply pump, call() (which times a request and
    the CPU others used meanwhile) and close() are reused; only the command differs."""

    def __init__(self, spec: BenchModel, warmup: Path, args: argparse.Namespace, log_name: str) -> None:  # noqa: D107
        command = [sys.executable, str(Path(__file__).resolve()), "_worker", "serve", str(spec.directory),
                   "--window", str(spec.window), "--hop", str(spec.hop), "--threads", str(args.threads),
                   "--warmup", str(warmup)]  # fmt: skip
        (OUT / "logs").mkdir(parents=True, exist_ok=True)
        self.log_path = OUT / "logs" / f"{log_name}.log"
        self.timeout = args.timeout
        self.lines: queue.Queue[str | None] = queue.Queue()
        with open(self.log_path, "w") as stderr:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True,
                                            env=bench.python_env(args.threads), cwd=REPO, start_new_session=True)  # fmt: skip
        threading.Thread(target=self._pump, daemon=True).start()
        self.ready = self._reply()


# ---------------------------------------------------------------------------------------------------
# Inputs


def make_inputs(minutes: float) -> tuple[Path, dict, dict[str, Path]]:
    """benchmark-vad.py's long recording, its recipe, and {model key: its clip}, cut where the first
    speech begins."""
    import numpy as np
    from audio_files import read_pcm, sample_table, write_wav

    rows = sample_table(PROGRAM, purpose="it lists the recordings the long input is made of")
    long_path, recipe = vad.long_recording(minutes, rows)
    pcm = read_pcm(long_path)
    speech = next(piece for piece in recipe["pieces"] if "sample" in piece)
    start = int(round(speech["start"] * SAMPLE_RATE))
    clips = {}
    OUT.mkdir(parents=True, exist_ok=True)
    for key, spec in MODELS.items():
        n = int(round(spec.clip_seconds * SAMPLE_RATE))
        clip = OUT / f"clip-{spec.clip_seconds:g}s.wav"
        if start + n > len(pcm):
            raise SystemExit(f"{PROGRAM}: the long recording is shorter than its first speech plus {spec.clip_seconds:g} s")
        write_wav(clip, np.ascontiguousarray(pcm[start : start + n]))
        clips[key] = clip
    return long_path, recipe, clips


# ---------------------------------------------------------------------------------------------------
# Rows


@dataclass
class Row:
    model: str
    input: str  # "clip" or "long"
    engine: str
    m: bench.Measurement = field(default_factory=bench.Measurement)
    windows: list[tuple[int, int]] | None = None  # the first run's, samples
    top: list[list[tuple[str, float]]] | None = None  # the first run's top k per window
    changed: int = 0  # later runs whose top labels differ from the first's
    startup_s: float | None = None  # pipeline: spawn until the pipeline is built

    @property
    def key(self) -> str:
        return f"{self.model}-{self.input}-{self.engine}"


def transcribe_command(args: argparse.Namespace, spec: BenchModel, path: Path) -> list[str]:
    return [str(args.binary), "--model", str(spec.directory), "--threads", str(args.threads), "-f", "json", str(path)]


def transcribe_windows(stdout: str) -> tuple[list[tuple[int, int]], list[list[tuple[str, float]]]]:
    """The windows (samples) and each window's top labels of transcribe's JSON for one input."""
    record = json.loads(stdout)
    windows = record.get("windows") or [{"start": 0.0, "end": record["duration"], "labels": record["labels"]}]
    spans = [(int(round(w["start"] * SAMPLE_RATE)), int(round(w["end"] * SAMPLE_RATE))) for w in windows]
    return spans, [[(entry["label"], float(entry["score"])) for entry in w["labels"]] for w in windows]


def record_labels(row: Row, windows: list[tuple[int, int]], top: list[list[tuple[str, float]]]) -> None:
    if row.top is None:
        row.windows, row.top = windows, top
    elif [w[0][0] for w in top] != [w[0][0] for w in row.top]:
        row.changed += 1


def measure(row: Row, spec: BenchModel, path: Path, pipeline_worker: PipelineWorker | None, args: argparse.Namespace,
            runner: bench.Runner) -> None:  # fmt: skip
    """One timed run of `row`, added to row.m and its labels (or row.m's error)."""
    if pipeline_worker is None:
        run = runner.run(transcribe_command(args, spec, path), env=bench.transcribe_env())
        if run.error is None:
            try:
                windows, top = transcribe_windows(run.stdout)
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
                run.error, run.stderr = "error (output)", f"{run.stderr}\nunreadable JSON: {error}"
        if run.error:
            row.m = bench.Measurement(error=run.error, detail=bench.last_line(run.stderr), peak_kib=run.peak_kib)
            return
        row.m.times.append(run.seconds)
        row.m.peak_kib = max(row.m.peak_kib or 0, run.peak_kib or 0) or None
        row.m.add_load(run)
        record_labels(row, windows, top)
        return
    answer = pipeline_worker.call(path)
    if "error" in answer:
        row.m = bench.Measurement(error=answer["error"], detail=answer.get("detail", ""), peak_kib=answer.get("maxrss_kib"))
        return
    row.m.times.append(answer["seconds"])
    row.m.peak_kib = answer["maxrss_kib"]
    row.m.others_cpu_s += answer["others_cpu_s"]
    row.m.wall_s += answer["wall_s"]
    record_labels(row, [tuple(w) for w in answer["windows"]], [[tuple(r) for r in w] for w in answer["top"]])


def run_model(spec: BenchModel, inputs: dict[str, Path], args: argparse.Namespace, runner: bench.Runner,
              reports: dict, notes: list[str]) -> list[Row]:  # fmt: skip
    """The four rows of one model: --runs interleaved rounds, after the warm-ups."""
    rows = [Row(spec.key, name, engine) for name in inputs for engine in ENGINES if engine in args.engines]
    workers: dict[str, PipelineWorker] = {}
    try:
        for row in rows:
            if row.engine == "transcribe":
                if row.input == "clip":
                    log(f"{spec.title}: transcribe, untimed, on the clip (page cache)")
                    run = runner.run(transcribe_command(args, spec, inputs["clip"]), env=bench.transcribe_env())
                    if run.error:
                        for r in rows:
                            if r.engine == "transcribe":
                                r.m = bench.Measurement(error=run.error, detail=bench.last_line(run.stderr))
                continue
            bench.wait_until_quiet(args.wait_quiet, f"loading the pipeline for {row.key}")
            log(f"{spec.title}: starting the pipeline worker of the {row.input} row")
            started = PipelineWorker(spec, inputs["clip"], args, row.key)
            workers[row.key] = started
            if started.ok:
                row.startup_s = started.ready["startup_s"]
                reports.update({k: started.ready[k] for k in ("torch", "transformers", "threads", "attention")})
            else:
                row.m = bench.Measurement(error=started.ready.get("error", "error"), detail=started.ready.get("detail", ""))
        for round_index in range(args.runs):
            for row in bench.round_order(rows, round_index):
                bench.wait_until_quiet(args.wait_quiet, row.key)
                log(f"{spec.title}, round {round_index + 1}/{args.runs}: {ENGINE_LABELS[row.engine]} on the {row.input}")
                measure(row, spec, inputs[row.input], workers.get(row.key), args, runner)
                if not row.m.error:
                    log(f"  {bench.seconds_cell(row.m.times[-1])} s")
    finally:
        for started in workers.values():
            started.close()
    for row in rows:
        if row.m.error:
            notes.append(f"{spec.title}, {row.input}, {ENGINE_LABELS[row.engine]}: {row.m.error}: {row.m.detail or 'no message'}")
        if row.changed:
            notes.append(f"{spec.title}, {row.input}, {ENGINE_LABELS[row.engine]}: the top labels of {row.changed} "
                         "later run(s) differ from the first run's.")  # fmt: skip
    return rows


def agreement(rows: list[Row], name: str) -> dict | None:
    """transcribe's top label per window against the pipeline's (the docstring's step 5)."""
    ours = next((r for r in rows if r.input == name and r.engine == "transcribe" and r.top), None)
    theirs = next((r for r in rows if r.input == name and r.engine == "pipeline" and r.top), None)
    if ours is None or theirs is None:
        return None
    result = {"windows": len(theirs.top), "transcribe_windows": len(ours.top), "mismatches": [], "max_score_diff": 0.0,
              "smallest_gap": min((w[0][1] - w[1][1] for w in theirs.top if len(w) > 1), default=None)}  # fmt: skip
    # transcribe writes times in milliseconds: a window start within 8 samples is the same start.
    if len(ours.top) != len(theirs.top) or any(abs(a[0] - b[0]) > 8 for a, b in zip(ours.windows, theirs.windows)):
        result["windows_differ"] = True
        return result
    for index, (mine, other) in enumerate(zip(ours.top, theirs.top)):
        if mine[0][0] != other[0][0]:
            result["mismatches"].append({"window": index, "start_s": theirs.windows[index][0] / SAMPLE_RATE,
                                         "transcribe": mine[:2], "pipeline": other[:2]})  # fmt: skip
        scores = dict(other)
        for label, score in mine:
            if label in scores:
                result["max_score_diff"] = max(result["max_score_diff"], abs(score - scores[label]))
    return result


# ---------------------------------------------------------------------------------------------------
# The run


def parse_args(argv: list[str]) -> argparse.Namespace:
    def names(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=f"The docstring at the top of scripts/bench/{PROGRAM}.py explains every column.")  # fmt: skip
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: a {QUICK['minutes']:g}-minute recording, {QUICK['runs']} run, no waiting (explicit options win)")  # fmt: skip
    parser.add_argument("--runs", type=int, help="timed runs per row (default 3; --quick: 1)")
    parser.add_argument("--minutes", type=float, help="length of the long recording, at least (default 10; --quick: 1)")
    parser.add_argument("--models", type=names, default=list(MODELS), help=f"of {','.join(MODELS)} (default both)")
    parser.add_argument("--engines", type=names, default=list(ENGINES), help=f"of {','.join(ENGINES)} (default both)")
    parser.add_argument("--threads", type=int, default=2, help="transcribe --threads and torch.set_num_threads (default 2)")
    parser.add_argument("--force-models", action="store_true", help="rewrite the random checkpoints")
    parser.add_argument("--transcribe", help="time this binary instead of building .build/release/transcribe")
    parser.add_argument("--skip-build", action="store_true", help="use .build/release/transcribe as it is")
    parser.add_argument("--build-retries", type=int, default=2, help="retries, 60 s apart, of a failing build")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before one process or call is given up (3600)")
    parser.add_argument("--mem-limit-gib", type=float, default=round(bench.mem_total_bytes() * 0.75 / 2**30, 1),
                        help="kill a transcribe process past this resident memory, GiB; 0 disables (default 75%% of RAM)")  # fmt: skip
    parser.add_argument("--wait-quiet", type=float,
                        help="before each measurement wait up to this many seconds for the machine to go quiet (20; --quick: 0)")  # fmt: skip
    args = parser.parse_args(argv)
    args.runs = args.runs or (QUICK["runs"] if args.quick else 3)
    args.minutes = args.minutes or (QUICK["minutes"] if args.quick else 10.0)
    args.wait_quiet = args.wait_quiet if args.wait_quiet is not None else (0 if args.quick else 20)
    if set(args.models) - set(MODELS) or not args.models:
        parser.error(f"--models: choose from {','.join(MODELS)}")
    if set(args.engines) - set(ENGINES) or not args.engines:
        parser.error(f"--engines: choose from {','.join(ENGINES)}")
    if min(args.runs, args.threads) < 1 or args.minutes <= 0:
        parser.error("runs, threads and minutes must be positive")
    return args


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))  # so Runner kills its process
    started = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    for stale in (OUT / "logs").glob("*.log"):
        stale.unlink()
    notes: list[str] = []
    if not Path(bench.GNU_TIME).exists():
        notes.append(f"{bench.GNU_TIME} is missing (apt-get install -y time): no peak RSS for transcribe.")

    # 1. Checkpoints
    if args.force_models or any(not (MODELS[k].directory / "model.safetensors").is_file() for k in args.models):
        made = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_worker", "make-models", *args.models,
                               "--threads", str(args.threads), *(["--force"] if args.force_models else [])],
                              stdout=sys.stderr, env=bench.python_env(args.threads), cwd=REPO)  # fmt: skip
        if made.returncode != 0:
            raise SystemExit(f"{PROGRAM}: making the checkpoints failed (above)")

    # 2. transcribe
    args.binary = bench.build_transcribe(args, notes)

    # 3. Inputs
    long_path, recipe, clips = make_inputs(args.minutes)
    log(f"long recording: {long_path} ({recipe['seconds']:.1f} s, {recipe['speech_seconds']:.1f} s of speech)")

    runner = bench.Runner(int(args.mem_limit_gib * 2**30) if args.mem_limit_gib > 0 else None, args.timeout)
    blas = bench.openblas_report()
    context = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "cpu": bench.cpu_name(), "cores": os.cpu_count(),
        "memory_gib": bench.mem_total_bytes() / 2**30, "load_before": os.getloadavg(), "git": bench.git_state(),
        "binary": str(args.binary), "openblas": blas, "versions": vad.versions(("torch", "transformers", "torchaudio", "numpy", "safetensors")), "pipeline": {},
        "binary_built": datetime.datetime.fromtimestamp(args.binary.stat().st_mtime).isoformat(timespec="seconds")
        if args.binary.exists() else None,
        "long_recording": {"path": str(long_path), "seconds": recipe["seconds"], "speech_seconds": recipe["speech_seconds"]},
    }  # fmt: skip

    # 4. and 5. Rows and agreement
    results: dict = {"context": context, "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
                     "models": {}, "notes": notes}  # fmt: skip
    all_rows: dict[str, list[Row]] = {}
    for key in args.models:
        spec = MODELS[key]
        inputs = {"clip": clips[key], "long": long_path}
        rows = run_model(spec, inputs, args, runner, context["pipeline"], notes)
        all_rows[key] = rows
        results["models"][key] = {
            "directory": str(spec.directory), "window": spec.window, "hop": spec.hop,
            "rows": {row.key: row.m.as_json() | {"startup_s": row.startup_s} for row in rows},
            "agreement": {name: agreement(rows, name) for name in inputs},
        }  # fmt: skip
    context.update(duration_min=(time.time() - started) / 60, load_after=os.getloadavg())
    markdown = render(args, context, all_rows, results, clips, notes)
    (bench.OUT / "classification.json").write_text(json.dumps(results, indent=2, default=str))
    (bench.OUT / "classification.md").write_text(markdown)
    print(markdown, end="")
    log(f"done in {context['duration_min']:.1f} min; tables in {bench.OUT / 'classification.md'}")


def input_name(spec: BenchModel, name: str, seconds: float) -> str:
    if name == "clip":
        return f"{spec.clip_seconds:g} s clip"
    count = len(window_spans(int(round(seconds * SAMPLE_RATE)), spec.window, spec.hop))
    return f"{seconds / 60:.1f} min, {count} windows"


def render(args, context, all_rows, results, clips, notes) -> str:  # noqa: ANN001
    v, blas, pipeline = context["versions"], context["openblas"], context["pipeline"]
    long_seconds = context["long_recording"]["seconds"]
    seconds = {"clip": None, "long": long_seconds}
    lines = [
        "# Audio classification: transcribe against transformers' pipeline" + (" (--quick)" if args.quick else ""),
        "",
        f"- {context['date']}, {context['duration_min']:.1f} min; {context['cpu']}, {context['cores']} cores, "
        f"{context['memory_gib']:.0f} GiB; load average {context['load_before'][0]:.2f} before, {context['load_after'][0]:.2f} after",
        f"- transcribe: `{context['binary']}` (built {context['binary_built']}; the tree is at {context['git']}), "
        f"`--threads {args.threads} -f json`; {bench.openblas_line(blas)}",
        f"- transformers {pipeline.get('transformers', v['transformers'])}, torch {pipeline.get('torch', v['torch'])}: "
        f"`pipeline(\"audio-classification\", top_k={TOP_K}, dtype=float32, device=\"cpu\")`, "
        f"torch.set_num_threads({pipeline.get('threads', args.threads)}), attention {pipeline.get('attention', '?')}, "
        f"eager mode; recordings as lists of windows with batch_size=1; ASTFeatureExtractor on torchaudio's "
        f"Kaldi fbank (torchaudio {v['torchaudio']}'s compliance/kaldi.py, through the stub)",
        "- models (random weights, float32): "
        + "; ".join(f"{MODELS[k].directory.relative_to(REPO)} ({MODELS[k].original}'s configuration, window "
                    f"{MODELS[k].window} samples, hop {MODELS[k].hop})" for k in all_rows),  # fmt: skip
        f"- inputs: {', '.join(str(p.relative_to(REPO)) for k, p in clips.items() if k in all_rows)}, cut from "
        f"{Path(context['long_recording']['path']).relative_to(REPO)} ({long_seconds:.1f} s, "
        f"{context['long_recording']['speech_seconds']:.1f} s of it speech; benchmark-vad.py's recording); {args.runs} run(s) per row",
        "",
        "## Speed",
        "",
        "transcribe: the whole process (start, model load, audio reading, every window, JSON). pipeline: the "
        "call alone, on a loaded and warmed-up model; load s = its worker's spawn until the pipeline is built. "
        "÷ transcribe = median / transcribe's median on the same input (above 1: slower). others = cores "
        "other processes kept busy meanwhile.",
        "",
        "| model | input | engine | runs | median s | min–max s | RTF | ÷ transcribe | load s | peak RSS MiB | others |",
        "|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for key, rows in all_rows.items():
        spec = MODELS[key]
        for row in rows:
            audio_seconds = seconds[row.input] or spec.clip_seconds
            name = input_name(spec, row.input, audio_seconds)
            base = next((r.m for r in rows if r.input == row.input and r.engine == "transcribe"), None)
            m = row.m
            if not m.ok:
                lines.append(f"| {spec.title} | {name} | {ENGINE_LABELS[row.engine]} | – | {m.error or 'not run'} | – | – | – | – | "
                             f"{bench.mib_cell(m.peak_kib)} | – |")  # fmt: skip
                continue
            lines.append(
                f"| {spec.title} | {name} | {ENGINE_LABELS[row.engine]} | {len(m.times)} | {bench.seconds_cell(m.median)} | "
                f"{bench.spread_cell(m)} | {m.median / audio_seconds:.3f} | "
                f"{bench.ratio_cell(m.median, base.median if base is not None and base.ok else None)} | "
                f"{bench.seconds_cell(row.startup_s)} | {bench.mib_cell(m.peak_kib)} | {bench.load_cell(m)} |"
            )
    lines += [
        "",
        "## Agreement (first run of each row)",
        "",
        "top-1 differ = windows whose top label differs between transcribe (`windows[i].labels[0]`) and the "
        f"pipeline; max |Δscore| = the largest score difference over the labels both put in a window's top {TOP_K}; "
        "smallest gap = the smallest difference between the pipeline's first and second score over the windows.",
        "",
        "| model | input | windows | top-1 differ | max \\|Δscore\\| | smallest gap |",
        "|---|---|--:|--:|--:|--:|",
    ]
    notes = list(notes)
    for key, rows in all_rows.items():
        spec = MODELS[key]
        for name, found in results["models"][key]["agreement"].items():
            label = input_name(spec, name, seconds[name] or spec.clip_seconds)
            if found is None:
                lines.append(f"| {spec.title} | {label} | – | – | – | – |")
                continue
            gap = f"{found['smallest_gap']:.2e}" if found["smallest_gap"] is not None else "–"
            if found.get("windows_differ"):
                lines.append(f"| {spec.title} | {label} | {found['transcribe_windows']} vs {found['windows']} | windows differ | – | {gap} |")
                notes.append(f"{spec.title}, {label}: transcribe's windows are not the ones this script cuts for the pipeline.")
                continue
            lines.append(f"| {spec.title} | {label} | {found['windows']} | {len(found['mismatches'])} | "
                         f"{found['max_score_diff']:.2e} | {gap} |")  # fmt: skip
            for miss in found["mismatches"][:5]:
                notes.append(f"{spec.title}, {label}: window {miss['window']} ({miss['start_s']:.2f} s): transcribe "
                             f"{miss['transcribe']}, pipeline {miss['pipeline']}")  # fmt: skip
    measured = [row.m for rows in all_rows.values() for row in rows if row.m.ok]
    busy = sum(1 for m in measured if (m.others_cores or 0) >= bench.BUSY_CORES)
    if busy:
        notes.append(f"{busy} row(s) ran while other processes kept {bench.BUSY_CORES:g} or more of the "
                     f"{context['cores']} cores busy (the others column): their times are inflated and not comparable. "
                     "Rerun on a quiet machine (or with a longer --wait-quiet).")  # fmt: skip
    return bench.markdown(lines, notes)


if __name__ == "__main__":
    bench.dispatch(worker, main)
