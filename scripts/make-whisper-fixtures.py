#!/usr/bin/env python3
"""Build the Whisper parity fixtures: tiny random WhisperForConditionalGeneration checkpoints and transformers' outputs.

Usage (from the repository root):

    python3 -m pip install -r scripts/requirements-fixtures.txt   # CPU is enough
    python3 scripts/make-whisper-fixtures.py                       # writes Tests/Fixtures/whisper

    python3 scripts/make-whisper-fixtures.py --check               # rewrite nothing: recompute and compare

Needs espeak-ng and sox on PATH (for the German and French clips; the English ones are read from
Tests/Fixtures/speech, made by scripts/make-fixtures.py). Everything is seeded; a rerun on the pinned
versions rewrites the same bytes. Tests/Fixtures/whisper/README.md says what each file is.

Every generate call is replayed with scripts/whisper_decoding_rules.py (a plain restatement of
transformers' Whisper decoding rules) and the script stops if one token differs, so that file is a
checked description of what the Swift decoder has to do.

Outputs:

    Tests/Fixtures/whisper/speech/<clip>.wav            16 kHz mono 16-bit PCM (espeak-ng + sox, or
                                                        the long-form clip assembled from the others)
    Tests/Fixtures/whisper/models/<model>/              config.json, generation_config.json, model.safetensors,
                                                        preprocessor_config.json, processor_config.json,
                                                        tokenizer.json, tokenizer_config.json, vocab.json,
                                                        merges.txt, added_tokens.json, special_tokens_map.json
    Tests/Fixtures/whisper/models/<model>/reference/    <clip>.input_features.npy, <clip>.encoder.npy,
                                                        <clip>.logits.npy, generate.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import shutil
import subprocess
import tempfile
import wave
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import AddedToken
from tokenizers.pre_tokenizers import ByteLevel
from torch import nn
from transformers import (
    GenerationConfig,
    WhisperConfig,
    WhisperFeatureExtractor,
    WhisperForConditionalGeneration,
    WhisperProcessor,
    WhisperTokenizer,
)
from transformers.modeling_outputs import BaseModelOutput
from transformers.models.whisper.tokenization_whisper import LANGUAGES
from transformers.utils import logging as transformers_logging

import whisper_decoding_rules as rules
from fixture_tools import check_pins, pins, run

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RATE = 16_000
# Sizes. The raw total is large because mel features are padded to 30 s and the long-form clip is mostly
# silence; git stores files zlib-compressed (identical files once), where they shrink to a fraction.
MAX_TOTAL_BYTES = 16 * 1024 * 1024  # working tree
MAX_STORED_BYTES = 6 * 1024 * 1024  # distinct files, zlib-compressed as git stores them
MAX_MODEL_BYTES = 768 * 1024  # model.safetensors

# Random weights never stop on their own, so every generate call is capped. The cap and every other
# generate argument are written to generate.json next to the tokens.
MAX_NEW_TOKENS = 24
NUM_BEAMS = 5
# Decisions must be stable under float32 differences between implementations (~1e-5). Greedy decoding
# (with or without timestamps, long-form included) and language detection: every decision's margin
# (top-1 minus top-2 processed score; |summed timestamp log-prob - best text log-prob| for the timestamp
# rule; top-1 minus top-2 language logit) must clear MIN_MARGIN. Beam search: the tokens must not change
# when N(0, NOISE_STD^2) noise is added to the logits, for each of NOISE_TRIALS draws.
MIN_MARGIN = 1e-3
NOISE_STD = 1e-3
NOISE_TRIALS = 3
SEED_ATTEMPTS = 60

# Re-initialisation. transformers' default (std 0.02) gives near-uniform logits and a decoder that
# repeats one token whatever the audio. Linear and conv weights ~ N(0, 1 / fan_in); biases ~ N(0, BIAS_STD^2);
# layer norms 1 + N(0, NORM_STD^2) / N(0, NORM_STD^2); token embeddings (tied to proj_out) ~
# N(0, (LOGIT_STD / sqrt(d_model))^2), so logits have std ~LOGIT_STD; learned decoder positions ~
# N(0, POSITION_STD^2); encoder positions keep Whisper's sinusoids. Then:
# - cross-attention q_proj / k_proj weights x CROSS_QK_GAIN and out_proj x CROSS_OUT_GAIN, so that the
#   decoder attends to a few frames instead of averaging 30 s of mostly padding (the audio then matters);
# - the 1501 timestamp rows x TIMESTAMP_SCALE: at full scale their summed probability beats every text
#   token at every step, and the timestamp rules would let no text through;
# - the <|endoftext|> row x EOT_SCALE, so that some decodes end before the cap;
# - the decoder's final layer_norm.bias shifted so that its output has mean zero over the calibration
#   clips and random prompts (otherwise a component shared by all steps picks one token everywhere).
BIAS_STD = 0.1
NORM_STD = 0.1
LOGIT_STD = 4.0
POSITION_STD = 1.0
CROSS_QK_GAIN = 3.0
CROSS_OUT_GAIN = 3.0
TIMESTAMP_SCALE = 0.45
EOT_SCALE = 2.0
CALIBRATION_STEPS = 32

ENGLISH_SPEECH = REPO_ROOT / "Tests" / "Fixtures" / "speech"
NUM_TIMESTAMPS = 1501  # <|0.00|> ... <|30.00|>, 0.02 s apart
SPECIALS_AFTER_LANGUAGES = ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
                            "<|notimestamps|>"]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Speech


@dataclass(frozen=True)
class Clip:
    name: str
    text: str
    voice: str | None  # espeak-ng voice for clips made here; None: an existing Tests/Fixtures/speech clip


CLIPS = {
    clip.name: clip
    for clip in [
        Clip("hello_world", "hello world", None),
        Clip("quick_brown_fox", "the quick brown fox jumps over the lazy dog", None),
        Clip("numbers", "I owe you 42 dollars and 17 cents", None),
        Clip("question", "where did you put my keys?", None),
        Clip("guten_morgen", "Guten Morgen, wie geht es dir?", "de"),
        Clip("bonjour", "Bonjour, comment allez-vous?", "fr"),
    ]
}
# The long-form clip: these clips placed at these start times (seconds) in digital silence.
LONGFORM_NAME = "longform"
LONGFORM_SECONDS = 36.0
LONGFORM_LAYOUT = [("hello_world", 0.5), ("quick_brown_fox", 6.0), ("guten_morgen", 14.0), ("numbers", 28.5),
                   ("question", 33.0)]  # fmt: skip


def clip_path(speech_dir: Path, name: str) -> Path:
    clip = CLIPS.get(name)
    if clip is not None and clip.voice is None:
        return ENGLISH_SPEECH / f"{name}.wav"
    return speech_dir / f"{name}.wav"


def synthesise(clip: Clip, out_path: Path) -> None:
    """espeak-ng (22.05 kHz) -> sox -> 16 kHz mono 16-bit PCM WAV. -D: no dither, so reruns match."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "espeak.wav"
        run(["espeak-ng", "-v", clip.voice, "-s", "160", "-w", str(raw), clip.text])
        run(["sox", "-D", "-V1", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
             "-e", "signed-integer", "-t", "wav", str(out_path)])  # fmt: skip


def read_pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
            raise SystemExit(f"{path}: expected mono 16-bit {SAMPLE_RATE} Hz")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def write_pcm(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm.astype("<i2").tobytes())


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 / 32768 as float32: what libsndfile's sf_readf_float returns for 16-bit PCM."""
    return pcm.astype(np.float32) / np.float32(32768.0)


def read_speech(speech_dir: Path) -> dict[str, np.ndarray]:
    names = [*CLIPS, LONGFORM_NAME]
    return {name: to_float(read_pcm(clip_path(speech_dir, name))) for name in names}


def make_speech(speech_dir: Path) -> dict[str, np.ndarray]:
    """Returns every clip's samples (float32, 16 kHz), the long-form one included."""
    speech_dir.mkdir(parents=True, exist_ok=True)
    for clip in CLIPS.values():
        if clip.voice is not None:
            synthesise(clip, speech_dir / f"{clip.name}.wav")
    pcm = {name: read_pcm(clip_path(speech_dir, name)) for name in CLIPS}
    for name, samples in pcm.items():
        if not 0.5 <= len(samples) / SAMPLE_RATE <= 3.0:
            raise SystemExit(f"{name}: {len(samples) / SAMPLE_RATE:.2f} s, outside 0.5-3 s")

    longform = np.zeros(round(LONGFORM_SECONDS * SAMPLE_RATE), dtype=np.int16)
    end = 0
    for name, start in LONGFORM_LAYOUT:
        offset = round(start * SAMPLE_RATE)
        if offset < end or offset + len(pcm[name]) > len(longform):
            raise SystemExit(f"long-form layout: {name} at {start} s overlaps or overruns")
        longform[offset : offset + len(pcm[name])] = pcm[name]
        end = offset + len(pcm[name])
    write_pcm(speech_dir / f"{LONGFORM_NAME}.wav", longform)
    return read_speech(speech_dir)


# ---------------------------------------------------------------------------------------------
# Tokenizer: a small byte-level BPE, then Whisper's special tokens in Whisper's order


CORPUS = """
hello world. the quick brown fox jumps over the lazy dog. I owe you 42 dollars and 17 cents.
where did you put my keys? this is a small test of the speech recognition system.
what time is it? the weather is nice today, and we are going to the park in the afternoon.
please say that again slowly. thank you very much for your help with the transcription.
there are seven days in a week and twelve months in a year. she sells sea shells by the sea shore.
can you hear me now? one, two, three, four, five, six, seven, eight, nine, ten.
Guten Morgen, wie geht es dir? Ich habe heute keine Zeit, aber morgen komme ich gerne vorbei.
Das Wetter ist schön, und wir gehen am Nachmittag in den Park. Wo hast du meine Schlüssel hingelegt?
Vielen Dank für deine Hilfe. Die Katze schläft auf dem Sofa, und der Hund spielt im Garten.
Eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun, zehn. Es ist zwölf Uhr mittags.
Bonjour, comment allez-vous? Je n'ai pas le temps aujourd'hui, mais je viendrai demain avec plaisir.
Il fait beau, et nous allons au parc cet après-midi. Où as-tu mis mes clés?
Merci beaucoup pour votre aide. Le chat dort sur le canapé et le chien joue dans le jardin.
Un, deux, trois, quatre, cinq, six, sept, huit, neuf, dix. Il est midi, c'est l'heure du déjeuner.
"""


def byte_alphabet() -> list[str]:
    """GPT-2's byte-to-unicode table in GPT-2's vocabulary order (so " " is id 220, as in Whisper)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    chars = [chr(b) for b in printable]
    chars += [chr(256 + n) for n in range(256 - len(printable))]  # the other bytes, in byte order
    return chars


def train_bpe(text: str, num_merges: int) -> list[tuple[str, str]]:
    """Plain BPE on ByteLevel pre-tokens: merge the most frequent pair; ties go to the smallest pair."""
    pre_tokenizer = ByteLevel(add_prefix_space=False)
    words = Counter(tuple(piece) for piece, _ in pre_tokenizer.pre_tokenize_str(" ".join(text.split())))
    merges = []
    while len(merges) < num_merges:
        pairs = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            raise SystemExit(f"BPE: the corpus gives only {len(merges)} merges, {num_merges} wanted")
        best = min(pairs, key=lambda pair: (-pairs[pair], pair))
        merges.append(best)
        merged = Counter()
        for word, count in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i : i + 2] == best:
                    out.append(best[0] + best[1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return merges


def special_tokens(num_languages: int) -> list[str]:
    """<|endoftext|>, <|startoftranscript|>, languages (Whisper's order), tasks, ..., <|notimestamps|>."""
    languages = [f"<|{code}|>" for code in list(LANGUAGES)[:num_languages]]
    return ["<|endoftext|>", "<|startoftranscript|>", *languages, *SPECIALS_AFTER_LANGUAGES]


def timestamp_tokens() -> list[str]:
    return ["<|%.2f|>" % (i * 0.02) for i in range(NUM_TIMESTAMPS)]


def build_tokenizer(merges: list[tuple[str, str]], num_languages: int) -> WhisperTokenizer:
    vocab = {char: i for i, char in enumerate(byte_alphabet())}
    for a, b in merges:
        if a + b in vocab:
            raise SystemExit(f"BPE: merge {a!r} {b!r} makes a token twice")
        vocab[a + b] = len(vocab)
    specials = special_tokens(num_languages)
    vocab[specials[0]] = len(vocab)  # <|endoftext|> is in vocab.json, as in Whisper's
    tokenizer = WhisperTokenizer(vocab=vocab, merges=merges, pad_token="<|endoftext|>")
    tokenizer.add_special_tokens(
        {"extra_special_tokens": [AddedToken(t, special=True, normalized=False) for t in specials[1:]]}
    )
    # Timestamps are plain added tokens: decode() keeps them and then strips "<|x.xx|>" with a regex.
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in timestamp_tokens()])
    tokenizer.set_prefix_tokens()  # the post-processor template was built before the specials existed

    ids = tokenizer.convert_tokens_to_ids(specials + timestamp_tokens())
    if ids != list(range(len(vocab) - 1, len(vocab) - 1 + len(ids))) or len(tokenizer) != ids[-1] + 1:
        raise SystemExit("tokenizer: special and timestamp tokens are not consecutive after the BPE vocabulary")
    if tokenizer.all_special_ids[-1] != ids[len(specials) - 1]:
        raise SystemExit("tokenizer: the last special id must be <|notimestamps|> (decode finds timestamps from it)")
    return tokenizer


def save_tokenizer(tokenizer: WhisperTokenizer, out: Path) -> None:
    """tokenizer.json + tokenizer_config.json (what transformers 5 writes) and the slow-tokenizer files."""
    tokenizer.save_pretrained(out)
    tokenizer.save_vocabulary(str(out))  # vocab.json, merges.txt
    base = json.loads((out / "vocab.json").read_text())
    added = {t: i for t, i in tokenizer.get_added_vocab().items() if t not in base}
    (out / "added_tokens.json").write_text(json.dumps(added, indent=2, ensure_ascii=False) + "\n")
    specials = {
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        "unk_token": "<|endoftext|>", "additional_special_tokens": [str(t) for t in tokenizer.extra_special_tokens],
    }  # fmt: skip
    (out / "special_tokens_map.json").write_text(json.dumps(specials, indent=2, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------------------------------------
# Models


@dataclass(frozen=True)
class Variant:
    name: str
    dtype: torch.dtype
    multilingual: bool
    num_mel_bins: int
    d_model: int
    encoder_layers: int
    decoder_layers: int
    encoder_attention_heads: int
    decoder_attention_heads: int
    encoder_ffn_dim: int
    decoder_ffn_dim: int
    num_merges: int
    num_languages: int
    clips: tuple[str, ...]
    longform: bool
    seed: int


VARIANTS = [
    # tiny.en's layout: English-only (no language or task in the prompt), 80 mel bins.
    Variant("tiny-en", torch.float16, multilingual=False, num_mel_bins=80, d_model=48,
            encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
            encoder_ffn_dim=192, decoder_ffn_dim=192, num_merges=300, num_languages=7,
            clips=("hello_world", "quick_brown_fox"), longform=True, seed=1000),
    # large-v3's layout: multilingual, 128 mel bins; more encoder than decoder layers.
    Variant("tiny-multilingual-128", torch.bfloat16, multilingual=True, num_mel_bins=128, d_model=40,
            encoder_layers=3, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
            encoder_ffn_dim=160, decoder_ffn_dim=160, num_merges=300, num_languages=7,
            clips=("quick_brown_fox", "guten_morgen"), longform=False, seed=2000),
    # Odd sizes: 3 encoder heads, 2 decoder heads, head sizes 8 and 12, unequal FFNs, float32.
    Variant("tiny-odd-f32", torch.float32, multilingual=True, num_mel_bins=80, d_model=24,
            encoder_layers=1, decoder_layers=3, encoder_attention_heads=3, decoder_attention_heads=2,
            encoder_ffn_dim=56, decoder_ffn_dim=72, num_merges=200, num_languages=10,
            clips=("hello_world", "bonjour"), longform=False, seed=3000),
]  # fmt: skip


def token_ids(tokenizer: WhisperTokenizer) -> dict[str, int]:
    names = ["<|endoftext|>", "<|startoftranscript|>", *SPECIALS_AFTER_LANGUAGES, "<|0.00|>"]
    return dict(zip(names, tokenizer.convert_tokens_to_ids(names)))


def suppress_token_ids(tokenizer: WhisperTokenizer) -> list[int]:
    """A handful of symbols (Whisper suppresses these and ~80 others) and the specials Whisper suppresses.

    As in Whisper's own lists, the list ends with <|startofprev|>, <|nospeech|>: transformers takes
    suppress_tokens[-2] as <|startofprev|> when the generation config lacks prev_sot_token_id.
    """
    symbols = tokenizer.convert_tokens_to_ids(["#", "(", ")", "*", "@", "[", "]", "^", "{", "}"])
    ids = token_ids(tokenizer)
    specials = ["<|startoftranscript|>", "<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                "<|nospeech|>"]  # fmt: skip
    return sorted(symbols) + [ids[s] for s in specials]


def make_configs(variant: Variant, tokenizer: WhisperTokenizer) -> tuple[WhisperConfig, GenerationConfig]:
    ids = token_ids(tokenizer)
    eot, sot = ids["<|endoftext|>"], ids["<|startoftranscript|>"]
    space = tokenizer.convert_tokens_to_ids("Ġ")
    suppress = suppress_token_ids(tokenizer)
    config = WhisperConfig(
        vocab_size=len(tokenizer), num_mel_bins=variant.num_mel_bins, d_model=variant.d_model,
        encoder_layers=variant.encoder_layers, decoder_layers=variant.decoder_layers,
        encoder_attention_heads=variant.encoder_attention_heads,
        decoder_attention_heads=variant.decoder_attention_heads,
        encoder_ffn_dim=variant.encoder_ffn_dim, decoder_ffn_dim=variant.decoder_ffn_dim,
        max_source_positions=1500, max_target_positions=448,
        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
        suppress_tokens=suppress, begin_suppress_tokens=[space, eot],
    )  # fmt: skip
    generation = dict(
        decoder_start_token_id=sot, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
        no_timestamps_token_id=ids["<|notimestamps|>"], suppress_tokens=suppress, begin_suppress_tokens=[space, eot],
        alignment_heads=[[variant.decoder_layers - 1, 0], [variant.decoder_layers - 1, 1]],
        is_multilingual=variant.multilingual, max_initial_timestamp_index=50, max_length=448,
        return_timestamps=False,
    )  # fmt: skip
    if variant.multilingual:
        # English-only models must not have lang_to_id: its mere presence makes transformers detect a language.
        languages = special_tokens(variant.num_languages)[2 : 2 + variant.num_languages]
        generation["lang_to_id"] = dict(zip(languages, tokenizer.convert_tokens_to_ids(languages)))
        generation["task_to_id"] = {"translate": ids["<|translate|>"], "transcribe": ids["<|transcribe|>"]}
        generation["prev_sot_token_id"] = ids["<|startofprev|>"]
    return config, GenerationConfig(**generation)


def normal_(tensor: torch.Tensor, std: float, gen: torch.Generator, mean: float = 0.0) -> None:
    tensor.copy_(torch.randn(tensor.shape, generator=gen, dtype=torch.float32) * std + mean)


@torch.no_grad()
def reinitialise(model: WhisperForConditionalGeneration, ids: dict[str, int], gen: torch.Generator) -> None:
    for name, module in model.named_modules():
        if name == "proj_out":
            continue  # tied to the token embedding
        if isinstance(module, (nn.Linear, nn.Conv1d)):
            fan_in = module.weight[0].numel()
            normal_(module.weight, 1.0 / fan_in**0.5, gen)
            if module.bias is not None:
                normal_(module.bias, BIAS_STD, gen)
        elif isinstance(module, nn.LayerNorm):
            normal_(module.weight, NORM_STD, gen, mean=1.0)
            normal_(module.bias, NORM_STD, gen)
    decoder = model.model.decoder
    for layer in decoder.layers:
        layer.encoder_attn.q_proj.weight *= CROSS_QK_GAIN
        layer.encoder_attn.k_proj.weight *= CROSS_QK_GAIN
        layer.encoder_attn.out_proj.weight *= CROSS_OUT_GAIN
    embed = decoder.embed_tokens.weight  # (vocab, d_model)
    normal_(embed, LOGIT_STD / embed.shape[1] ** 0.5, gen)
    embed[ids["<|0.00|>"] :] *= TIMESTAMP_SCALE
    embed[ids["<|endoftext|>"]] *= EOT_SCALE
    normal_(decoder.embed_positions.weight, POSITION_STD, gen)
    if model.proj_out.weight.data_ptr() != embed.data_ptr():
        raise SystemExit("proj_out is not tied to the token embedding")


@torch.no_grad()
def calibrate_final_norm(model: WhisperForConditionalGeneration, features: torch.Tensor, ids: dict[str, int],
                         gen: torch.Generator) -> None:  # fmt: skip
    """Shift decoder.layer_norm.bias so that its output has mean zero over these clips and random prompts."""
    encoder = model.model.encoder(features).last_hidden_state
    tokens = torch.randint(0, ids["<|endoftext|>"], (features.shape[0], CALIBRATION_STEPS), generator=gen)
    tokens[:, 0] = ids["<|startoftranscript|>"]
    hidden = model.model.decoder(input_ids=tokens, encoder_hidden_states=encoder).last_hidden_state
    model.model.decoder.layer_norm.bias -= hidden.mean(dim=(0, 1))


def build_model(variant: Variant, config: WhisperConfig, generation: GenerationConfig, tokenizer: WhisperTokenizer,
                calibration: torch.Tensor, seed: int) -> WhisperForConditionalGeneration:  # fmt: skip
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config)
    model.generation_config = generation
    gen = torch.Generator().manual_seed(seed)
    ids = token_ids(tokenizer)
    reinitialise(model, ids, gen)
    calibrate_final_norm(model.eval(), calibration, ids, gen)
    return model.to(variant.dtype).eval()


def save_checkpoint(model, processor: WhisperProcessor, tokenizer: WhisperTokenizer, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    # transformers 5 writes the feature extractor inside processor_config.json; checkpoints on the hub
    # (and our CLI) read preprocessor_config.json, so write that too.
    processor.feature_extractor.save_pretrained(out)
    save_tokenizer(tokenizer, out)
    keys = load_file(out / "model.safetensors").keys()
    if "proj_out.weight" in keys:
        raise SystemExit("model.safetensors holds proj_out.weight; Whisper checkpoints tie it to the embedding")


def load_reference(path: Path) -> tuple[WhisperForConditionalGeneration, WhisperProcessor]:
    """float32 compute on the stored (possibly float16/bfloat16-rounded) weights; strict about keys."""
    model, info = WhisperForConditionalGeneration.from_pretrained(
        path, dtype=torch.float32, attn_implementation="eager", output_loading_info=True
    )
    problems = {k: v for k, v in info.items() if v}
    if problems:
        raise SystemExit(f"{path}: transformers did not load the checkpoint cleanly: {problems}")
    processor = WhisperProcessor.from_pretrained(path)
    return model.eval(), processor


# ---------------------------------------------------------------------------------------------
# Reference outputs


class LogitNoise:
    """Adds N(0, NOISE_STD^2) to proj_out's output while active (a stand-in for float32 differences)."""

    def __init__(self, model, seed: int):
        self.model, self.gen = model, torch.Generator().manual_seed(seed)

    def hook(self, _module, _inputs, output):
        return output + NOISE_STD * torch.randn(output.shape, generator=self.gen, dtype=output.dtype)

    def __enter__(self):
        self.handle = self.model.proj_out.register_forward_hook(self.hook)
        return self

    def __exit__(self, *exc):
        self.handle.remove()


class Unstable(Exception):
    """This seed's model gives a decode too close to a tie (or a long-form loop); try the next seed."""


def as_list(tensor) -> list[int]:
    return [int(t) for t in tensor.tolist()]


def short_runs(variant: Variant) -> dict[str, dict]:
    """Name -> keyword arguments for model.generate (each also gets max_new_tokens)."""
    runs = {
        "greedy": dict(return_timestamps=False),
        "timestamps": dict(return_timestamps=True),
        "beam5": dict(return_timestamps=False, num_beams=NUM_BEAMS),
    }
    if variant.multilingual:
        runs["transcribe"] = dict(return_timestamps=False, task="transcribe")
        runs["de_transcribe"] = dict(return_timestamps=False, language="de", task="transcribe")
        runs["translate"] = dict(return_timestamps=False, task="translate")
    return runs


LONGFORM_KWARGS = dict(return_timestamps=True, temperature=0.0, condition_on_prev_tokens=False)
MAX_WINDOWS = 24


@torch.no_grad()
def run_generate(model, features: torch.Tensor, kwargs: dict) -> dict:
    """One generate call: the full token list of each 30 s window (prompt, generated, eot if any), the
    segments, and the sequence generate returned (generated tokens of all windows, no prompt, no eot)."""
    seeks = []

    def progress(p):
        seeks.append(int(p[0, 0]))
        if len(seeks) > MAX_WINDOWS or (len(seeks) > 1 and seeks[-1] <= seeks[-2]):
            raise Unstable(f"long-form: windows at frames {seeks}")

    out = model.generate(features, return_segments=True, monitor_progress=progress, **kwargs)
    results = []  # each window's raw generate output; its segments all share it
    for segment in out["segments"][0]:
        if not any(segment["result"] is r for r in results):
            results.append(segment["result"])
    windows = [dict(seek=seek, tokens=as_list(r if isinstance(r, torch.Tensor) else r["sequences"]))
               for seek, r in zip(seeks, results, strict=True)]  # fmt: skip
    segments = [dict(start=float(s["start"]), end=float(s["end"]), tokens=as_list(s["tokens"]))
                for s in out["segments"][0]]  # fmt: skip
    return dict(sequences=as_list(out["sequences"][0]), windows=windows, segments=segments)


def window_tokens(result: dict) -> list[list[int]]:
    return [window["tokens"] for window in result["windows"]]


def make_step(model, features: torch.Tensor) -> rules.Step:
    """Next-token logits for one window: a full decoder pass over the tokens (no cache), memoised."""
    encoder = BaseModelOutput(last_hidden_state=model.model.encoder(features).last_hidden_state)
    memo: dict[tuple[int, ...], torch.Tensor] = {}

    def step(tokens: list[int]) -> torch.Tensor:
        key = tuple(tokens)
        if key not in memo:
            with torch.no_grad():
                out = model(encoder_outputs=encoder, decoder_input_ids=torch.tensor([tokens]), use_cache=False)
            memo[key] = out.logits[0, -1].float()
        return memo[key]

    return step


def decoding_rules(generation: GenerationConfig, timestamps: bool) -> rules.Rules:
    return rules.Rules(
        eot=generation.eos_token_id, no_timestamps=generation.no_timestamps_token_id,
        suppress_tokens=tuple(generation.suppress_tokens),
        begin_suppress_tokens=tuple(generation.begin_suppress_tokens), timestamps=timestamps,
        max_initial_timestamp_index=generation.max_initial_timestamp_index,
    )  # fmt: skip


def prompt_for(model, features: torch.Tensor, kwargs: dict) -> list[int]:
    generation = model.generation_config
    language, task = kwargs.get("language"), kwargs.get("task")
    language_id = generation.lang_to_id[f"<|{language}|>"] if language is not None else None
    if language_id is None and hasattr(generation, "lang_to_id"):
        step = make_step(model, window_at(features, 0))
        languages = list(generation.lang_to_id.values())
        language_id = rules.detect_language(step, generation.decoder_start_token_id, languages)
    if task is None and language is not None:
        task = "transcribe"
    return rules.prompt_tokens(generation, language_id, task, kwargs.get("return_timestamps", False))


def window_at(features: torch.Tensor, seek: int) -> torch.Tensor:
    """input_features[..., seek : seek + 3000], padded with zeros to 3000 frames (as transformers does)."""
    window = features[..., seek : seek + rules.WINDOW_FRAMES]
    return nn.functional.pad(window, (0, rules.WINDOW_FRAMES - window.shape[-1]))


def replay(model, features: torch.Tensor, kwargs: dict, margins: list[float]) -> dict:
    """The same decode by whisper_decoding_rules: the windows' full tokens and (with timestamps) the segments.

    With timestamps even a short clip goes through the long-form loop (a window whose text runs past its
    last timestamp pair is decoded again from that pair), as in transformers.
    """
    timestamps = kwargs.get("return_timestamps", False)
    rule_set = decoding_rules(model.generation_config, timestamps)
    prompt = prompt_for(model, features, kwargs)
    if timestamps:
        try:
            windows, segments = rules.long_form(
                lambda seek: make_step(model, window_at(features, seek)), features.shape[-1], prompt, rule_set,
                kwargs["max_new_tokens"], margins,
            )  # fmt: skip
        except ValueError as error:
            raise Unstable(str(error))
        return dict(prompt=prompt, windows=windows, segments=segments)
    step = make_step(model, features)
    if kwargs.get("num_beams", 1) > 1:
        tokens = rules.beam_search(step, prompt, rule_set, kwargs["max_new_tokens"], kwargs["num_beams"])
    else:
        tokens = rules.greedy(step, prompt, rule_set, kwargs["max_new_tokens"], margins)
    return dict(prompt=prompt, windows=[dict(seek=0, tokens=tokens)], segments=None)


def checked_generate(model, features: torch.Tensor, kwargs: dict, label: str) -> tuple[dict, float]:
    """generate, checked against the replay and against logit noise; returns (result, smallest margin)."""
    result = run_generate(model, features, kwargs)
    margins: list[float] = []
    replayed = replay(model, features, kwargs, margins)
    margin = min(margins, default=float("inf"))
    if margin < MIN_MARGIN:
        raise Unstable(f"{label}: a greedy decision has margin {margin:.2e}")
    if window_tokens(replayed) != window_tokens(result):
        raise SystemExit(f"{label}: whisper_decoding_rules disagrees with transformers:\n"
                         f"  transformers {result['windows']}\n  rules        {replayed['windows']}")  # fmt: skip
    if replayed["segments"] is not None:
        for mine, theirs in zip(replayed["segments"], result["segments"], strict=True):
            times = [mine["start"] - theirs["start"], mine["end"] - theirs["end"]]
            if mine["tokens"] != theirs["tokens"] or max(abs(t) for t in times) > 1e-9:
                raise SystemExit(f"{label}: segments differ:\n  transformers {result['segments']}\n"
                                 f"  rules        {replayed['segments']}")  # fmt: skip
    for trial in range(NOISE_TRIALS if kwargs.get("num_beams", 1) > 1 else 0):
        with LogitNoise(model, seed=trial):
            noisy = run_generate(model, features, kwargs)
        if window_tokens(noisy) != window_tokens(result) or noisy["sequences"] != result["sequences"]:
            raise Unstable(f"{label}: logit noise {NOISE_STD} changes the tokens")
    result["prompt"] = replayed["prompt"]
    return result, margin


# ---------------------------------------------------------------------------------------------
# One model


def features_of(extractor: WhisperFeatureExtractor, samples: np.ndarray, long_form: bool = False) -> torch.Tensor:
    """(1, n_mels, frames): 3000 frames (padded / truncated to 30 s), or all of them for long-form."""
    if long_form:
        return extractor(samples, sampling_rate=SAMPLE_RATE, truncation=False, padding="longest",
                         return_tensors="pt").input_features  # fmt: skip
    return extractor(samples, sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features


def describe(result: dict, kwargs: dict, tokenizer: WhisperTokenizer, margin: float) -> dict:
    eot = tokenizer.eos_token_id
    last = result["windows"][-1]["tokens"]
    entry = dict(
        kwargs=kwargs, prompt=result["prompt"], windows=result["windows"],
        stop="eot" if last[-1] == eot else "max_new_tokens", sequences=result["sequences"],
        text=tokenizer.decode(result["sequences"], skip_special_tokens=True),
    )  # fmt: skip
    if kwargs.get("return_timestamps"):
        entry["segments"] = result["segments"]
        entry["text_with_timestamps"] = tokenizer.decode(result["sequences"], decode_with_timestamps=True)
    if margin != float("inf"):
        entry["min_margin"] = round(margin, 6)
    return entry


def detect(model, features: torch.Tensor) -> int:
    """model.detect_language, checked: its top-1 / top-2 language logits must not nearly tie."""
    generation = model.generation_config
    language = int(model.detect_language(features)[0])
    start = torch.tensor([[generation.decoder_start_token_id]])
    logits = model(input_features=features, decoder_input_ids=start).logits[0, 0]
    top2 = torch.topk(logits[list(generation.lang_to_id.values())], 2).values
    if top2[0] - top2[1] < MIN_MARGIN:
        raise Unstable(f"language detection margin {float(top2[0] - top2[1]):.2e}")
    return language


@torch.no_grad()
def compute_references(variant: Variant, model, processor: WhisperProcessor, samples: dict[str, np.ndarray]) -> dict:
    tokenizer, extractor = processor.tokenizer, processor.feature_extractor
    features = {clip: features_of(extractor, samples[clip]) for clip in variant.clips}
    if variant.multilingual:
        languages = {clip: detect(model, features[clip]) for clip in variant.clips}
        if len(set(languages.values())) < 2:
            raise Unstable(f"every clip is detected as {tokenizer.convert_ids_to_tokens(languages[variant.clips[0]])}")
    clips, arrays = {}, {}
    for clip in variant.clips:
        runs = {}
        for name, run_kwargs in short_runs(variant).items():
            kwargs = dict(run_kwargs, max_new_tokens=MAX_NEW_TOKENS)
            result, margin = checked_generate(model, features[clip], kwargs, f"{variant.name}/{clip}/{name}")
            runs[name] = describe(result, kwargs, tokenizer, margin)
        greedy = runs["greedy"]
        decoder_input_ids = greedy["windows"][0]["tokens"]
        generated = decoder_input_ids[len(greedy["prompt"]) :]
        if len(set(generated)) < 4:
            raise Unstable(f"{clip}: greedy decode has only {len(set(generated))} distinct tokens")
        logits = model(input_features=features[clip], decoder_input_ids=torch.tensor([decoder_input_ids])).logits[0]
        entry = dict(samples=len(samples[clip]), logits_decoder_input_ids=decoder_input_ids)
        if variant.multilingual:
            language = languages[clip]
            entry["detected_language"] = dict(id=language, token=tokenizer.convert_ids_to_tokens(language))
        entry["text_with_specials"] = tokenizer.decode(decoder_input_ids, skip_special_tokens=False)
        entry["runs"] = runs
        clips[clip] = entry
        arrays[f"{clip}.input_features"] = features[clip][0].numpy()
        arrays[f"{clip}.encoder"] = model.model.encoder(features[clip]).last_hidden_state[0].numpy()
        arrays[f"{clip}.logits"] = logits.float().numpy()
    references = dict(clips=clips)
    if variant.longform:
        long_features = features_of(extractor, samples[LONGFORM_NAME], long_form=True)
        kwargs = dict(LONGFORM_KWARGS, max_new_tokens=MAX_NEW_TOKENS)
        result, margin = checked_generate(model, long_features, kwargs, f"{variant.name}/{LONGFORM_NAME}")
        entry = dict(clip=LONGFORM_NAME, samples=len(samples[LONGFORM_NAME]), frames=long_features.shape[-1])
        references["longform"] = entry | describe(result, kwargs, tokenizer, margin)
        arrays[f"{LONGFORM_NAME}.input_features"] = long_features[0].numpy()
    return dict(json=references, arrays=arrays)


@torch.no_grad()
def verify(variant: Variant, out: Path, samples: dict[str, np.ndarray]) -> float:
    """Load the written directory afresh and recompute every dump; returns the largest array difference.

    Token lists, texts and segments must match exactly; arrays are expected to match bit for bit on the
    machine that wrote them (elsewhere float32 rounding may differ slightly).
    """
    model, processor = load_reference(out)
    reference_dir = out / "reference"
    data = json.loads((reference_dir / "generate.json").read_text())
    worst = 0.0

    def compare(name: str, array: np.ndarray) -> None:
        nonlocal worst
        stored = np.load(reference_dir / f"{name}.npy")
        if stored.shape != array.shape:
            raise SystemExit(f"{out}: {name}.npy has shape {stored.shape}, recomputed {array.shape}")
        worst = max(worst, float(np.abs(stored - array).max()))

    def compare_run(label: str, features: torch.Tensor, entry: dict) -> None:
        result = run_generate(model, features, entry["kwargs"])
        text = processor.tokenizer.decode(result["sequences"], skip_special_tokens=True)
        if result["windows"] != entry["windows"] or result["sequences"] != entry["sequences"] or text != entry["text"]:
            raise SystemExit(f"{out}: {label}: generate no longer gives the stored tokens")
        if "segments" in entry and result["segments"] != entry["segments"]:
            raise SystemExit(f"{out}: {label}: generate no longer gives the stored segments")

    for clip, entry in data["clips"].items():
        features = features_of(processor.feature_extractor, samples[clip])
        compare(f"{clip}.input_features", features[0].numpy())
        compare(f"{clip}.encoder", model.model.encoder(features).last_hidden_state[0].numpy())
        ids = torch.tensor([entry["logits_decoder_input_ids"]])
        compare(f"{clip}.logits", model(input_features=features, decoder_input_ids=ids).logits[0].numpy())
        if "detected_language" in entry and int(model.detect_language(features)[0]) != entry["detected_language"]["id"]:
            raise SystemExit(f"{out}: {clip}: detect_language no longer gives the stored language")
        for name, run_entry in entry["runs"].items():
            compare_run(f"{clip}/{name}", features, run_entry)
    if "longform" in data:
        features = features_of(processor.feature_extractor, samples[LONGFORM_NAME], long_form=True)
        compare(f"{LONGFORM_NAME}.input_features", features[0].numpy())
        compare_run(LONGFORM_NAME, features, data["longform"])
    return worst


def check_tokenizer_files(out: Path, tokenizer: WhisperTokenizer) -> None:
    """The slow-tokenizer files alone (no tokenizer.json) must load to the same tokenizer."""
    with tempfile.TemporaryDirectory() as tmp:
        for f in out.iterdir():
            if f.is_file() and f.name not in ("tokenizer.json", "model.safetensors"):
                shutil.copy(f, tmp)
        legacy = WhisperTokenizer.from_pretrained(tmp)
    if legacy.get_vocab() != tokenizer.get_vocab():
        raise SystemExit(f"{out}: vocab.json + merges.txt + added_tokens.json load to a different vocabulary")
    text = " ".join(CORPUS.split()) + " <|startoftranscript|><|de|> <|1.00|>"
    if legacy(text).input_ids != tokenizer(text).input_ids:
        raise SystemExit(f"{out}: the slow-tokenizer files encode differently from tokenizer.json")


def dump_json(value, indent: int = 0) -> str:
    """JSON with every list of numbers / strings on one line, so token lists stay readable."""
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [f'{pad}  {json.dumps(k)}: {dump_json(v, indent + 1)}' for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        items = [f"{pad}  {dump_json(v, indent + 1)}" for v in value]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


def make_model(variant: Variant, merges, samples: dict[str, np.ndarray], models_dir: Path) -> list[dict]:
    out = models_dir / variant.name
    tokenizer = build_tokenizer(merges[: variant.num_merges], variant.num_languages)
    config, generation = make_configs(variant, tokenizer)
    extractor = WhisperFeatureExtractor(feature_size=variant.num_mel_bins)
    processor = WhisperProcessor(feature_extractor=extractor, tokenizer=tokenizer)
    calibration = torch.cat([features_of(extractor, samples[clip]) for clip in variant.clips])
    for attempt in range(SEED_ATTEMPTS):
        seed = variant.seed + attempt
        model = build_model(variant, config, generation, tokenizer, calibration, seed)
        save_checkpoint(model, processor, tokenizer, out)
        reference, loaded = load_reference(out)
        try:
            references = compute_references(variant, reference, loaded, samples)
            break
        except Unstable as problem:
            print(f"  {variant.name}: seed {seed}: {problem}; trying the next seed")
    else:
        raise SystemExit(f"{variant.name}: no seed in {SEED_ATTEMPTS} tries gives stable decodes")
    check_tokenizer_files(out, tokenizer)

    reference_dir = out / "reference"
    reference_dir.mkdir()
    for name, array in references["arrays"].items():
        np.save(reference_dir / f"{name}.npy", np.ascontiguousarray(array, dtype=np.float32))
    ids = token_ids(tokenizer)
    header = dict(
        made_by="scripts/make-whisper-fixtures.py", seed=seed, versions=versions(), tools=tool_versions(),
        max_new_tokens=MAX_NEW_TOKENS, noise_check=dict(std=NOISE_STD, trials=NOISE_TRIALS), min_margin=MIN_MARGIN,
        token_ids=ids | {"timestamp_begin": ids["<|0.00|>"], "space": tokenizer.convert_tokens_to_ids("Ġ")},
    )  # fmt: skip
    (reference_dir / "generate.json").write_text(dump_json(header | references["json"]) + "\n")

    difference = verify(variant, out, samples)
    if difference != 0.0:
        raise SystemExit(f"{variant.name}: reloading the written files changes a dump by {difference:.3g}")

    params = sum(p.numel() for p in reference.parameters())
    size = (out / "model.safetensors").stat().st_size
    if size > MAX_MODEL_BYTES:
        raise SystemExit(f"{variant.name}: model.safetensors is {size // 1024} KiB, over {MAX_MODEL_BYTES // 1024} KiB")
    data = references["json"]
    runs = [(clip, name, run) for clip, entry in data["clips"].items() for name, run in entry["runs"].items()]
    if "longform" in data:
        runs.append((LONGFORM_NAME, "longform", data["longform"]))
    rows = []
    for clip, name, result in runs:
        rows.append(dict(model=variant.name, params=params, kib=size // 1024, seed=seed, clip=clip, run=name,
                         prompt=len(result["prompt"]), windows=len(result["windows"]), generated=len(result["sequences"]),
                         stop=result["stop"], text=result["text"]))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    return {name: importlib.metadata.version(name) for name in pins()}


def tool_versions() -> dict[str, str]:
    """espeak-ng and sox make the German and French clips; another version may change their samples."""
    found = {}
    for tool in ["espeak-ng", "sox"]:
        try:
            text = subprocess.run([tool, "--version"], capture_output=True, text=True, check=True).stdout
        except (FileNotFoundError, subprocess.CalledProcessError):
            raise SystemExit(f"{tool} not found; install it (apt-get install espeak-ng sox)")
        found[tool] = next((w.lstrip("v") for w in text.split() if w.lstrip("v")[:1].isdigit()), text.strip())
    return found


def print_table(rows: list[dict], width: int = 40) -> None:
    columns = [("model", 21), ("params", 6), ("KiB", 4), ("seed", 4), ("clip", 15), ("run", 13), ("prompt", 6),
               ("windows", 7), ("tokens", 6), ("stop", 14)]  # fmt: skip
    header = "  ".join(f"{name:<{w}}" for name, w in columns) + "  text"
    print(header)
    print("-" * len(header))
    for row in rows:
        cells = [row["model"], row["params"], row["kib"], row["seed"], row["clip"], row["run"], row["prompt"],
                 row["windows"], row["generated"], row["stop"]]  # fmt: skip
        text = row["text"] if len(row["text"]) <= width else row["text"][: width - 3] + "..."
        print("  ".join(f"{str(c):<{w}}" for c, (_, w) in zip(cells, columns)) + f"  {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "Tests" / "Fixtures" / "whisper",
        help="directory that receives speech/ and models/ (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument("--only", help="build only this model (the others are left as they are)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing: reload the existing fixtures and recompute every dump")  # fmt: skip
    args = parser.parse_args()

    check_pins()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    print(", ".join(f"{name} {version}" for name, version in versions().items()))

    speech_dir, models_dir = args.out / "speech", args.out / "models"
    variants = [v for v in VARIANTS if args.only in (None, v.name)]
    if not variants:
        raise SystemExit(f"--only {args.only}: no such model; there are {[v.name for v in VARIANTS]}")
    if args.check:
        samples = read_speech(speech_dir)
        for variant in variants:
            difference = verify(variant, models_dir / variant.name, samples)
            print(f"{variant.name}: tokens, texts and segments match; largest array difference {difference:.3g}")
        return

    samples = make_speech(speech_dir)
    merges = train_bpe(CORPUS, max(v.num_merges for v in VARIANTS))
    rows = []
    for variant in variants:
        print(f"{variant.name} ...")
        rows += make_model(variant, merges, samples, models_dir)

    print()
    print_table(rows)
    owned = [speech_dir, *(models_dir / v.name for v in VARIANTS)]
    files = [f for d in owned if d.exists() for f in sorted(d.rglob("*")) if f.is_file()]
    total = sum(f.stat().st_size for f in files)
    contents = {f.read_bytes() for f in files}
    stored = sum(len(zlib.compress(c)) for c in contents)
    print(f"\ntotal fixture size: {total / 1024:.0f} KiB in the working tree (limit {MAX_TOTAL_BYTES // 1024} KiB), "
          f"{stored / 1024:.0f} KiB compressed as git stores it (limit {MAX_STORED_BYTES // 1024} KiB)")  # fmt: skip
    if total > MAX_TOTAL_BYTES or stored > MAX_STORED_BYTES:
        raise SystemExit("fixtures are too large; shrink the models or clips")


if __name__ == "__main__":
    main()
