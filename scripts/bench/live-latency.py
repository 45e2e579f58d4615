#!/usr/bin/env python3
"""How long after a word is spoken `transcribe --live` prints it, and how its text compares.

How to run (from the repository root, after `swift build -c release`):

    python3 -m pip install -r scripts/requirements/whisper.txt      # jiwer
    python3 scripts/bench/live-latency.py --model Models/whisper-tiny.en
    python3 scripts/bench/live-latency.py --model DIR --minutes 60 --rss bench-out/rss.tsv   # an hour
    python3 scripts/bench/live-latency.py --model Tests/Fixtures/wav2vec2/models/base-postnorm-f32 --own-times

The recordings of ../shared/samples are joined into one stream with a second of silence after
each (repeated up to --minutes when given), decoded as the tool decodes them to 16 kHz mono
s16le, and written
to `transcribe --live -f tsv --raw-rate 16000 -` at real-time speed, 0.1 s at a time. A reader
thread notes when each word's row reaches stdout. The same stream is transcribed offline (`-f json`), and the
live words are matched to the offline ones (difflib over normalised words); a word's delay is the
time it appeared minus the time its offline end was written into the pipe (offline: each
recording transcribed as a file, its words moved to where it lies in the stream). WER (normalised as
whisper-wer.py does) is given for the live and the offline text against the references, and
for live against offline. With --rss, the live process's resident memory is sampled every 10 s
and (for every run of 20 words or more) the drift: how far the matched words' live end times
are from their offline ones, early in the run and late in it.

With --own-times (a CTC model with random weights, whose words mean nothing), a word's delay is
measured from its own end time in the live output, and no offline run or WER is made.

OpenBLAS picks its own kernels for the timed commands (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
are unset for them), as a user's machine does.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples"
RATE = 16000
BLOCK = RATE // 10  # samples written at a time

spec = importlib.util.spec_from_file_location("whisper_wer", Path(__file__).with_name("whisper-wer.py"))
whisper_wer = importlib.util.module_from_spec(spec)
sys.modules["whisper_wer"] = whisper_wer  # its dataclasses look their module up
spec.loader.exec_module(whisper_wer)
normalize = whisper_wer.normalize
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from audio_files import read_audio  # noqa: E402


def user_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def stream_pcm(minutes: float | None) -> tuple[bytes, list[tuple[str, float]]]:
    """The recordings joined (each followed by 1 s of silence) as s16le, and each one's name and
    start in the stream."""
    names = sorted(whisper_wer.read_references())
    pcm = bytearray()
    placed: list[tuple[str, float]] = []
    while True:
        for name in names:
            placed.append((name, len(pcm) / 2 / RATE))
            samples = np.concatenate([read_audio(SAMPLES / name), np.zeros(RATE, np.float32)])
            pcm += (np.clip(samples, -1, 32767 / 32768) * 32768).round().astype("<i2").tobytes()
            if minutes is not None and len(pcm) / 2 / RATE >= minutes * 60:
                return bytes(pcm), placed
        if minutes is None:
            return bytes(pcm), placed


def offline_words(binary: Path, model: str, placed: list[tuple[str, float]], extra: list[str]) -> list[dict]:
    """Each recording transcribed as a file, once, its words moved to where it is in the stream."""
    names = sorted({name for name, _ in placed})
    out = subprocess.run(
        [str(binary), "-q", "--model", model, "-f", "jsonl", *extra, *(str(SAMPLES / name) for name in names)],
        check=True, capture_output=True, env=user_environment()).stdout
    words = {Path(record["input"]).name: record["words"] for record in map(json.loads, out.splitlines())}
    return [dict(word, start=word["start"] + offset, end=word["end"] + offset)
            for name, offset in placed for word in words[name]]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def live_run(binary: Path, model: str, pcm: bytes, extra: list[str], sample_rss: bool):
    """Feeds the stream at real-time speed; returns (words with arrival seconds, rss samples)."""
    process = subprocess.Popen(
        [str(binary), "-q", "--live", "--model", model, "-f", "tsv", "--raw-rate", str(RATE), *extra, "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=user_environment())
    arrivals: list[tuple[str, float, float]] = []  # word, arrival, its end in the live output
    rss: list[tuple[float, int]] = []
    start = time.monotonic()

    def read() -> None:
        pending = b""
        while chunk := os.read(process.stdout.fileno(), 65536):
            now = time.monotonic() - start
            pending += chunk
            # One tsv row per final word, written as it becomes final: start, end, confidence, word.
            *rows, pending = pending.split(b"\n")
            for row in rows:
                fields = row.decode().split("\t")
                if len(fields) == 4 and fields[0] != "start":
                    arrivals.append((fields[3], now, float(fields[1])))

    reader = threading.Thread(target=read)
    reader.start()
    next_sample = start + 10
    for offset in range(0, len(pcm), BLOCK * 2):
        due = start + offset / 2 / RATE
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        process.stdin.write(pcm[offset:offset + BLOCK * 2])
        process.stdin.flush()
        if sample_rss and time.monotonic() >= next_sample:
            rss.append((time.monotonic() - start, rss_kib(process.pid)))
            next_sample += 10
    process.stdin.close()
    reader.join()
    process.wait()
    return arrivals, rss


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--binary", type=Path, default=ROOT / ".build/release/transcribe")
    parser.add_argument("--minutes", type=float, help="repeat the recordings up to this long a stream")
    parser.add_argument("--rss", type=Path, help="write the live process's RSS every 10 s to this TSV")
    parser.add_argument("--own-times", action="store_true",
                        help="delays from the live words' own end times, no offline run or WER (random weights)")
    parser.add_argument("--replay", type=Path,
                        help="measure a run saved with --text (and --rss) again, with the same --minutes")
    parser.add_argument("--text", type=Path, help="write the live words with their arrival times to this TSV")
    parser.add_argument("extra", nargs="*", help="more transcribe options for both runs (after --)")
    args = parser.parse_args()

    pcm, placed = stream_pcm(args.minutes)
    seconds = len(pcm) / 2 / RATE
    print(f"stream: {seconds:.1f} s of {len(placed)} recordings; model {args.model}", flush=True)
    if args.own_times:
        arrivals, _ = live_run(args.binary, args.model, pcm, args.extra, False)
        values = [arrival - end for _, arrival, end in arrivals]
        print("| measure | value |\n|---|--:|")
        print(f"| words | {len(values)} |")
        print(f"| delay after the word's own end: median | {statistics.median(values):.2f} s |")
        print(f"| delay: 95th percentile | {percentile(values, 0.95):.2f} s |")
        print(f"| delay: max | {max(values):.2f} s |")
        return
    offline = offline_words(args.binary, args.model, placed, args.extra)
    all_references = whisper_wer.read_references()
    references = [all_references[name] for name, _ in placed]
    if args.replay:
        # A run's words as --text saved them (arrival, end, word), and its RSS samples.
        rows = [line.split("\t") for line in args.replay.read_text().splitlines()]
        arrivals = [(word, float(arrival), float(end)) for arrival, end, word in rows]
        rss = []
        if args.rss and args.rss.exists():
            rss = [(float(t), int(k)) for t, k in (line.split("\t") for line in args.rss.read_text().splitlines()[1:])]
    else:
        arrivals, rss = live_run(args.binary, args.model, pcm, args.extra, args.rss is not None)
    if args.text and not args.replay:
        args.text.parent.mkdir(parents=True, exist_ok=True)
        args.text.write_text("".join(f"{t:.2f}\t{end:.2f}\t{word}\n" for word, t, end in arrivals))

    # Match live words to offline words by their normalised text, recording by recording (the
    # stream repeats the recordings, so a match is looked for only where the word was said): a
    # live word belongs to the recording its own end time falls in.
    def key(text: str) -> str:
        return normalize(text) or text
    starts = [offset for _, offset in placed] + [seconds + 1]
    delays: list[tuple[float, float]] = []  # (offline end, delay)
    drifts: list[float] = []  # live end minus offline end
    for index in range(len(placed)):
        begin, end = starts[index], starts[index + 1]
        said = [w for w in offline if begin <= w["end"] < end]
        heard = [a for a in arrivals if begin <= a[2] < end]
        matcher = difflib.SequenceMatcher(
            a=[key(w["word"]) for w in said], b=[key(word) for word, _, _ in heard], autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                word_end = said[block.a + k]["end"]
                delays.append((word_end, heard[block.b + k][1] - word_end))
                drifts.append(heard[block.b + k][2] - word_end)
    values = [delay for _, delay in delays]

    reference = normalize(" ".join(references))
    live_text = normalize(" ".join(word for word, _, _ in arrivals))
    offline_text = normalize(" ".join(w["word"] for w in offline))
    rows = [
        ("words: offline, live, matched", f"{len(offline)}, {len(arrivals)}, {len(delays)}"),
        ("delay after the word's end: median", f"{statistics.median(values):.2f} s"),
        ("delay: 95th percentile", f"{percentile(values, 0.95):.2f} s"),
        ("delay: max", f"{max(values):.2f} s"),
        ("WER offline (each recording as a file) vs references", f"{100 * whisper_wer.jiwer.wer(reference, offline_text):.2f}%"),
        ("WER live vs references", f"{100 * whisper_wer.jiwer.wer(reference, live_text):.2f}%"),
        ("WER live vs offline", f"{100 * whisper_wer.jiwer.wer(offline_text, live_text):.2f}%"),
    ]
    if len(delays) >= 20:
        tenth = max(1, len(delays) // 10)
        early, late = delays[:tenth], delays[-tenth:]
        rows.append(("median delay, first and last tenth of the stream",
                     f"{statistics.median(d for _, d in early):.2f} s, {statistics.median(d for _, d in late):.2f} s"))
        rows.append(("word end, live minus offline: median of first and last tenth",
                     f"{statistics.median(drifts[:tenth]):+.3f} s, {statistics.median(drifts[-tenth:]):+.3f} s"))
    if rss:
        rows.append(("RSS at 10 s, at the middle, at the end",
                     f"{rss[0][1] / 1024:.0f}, {rss[len(rss) // 2][1] / 1024:.0f}, {rss[-1][1] / 1024:.0f} MiB"))
        quarter = len(rss) // 4
        rows.append(("RSS, highest in each quarter of the run",
                     ", ".join(f"{max(k for _, k in rss[i * quarter:(i + 1) * quarter or None]) / 1024:.0f}"
                               for i in range(4)) + " MiB"))
    if rss and not args.replay:
        args.rss.parent.mkdir(parents=True, exist_ok=True)
        args.rss.write_text("seconds\trss_kib\n" + "".join(f"{t:.0f}\t{k}\n" for t, k in rss))
    width = max(len(name) for name, _ in rows)
    print("| measure | value |\n|---|--:|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")


if __name__ == "__main__":
    main()
