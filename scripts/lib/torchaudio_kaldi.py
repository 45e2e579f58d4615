"""torchaudio.compliance.kaldi, importable even where torchaudio itself is not. Needs torch.

ASTFeatureExtractor computes its filter bank with torchaudio.compliance.kaldi.fbank, and transformers
imports torchaudio whenever the package is installed. The torchaudio wheel on PyPI that fits this
project's torch (scripts/requirements/fixtures.txt: installed with --no-deps) was built for another
CUDA than torch's and refuses to import. Its compliance/kaldi.py is plain torch, so
`use_torchaudio_kaldi()`, called before transformers is imported, makes `torchaudio` a stub package
holding only that file; fbank needs nothing else from it.

Imported by fixtures/make-classification-fixtures.py, fixtures/train-event-fixtures.py and
bench/benchmark-classification.py; `stub_broken_torchaudio()` by the scripts that import transformers
for Wav2Vec2 (bench/make-benchmark-model.py, bench/benchmark.py's torch worker, bench/python-cold-start.py).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path

TORCHAUDIO_PIN = "torchaudio==2.11.0"


def use_torchaudio_kaldi() -> None:
    """Imports torchaudio, or puts in its place a stub whose compliance.kaldi is the installed file."""
    if importlib.util.find_spec("torchaudio") is None:
        raise SystemExit(
            "torchaudio is not installed; ASTFeatureExtractor's filter bank is its compliance/kaldi.py:\n"
            f"    python3 -m pip install --no-deps {TORCHAUDIO_PIN}"
        )
    stub_broken_torchaudio()


def stub_broken_torchaudio() -> None:
    """Where torchaudio is installed but does not import (the CUDA mismatch above), puts the stub in
    its place, so that transformers, which imports it whenever it is installed, imports; nothing where
    torchaudio is absent or imports.  For scripts that need no torchaudio at all (Wav2Vec2, Whisper)."""
    try:
        import torchaudio  # noqa: F401

        return
    except ImportError as error:
        if importlib.util.find_spec("torchaudio") is None:
            return
        reason = error
    except (RuntimeError, OSError) as error:
        reason = error
    print(f"torchaudio does not import ({str(reason).splitlines()[0]}); using a stub with its compliance/kaldi.py",
          file=sys.stderr)  # fmt: skip
    for name in [n for n in sys.modules if n == "torchaudio" or n.startswith("torchaudio.")]:
        del sys.modules[name]
    location = Path(next(iter(importlib.util.find_spec("torchaudio").submodule_search_locations)))
    stub, compliance = types.ModuleType("torchaudio"), types.ModuleType("torchaudio.compliance")
    for module in (stub, compliance):  # a package with a spec, as transformers' find_spec checks want
        module.__path__ = []
        module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None, is_package=True)
    stub.compliance = compliance
    sys.modules["torchaudio"], sys.modules["torchaudio.compliance"] = stub, compliance
    spec = importlib.util.spec_from_file_location("torchaudio.compliance.kaldi", location / "compliance" / "kaldi.py")
    kaldi = importlib.util.module_from_spec(spec)
    sys.modules["torchaudio.compliance.kaldi"] = kaldi
    spec.loader.exec_module(kaldi)
    compliance.kaldi = kaldi
