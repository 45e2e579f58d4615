#!/usr/bin/env python3
"""Word error rates of Whisper transcripts of the sample clips against their reference transcripts.

How to run (from the repository root):

    python3 -m pip install -r scripts/requirements/whisper.txt                # jiwer
    python3 scripts/bench/whisper-wer.py                                      # the faster-whisper fixture's four runs
    transcribe --model MODEL_DIR --format jsonl ../shared/samples/*.{wav,flac,mp3} > bench-out/swift.jsonl
    python3 scripts/bench/whisper-wer.py --jsonl swift=bench-out/swift.jsonl  # and the Swift tool beside them
    python3 scripts/bench/whisper-wer.py --runs greedy/sndfile --jsonl bench-out/swift.jsonl --alignments

References: ../shared/samples/transcripts.tsv (LibriSpeech style: upper case, no punctuation,
apostrophes kept, numbers as words).  Hypotheses:
  --reference-json FILE  the JSON of scripts/fixtures/make-faster-whisper-reference.py (default
                         Tests/Fixtures/whisper/faster-whisper-tiny.en.json); each of its runs
                         (setting/audio path, e.g. greedy/sndfile) is one system; --runs picks some.
  --jsonl [NAME=]FILE    the Swift tool's `transcribe --format jsonl` output, one object per line with
                         "input" (the path as given) and "text", or "error".  Lines are matched to the
                         clips by file name; NAME (default: the file's stem) labels the system.

Normalisation, applied alike to reference and hypothesis before scoring:
  1. Unicode NFKC; curly apostrophes (’ ‘ ʼ) become '; accents are dropped (é -> e).
  2. Lower case.
  3. Numbers are spelled out as LibriSpeech readers say them, since the references do so:
     "1,000" and "1000" -> "one thousand"; a four-digit number from 1100 to 1999 reads as a year
     ("1455" -> "fourteen fifty five", "1900" -> "nineteen hundred", "1905" -> "nineteen oh five");
     other numbers as cardinals without "and" ("42" -> "forty two", "2024" -> "two thousand twenty
     four", "120" -> "one hundred twenty"); ordinals "1st", "22nd" -> "first", "twenty second";
     a decimal "3.5" -> "three point five"; "%" -> "percent".  Anything else stays as written.
  4. The titles "mr", "mrs", "dr" (with or without the period) become "mister", "missus",
     "doctor", as LibriSpeech writes them.  No other abbreviation or spelling variant is mapped,
     so "Mainz"/"MAINTZ" or "colour"/"color" count as errors.
  5. Hyphens and dashes separate words ("up-guards" -> "up guards"); every other character that is
     not a letter, a digit or an apostrophe becomes a space; an apostrophe is kept only between two
     letters or digits ("linnell's" stays, "'em" -> "em", "boys'" -> "boys").
  6. Whitespace collapsed, ends stripped.

WER per file = (S + D + I) / reference words after normalisation (jiwer.process_words); the overall
WER of a system is corpus-level: all its errors over all reference words (not a mean of per-file
rates).  A clip a system failed on ("error" in its JSONL) or has no line for counts as an empty
hypothesis (all deletions) and is marked in the per-file table, so systems are always scored on the
same words.  The agreement table counts, for every pair of systems, the clips whose transcripts
differ before normalisation (raw text, ends stripped) and after it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import jiwer

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from audio_files import sample_table  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_REFERENCE_JSON = REPO / "Tests" / "Fixtures" / "whisper" / "faster-whisper-tiny.en.json"

# ---------------------------------------------------------------------------------------------------
# Normalisation (the module docstring states it)

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()  # fmt: skip
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"), (100, "hundred"))
ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                 "nine": "ninth", "twelve": "twelfth"}  # fmt: skip
TITLES = {"mr": "mister", "mrs": "missus", "dr": "doctor"}


def cardinal(n: int) -> str:
    """42 -> "forty two", 120 -> "one hundred twenty", 2024 -> "two thousand twenty four"."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    for scale, name in SCALES:
        if n >= scale:
            head, rest = divmod(n, scale)
            return f"{cardinal(head)} {name}" + ("" if rest == 0 else " " + cardinal(rest))
    raise AssertionError("unreachable")


def year(n: int) -> str:
    """1100..1999 as a year: 1455 -> "fourteen fifty five", 1900 -> "nineteen hundred", 1905 -> "nineteen oh five"."""
    head, tail = divmod(n, 100)
    if tail == 0:
        return f"{cardinal(head)} hundred"
    return f"{cardinal(head)} {'oh ' + ONES[tail] if tail < 10 else cardinal(tail)}"


def ordinal(n: int) -> str:
    words = cardinal(n).split()
    last = words[-1]
    if last in ORDINAL_WORDS:
        words[-1] = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def spell_number(match: re.Match) -> str:
    digits, fraction, suffix = match.group(1).replace(",", ""), match.group(2), match.group(3)
    n = int(digits)
    if suffix:
        return f" {ordinal(n)} "
    words = year(n) if len(digits) == 4 and 1100 <= n <= 1999 and not fraction else cardinal(n)
    if fraction:
        words += " point " + " ".join(ONES[int(d)] for d in fraction)
    return f" {words} "


NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?(?![\w])")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"[’‘ʼ`´]", "'", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = text.lower().replace("%", " percent ")
    text = re.sub(r"[-‐‑‒–—―]", " ", text)
    text = NUMBER.sub(spell_number, text)
    text = re.sub(r"\b(mrs|mr|dr)\b\.?", lambda m: TITLES[m.group(1)], text)
    text = re.sub(r"[^\w']|_", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------
# Inputs


@dataclass
class Hypothesis:
    text: str  # as the system wrote it; "" when missing or failed
    status: str = "ok"  # "ok", "error" or "missing"


def read_references() -> dict[str, str]:
    rows = sample_table("whisper-wer", purpose="it holds the reference transcripts")
    return {row["file"]: row["reference_transcript"] for row in rows}


def read_reference_json(path: Path, runs: list[str] | None) -> dict[str, dict[str, Hypothesis]]:
    """{"faster-whisper greedy/sndfile": {file: Hypothesis}} for each run of make-faster-whisper-reference.py's JSON."""
    saved = json.loads(path.read_text())
    found = [f"{setting}/{audio}" for setting in saved["settings"] for audio in saved["audio_paths"]]
    for run in runs or []:
        if run not in found:
            raise SystemExit(f"whisper-wer: {path} has no run {run!r}; it has {', '.join(found)}")
    systems = {}
    for run in runs or found:
        setting, audio = run.split("/")
        systems[f"faster-whisper {run}"] = {
            name: Hypothesis(entry[setting][audio]["text"]) for name, entry in saved["files"].items()
        }
    return systems


def read_jsonl(path: Path) -> dict[str, Hypothesis]:
    found: dict[str, Hypothesis] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            name = Path(record["input"]).name
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise SystemExit(f"whisper-wer: {path}:{number}: not a transcript line ({error})")
        if name in found:
            print(f"whisper-wer: {path}: {name} appears twice; the last line counts", file=sys.stderr)
        if "error" in record:
            found[name] = Hypothesis("", "error")
        else:
            found[name] = Hypothesis(str(record.get("text", "")))
    return found


# ---------------------------------------------------------------------------------------------------
# Scoring and tables


@dataclass
class Score:
    words: int
    substitutions: int
    deletions: int
    insertions: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        return self.errors / self.words if self.words else 0.0


def score(references: list[str], hypotheses: list[str]) -> Score:
    out = jiwer.process_words(references, hypotheses)
    words = out.hits + out.substitutions + out.deletions
    return Score(words, out.substitutions, out.deletions, out.insertions)


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def render(references: dict[str, str], systems: dict[str, dict[str, Hypothesis]], alignments: bool) -> str:
    files = list(references)
    normal_refs = {name: normalize(text) for name, text in references.items()}
    hyps = {system: {name: found.get(name, Hypothesis("", "missing")) for name in files}
            for system, found in systems.items()}  # fmt: skip
    lines = ["# Whisper word error rates", "",
             f"{len(files)} clips of ../shared/samples (transcripts.tsv), {sum(len(r.split()) for r in normal_refs.values())} "
             "reference words after normalisation (scripts/bench/whisper-wer.py states it). "
             "WER = (S + D + I) / reference words; overall = corpus level.", "",
             "| system | clips scored | failed or missing | reference words | WER | S | D | I |",
             "|---|--:|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    per_file: dict[str, dict[str, Score]] = {}
    for system, found in hyps.items():
        overall = score([normal_refs[n] for n in files], [normalize(found[n].text) for n in files])
        bad = sum(1 for n in files if found[n].status != "ok")
        lines.append(f"| {system} | {len(files) - bad} | {bad} | {overall.words} | {percent(overall.wer)} | "
                     f"{overall.substitutions} | {overall.deletions} | {overall.insertions} |")  # fmt: skip
        per_file[system] = {n: score([normal_refs[n]], [normalize(found[n].text)]) for n in files}
    names = list(hyps)
    lines += ["", "## Per clip", "", "Each cell: WER (S/D/I).", "",
              "| clip | words | " + " | ".join(names) + " |",
              "|---|--:|" + "--:|" * len(names)]  # fmt: skip
    for n in files:
        cells = []
        for system in names:
            s, status = per_file[system][n], hyps[system][n].status
            cells.append(status if status != "ok" else f"{percent(s.wer)} ({s.substitutions}/{s.deletions}/{s.insertions})")
        lines.append(f"| {n} | {len(normal_refs[n].split())} | " + " | ".join(cells) + " |")
    if len(names) > 1:
        lines += ["", "## Agreement", "", "Clips whose transcripts differ between two systems: raw text (ends stripped) / after normalisation.", "",
                  "| system | other system | differ (raw) | differ (normalised) |", "|---|---|--:|--:|"]  # fmt: skip
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                raw = sum(hyps[a][n].text.strip() != hyps[b][n].text.strip() for n in files)
                normal = sum(normalize(hyps[a][n].text) != normalize(hyps[b][n].text) for n in files)
                lines.append(f"| {a} | {b} | {raw} | {normal} |")
    if alignments:
        lines += ["", "## Alignments (clips with errors)", ""]
        for system in names:
            for n in files:
                if per_file[system][n].errors and hyps[system][n].status == "ok":
                    out = jiwer.process_words(normal_refs[n], normalize(hyps[system][n].text))
                    body = jiwer.visualize_alignment(out, show_measures=False).split("\n", 2)[-1].strip("\n")
                    lines += [f"{system}, {n}:", "", "```", body, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def parse_jsonl_argument(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    return (name, Path(path)) if sep and name else (Path(text).stem, Path(text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)  # fmt: skip
    parser.add_argument("--reference-json", type=Path, default=DEFAULT_REFERENCE_JSON,
                        help="scripts/fixtures/make-faster-whisper-reference.py's output (default: the fixture)")  # fmt: skip
    parser.add_argument("--runs", type=lambda s: [r.strip() for r in s.split(",") if r.strip()],
                        help="runs of the reference JSON to score, e.g. greedy/sndfile,defaults/pyav (default all)")  # fmt: skip
    parser.add_argument("--no-reference-json", action="store_true", help="score only the --jsonl files")
    parser.add_argument("--jsonl", action="append", default=[], type=parse_jsonl_argument, metavar="[NAME=]FILE",
                        help="a `transcribe --format jsonl` output (repeatable)")  # fmt: skip
    parser.add_argument("--alignments", action="store_true", help="also print the word alignment of every clip with errors")
    parser.add_argument("--normalize", metavar="TEXT", help="print TEXT normalised and exit")
    args = parser.parse_args()
    if args.normalize is not None:
        print(normalize(args.normalize))
        return
    references = read_references()
    systems: dict[str, dict[str, Hypothesis]] = {}
    if not args.no_reference_json:
        systems.update(read_reference_json(args.reference_json, args.runs))
    for name, path in args.jsonl:
        systems[name] = read_jsonl(path)
    if not systems:
        parser.error("nothing to score: give --jsonl or drop --no-reference-json")
    for name, found in systems.items():
        unknown = sorted(set(found) - set(references))
        if unknown:
            print(f"whisper-wer: {name}: ignoring {len(unknown)} input(s) not in transcripts.tsv: {', '.join(unknown[:5])}",
                  file=sys.stderr)  # fmt: skip
    print(render(references, systems, args.alignments), end="")


if __name__ == "__main__":
    main()
