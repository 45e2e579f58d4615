#!/usr/bin/env python3
"""Convert a Hugging Face model directory's pytorch_model.bin into model.safetensors.

Usage:

    python3 scripts/convert-to-safetensors.py MODEL_DIR [--force]

Reads MODEL_DIR/pytorch_model.bin with torch.load(weights_only=True), so no pickled code runs, and
writes MODEL_DIR/model.safetensors: the same keys and dtypes, each tensor made contiguous and given its
own storage (safetensors refuses tensors that share memory). Nothing else in MODEL_DIR is touched.
An existing model.safetensors is kept unless --force is given. Needs torch and safetensors:

    python3 -m pip install torch safetensors
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
from pathlib import Path

SOURCE = "pytorch_model.bin"
TARGET = "model.safetensors"


def fail(message: str) -> None:
    print(f"convert-to-safetensors: {message}", file=sys.stderr)
    sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path, help=f"directory that holds {SOURCE}")
    parser.add_argument("--force", action="store_true", help=f"overwrite an existing {TARGET}")
    args = parser.parse_args()

    source, target = args.model_dir / SOURCE, args.model_dir / TARGET
    if not source.is_file():
        if (args.model_dir / f"{SOURCE}.index.json").is_file():
            fail(f"{args.model_dir} holds a sharded checkpoint ({SOURCE}.index.json); only a single {SOURCE} is supported")
        fail(f"{source} not found")
    if target.exists() and not args.force:
        fail(f"{target} already exists; pass --force to overwrite it")

    try:
        import torch
        from safetensors.torch import save_file
    except ImportError as error:
        fail(f"{error.name} is not installed; run: python3 -m pip install torch safetensors")

    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        fail(f"{source} is corrupt, or holds Python objects besides tensors (not loaded: weights_only=True)")
    except Exception as error:  # e.g. a truncated zip archive
        fail(f"cannot read {source}: {str(error).splitlines()[0]}")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state:
        fail(f"{source} does not hold a dictionary of tensors")
    not_tensors = [key for key, value in state.items() if not isinstance(value, torch.Tensor)]
    if not_tensors:
        fail(f"{source}: entries that are not tensors: {', '.join(map(str, not_tensors[:5]))}")

    # clone(): tied weights share storage in the .bin; safetensors wants each tensor on its own.
    tensors = {key: value.detach().contiguous().clone() for key, value in state.items()}
    # Write beside the target and rename, so an interrupted run never leaves half a file.
    handle, partial = tempfile.mkstemp(prefix=f".{TARGET}.", suffix=".partial", dir=args.model_dir)
    os.close(handle)
    try:
        save_file(tensors, partial, metadata={"format": "pt"})
        os.replace(partial, target)
    except Exception as error:
        Path(partial).unlink(missing_ok=True)
        fail(f"cannot write {target}: {error}")

    dtypes = sorted({str(t.dtype).removeprefix("torch.") for t in tensors.values()})
    parameters = sum(t.numel() for t in tensors.values())
    print(f"wrote {target}: {len(tensors)} tensors, {parameters:,} parameters, {'/'.join(dtypes)}")


if __name__ == "__main__":
    main()
