#!/usr/bin/env bash
# Prefill and decoding tokens/s of `gpt` and llama.cpp side by side on the same GGUF, per weights type (issue 31):
# exports CHECKPOINT as GGUF f32, bf16 and q8_0 (`gpt export --format gguf --gguf-type T`), imports each back
# (`gpt import`), then runs Scripts/llama_cpp_speed.py on every pair (alternating rounds, medians, ratios; our
# precision fp32, bf16, q8 against the file's f32, bf16, Q8_0). llama.cpp is loaded by llama-cpp-python from the
# build folder given (LLAMA_CPP_LIB_PATH: the folder holding libllama.so); this script never builds it.
#
#   Scripts/bench-vs-llama-cpp.sh GPT CHECKPOINT LLAMA_LIB_DIR [PYTHON] [ROUNDS] [TYPES]
#   e.g. Scripts/bench-vs-llama-cpp.sh .build/release/gpt run /opt/llama.cpp/build/bin /tmp/torchref/bin/python 3
#
# PYTHON needs llama-cpp-python (default python3); ROUNDS defaults to 3, TYPES to "f32 bf16 q8_0". Both sides run on
# 2 threads, a 500-token prompt and 100 decoded tokens. State `uptime`'s load with the figures: on shared cores both
# sides swing widely (llama.cpp's spinning threads collapse under load).
set -euo pipefail
gpt=$1 checkpoint=$2 lib=$3 python=${4:-python3} rounds=${5:-3} types=${6:-"f32 bf16 q8_0"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$(cd "$(dirname "$0")" && pwd)
"$gpt" info | grep -i "cores\|vector\|8-bit\|bfloat16 products" || true
for type in $types; do
    case $type in f32) precision=fp32 ;; bf16) precision=bf16 ;; q8_0) precision=q8 ;;
        *) echo "unknown type $type (f32, bf16, q8_0)" >&2; exit 2 ;; esac
    "$gpt" export --checkpoint "$checkpoint" --format gguf --gguf-type "$type" --out "$work/model-$type.gguf" >/dev/null
    "$gpt" import "$work/model-$type.gguf" --out "$work/run-$type" >/dev/null
    echo "== $type (ours: --precision $precision), load: $(uptime | sed 's/.*load average: //')"
    LLAMA_CPP_LIB_PATH=$lib "$python" "$here/llama_cpp_speed.py" --gpt "$gpt" --checkpoint "$work/run-$type" \
        --gguf "$work/model-$type.gguf" --precision "$precision" --rounds "$rounds" --threads 2
done
