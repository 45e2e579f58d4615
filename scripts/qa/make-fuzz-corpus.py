#!/usr/bin/env python3
"""Seed corpora and dictionaries for the libFuzzer targets in Fuzz/ (see scripts/qa/fuzz.sh).

Writes .fuzz/seeds/<Target>/ and .fuzz/dict/<Target>.dict (git-ignored) from the fixtures:
Tests/Fixtures/wav2vec2/models/* (safetensors, configs, vocabularies), Tests/Fixtures/whisper/models/*
(configs, tokenizers), Tests/Fixtures/audio/*,
Tests/Fixtures/speech/*.wav, the head of each clip in ../shared/samples when present, and small
files in other containers made with sox. Every seed stays under the target's -max_len in fuzz.sh.

Usage: python3 scripts/qa/make-fuzz-corpus.py [OUTPUT_DIR]      (default: .fuzz)
Needs numpy; sox for the extra audio containers (skipped without it).
"""

import hashlib
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "Tests" / "Fixtures"
SAMPLES = ROOT.parent / "shared" / "samples"
MAX_LEN = {  # keep in step with scripts/qa/fuzz.sh
    "FuzzSafeTensors": 131072,
    "FuzzConfig": 8192,
    "FuzzVocabulary": 8192,
    "FuzzAudio": 65536,
    "FuzzWhisperConfig": 8192,
    "FuzzWhisperTokenizer": 32768,
}


def add(corpus: Path, data: bytes, target: str) -> None:
    data = data[: MAX_LEN[target]]
    name = hashlib.sha1(data).hexdigest()
    (corpus / name).write_bytes(data)


def safetensors(tensors: dict, metadata: dict | None = None) -> bytes:
    """name -> (dtype, shape, raw bytes), packed in order."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def read_safetensors(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def safetensors_seeds(corpus: Path) -> None:
    target = "FuzzSafeTensors"
    rng = np.random.default_rng(0)
    for dtype, numpy_type in [("F32", "<f4"), ("F16", "<f2"), ("F64", "<f8"), ("I64", "<i8"), ("U8", "u1")]:
        values = rng.standard_normal(6).astype(numpy_type).tobytes()
        add(corpus, safetensors({"w": (dtype, [2, 3], values)}), target)
    bf16 = (np.float32(rng.standard_normal(4)).view(np.uint32) >> 16).astype("<u2").tobytes()
    add(corpus, safetensors({"b": ("BF16", [4], bf16)}, {"format": "pt"}), target)
    add(corpus, safetensors({"scalar": ("F32", [], b"\0\0\x80?"), "empty": ("F32", [0, 5], b"")}), target)
    add(corpus, safetensors({}), target)
    # Every fixture checkpoint, and for each the first few tensors on their own (small, whole files).
    for model in sorted((FIXTURES / "wav2vec2" / "models").glob("*/model.safetensors")):
        raw = model.read_bytes()
        if len(raw) <= MAX_LEN[target]:
            add(corpus, raw, target)
        header, data = read_safetensors(model)
        entries = sorted(
            ((k, v) for k, v in header.items() if k != "__metadata__"), key=lambda kv: kv[1]["data_offsets"][0]
        )
        for start in range(0, len(entries), 6):
            chosen = {}
            for name, entry in entries[start : start + 6]:
                begin, end = entry["data_offsets"]
                chosen[name] = (entry["dtype"], entry["shape"], data[begin:end])
            add(corpus, safetensors(chosen, header.get("__metadata__")), target)


def config_seeds(corpus: Path) -> None:
    target = "FuzzConfig"
    for name in ["config.json", "preprocessor_config.json"]:
        for path in sorted((FIXTURES / "wav2vec2" / "models").glob(f"*/{name}")):
            add(corpus, path.read_bytes(), target)
    base = json.loads(next((FIXTURES / "wav2vec2" / "models").glob("*/config.json")).read_text())
    for field, value in [
        ("conv_stride", [5, 2, 2, 2, 2, 2, 2]),
        ("conv_kernel", [10, 3, 3, 3, 3, 2, 2]),
        ("do_stable_layer_norm", True),
        ("feat_extract_norm", "layer"),
        ("hidden_act", "gelu_new"),
        ("layer_norm_eps", 1e-12),
        ("sampling_rate", 8000),
        ("model_type", "wav2vec2"),
    ]:
        add(corpus, json.dumps({**base, field: value}).encode(), target)
    add(corpus, b"{}", target)


def vocabulary_seeds(corpus: Path) -> None:
    target = "FuzzVocabulary"
    for vocab in sorted((FIXTURES / "wav2vec2" / "models").glob("*/vocab.json")):
        tokenizer = vocab.with_name("tokenizer_config.json")
        add(corpus, vocab.read_bytes(), target)
        if tokenizer.exists():
            add(corpus, vocab.read_bytes() + b"\0" + tokenizer.read_bytes(), target)
    tokens = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "A": 5, "B": 6, "ab c": 7, " ": 8}
    added = {"pad_token": {"content": "<pad>", "lstrip": False}, "word_delimiter_token": "|", "unk_token": "<unk>"}
    add(corpus, json.dumps(tokens).encode() + b"\0" + json.dumps(added).encode() + bytes(range(9)) * 4, target)


def audio_seeds(corpus: Path) -> None:
    target = "FuzzAudio"
    paths = sorted((FIXTURES / "audio").iterdir()) + sorted((FIXTURES / "speech").glob("*.wav"))
    for path in paths:
        add(corpus, path.read_bytes(), target)
    if SAMPLES.is_dir():
        # The head of each real clip: a truncated file of every format the samples come in.
        for path in sorted(SAMPLES.glob("*")):
            if path.suffix in {".wav", ".flac", ".mp3", ".ogg", ".opus"}:
                add(corpus, path.read_bytes()[:16384], target)
    if shutil.which("sox") is None:
        print("make-fuzz-corpus: no sox; skipping the extra containers", file=sys.stderr)
        return
    source = FIXTURES / "speech" / "short.wav"
    with tempfile.TemporaryDirectory() as scratch:
        variants = [
            ("aiff", []), ("aifc", []), ("au", []), ("caf", []), ("w64", []), ("voc", []), ("flac", []),
            ("wav", ["-e", "u-law"]), ("wav", ["-e", "a-law"]), ("wav", ["-e", "ima-adpcm"]),
            ("wav", ["-e", "ms-adpcm"]), ("wav", ["-e", "gsm-full-rate", "-r", "8000"]),
            ("wav", ["-b", "8"]), ("wav", ["-e", "floating-point", "-b", "64"]), ("wav", ["-c", "3"]),
            ("ogg", []), ("sf", []), ("avr", []), ("htk", []), ("xi", []),
        ]
        for index, (kind, options) in enumerate(variants):
            out = Path(scratch) / f"seed{index}.{kind}"
            result = subprocess.run(
                ["sox", str(source), *options, str(out), "trim", "0", "0.1"], capture_output=True
            )
            if result.returncode == 0 and out.exists():
                add(corpus, out.read_bytes(), target)


def whisper_config_seeds(corpus: Path) -> None:
    target = "FuzzWhisperConfig"
    for name in ["config.json", "generation_config.json", "preprocessor_config.json"]:
        for path in sorted((FIXTURES / "whisper" / "models").glob(f"*/{name}")):
            add(corpus, path.read_bytes(), target)
    add(corpus, json.dumps({"feature_size": 128, "n_fft": 400, "hop_length": 160, "chunk_length": 30}).encode(), target)


def whisper_tokenizer_seeds(corpus: Path) -> None:
    """Small tokenizer.json files cut from the fixtures' (a few vocabulary entries and added tokens,
    `<|notimestamps|>` among them), and the vocab-only pair joined by a NUL byte."""
    target = "FuzzWhisperTokenizer"
    for path in sorted((FIXTURES / "whisper" / "models").glob("*/tokenizer.json")):
        full = json.loads(path.read_text())
        vocab = dict(list(full["model"]["vocab"].items())[:120])
        added = [t for t in full.get("added_tokens", []) if not t["content"].startswith("<|0") or t["content"] == "<|0.00|>"]
        small = {"model": {"type": "BPE", "vocab": vocab}, "added_tokens": added[:40], "decoder": full["decoder"]}
        add(corpus, json.dumps(small).encode(), target)
    vocab_only = FIXTURES / "whisper" / "frontend" / "vocab-only"
    if vocab_only.is_dir():
        add(corpus, (vocab_only / "vocab.json").read_bytes() + b"\0" + (vocab_only / "added_tokens.json").read_bytes(), target)


def dictionaries(directory: Path) -> None:
    """JSON keys and values the parsers look for, and the audio containers' magic numbers."""
    keys = set()
    for path in [*(FIXTURES / "wav2vec2" / "models").glob("*/*.json"), *(FIXTURES / "whisper" / "models").glob("*/*config.json")]:
        value = json.loads(path.read_text())
        if isinstance(value, dict) and path.name != "vocab.json":
            keys.update(value)
    words = [f'"{key}"' for key in sorted(keys)]
    words += ['"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"content"']
    words += [f'"{d}"' for d in ["F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "F8_E4M3"]]
    words += ['"gelu"', '"relu"', '"group"', '"layer"', '"wav2vec2"', "true", "false", "null", "-1", "1e308", "[]", "{}"]
    words += ["0", "65536", "1000000000", "2147483647", "4294967296", "9223372036854775807", "1e18"]
    words += ['"BPE"', '"ByteLevel"', '"<|notimestamps|>"', '"<|endoftext|>"', '"<|en|>"', '"special"', '"added_tokens"']
    json_dict = "".join(f"kw{i}={json.dumps(w)}\n" for i, w in enumerate(words))
    for target in ["FuzzSafeTensors", "FuzzConfig", "FuzzVocabulary", "FuzzWhisperConfig", "FuzzWhisperTokenizer"]:
        (directory / f"{target}.dict").write_text(json_dict)
    magics = [b"RIFF", b"WAVE", b"fmt ", b"data", b"fact", b"LIST", b"RF64", b"ds64", b"FORM", b"AIFF", b"AIFC",
              b"COMM", b"SSND", b".snd", b"fLaC", b"OggS", b"OpusHead", b"\x01vorbis", b"ID3", b"\xff\xfb",
              b"caff", b"desc", b"riff", b"Creative Voice File", b"\xff\xff\xff\xff", b"\0\0\0\0"]
    escaped = ["".join("\\x%02x" % b for b in magic) for magic in magics]
    audio_dict = "".join(f'kw{i}="{text}"\n' for i, text in enumerate(escaped))
    (directory / "FuzzAudio.dict").write_text(audio_dict)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".fuzz"
    makers = {
        "FuzzSafeTensors": safetensors_seeds,
        "FuzzConfig": config_seeds,
        "FuzzVocabulary": vocabulary_seeds,
        "FuzzAudio": audio_seeds,
        "FuzzWhisperConfig": whisper_config_seeds,
        "FuzzWhisperTokenizer": whisper_tokenizer_seeds,
    }
    (out / "dict").mkdir(parents=True, exist_ok=True)
    for target, make in makers.items():
        corpus = out / "seeds" / target
        shutil.rmtree(corpus, ignore_errors=True)
        corpus.mkdir(parents=True)
        make(corpus)
        print(f"{target}: {len(list(corpus.iterdir()))} seeds in {corpus.relative_to(out.parent)}")
    dictionaries(out / "dict")


if __name__ == "__main__":
    main()
