#!/usr/bin/env bash
# The way to train beyond one machine, end to end with the real nanoGPT: data prepared here -> nanoGPT trained
# with torchrun --nproc_per_node=2 (DDP over gloo, on the CPU) -> `gpt import` of its ckpt.pt without Python ->
# greedy text here identical to nanoGPT's -> `gpt train --init-from` fine-tunes it here. Also: a model trained here
# with --layout nanogpt, exported, loads into nanoGPT's GPT (GPTConfig(**json), strict load_state_dict) and
# generates the same greedy text. Not part of the tests or CI.
#
# Usage: Scripts/nanogpt-roundtrip.sh /path/to/nanoGPT [PYTHON]
#   PYTHON: a Python with torch and safetensors (default /tmp/torchref/bin/python; Scripts/setup-pytorch.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
nanogpt=$(cd "$1" && pwd)
python=${2:-/tmp/torchref/bin/python}
torchrun=$(dirname "$python")/torchrun
work=${WORK:-/tmp/gpt-nanogpt-roundtrip}
iters=${ITERS:-300}
rm -rf "$work" && mkdir -p "$work"
swift build -c release --product gpt >/dev/null
gpt=.build/release/gpt

echo "== 1. data prepared here, in nanoGPT's format (train.bin, val.bin, meta.pkl)"
$gpt prepare --out "$work/data" | tail -1

echo "== 2. nanoGPT trains on it: torchrun --nproc_per_node=2, DDP over gloo on the CPU ($iters iterations)"
start=$(date +%s)
OMP_NUM_THREADS=1 "$torchrun" --standalone --nproc_per_node=2 Scripts/nanogpt_peer.py train "$nanogpt" \
  config/train_shakespeare_char.py --dataset="$work/data" --out_dir="$work/nanogpt-out" --device=cpu --backend=gloo \
  --compile=False --dtype=float32 --n_layer=2 --n_head=4 --n_embd=128 --block_size=64 --batch_size=12 \
  --gradient_accumulation_steps=2 --max_iters="$iters" --lr_decay_iters="$iters" --eval_interval=100 --eval_iters=20 \
  --log_interval=50 --dropout=0.0 --always_save_checkpoint=True 2>&1 | grep -E "^step|number of parameters|tokens per iteration"
echo "nanoGPT trained in $(( $(date +%s) - start )) s"

echo "== 3. gpt import of its ckpt.pt (no Python), greedy text against nanoGPT's own"
$gpt import --weights "$work/nanogpt-out/ckpt.pt" --vocab "$work/data/meta.pkl" --out "$work/imported"
"$python" Scripts/nanogpt_peer.py greedy "$nanogpt" "$work/nanogpt-out/ckpt.pt" "$work/data/meta.pkl" 300 \
  | grep -v "^number of parameters" >"$work/nanogpt.txt"
$gpt sample --checkpoint "$work/imported" --temperature 0 --max-new-tokens 300 | head -c "$(wc -c <"$work/nanogpt.txt")" >"$work/swift.txt"
cmp "$work/nanogpt.txt" "$work/swift.txt" && echo "greedy text over 300 tokens: identical"

echo "== 4. gpt train --init-from: fine-tune the imported model here"
head -c 200000 Sources/LanguageModels/Resources/tinyshakespeare.txt | tail -c 100000 >"$work/other.txt"
$gpt train --init-from "$work/imported" --data "$work/other.txt" --max-iters 300 --eval-interval 100 --eval-iters 20 \
  --sample-length 0 --out "$work/finetuned" | grep -E "^step|fine-tuning"

echo "== 5. a model trained here with --layout nanogpt, exported, in nanoGPT's GPT"
$gpt train --preset tiny --layout nanogpt --max-iters 200 --eval-interval 100 --eval-iters 5 --sample-length 0 \
  --out "$work/here" | grep -E "^step"
$gpt export --checkpoint "$work/here" --format nanogpt --out "$work/exported/model.safetensors"
head -c 20000 Sources/LanguageModels/Resources/tinyshakespeare.txt >"$work/eval.txt"
"$python" Scripts/nanogpt_peer.py exported "$nanogpt" "$work/exported/model.safetensors" "$work/exported/model.json" \
  "$work/data/meta.pkl" 300 "$work/eval.txt" 2>"$work/exported-nanogpt-loss.txt" | grep -v "^number of parameters" \
  >"$work/exported-nanogpt.txt"
theirs=$(grep -o "loss [0-9.]*" "$work/exported-nanogpt-loss.txt" | cut -d" " -f2)
ours=$($gpt eval --checkpoint "$work/here" --data "$work/eval.txt" | grep -o "^loss [0-9.]*" | cut -d" " -f2)
echo "mean loss on 20,000 characters: nanoGPT $theirs, swift-gpt $ours"
python3 -c "import sys; d = abs($theirs - $ours); print(f'difference {d:.2e}'); sys.exit(d > 1e-5)"
$gpt sample --checkpoint "$work/here" --temperature 0 --max-new-tokens 300 | head -c "$(wc -c <"$work/exported-nanogpt.txt")" >"$work/exported-swift.txt"
cmp "$work/exported-nanogpt.txt" "$work/exported-swift.txt" && echo "exported model, greedy text over 300 tokens: identical"
