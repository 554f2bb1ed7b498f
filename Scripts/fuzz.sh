#!/usr/bin/env bash
# Fuzzes the readers of everything a user or an attacker can hand swift-gpt: safetensors files, config.json,
# tokenizer.json (char, word and byte-level BPE), trainer.json, a config.json with weights as a checkpoint loads
# them, nanoGPT's ckpt.pt (ZIP + restricted pickle) and meta.pkl, Hugging Face's config.json, vocab.json + merges.txt and
# shard index, and the server's request bodies (Fuzz/Sources/gpt-fuzz/main.swift). libFuzzer, coverage-guided, seeded with the files of a small
# trained run; a trap, a crash, a hang (-timeout) or an allocation past -rss_limit_mb is a finding, saved under
# $FUZZ_DIR/crashes. Not part of the tests or CI.
#
# Usage: Scripts/fuzz.sh [SECONDS] [READER]   (default 1800 s, every reader; FUZZ_DIR defaults to /tmp/gpt-fuzz)
# READER (a selector number of main.swift) fuzzes that reader alone, which is how its inputs are counted.
# Replay a finding: Fuzz/.build/release/gpt-fuzz /tmp/gpt-fuzz/crashes/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-1800}
reader=${2:-}
work=${FUZZ_DIR:-/tmp/gpt-fuzz}
mkdir -p "$work/corpus" "$work/crashes"
(cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer --product gpt-fuzz)
swift build -c release --product gpt
small=(--preset tiny --max-iters 20 --eval-interval 10 --eval-iters 1 --layers 1 --heads 1 --embedding-size 8
       --block-size 8 --batch-size 2 --sample-length 0 --overwrite)
head -c 20000 Sources/LanguageModels/Resources/tinyshakespeare.txt >"$work/corpus.txt"
.build/release/gpt train "${small[@]}" --data "$work/corpus.txt" --out "$work/char" >/dev/null
.build/release/gpt train "${small[@]}" --data "$work/corpus.txt" --tokenizer bpe --vocab-size 300 --out "$work/bpe" >/dev/null
.build/release/gpt train "${small[@]}" --data "$work/corpus.txt" --tokenizer word --out "$work/word" >/dev/null
seed() {  # seed SELECTOR NAME FILE...: the selector byte, then the files joined by NUL bytes
  local selector=$1 name=$2; shift 2
  { printf "\\$(printf %03o "$selector")"; cat "$1"; shift; for f in "$@"; do printf '\0'; cat "$f"; done; } \
    >"$work/corpus/seed-$name"
}
for run in char bpe word; do
  seed 0 "$run-weights" "$work/$run/model.safetensors"
  seed 1 "$run-config" "$work/$run/config.json"
  seed 2 "$run-tokenizer" "$work/$run/tokenizer.json"
  seed 3 "$run-trainer" "$work/$run/latest/trainer.json"
  seed 4 "$run-checkpoint" "$work/$run/config.json" "$work/$run/model.safetensors"
done
# nanoGPT's files, as torch.save and pickle write them (the committed fixtures of Scripts/make_nanogpt_fixtures.py).
for name in char padded compiled; do seed 5 "torch-$name" Tests/LanguageModelsTests/Fixtures/nanogpt_ckpt/$name.pt; done
seed 6 meta-pkl Tests/LanguageModelsTests/Fixtures/nanogpt_ckpt/meta.pkl
# Hugging Face's files: transformers' config.json (the committed fixtures of Scripts/make_hf_fixtures.py), GPT-2's
# vocab.json + merges.txt as the hf export writes them, and a model.safetensors.index.json of two shards.
for name in tied untied; do seed 7 "hf-config-$name" Tests/LanguageModelsTests/Fixtures/hf_gpt2/$name/config.json; done
.build/release/gpt train "${small[@]}" --data "$work/corpus.txt" --tokenizer bpe --vocab-size 300 --layout nanogpt --out "$work/hf-run" >/dev/null
.build/release/gpt export --checkpoint "$work/hf-run" --format hf --out "$work/hf" >/dev/null
seed 7 hf-config-exported "$work/hf/config.json"
seed 8 gpt2-vocab-merges "$work/hf/vocab.json" "$work/hf/merges.txt"
printf '%s' '{"metadata":{"total_size":4096},"weight_map":{"wte.weight":"model-00001-of-00002.safetensors",'\
'"h.0.attn.c_attn.weight":"model-00001-of-00002.safetensors","lm_head.weight":"model-00002-of-00002.safetensors"}}' >"$work/index.json"
seed 9 hf-index "$work/index.json"
# GGUF: llama.cpp's converter's files (the committed fixtures of Scripts/make_gguf_family_fixtures.py) and an export.
for name in qwen2 llama_q8_0; do seed 11 "gguf-$name" Tests/LanguageModelsTests/Fixtures/gguf_families/$name.gguf; done
.build/release/gpt export --checkpoint "$work/hf-run" --format gguf --out "$work/run.gguf" >/dev/null
seed 11 gguf-export "$work/run.gguf"
# The server's request bodies: a plain one, every field, a prompt list, and a streamed one.
bodies=('{"prompt":"ROMEO:","max_tokens":16}'
  '{"model":"gpt","prompt":"To be","max_tokens":8,"temperature":0.8,"top_k":40,"top_p":0.9,"seed":1,"n":2,"logprobs":3,"stop":["\\n"]}'
  '{"prompt":["a","b"],"max_tokens":4,"echo":true}' '{"prompt":"x","stream":true,"stop":"."}')
for i in "${!bodies[@]}"; do printf '%s' "${bodies[$i]}" >"$work/body$i.json"; seed 10 "completion-body-$i" "$work/body$i.json"; done
echo "fuzzing for $seconds s; log: $work/fuzz.log"
GPT_FUZZ_READER=$reader Fuzz/.build/release/gpt-fuzz "$work/corpus" -max_total_time="$seconds" -max_len=131072 -timeout=10 \
  -rss_limit_mb=4096 -artifact_prefix="$work/crashes/" -print_final_stats=1 >"$work/fuzz.log" 2>&1 || true
grep -E "^#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY" "$work/fuzz.log" || true
echo "findings: $(ls "$work/crashes" | wc -l) (in $work/crashes)"
