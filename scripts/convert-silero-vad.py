#!/usr/bin/env python3
"""Convert Silero VAD v6 from ONNX (the file faster-whisper ships) to a safetensors model directory.

Usage: python3 scripts/convert-silero-vad.py SRC.onnx DST

SRC is `faster_whisper/assets/silero_vad_v6.onnx` from the faster-whisper wheel (MIT, Silero Team);
scripts/install-vad.sh fetches it and calls this script. DST gets:

  model.safetensors  float32, PyTorch's names and layouts:
      encoder.feature_extractor.forward_basis_buffer  (258, 256)  the STFT's windowed basis: 129 real
                                                                  rows, then 129 imaginary rows
      encoder.conv_layers.{0,1,2,3}.weight / .bias    (out, in, 3) Conv1d, padding 1, strides 1, 2, 2, 1
      decoder.rnn.weight_ih / weight_hh               (512, 128)  LSTMCell, gates in PyTorch's order
      decoder.rnn.bias_ih / bias_hh                   (512,)      input, forget, cell, output (ONNX
                                                                  stores input, output, forget, cell)
      decoder.conv1d.weight / .bias                   (1, 128, 1) the 1x1 convolution before the sigmoid
  config.json        the shapes and the streaming constants the network was exported with.

The graph is checked op by op against the network the Swift engine implements
(Sources/TranscribeKit/Models/SileroVAD), so a different export is refused rather than misread.
Needs numpy and onnx (scripts/requirements/vad.txt).
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

EXPECTED_OPS = [
    "Pad", "Unsqueeze", "Conv", "Slice", "Slice", "Pow", "Pow", "Add", "Sqrt",
    "Conv", "Relu", "Conv", "Relu", "Conv", "Relu", "Conv", "Relu", "Transpose",
    "LSTM", "Squeeze", "Relu", "Transpose", "Conv", "Sigmoid", "Reshape",
]  # fmt: skip
CONV_STRIDES = [1, 2, 2, 1]
HIDDEN = 128


def fail(message: str) -> None:
    sys.exit(f"convert-silero-vad: {message}")


def attributes(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def pytorch_gates(onnx_gates: np.ndarray) -> np.ndarray:
    """ONNX LSTM rows are (input, output, forget, cell); PyTorch's are (input, forget, cell, output)."""
    i, o, f, c = np.split(onnx_gates, 4, axis=0)
    return np.concatenate([i, f, c, o], axis=0)


def read(src: Path) -> tuple[dict[str, np.ndarray], dict]:
    model = onnx.load(str(src))
    graph = model.graph
    ops = [node.op_type for node in graph.node]
    if ops != EXPECTED_OPS:
        fail(f"{src}: not the Silero VAD v6 graph this converter knows (ops {ops})")
    inputs = {i.name: [d.dim_value or d.dim_param for d in i.type.tensor_type.shape.dim] for i in graph.input}
    if inputs.get("input") != ["seq_len", 576] or inputs.get("h") != [1, 1, HIDDEN]:
        fail(f"{src}: unexpected inputs {inputs}")
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = graph.node
    if attributes(nodes[0]).get("mode") != b"reflect":
        fail("the input padding is not a reflection")
    stft = attributes(nodes[2])
    if stft["strides"] != [128] or stft["kernel_shape"] != [256]:
        fail(f"unexpected STFT convolution {stft}")
    convs = [n for n in nodes[9:17] if n.op_type == "Conv"]
    for node, stride in zip(convs, CONV_STRIDES):
        a = attributes(node)
        if a["strides"] != [stride] or a["pads"] != [1, 1] or a["kernel_shape"] != [3]:
            fail(f"unexpected encoder convolution {node.name}: {a}")
    lstm = nodes[18]
    if attributes(lstm).get("hidden_size") != HIDDEN:
        fail("unexpected LSTM hidden size")
    w, r, b = (init[name][0] for name in lstm.input[1:4])

    tensors = {
        "encoder.feature_extractor.forward_basis_buffer": init["encoder.feature_extractor.forward_basis_buffer"][:, 0, :],
    }
    for index in range(4):
        for part in ("weight", "bias"):
            name = f"encoder.conv_layers.{index}.{part}"
            tensors[name] = init[name]
    tensors["decoder.rnn.weight_ih"] = pytorch_gates(w)
    tensors["decoder.rnn.weight_hh"] = pytorch_gates(r)
    tensors["decoder.rnn.bias_ih"] = pytorch_gates(b[: 4 * HIDDEN])
    tensors["decoder.rnn.bias_hh"] = pytorch_gates(b[4 * HIDDEN :])
    tensors["decoder.conv1d.weight"] = init["decoder.conv1d.weight"]
    tensors["decoder.conv1d.bias"] = init["decoder.conv1d.bias"]
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}
    if tensors["encoder.feature_extractor.forward_basis_buffer"].shape != (258, 256):
        fail("unexpected STFT basis shape")

    config = {
        "architectures": ["SileroVAD"],
        "model_type": "silero_vad",
        "version": 6,
        "sampling_rate": 16000,
        "window_size_samples": 512,
        "context_size_samples": 64,
        "filter_length": 256,
        "hop_length": 128,
        "reflection_padding": 64,
        "conv_strides": CONV_STRIDES,
        "hidden_size": HIDDEN,
        "source": {"file": src.name, "sha256": hashlib.sha256(src.read_bytes()).hexdigest(), "license": "MIT"},
    }
    return tensors, config


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = tensors[name].tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)) + text)
        for blob in blobs:
            out.write(blob)


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: convert-silero-vad.py SRC.onnx DST")
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    tensors, config = read(src)
    dst.mkdir(parents=True, exist_ok=True)
    partial = dst / "model.safetensors.partial"
    write_safetensors(partial, tensors)
    partial.replace(dst / "model.safetensors")
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(f"convert-silero-vad: wrote {dst} ({sum(t.size for t in tensors.values())} parameters)", file=sys.stderr)


if __name__ == "__main__":
    main()
