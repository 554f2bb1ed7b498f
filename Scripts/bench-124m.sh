#!/usr/bin/env bash
# GPT-2 124M here and in transformers, side by side: import time, load time, and KV-cached sampling speed with
# fp32 and bf16 weights. The model is a random stand-in made by Scripts/make_gpt2_124m.py (GPT-2 small's shape and
# a 50,257-token byte-level BPE); the real one loads the same way. Not part of the tests or CI.
#
# Usage: Scripts/bench-124m.sh [PYTHON] [TOKENS]
#   PYTHON: a Python with torch and transformers (default /tmp/torchref/bin/python; Scripts/setup-pytorch.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${1:-/tmp/torchref/bin/python}
tokens=${2:-200}
work=${WORK:-/tmp/gpt-124m}
mkdir -p "$work"
swift build -c release --product gpt >/dev/null
gpt=.build/release/gpt
$gpt info | sed -n '1,3p'
if [ ! -f "$work/hf/model.safetensors" ]; then
  "$python" Scripts/make_gpt2_124m.py "$work/hf" Sources/LanguageModels/Resources/tinyshakespeare.txt \
    $(find "$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')" -name '*.py' | sort | head -2000) | tail -1
fi
rm -rf "$work/run"
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
echo "gpt import: $(seconds $gpt import --weights "$work/hf" --out "$work/run") s"
for precision in float32 bfloat16; do
  load=$(seconds $gpt sample --checkpoint "$work/run" --max-new-tokens 1 --precision "$precision")
  best=0
  for round in 1 2 3; do
    total=$(seconds $gpt sample --checkpoint "$work/run" --max-new-tokens $((tokens + 1)) --precision "$precision" --seed "$round")
    rate=$(echo "$tokens / ($total - $load)" | bc -l)
    best=$(echo "if ($rate > $best) $rate else $best" | bc -l)
  done
  printf "gpt load + 1 token (%s): %.2f s; sampling: %.1f tokens/s (%d tokens, KV cache, best of 3)\n" \
    "$precision" "$load" "$best" "$tokens"
done
"$python" Scripts/hf_sample_speed.py "$work/hf" "$tokens"
