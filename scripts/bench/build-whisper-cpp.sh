#!/usr/bin/env bash
# whisper.cpp for benchmark-whisper.py's --whisper-cpp rows: its whisper-cli built from a source tree,
# and the project's Whisper models (Models/whisper-tiny.en, Models/whisper-base: the same weights
# as transcribe's) converted to whisper.cpp's format in float16, as whisper.cpp distributes them.
#
#   scripts/bench/build-whisper-cpp.sh SOURCE_DIR [OUT_DIR]     (default OUT_DIR: bench-out/whisper.cpp)
#   python3 scripts/bench/benchmark-whisper.py --whisper-cpp bench-out/whisper.cpp
#
# SOURCE_DIR is a whisper.cpp checkout or snapshot (github.com/ggerganov/whisper.cpp). Needs cmake, a
# C++ compiler, torch and transformers (scripts/requirements/fixtures.txt) for the conversion, and pip
# to fetch openai-whisper's source package, whose mel filter bank (whisper/assets/mel_filters.npz)
# the converter (SOURCE_DIR/models/convert-h5-to-ggml.py) writes into the model file. Writes only
# OUT_DIR: OUT_DIR/build (the build), OUT_DIR/bin/whisper-cli, OUT_DIR/models/ggml-{tiny.en,base}.bin.
set -euo pipefail

source_dir=${1:?usage: build-whisper-cpp.sh SOURCE_DIR [OUT_DIR]}
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
out=${2:-$repo/bench-out/whisper.cpp}
source_dir=$(cd "$source_dir" && pwd)
mkdir -p "$out/bin" "$out/models" "$out/openai-whisper"
out=$(cd "$out" && pwd)

cmake -S "$source_dir" -B "$out/build" -DCMAKE_BUILD_TYPE=Release -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=ON
cmake --build "$out/build" -j "$(nproc)" --target whisper-cli
cp "$out/build/bin/whisper-cli" "$out/bin/whisper-cli"

if [ ! -f "$out/openai-whisper/whisper/assets/mel_filters.npz" ]; then
    python3 -m pip download --no-deps --no-binary :all: openai-whisper -d "$out/openai-whisper/download"
    tar -xzf "$out"/openai-whisper/download/openai_whisper-*.tar.gz -C "$out/openai-whisper" --strip-components=1
fi

for model in tiny.en base; do
    [ -f "$repo/Models/whisper-$model/config.json" ] || { echo "skipping $model: run scripts/install-whisper.sh $model" >&2; continue; }
    work=$(mktemp -d)
    # The converter imports transformers, which imports an installed torchaudio; the stub keeps a
    # torchaudio built for another CUDA from stopping it (scripts/lib/torchaudio_kaldi.py).
    python3 - "$source_dir/models/convert-h5-to-ggml.py" "$repo/Models/whisper-$model" "$out/openai-whisper" "$work" <<'EOF'
import runpy, sys
from pathlib import Path
sys.path.insert(0, str(Path.cwd() / "scripts" / "lib"))
from torchaudio_kaldi import stub_broken_torchaudio
stub_broken_torchaudio()
script, *arguments = sys.argv[1:]
sys.argv = [script, *arguments]
runpy.run_path(script, run_name="__main__")
EOF
    mv "$work/ggml-model.bin" "$out/models/ggml-$model.bin"
    rmdir "$work"
done
ls -l "$out/bin/whisper-cli" "$out"/models/
