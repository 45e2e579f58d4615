#!/usr/bin/env python3
"""Soak test: one `transcribe --jobs 2 --format jsonl` run over 1,000 short files, 5% of them broken.

Makes the files in a temporary directory (never in the repository): espeak-ng sentences cut to
1-3 s and written by sox/ffmpeg as WAV (8/16/24-bit, float), FLAC, Ogg Vorbis, Opus, MP3, AIFF
and AU at 8 to 48 kHz, mono or stereo. 50 are broken in varied ways (cut inside the header,
random bytes, empty, text under an audio extension, NaN float samples, a 0 Hz or 0-channel
header, a directory named .wav); 10 more are cut inside their samples, which is damage transcribe
reads past with one warning. While the run goes, the process's RSS and open descriptors are
sampled from /proc every 0.5 s.

Checks: every good file has a transcript record; every broken file exactly one error record and
one stderr line; every cut file a transcript and one warning; exit status 1; RSS and descriptor
count flat after warm-up. Prints a summary table; exits non-zero if a check fails.

With --endless SECONDS, each model then reads an endless WAV on standard input (a 440 Hz tone
behind a header of unknown length, written as fast as transcribe takes it) for that long, and the
RSS is reported beside the audio it got through and the length of the transcript it printed.

Usage: python3 scripts/qa/soak.py [--files N] [--model DIR]... [--endless SECONDS] [--keep]
  Models: Tests/Fixtures/wav2vec2/models/large-prenorm-f16, and Models/bench-wav2vec2-base-960h-random
  (scripts/bench/make-benchmark-model.py) when present. Needs espeak-ng, sox, ffmpeg, a built transcribe.
"""

import argparse
import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SENTENCES = [
    "the quick brown fox jumps over the lazy dog", "hello world", "where did you put my keys",
    "I owe you forty two dollars", "speech recognition on two cores", "please call stella",
    "ask her to bring these things with her from the store", "six spoons of fresh snow peas",
    "we also need a small plastic snake", "a big toy frog for the kids", "the rain in spain",
    "it was the best of times", "numbers like seven and eleven", "good morning to you all",
]
# (extension, sox options) and (extension, ffmpeg codec options): the good files' formats.
SOX_FORMATS = [
    ("wav", ["-b", "16"]), ("wav", ["-b", "24"]), ("wav", ["-b", "8"]), ("wav", ["-e", "floating-point", "-b", "32"]),
    ("flac", []), ("ogg", []), ("aiff", []), ("au", []),
]
FFMPEG_FORMATS = [("mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]), ("opus", ["-c:a", "libopus", "-b:a", "32k"])]
RATES = [8000, 16000, 22050, 44100, 48000]


def wav_header(rate: int, channels: int, bits: int, fmt: int, data: bytes) -> bytes:
    align = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, fmt, channels, rate,
            rate * align, align, bits) + b"data" + struct.pack("<I", len(data)) + data)


def make_files(directory: Path, count: int, seed: int) -> dict:
    """Writes the corpus; returns {path: kind} with kind "good", "cut" or "broken:<how>"."""
    rng = random.Random(seed)
    voices = directory / "voices"
    voices.mkdir()
    clips = []
    for index, sentence in enumerate(SENTENCES):
        clip = voices / f"v{index}.wav"
        subprocess.run(["espeak-ng", "-w", str(clip), sentence], check=True, capture_output=True)
        clips.append(clip)
    kinds: dict[Path, str] = {}
    broken_count = count * 5 // 100
    cut_count = count // 100
    plan = ["broken"] * broken_count + ["cut"] * cut_count + ["good"] * (count - broken_count - cut_count)
    rng.shuffle(plan)
    breakages = ["header-cut", "random-bytes", "empty", "text", "nan-float", "zero-rate", "zero-channels", "directory"]
    jobs = []
    for index, kind in enumerate(plan):
        seconds = rng.uniform(1.0, 3.0)
        rate, channels, clip = rng.choice(RATES), rng.choice([1, 1, 2]), rng.choice(clips)
        if kind == "broken":
            jobs.append((index, "broken:" + breakages[index % len(breakages)], rate, channels, clip, seconds))
        else:
            jobs.append((index, kind, rate, channels, clip, seconds))

    def make(job):
        index, kind, rate, channels, clip, seconds = job
        local = random.Random(seed * 100_003 + index)
        trim = ["trim", "0", f"{seconds:.3f}", "pad", "0", f"{max(0.0, seconds - 1):.3f}"]
        if kind in ("good", "cut") or kind in ("broken:header-cut",):
            formats = SOX_FORMATS + FFMPEG_FORMATS if kind == "good" else SOX_FORMATS[:5]
            extension, options = local.choice(formats)
            path = directory / f"f{index:04d}.{extension}"
            if (extension, options) in FFMPEG_FORMATS:
                middle = directory / f"f{index:04d}.tmp.wav"
                subprocess.run(["sox", str(clip), "-r", str(rate), "-c", str(channels), str(middle), *trim], check=True,
                               capture_output=True)
                subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(middle), *options, str(path)], check=True)
                middle.unlink()
            else:
                subprocess.run(["sox", str(clip), "-r", str(rate), "-c", str(channels), *options, str(path), *trim],
                               check=True, capture_output=True)
            data = path.read_bytes()
            if kind == "cut":
                path.write_bytes(data[: len(data) * 2 // 3])
            elif kind == "broken:header-cut":
                path.write_bytes(data[: local.randint(1, 20)])
            return path, kind
        how = kind.split(":")[1]
        path = directory / f"f{index:04d}.{local.choice(['wav', 'flac', 'mp3', 'ogg'])}"
        if how == "random-bytes":
            # A zero first byte keeps the noise from passing for an MPEG frame or any other magic.
            path.write_bytes(b"\0" + local.randbytes(local.randint(100, 50_000)))
        elif how == "empty":
            path.write_bytes(b"")
        elif how == "text":
            path.write_text("this is a text file, not audio\n" * local.randint(1, 50))
        elif how == "nan-float":
            path = path.with_suffix(".wav")
            path.write_bytes(wav_header(16000, 1, 32, 3, struct.pack("<f", float("nan")) * 16000))
        elif how == "zero-rate":
            path = path.with_suffix(".wav")
            path.write_bytes(wav_header(0, 1, 16, 1, b"\x10\x00" * 16000))
        elif how == "zero-channels":
            path = path.with_suffix(".wav")
            path.write_bytes(wav_header(16000, 0, 16, 1, b"\x10\x00" * 16000))
        elif how == "directory":
            path = path.with_suffix(".wav")
            path.mkdir()
        return path, kind

    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, kind in pool.map(make, jobs):
            kinds[path] = kind
    shutil.rmtree(voices)
    return kinds


def sample(pid: int) -> tuple[int, int] | None:
    """(RSS in KiB, open descriptors) of a live process."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return None


def soak(binary: Path, model: Path, kinds: dict, directory: Path) -> dict:
    listing = directory / "list.txt"
    listing.write_text("".join(f"{path}\n" for path in kinds))
    out, err = directory / "out.jsonl", directory / "err.txt"
    started = time.monotonic()
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen(
            [str(binary), "--model", str(model), "--jobs", "2", "--format", "jsonl", "--quiet", "--files-from", str(listing)],
            stdout=stdout, stderr=stderr)
        samples = []
        while process.poll() is None:
            point = sample(process.pid)
            if point:
                samples.append(point)
            time.sleep(0.5)
    elapsed = time.monotonic() - started

    records = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    by_input: dict[str, list] = {}
    for record in records:
        by_input.setdefault(record["input"], []).append(record)
    lines = err.read_text().splitlines()
    problems = []
    for path, kind in kinds.items():
        mine = by_input.get(str(path), [])
        said = [line for line in lines if line.startswith(f"transcribe: {path}: ")]
        if kind == "good" and (len(mine) != 1 or "error" in mine[0] or said):
            problems.append(f"{path.name} (good): {len(mine)} records, {len(said)} stderr lines")
        elif kind == "cut" and (len(mine) != 1 or "error" in mine[0] or len(said) != 1 or "warning" not in said[0]):
            problems.append(f"{path.name} (cut): {len(mine)} records, stderr {said}")
        elif kind.startswith("broken") and (len(mine) != 1 or "error" not in mine[0] or len(said) != 1):
            problems.append(f"{path.name} ({kind}): {len(mine)} records, {len(said)} stderr lines")
    if len(records) != len(kinds):
        problems.append(f"{len(records)} records for {len(kinds)} inputs")
    if process.returncode != 1:
        problems.append(f"exit status {process.returncode}, expected 1")

    # Flat: after warm-up (the first fifth of the run), RSS ends within 10% (and 20 MiB) of where
    # it started, and the descriptor count never moves by more than 2.
    warm = samples[len(samples) // 5:] or samples
    rss = [point[0] for point in warm]
    fds = [point[1] for point in warm]
    rss_growth = rss[-1] - rss[0] if rss else 0
    if rss and rss_growth > max(20 * 1024, rss[0] // 10):
        problems.append(f"RSS grew {rss_growth // 1024} MiB after warm-up")
    if fds and max(fds) - min(fds) > 2:
        problems.append(f"descriptor count moved between {min(fds)} and {max(fds)}")
    return {
        "model": model.name, "seconds": elapsed, "samples": len(samples), "records": len(records),
        "errors": sum("error" in r for r in records), "warnings": sum(": warning: " in line for line in lines),
        "status": process.returncode, "rss": (rss[0], rss[-1], max(rss)) if rss else (0, 0, 0),
        "fds": (min(fds), max(fds)) if fds else (0, 0), "problems": problems,
    }


def endless(binary: Path, model: Path, seconds: float) -> dict:
    """An endless 16 kHz WAV through a pipe for `seconds`, then end of input; RSS sampled throughout."""
    header = (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
              + b"data" + struct.pack("<I", 0xFFFFFFFF))
    tone = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / 16000)))
                    for n in range(16000))  # one second
    process = subprocess.Popen([str(binary), "--model", str(model), "--quiet", "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    written, samples = 0, []
    started = last_sample = time.monotonic()
    assert process.stdin is not None
    process.stdin.write(header)
    while time.monotonic() - started < seconds:
        process.stdin.write(tone)
        written += 1
        if time.monotonic() - last_sample >= 0.5:
            last_sample = time.monotonic()
            point = sample(process.pid)
            if point:
                samples.append(point)
    process.stdin.close()
    assert process.stdout is not None and process.stderr is not None
    stdout, stderr = process.stdout.read(), process.stderr.read()
    process.wait()
    rss = [point[0] for point in samples[len(samples) // 5:]] or [0]
    return {"model": model.name, "seconds": seconds, "audio": written, "status": process.returncode,
            "rss": (rss[0], rss[-1], max(rss)), "transcript": len(stdout.strip()), "stderr": stderr.decode().strip()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--model", action="append", type=Path)
    parser.add_argument("--binary", type=Path, default=ROOT / ".build" / "release" / "transcribe")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--endless", type=float, default=0, help="seconds of endless WAV on stdin per model")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    binary = args.binary if args.binary.exists() else ROOT / ".build" / "debug" / "transcribe"
    if not binary.exists():
        sys.exit("soak: build transcribe first (swift build -c release)")
    models = args.model or [ROOT / "Tests/Fixtures/wav2vec2/models/large-prenorm-f16", ROOT / "Models/bench-wav2vec2-base-960h-random"]
    models = [m for m in models if (m / "config.json").exists() and (m / "model.safetensors").exists()]

    directory = Path(tempfile.mkdtemp(prefix="transcribe-soak-"))
    try:
        started = time.monotonic()
        kinds = make_files(directory, args.files, args.seed)
        counts = {k: sum(1 for v in kinds.values() if v.split(":")[0] == k) for k in ("good", "cut", "broken")}
        print(f"soak: {len(kinds)} files in {directory} ({counts['good']} good, {counts['cut']} cut short, "
              f"{counts['broken']} broken) made in {time.monotonic() - started:.0f} s; binary {binary}", flush=True)
        results = [soak(binary, model, kinds, directory) for model in models]
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)

    print()
    print(f"{'model':<34} {'seconds':>7} {'records':>7} {'errors':>6} {'warnings':>8} {'status':>6} "
          f"{'RSS MiB first/last/max':>22} {'fds min/max':>11}  result")
    failed = False
    for r in results:
        first, last, peak = (value / 1024 for value in r["rss"])
        rss = f"{first:.0f}/{last:.0f}/{peak:.0f}"
        fds = f"{r['fds'][0]}/{r['fds'][1]}"
        verdict = "ok" if not r["problems"] else f"{len(r['problems'])} problems"
        print(f"{r['model']:<34} {r['seconds']:>7.0f} {r['records']:>7} {r['errors']:>6} {r['warnings']:>8} {r['status']:>6} "
              f"{rss:>22} {fds:>11}  {verdict}")
        for problem in r["problems"][:20]:
            print(f"    {problem}")
        failed = failed or bool(r["problems"])
    print("(RSS and descriptors sampled every 0.5 s; first/last after the first fifth of the run)")

    if args.endless > 0:
        print()
        print(f"{'endless WAV on stdin':<34} {'seconds':>7} {'audio s':>8} {'status':>6} {'RSS MiB first/last/max':>22} "
              f"{'transcript chars':>16}")
        for model in models:
            r = endless(binary, model, args.endless)
            first, last, peak = (value / 1024 for value in r["rss"])
            rss = f"{first:.0f}/{last:.0f}/{peak:.0f}"
            print(f"{r['model']:<34} {r['seconds']:>7.0f} {r['audio']:>8} {r['status']:>6} {rss:>22} {r['transcript']:>16}")
            if r["status"] != 0 or r["stderr"]:
                print(f"    status {r['status']}: {r['stderr'][:200]}")
                failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
