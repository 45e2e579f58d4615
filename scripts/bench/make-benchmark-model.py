#!/usr/bin/env python3
"""Write a randomly initialised checkpoint with the exact facebook/wav2vec2-base-960h shape, for benchmarks.

Usage (from the repository root):

    python3 -m pip install -r scripts/requirements/benchmark.txt
    python3 scripts/bench/make-benchmark-model.py            # skips what is already there
    python3 scripts/bench/make-benchmark-model.py --force    # rewrites everything

Writes Models/bench-wav2vec2-base-960h-random/ (git-ignored; nothing here is ever committed):

    config.json                 Wav2Vec2Config with the base-960h values (BASE_960H below)
    model.safetensors           Wav2Vec2ForCTC float32 weights, ~378 MB, transformers' default init, seeded
    vocab.json                  the base-960h character vocabulary (32 tokens)
    tokenizer_config.json       Wav2Vec2CTCTokenizer
    preprocessor_config.json    Wav2Vec2FeatureExtractor, do_normalize=True, 16 kHz
    processor_config.json       what transformers 5 writes for Wav2Vec2Processor
    model.onnx                  the same weights exported with torch.onnx.export (the dynamo exporter,
                                TorchScript if that fails), one file: input_values (batch, samples) float32
                                -> logits (batch, frames, 32), opset 18, dynamic batch and time axes.
                                Attention is exported as plain MatMul/Softmax ("eager"), so onnxruntime
                                holds all 12 (frames x frames) score matrices at once: fine up to a few
                                minutes of audio, out of memory at 10 minutes on a 24 GiB machine.
                                The export is checked against torch in onnxruntime on a 1.7 s input.

The weights are random, so transcripts are gibberish; the compute per second of audio is the real
model's, which is all a speed benchmark needs. The checkpoint is idempotent per step: a folder with
model.safetensors is reused for the ONNX export, and a folder with model.onnx is left alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from torchaudio_kaldi import stub_broken_torchaudio  # noqa: E402

stub_broken_torchaudio()  # before transformers is imported
from transformers import (  # noqa: E402
    Wav2Vec2Config,
    Wav2Vec2ForCTC,
)

from fixture_tools import save_pretrained  # noqa: E402
from wav2vec2_processor import SAMPLE_RATE, VOCAB, make_processor  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "Models" / "bench-wav2vec2-base-960h-random"
SEED = 960
ONNX_TRACE_SECONDS = 3.0  # length of the example input that the exporter traces; the time axis stays dynamic

BASE_960H = dict(
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    feat_extract_norm="group",
    feat_extract_activation="gelu",
    conv_dim=(512, 512, 512, 512, 512, 512, 512),
    conv_stride=(5, 2, 2, 2, 2, 2, 2),
    conv_kernel=(10, 3, 3, 3, 3, 2, 2),
    conv_bias=False,
    num_conv_pos_embeddings=128,
    num_conv_pos_embedding_groups=16,
    do_stable_layer_norm=False,
    layer_norm_eps=1e-5,
    vocab_size=len(VOCAB),
    pad_token_id=VOCAB["<pad>"],
    bos_token_id=VOCAB["<s>"],
    eos_token_id=VOCAB["</s>"],
    # Training-only settings, kept as base-960h has them.
    hidden_dropout=0.1,
    activation_dropout=0.1,
    attention_dropout=0.1,
    feat_proj_dropout=0.1,
    final_dropout=0.1,
    layerdrop=0.1,
    mask_time_prob=0.05,
    ctc_loss_reduction="sum",
)


def log(message: str) -> None:
    print(f"make-benchmark-model: {message}", file=sys.stderr, flush=True)




def write_checkpoint(out: Path) -> None:
    torch.manual_seed(SEED)
    model = Wav2Vec2ForCTC(Wav2Vec2Config(architectures=["Wav2Vec2ForCTC"], **BASE_960H)).eval()
    parameters = sum(p.numel() for p in model.parameters())
    log(f"{parameters / 1e6:.1f} M parameters")
    with tempfile.TemporaryDirectory() as work:
        save_pretrained(model, make_processor(Path(work)), out)


class LogitsOnly(torch.nn.Module):
    """Wav2Vec2ForCTC returning a plain tensor, which every exporter handles."""

    def __init__(self, model: Wav2Vec2ForCTC) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_values: torch.Tensor) -> torch.Tensor:
        return self.model(input_values).logits


def export_onnx(out: Path, opset: int) -> None:
    # Eager attention traces to plain MatMul/Softmax, which every ONNX runtime reads.
    model = Wav2Vec2ForCTC.from_pretrained(out, attn_implementation="eager").eval()
    wrapper = LogitsOnly(model).eval()
    example = torch.from_numpy(np.random.default_rng(SEED).standard_normal((1, int(ONNX_TRACE_SECONDS * SAMPLE_RATE)), dtype=np.float32))  # fmt: skip
    target = out / "model.onnx"
    attempts = [("dynamo", True), ("TorchScript", False)]
    errors = []
    for name, dynamo in attempts:
        started = time.perf_counter()
        try:
            with torch.no_grad():
                if dynamo:
                    batch, samples = torch.export.Dim("batch"), torch.export.Dim("samples", min=400)
                    torch.onnx.export(
                        wrapper, (example,), str(target), dynamo=True, opset_version=opset,
                        input_names=["input_values"], output_names=["logits"],
                        dynamic_shapes={"input_values": {0: batch, 1: samples}}, external_data=False,
                    )  # fmt: skip
                else:
                    torch.onnx.export(
                        wrapper, (example,), str(target), dynamo=False, opset_version=opset,
                        input_names=["input_values"], output_names=["logits"],
                        dynamic_axes={"input_values": {0: "batch", 1: "samples"}, "logits": {0: "batch", 1: "frames"}},
                    )  # fmt: skip
            check_onnx(target, wrapper)
            log(f"ONNX export with the {name} exporter (opset {opset}) took {time.perf_counter() - started:.0f} s")
            return
        except Exception as error:  # noqa: BLE001 - try the next exporter, report all at the end
            errors.append(f"{name}: {type(error).__name__}: {str(error)[:500]}")
            log(f"the {name} exporter failed: {errors[-1]}")
            for stale in (target, out / "model.onnx.data"):
                stale.unlink(missing_ok=True)
    raise SystemExit("ONNX export failed:\n" + "\n".join(errors))


def check_onnx(path: Path, reference: torch.nn.Module) -> None:
    """The export must run in onnxruntime at a length other than the traced one and match torch."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(SEED + 1).standard_normal((1, int(1.7 * SAMPLE_RATE)), dtype=np.float32)
    (got,) = session.run(["logits"], {"input_values": x})
    with torch.no_grad():
        want = reference(torch.from_numpy(x)).numpy()
    if got.shape != want.shape:
        raise RuntimeError(f"onnxruntime gives {got.shape}, torch {want.shape}")
    diff = float(np.abs(got - want).max())
    if diff > 1e-3:
        raise RuntimeError(f"onnxruntime and torch logits differ by {diff}")
    log(f"onnxruntime matches torch at {x.shape[1]} samples: max |diff| {diff:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="model directory (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="rewrite the folder even when it is complete")
    parser.add_argument("--skip-onnx", action="store_true", help="write only the transformers checkpoint")
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset (default: %(default)s; the dynamo exporter cannot down-convert this model to 17)")
    args = parser.parse_args()

    out: Path = args.out
    checkpoint_files = ["config.json", "model.safetensors", "vocab.json", "tokenizer_config.json", "preprocessor_config.json"]  # fmt: skip
    if args.force or not all((out / name).is_file() for name in checkpoint_files):
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.onnx").unlink(missing_ok=True)
        (out / "model.onnx.data").unlink(missing_ok=True)
        log(f"writing {out}")
        write_checkpoint(out)
    else:
        log(f"{out} has a checkpoint; reusing it")
    if args.skip_onnx:
        return
    if (out / "model.onnx").is_file():
        log("model.onnx present; skipping the export")
        return
    export_onnx(out, args.opset)


if __name__ == "__main__":
    main()
