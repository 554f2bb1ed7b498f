#!/usr/bin/env bash
# Models trained here run in llama.cpp: a character model and a byte-level BPE model are trained (baby, nanoGPT's
# layout, GELU in GPT-2's tanh form, which llama.cpp's gpt2 computes), exported with `gpt export --format gguf`
# (f32, then f16 and bf16), and decoded greedily by llama.cpp through llama-cpp-python; the f32 text must equal
# `gpt sample --temperature 0` over 200 tokens. Then the rotary families: the transformers fixtures of qwen2 and qwen3
# and llama.cpp's converter's llama file are imported (`gpt import`), exported as f32 and q8_0 GGUF and checked the
# same way. Not part of the tests or CI.
#
# Usage: Scripts/llama-cpp-check.sh [VENV]
#   VENV: a virtual environment with llama-cpp-python, numpy, gguf and tokenizers (default /tmp/llamaref; made here if missing:
#         pip builds llama.cpp from source, about 5 minutes on 2 cores)
#   ITERS=N (default 2000) trains shorter models; CHAR_RUN=DIR / BPE_RUN=DIR check runs you already have.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-/tmp/llamaref}
work=${WORK:-/tmp/gpt-llama-cpp-check}
iters=${ITERS:-2000}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import llama_cpp, gguf, numpy, tokenizers' 2>/dev/null; then
  echo "== setting up $venv (llama-cpp-python builds llama.cpp from source)"
  python3 -m venv "$venv"
  CMAKE_ARGS="-DGGML_NATIVE=ON -DLLAMA_CURL=OFF" "$venv/bin/pip" install --quiet llama-cpp-python numpy gguf tokenizers
fi
"$venv/bin/python" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__)'
mkdir -p "$work"
gpt=${GPT:-.build/release/gpt}  # GPT=path skips the release build
[ -n "${GPT:-}" ] || swift build -c release --product gpt >/dev/null

train() {  # name, extra flags
  local run="$work/$1"
  echo "== training $1 ($iters iterations): gpt train --preset baby --layout nanogpt --activation gelu_tanh ${*:2}"
  $gpt train --preset baby --layout nanogpt --activation gelu_tanh --max-iters "$iters" --out "$run" --overwrite "${@:2}" \
    | grep -E "^step .*val|^final" || true
}
char=${CHAR_RUN:-}
bpe=${BPE_RUN:-}
if [ -z "$char" ]; then train char; char="$work/char"; fi
if [ -z "$bpe" ]; then train bpe --tokenizer bpe --vocab-size 512; bpe="$work/bpe"; fi

status=0
for pair in "char:$char" "bpe:$bpe"; do
  name=${pair%%:*}; run=${pair#*:}
  for type in f32 f16 bf16; do
    file="$work/$name-$type.gguf"
    $gpt export --checkpoint "$run" --format gguf --gguf-type "$type" --out "$file"
    echo "== $name, $type weights: llama.cpp greedy vs gpt sample --temperature 0, 200 tokens"
    if "$venv/bin/python" Scripts/llama_cpp_check.py --gguf "$file" --checkpoint "$run" --gpt "$gpt" 2>/dev/null; then :
    elif [ "$type" = f32 ]; then status=1  # f16/bf16 round the weights (and ggml the activations): reported, not required
    fi
  done
done
fixtures=Tests/LanguageModelsTests/Fixtures
for pair in "qwen2:$fixtures/hf_families/qwen2" "qwen3:$fixtures/hf_families/qwen3" "llama:$fixtures/gguf_families/llama.gguf"; do
  name=${pair%%:*}; source=${pair#*:}
  run="$work/family-$name"
  $gpt import "$source" --out "$run" >/dev/null
  for type in f32 q8_0; do
    file="$work/$name-$type.gguf"
    $gpt export --checkpoint "$run" --format gguf --gguf-type "$type" --out "$file"
    echo "== $name, $type weights: llama.cpp greedy vs gpt sample --temperature 0, 200 tokens"
    if "$venv/bin/python" Scripts/llama_cpp_check.py --gguf "$file" --checkpoint "$run" --gpt "$gpt" --prompt "${PROMPT:-Hello}" 2>/dev/null; then :
    elif [ "$type" = f32 ]; then status=1
    fi
  done
done
exit $status
