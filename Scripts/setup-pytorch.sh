#!/usr/bin/env bash
# Sets up the PyTorch side of the benchmarks and parity scripts: a virtual environment with torch and numpy
# (and transformers, for the Hugging Face checks). Not part of the tests or CI.
#
# Usage: Scripts/setup-pytorch.sh [DIR]      (default DIR: /tmp/torchref, where the other scripts look)
# Then:  Scripts/bench-vs-pytorch.sh 3 tiny,baby
set -euo pipefail
dir=${1:-/tmp/torchref}
python3 -m venv "$dir"
"$dir/bin/pip" install --quiet --upgrade pip
"$dir/bin/pip" install --quiet torch numpy transformers safetensors
"$dir/bin/python" -c 'import torch; print("torch", torch.__version__, "ready in '"$dir"'")'
