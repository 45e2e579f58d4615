"""The tokenizer and feature extractor every checkpoint made by these scripts ships with:
facebook/wav2vec2-base-960h's vocabulary and preprocessing. Imported by
fixtures/make-wav2vec2-fixtures.py and bench/make-benchmark-model.py."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor, Wav2Vec2Processor

SAMPLE_RATE = 16_000

# facebook/wav2vec2-base-960h's vocab.json, id order as published.
VOCAB = {
    "<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "E": 5, "T": 6, "A": 7, "O": 8, "N": 9,
    "I": 10, "H": 11, "S": 12, "R": 13, "D": 14, "L": 15, "U": 16, "M": 17, "W": 18, "C": 19,
    "F": 20, "G": 21, "Y": 22, "P": 23, "B": 24, "V": 25, "K": 26, "'": 27, "X": 28, "J": 29,
    "Q": 30, "Z": 31,
}  # fmt: skip


def make_processor(work_dir: Path) -> Wav2Vec2Processor:
    """base-960h's processor; `work_dir` receives the vocab.json the tokenizer is built from."""
    vocab_path = work_dir / "vocab.json"
    vocab_path.write_text(json.dumps(VOCAB))
    tokenizer = Wav2Vec2CTCTokenizer(
        str(vocab_path), unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>",
        word_delimiter_token="|",
    )  # fmt: skip
    feature_extractor = Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=True,
        return_attention_mask=False,
    )  # fmt: skip
    return Wav2Vec2Processor(feature_extractor=feature_extractor, tokenizer=tokenizer)
