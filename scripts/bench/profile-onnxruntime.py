#!/usr/bin/env python3
"""Where onnxruntime spends a forward pass of the benchmark model: time per operator type and per
convolution, from onnxruntime's own profiler, as a markdown table.

Answered: where does onnxruntime's time go, against transcribe's? At 20 s on 2 threads (2.67 s a pass): matrix products 1.39 s at ~149 GFLOP/s (MLAS packs weights once; faster than OpenBLAS, which packs on every call), convolutions 0.82 s, elementwise work 0.47 s (transcribe spends about half that) (README, Performance).

    python3 scripts/bench/profile-onnxruntime.py [--model DIR] [--audio WAV] [--threads 2] [--runs 3]

Defaults: the benchmark's checkpoint and 20 s input (run scripts/bench/benchmark.py --quick once to make
them). The session is set up as scripts/bench/benchmark.py sets it up (intra-op threads, sequential
execution, all graph optimisations); one untimed run first, then --runs profiled ones, averaged.
Compare with `perf record` on transcribe (README, Performance) to see which parts of the model each
engine does faster.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchmark import model_input, onnxruntime_session  # noqa: E402  (what the benchmark times)

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO / "Models" / "bench-wav2vec2-base-960h-random")
    parser.add_argument("--audio", type=Path, default=REPO / "bench-out" / "audio" / "speech-20s.wav")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for path in (args.model / "model.onnx", args.audio):
        if not path.exists():
            sys.exit(f"profile-onnxruntime: {path}: not found (python3 scripts/bench/benchmark.py --quick makes it)")

    import onnxruntime as ort

    values = model_input(args.audio)
    session = onnxruntime_session(args.model, args.threads)
    session.run(["logits"], {"input_values": values})  # warm-up, before the profiler starts

    with tempfile.TemporaryDirectory() as directory:
        session = onnxruntime_session(args.model, args.threads, profile_prefix=str(Path(directory) / "onnxruntime"))
        session.run(["logits"], {"input_values": values})  # this session's warm-up, left out below
        walls = []
        for _ in range(args.runs):
            started = time.perf_counter()
            session.run(["logits"], {"input_values": values})
            walls.append(time.perf_counter() - started)
        events = json.loads(Path(session.end_profiling()).read_text())

    # Node events of the timed runs only: those after the end of this session's first run.
    runs = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")
    if len(runs) != args.runs + 1:
        sys.exit(f"profile-onnxruntime: expected {args.runs + 1} model_run events in the profile, found {len(runs)}")
    warm_up_end = runs[0][1]
    by_type: dict[str, float] = collections.defaultdict(float)
    convolutions: dict[str, float] = collections.defaultdict(float)
    for event in events:
        if event.get("cat") != "Node" or not event.get("name", "").endswith("_kernel_time") or event["ts"] < warm_up_end:
            continue
        seconds = event["dur"] / 1e6 / args.runs
        by_type[event["args"]["op_name"]] += seconds
        if event["args"]["op_name"] == "Conv":
            convolutions[event["name"].removesuffix("_kernel_time")] += seconds

    seconds = args.audio.stat().st_size / 2 / 16000
    print(f"# onnxruntime {ort.__version__}, {args.threads} threads, {args.audio.name} ({seconds:.0f} s)")
    print()
    print(f"Forward pass: median {sorted(walls)[len(walls) // 2]:.3f} s of {args.runs} "
          f"({min(walls):.3f}–{max(walls):.3f}); kernel time per pass by operator:")  # fmt: skip
    print()
    print("| operator | s per pass | share |")
    print("|---|--:|--:|")
    total = sum(by_type.values())
    for name, value in sorted(by_type.items(), key=lambda item: -item[1]):
        if value >= 0.0005:
            print(f"| {name} | {value:.3f} | {100 * value / total:.1f}% |")
    print(f"| all | {total:.3f} | 100% |")
    print()
    print("Convolutions in graph order (the feature encoder's layers, then the positional conv):")
    print()
    print("| node | s per pass |")
    print("|---|--:|")
    for name, value in convolutions.items():
        print(f"| {name} | {value:.3f} |")


if __name__ == "__main__":
    main()
