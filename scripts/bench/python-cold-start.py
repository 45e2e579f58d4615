#!/usr/bin/env python3
"""Transcribe one file the way the Hugging Face tutorials do; scripts/bench/benchmark.py times it as a fresh process.

    python3 scripts/bench/python-cold-start.py MODEL_DIR FILE.wav [--threads 2]

Everything a first-time user's script pays for is inside the process: importing torch and transformers,
Wav2Vec2Processor.from_pretrained + Wav2Vec2ForCTC.from_pretrained (float32, transformers' default
attention), reading the 16 kHz 16-bit WAV with the wave module, processor(...) (zero-mean unit-variance
normalisation), model(...).logits, argmax, processor.batch_decode, print.  The only departure from the
tutorials is torch.set_num_threads, so that it uses as many threads as transcribe is given.
"""

import argparse
import sys
import wave
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))
from torchaudio_kaldi import stub_broken_torchaudio  # noqa: E402

stub_broken_torchaudio()  # before transformers is imported
from transformers import Wav2Vec2ForCTC, Wav2Vec2Processor  # noqa: E402


def read_wav(path: str) -> tuple[np.ndarray, int]:
    with wave.open(path, "rb") as f:
        if f.getsampwidth() != 2:
            raise SystemExit(f"{path}: expected 16-bit PCM")
        pcm = np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").reshape(-1, f.getnchannels())
        return pcm.mean(axis=1).astype(np.float32) / 32768.0, f.getframerate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("audio")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    processor = Wav2Vec2Processor.from_pretrained(args.model_dir)
    model = Wav2Vec2ForCTC.from_pretrained(args.model_dir, dtype=torch.float32).eval()
    speech, rate = read_wav(args.audio)
    inputs = processor(speech, sampling_rate=rate, return_tensors="pt")
    with torch.inference_mode():
        logits = model(inputs.input_values).logits
    ids = torch.argmax(logits, dim=-1)
    print(processor.batch_decode(ids)[0])


if __name__ == "__main__":
    main()
