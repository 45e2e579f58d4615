#!/usr/bin/env python3
"""Convert a CTranslate2 Whisper model directory into a Hugging Face Whisper checkpoint.

Usage:

    python3 scripts/convert-ctranslate2-whisper.py SRC_DIR DST_DIR [--dtype float32|float16|keep]

SRC_DIR is what ctranslate2's converter writes for Whisper (faster-whisper models): model.bin,
config.json, vocabulary.txt or vocabulary.json, tokenizer.json, and where present
preprocessor_config.json. DST_DIR gets the files `WhisperForConditionalGeneration.save_pretrained`
and `WhisperProcessor.save_pretrained` write: model.safetensors, config.json, generation_config.json,
preprocessor_config.json, tokenizer.json (copied) and the same tokenizer as vocab.json + merges.txt +
added_tokens.json + special_tokens_map.json + tokenizer_config.json.

model.bin is read by lib/ctranslate2_model.py (numpy + struct; ctranslate2 is not imported). CTranslate2
fuses q/k/v of self-attention and k/v of cross-attention into one linear; they are split again, and
the key bias CTranslate2 fills with zeros is checked to be zero and dropped (Whisper's k_proj has no
bias). int8/int16 weights are dequantized with their scales. Every variable of model.bin must be
used and every key of the Hugging Face model produced with its shape, or the conversion fails naming
the variable. Special-token ids come from tokenizer.json, checked against the CTranslate2 vocabulary.

--dtype: float32 (default), float16, or keep (the float type model.bin stores its weights in).
Needs only numpy. Files are written under temporary names and renamed; config.json comes last.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
from ctranslate2_model import CTranslate2Model, ModelBinError, Variable, read_model_bin  # noqa: E402
from whisper_hf_files import (  # noqa: E402
    MULTILINGUAL_VOCAB_SIZE,
    ConversionError,
    Dimensions,
    generation_config,
    model_config,
    preprocessor_config,
    read_ct2_config,
    read_vocabulary,
    to_json,
    tokenizer_files,
)

PROGRAM = "convert-ctranslate2-whisper"

MAX_SOURCE_POSITIONS = 1500  # 3000 mel frames after conv2's stride of 2
GELU = 3  # ctranslate2/specs/common_spec.py Activation.GELU

# Scalar attributes of WhisperSpec and the value a Whisper checkpoint must have (None: any value).
ATTRIBUTES = {
    "decoder/activation": GELU,
    "decoder/pre_norm": 1,
    "decoder/alibi": 0,
    "decoder/start_from_zero_embedding": 0,
    # Which cross-attention CTranslate2 returns when asked; Whisper's alignment heads are in config.json.
    "decoder/alignment_layer": None,
    "decoder/alignment_heads": None,
}

SAFETENSORS_DTYPES = {"float32": "F32", "float16": "F16", "bfloat16": "BF16"}


# ---------------------------------------------------------------- model.bin variables -> float32


def to_float32(variable: Variable) -> np.ndarray:
    if variable.dtype in ("float32", "float16"):
        return variable.array.astype(np.float32)
    if variable.dtype == "bfloat16":
        return (variable.array.astype(np.uint32) << 16).view(np.float32)
    raise ConversionError(f"{variable.name}: {variable.dtype} without a {variable.name}_scale to dequantize it")


class Weights:
    """Hands out model.bin variables as float32 arrays and remembers which ones were taken."""

    def __init__(self, model: CTranslate2Model):
        self.model = model
        self.taken: set[str] = set()
        self.float_dtypes: set[str] = set()  # dtypes of stored, unquantized tensors

    def has(self, name: str) -> bool:
        return name in self.model.variables or name in self.model.aliases

    def variable(self, name: str) -> Variable:
        self.taken.add(name)
        stored = self.model.aliases.get(name, name)
        if stored not in self.model.variables:
            raise ConversionError(f"model.bin has no variable {name}")
        self.taken.add(stored)
        return self.model.variables[stored]

    def attribute(self, name: str) -> int | float:
        return self.variable(name).scalar()

    def tensor(self, name: str) -> np.ndarray:
        variable = self.variable(name)
        if self.has(f"{name}_zero"):
            raise ConversionError(f"{name}: AWQ-quantized weights ({name}_zero) are not supported")
        if not self.has(f"{name}_scale"):
            if variable.dtype in SAFETENSORS_DTYPES:
                self.float_dtypes.add(variable.dtype)
            return to_float32(variable)
        scale = to_float32(self.variable(f"{name}_scale"))
        value = variable.array.astype(np.float32)
        if variable.dtype == "int16" and scale.ndim == 0:  # one scale for the whole tensor
            return value / scale
        if variable.dtype == "int8" and scale.shape == value.shape[:1]:  # one scale per output row
            return value / scale.reshape((-1,) + (1,) * (value.ndim - 1))
        raise ConversionError(f"{name}: {variable.dtype} {list(value.shape)} with a scale of shape {list(scale.shape)}")

    def unused(self) -> list[str]:
        names = set(self.model.variables) | set(self.model.aliases)
        return sorted(names - self.taken)


# ---------------------------------------------------------------- the key mapping


def count_layers(model: CTranslate2Model, stack: str) -> int:
    indices = {int(m.group(1)) for name in model.variables if (m := re.match(rf"{stack}/layer_(\d+)/", name))}
    if not indices or indices != set(range(len(indices))):
        raise ConversionError(f"model.bin: {stack} layers {sorted(indices)} are not 0..N-1")
    return len(indices)


def sinusoids(length: int, channels: int, max_timescale: float = 10_000.0) -> np.ndarray:
    """Whisper's encoder positions (transformers' modeling_whisper.sinusoids: sin half, then cos half).
    Computed in float64 and rounded once: transformers' float32 arithmetic on arguments up to 1499 rad
    is itself off the exact values by up to ~1e-4."""
    log_increment = math.log(max_timescale) / (channels // 2 - 1)
    inv_timescales = np.exp(-log_increment * np.arange(channels // 2))
    scaled_time = np.arange(length)[:, None] * inv_timescales[None, :]  # (length, channels / 2)
    return np.concatenate([np.sin(scaled_time), np.cos(scaled_time)], axis=1).astype(np.float32)


class WhisperMapper:
    """Builds the WhisperForConditionalGeneration state dict (float32) from model.bin."""

    def __init__(self, weights: Weights):
        self.w = weights
        self.state: dict[str, np.ndarray] = {}

    def put(self, key: str, value: np.ndarray) -> None:
        if key in self.state:
            raise ConversionError(f"{key} produced twice")
        self.state[key] = np.ascontiguousarray(value, dtype=np.float32)

    def layer_norm(self, hf: str, ct2: str) -> None:
        self.put(f"{hf}.weight", self.w.tensor(f"{ct2}/gamma"))
        self.put(f"{hf}.bias", self.w.tensor(f"{ct2}/beta"))

    def linear(self, hf: str, ct2: str) -> None:
        self.put(f"{hf}.weight", self.w.tensor(f"{ct2}/weight"))
        self.put(f"{hf}.bias", self.w.tensor(f"{ct2}/bias"))

    def fused_linear(self, hf_prefix: str, projections: list[str], ct2: str) -> None:
        """Split a fused [q;k;v] or [k;v] linear (rows stacked in that order) into q/k/v_proj."""
        weight, bias = self.w.tensor(f"{ct2}/weight"), self.w.tensor(f"{ct2}/bias")
        rows = weight.shape[0] // len(projections)
        if weight.shape[0] != rows * len(projections) or bias.shape != (weight.shape[0],):
            raise ConversionError(f"{ct2}: weight {list(weight.shape)} and bias {list(bias.shape)} do not split into {projections}")
        for index, projection in enumerate(projections):
            part = slice(index * rows, (index + 1) * rows)
            self.put(f"{hf_prefix}.{projection}.weight", weight[part])
            if projection == "k_proj":  # no bias in Whisper; CTranslate2 stores zeros in its place
                if np.any(bias[part] != 0):
                    raise ConversionError(f"{ct2}/bias: the k_proj part is not zero (max |b| {np.abs(bias[part]).max()})")
            else:
                self.put(f"{hf_prefix}.{projection}.bias", bias[part])

    def self_attention(self, hf: str, ct2: str) -> None:
        """One encoder or decoder layer's self-attention and its layer norm."""
        self.layer_norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
        self.fused_linear(f"{hf}.self_attn", ["q_proj", "k_proj", "v_proj"], f"{ct2}/self_attention/linear_0")
        self.linear(f"{hf}.self_attn.out_proj", f"{ct2}/self_attention/linear_1")

    def feed_forward(self, hf: str, ct2: str) -> None:
        """One encoder or decoder layer's feed-forward block and its layer norm."""
        self.layer_norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
        self.linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
        self.linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")

    def encoder(self, layers: int) -> None:
        self.linear("model.encoder.conv1", "encoder/conv1")
        self.linear("model.encoder.conv2", "encoder/conv2")
        d_model = self.state["model.encoder.conv2.weight"].shape[0]
        if self.w.has("encoder/position_encodings/encodings"):
            self.put("model.encoder.embed_positions.weight", self.w.tensor("encoder/position_encodings/encodings"))
        else:
            self.put("model.encoder.embed_positions.weight", sinusoids(MAX_SOURCE_POSITIONS, d_model))
        for i in range(layers):
            hf, ct2 = f"model.encoder.layers.{i}", f"encoder/layer_{i}"
            self.self_attention(hf, ct2)
            self.feed_forward(hf, ct2)
        self.layer_norm("model.encoder.layer_norm", "encoder/layer_norm")

    def decoder(self, layers: int) -> None:
        embed_tokens = self.w.tensor("decoder/embeddings/weight")
        self.put("model.decoder.embed_tokens.weight", embed_tokens)
        # proj_out is tied to embed_tokens in WhisperForConditionalGeneration and not saved.
        if not np.array_equal(self.w.tensor("decoder/projection/weight"), embed_tokens):
            raise ConversionError("decoder/projection/weight differs from decoder/embeddings/weight; Whisper ties them")
        if self.w.has("decoder/projection/bias") and np.any(self.w.tensor("decoder/projection/bias") != 0):
            raise ConversionError("decoder/projection/bias is not zero; Whisper's proj_out has no bias")
        self.put("model.decoder.embed_positions.weight", self.w.tensor("decoder/position_encodings/encodings"))
        for i in range(layers):
            hf, ct2 = f"model.decoder.layers.{i}", f"decoder/layer_{i}"
            self.self_attention(hf, ct2)
            self.layer_norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")
            self.linear(f"{hf}.encoder_attn.q_proj", f"{ct2}/attention/linear_0")
            self.fused_linear(f"{hf}.encoder_attn", ["k_proj", "v_proj"], f"{ct2}/attention/linear_1")
            self.linear(f"{hf}.encoder_attn.out_proj", f"{ct2}/attention/linear_2")
            self.feed_forward(hf, ct2)
        self.layer_norm("model.decoder.layer_norm", "decoder/layer_norm")

    def check_attributes(self) -> None:
        for name, expected in ATTRIBUTES.items():
            value = self.w.attribute(name)
            if expected is not None and value != expected:
                raise ConversionError(f"model.bin {name} = {value}; a Whisper model has {expected}")
        # WhisperSpec stores False (int8); other converters store the factor as a float (1.0: none).
        scale = self.w.variable("decoder/scale_embeddings")
        if scale.scalar() != (1.0 if scale.dtype == "float32" else 0):
            raise ConversionError(f"model.bin decoder/scale_embeddings = {scale.scalar()}; Whisper does not scale its embeddings")


def expected_shapes(d: Dimensions) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    D = d.d_model

    def norm(key: str) -> None:
        shapes[f"{key}.weight"], shapes[f"{key}.bias"] = (D,), (D,)

    def attention(key: str) -> None:
        for projection in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[f"{key}.{projection}.weight"] = (D, D)
            if projection != "k_proj":
                shapes[f"{key}.{projection}.bias"] = (D,)

    def ffn(key: str, ffn_dim: int) -> None:
        shapes[f"{key}.fc1.weight"], shapes[f"{key}.fc1.bias"] = (ffn_dim, D), (ffn_dim,)
        shapes[f"{key}.fc2.weight"], shapes[f"{key}.fc2.bias"] = (D, ffn_dim), (D,)
        norm(f"{key}.final_layer_norm")

    shapes["model.encoder.conv1.weight"], shapes["model.encoder.conv1.bias"] = (D, d.num_mel_bins, 3), (D,)
    shapes["model.encoder.conv2.weight"], shapes["model.encoder.conv2.bias"] = (D, D, 3), (D,)
    shapes["model.encoder.embed_positions.weight"] = (d.max_source_positions, D)
    for i in range(d.encoder_layers):
        attention(f"model.encoder.layers.{i}.self_attn")
        norm(f"model.encoder.layers.{i}.self_attn_layer_norm")
        ffn(f"model.encoder.layers.{i}", d.encoder_ffn_dim)
    norm("model.encoder.layer_norm")
    shapes["model.decoder.embed_tokens.weight"] = (d.vocab_size, D)
    shapes["model.decoder.embed_positions.weight"] = (d.max_target_positions, D)
    for i in range(d.decoder_layers):
        attention(f"model.decoder.layers.{i}.self_attn")
        norm(f"model.decoder.layers.{i}.self_attn_layer_norm")
        attention(f"model.decoder.layers.{i}.encoder_attn")
        norm(f"model.decoder.layers.{i}.encoder_attn_layer_norm")
        ffn(f"model.decoder.layers.{i}", d.decoder_ffn_dim)
    norm("model.decoder.layer_norm")
    return shapes


def convert_weights(model: CTranslate2Model) -> tuple[dict[str, np.ndarray], Dimensions, set[str]]:
    if model.spec_name != "WhisperSpec":
        raise ConversionError(f"model.bin holds a {model.spec_name}, not a WhisperSpec")
    weights = Weights(model)
    mapper = WhisperMapper(weights)
    encoder_layers, decoder_layers = count_layers(model, "encoder"), count_layers(model, "decoder")
    mapper.encoder(encoder_layers)
    mapper.decoder(decoder_layers)
    mapper.check_attributes()
    encoder_heads, decoder_heads = int(weights.attribute("encoder/num_heads")), int(weights.attribute("decoder/num_heads"))
    unused = weights.unused()
    if unused:
        raise ConversionError(f"model.bin variables not mapped to the Whisper checkpoint: {', '.join(unused)}")

    state = mapper.state
    embed_tokens = state["model.decoder.embed_tokens.weight"]
    dims = Dimensions(
        d_model=embed_tokens.shape[1],
        vocab_size=embed_tokens.shape[0],
        num_mel_bins=state["model.encoder.conv1.weight"].shape[1],
        encoder_layers=encoder_layers,
        decoder_layers=decoder_layers,
        encoder_attention_heads=encoder_heads,
        decoder_attention_heads=decoder_heads,
        encoder_ffn_dim=state["model.encoder.layers.0.fc1.weight"].shape[0],
        decoder_ffn_dim=state["model.decoder.layers.0.fc1.weight"].shape[0],
        max_source_positions=state["model.encoder.embed_positions.weight"].shape[0],
        max_target_positions=state["model.decoder.embed_positions.weight"].shape[0],
    )
    for heads in (dims.encoder_attention_heads, dims.decoder_attention_heads):
        if heads <= 0 or dims.d_model % heads:
            raise ConversionError(f"model.bin: {heads} attention heads do not divide d_model {dims.d_model}")

    expected = expected_shapes(dims)
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    wrong = [f"{k} {list(state[k].shape)} (expected {list(expected[k])})" for k in expected if k in state and state[k].shape != expected[k]]
    if missing or extra or wrong:
        raise ConversionError(f"checkpoint keys: missing {missing}, unexpected {extra}, wrong shapes {wrong}")
    return state, dims, weights.float_dtypes


# ---------------------------------------------------------------- writing


def cast(array: np.ndarray, dtype: str) -> bytes:
    if dtype == "bfloat16":  # round to nearest even; exact for values that came from bfloat16
        bits = array.astype(np.float32).view(np.uint32).astype(np.uint64)
        return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype("<u2").tobytes()
    return array.astype("<f2" if dtype == "float16" else "<f4").tobytes()


def safetensors_bytes(state: dict[str, np.ndarray], dtype: str) -> list[bytes]:
    """An 8-byte header length, the JSON header (padded to 8 bytes), then the tensors back to back."""
    header: dict[str, dict] = {"__metadata__": {"format": "pt"}}
    payload, offset = [], 0
    for key in sorted(state):
        data = cast(state[key], dtype)
        header[key] = {"dtype": SAFETENSORS_DTYPES[dtype], "shape": list(state[key].shape), "data_offsets": [offset, offset + len(data)]}
        payload.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return [struct.pack("<Q", len(text)), text, *payload]


def write_atomic(path: Path, chunks: list[bytes]) -> None:
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            for chunk in chunks:
                file.write(chunk)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # mkstemp makes the file private
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def output_dtype(requested: str, stored: set[str]) -> str:
    if requested != "keep":
        return requested
    if len(stored) != 1:
        raise ConversionError(f"--dtype keep: model.bin stores {sorted(stored) or 'no float'} tensors; pass --dtype float32 or float16")
    return next(iter(stored))


def convert(src: Path, dst: Path, requested_dtype: str) -> str:
    for name in ("model.bin", "config.json", "tokenizer.json"):
        if not (src / name).is_file():
            raise ConversionError(f"{src / name} not found")
    model = read_model_bin(src / "model.bin")
    state, dims, stored_dtypes = convert_weights(model)
    dtype = output_dtype(requested_dtype, stored_dtypes)
    ct2_config = read_ct2_config(src)
    vocabulary = read_vocabulary(src, dims.vocab_size)

    texts = tokenizer_files(vocabulary, dims.max_target_positions)
    texts["preprocessor_config.json"] = to_json(preprocessor_config(src, dims.num_mel_bins))
    texts["generation_config.json"] = to_json(generation_config(dims, vocabulary, ct2_config))
    dst.mkdir(parents=True, exist_ok=True)
    write_atomic(dst / "tokenizer.json", [(src / "tokenizer.json").read_bytes()])
    for name, text in texts.items():
        write_atomic(dst / name, [text.encode("utf-8")])
    write_atomic(dst / "model.safetensors", safetensors_bytes(state, dtype))
    write_atomic(dst / "config.json", [to_json(model_config(dims, vocabulary, ct2_config, dtype)).encode("utf-8")])

    parameters = sum(array.size for array in state.values())
    kind = "multilingual" if dims.vocab_size >= MULTILINGUAL_VOCAB_SIZE else "English-only"
    return (
        f"wrote {dst}: {len(state)} tensors, {parameters:,} parameters, {dtype} (model.bin: {'/'.join(sorted(stored_dtypes))}); "
        f"d_model {dims.d_model}, {dims.encoder_layers}+{dims.decoder_layers} layers, "
        f"{dims.encoder_attention_heads}/{dims.decoder_attention_heads} heads, vocab {dims.vocab_size} "
        f"({vocabulary.timestamp_count} timestamps), {kind}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("src", type=Path, help="CTranslate2 Whisper model directory (model.bin, config.json, ...)")
    parser.add_argument("dst", type=Path, help="output directory (created; files of the same name are replaced)")
    parser.add_argument("--dtype", choices=["float32", "float16", "keep"], default="float32", help="dtype of model.safetensors")
    args = parser.parse_args()
    try:
        print(convert(args.src, args.dst, args.dtype))
    except (ConversionError, ModelBinError) as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        sys.exit(1)
    except (OSError, json.JSONDecodeError, KeyError) as error:
        print(f"{PROGRAM}: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
