#!/usr/bin/env python3
"""Where a Whisper transcription spends its time, stage by stage, from perf.

How to run (from the repository root, after `swift build -c release`; needs `perf`):

    python3 scripts/bench/profile-whisper.py --model Models/whisper-tiny.en [--beam-size 1] [FILE...]

Runs `perf record --call-graph dwarf` on one transcribe process over the files (default: the JFK recording and two
LibriSpeech ones of ../shared/samples) with one thread (work handed to the pool's threads would lose
its caller's frames), OpenBLAS choosing its own kernels (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
unset), and prints, for each stage, the share of all samples taken
inside it, callees included: loading, the log-mel, the encoder, the cross-attention keys and values,
the decoder's layers, the vocabulary projection, the search around them (beam bookkeeping, logit
rules, temperature fallback), the word alignment. A stage's share times the process's CPU seconds
is its CPU time. Then the functions that take the most samples themselves (--top).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples"

# Stage, and a pattern of the Swift symbols (mangled) whose samples, callees included, it takes.
STAGES = [
    ("loading: all", r"WhisperRecognizerC9directory7options"),
    ("loading: the tokenizer's JSON", r"WhisperTokenizerV9directory"),
    ("log-mel", r"logMel"),
    ("encoder", r"WhisperEncoderV14callAsFunction"),
    ("decoding: all (search, decoder, projection, logit rules)", r"WhisperWindowDecoderV11decodeBatch"),
    ("decoder layers (self- and cross-attention, feed-forward)", r"WhisperDecoderV14callAsFunction"),
    ("narrow products (at most 8 rows; mostly the vocabulary projection)", r"narrowProduct"),
    ("logit rules (suppression, timestamps)", r"WhisperLogitFilterV5apply"),
    ("word alignment (cross-attention weights, DTW)", r"alignedWords"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--binary", type=Path, default=ROOT / ".build/release/transcribe")
    parser.add_argument("--beam-size", default="5")
    parser.add_argument("--top", type=int, default=15, help="functions listed by their own samples (15)")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    files = args.files or [SAMPLES / name for name in (
        "jfk_inaugural_1961.flac", "ls-dev-clean_2412-153948-0000.flac", "ls-dev-clean_2412-153948-0001.flac")]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    with tempfile.TemporaryDirectory() as directory:
        data = Path(directory) / "perf.data"
        timing = subprocess.run(
            ["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-o", str(data), "--",
             "/usr/bin/time", "-f", "%e %U %S",
             str(args.binary), "-q", "--threads", "1", "--model", args.model, "--beam-size", args.beam_size,
             *map(str, files)],
            check=True, capture_output=True, text=True, env=env).stderr.strip().splitlines()
        timing = next(line for line in timing if re.fullmatch(r"[\d.]+ [\d.]+ [\d.]+", line))
        report = subprocess.run(
            ["perf", "report", "-i", str(data), "--children", "--sort", "symbol", "-g", "none", "--stdio"],
            check=True, capture_output=True, text=True).stdout
    wall, user, system = map(float, timing.split()[:3])
    shares: dict[str, float] = {}
    own: dict[str, float] = {}
    for line in report.splitlines():
        match = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[\.\]\s+(\S+)", line)
        if not match:
            continue
        children, self_share, symbol = float(match[1]), float(match[2]), match[3]
        own[symbol] = own.get(symbol, 0.0) + self_share
        for stage, pattern in STAGES:
            if re.search(pattern, symbol):
                shares[stage] = max(shares.get(stage, 0.0), children)
    cpu = user + system
    print(f"{len(files)} files, beam {args.beam_size}: wall {wall:.2f} s, CPU {cpu:.2f} s\n")
    print("| stage | share of samples | CPU seconds |\n|---|--:|--:|")
    for stage, _ in STAGES:
        share = shares.get(stage, 0.0)
        print(f"| {stage} | {share:.1f}% | {share / 100 * cpu:.2f} |")
    print(f"\nThe {args.top} functions with the most samples of their own (callees excluded):\n")
    print("| function | share of samples |\n|---|--:|")
    for symbol, share in sorted(own.items(), key=lambda item: -item[1])[: args.top]:
        name = subprocess.run(["swift", "demangle", "--simplified", "--compact", symbol], capture_output=True, text=True).stdout.strip()
        print(f"| `{(name or symbol)[:110]}` | {share:.1f}% |")


if __name__ == "__main__":
    main()
