#!/usr/bin/env bash
# Serving side by side: `gpt serve` and llama.cpp's `llama-server` on the same GGUF (imported here for ours), the same
# slots and threads, each measured by Scripts/bench-serve.py's concurrency sweep, alternating rounds. Prints each
# round's table, the resident memory of each server before and after its sweep (and the most it reached), and a
# summary line per round. Not part of the tests or CI; llama-server is the user's own build (its path an argument).
#
# Usage: Scripts/serve-vs-llama-server.sh LLAMA_SERVER MODEL.gguf [CLIENTS] [ROUNDS]
#   (default CLIENTS "1,8", ROUNDS 2; SLOTS=8 THREADS=2 MAX_TOKENS=128 REQUESTS=3 PRECISION=fp32 KV_CACHE=fp32
#   GPT=.build/release/gpt)
# PRECISION is ours for the GGUF's type: fp32 for f32, bf16 for bf16, q8 for q8_0. KV_CACHE (fp32 or fp16) is both
# servers' KV cache type (llama-server's -ctk/-ctv f32 or f16; f16 is its default).
set -euo pipefail
cd "$(dirname "$0")/.."
llama_server=${1:?usage: Scripts/serve-vs-llama-server.sh LLAMA_SERVER MODEL.gguf [CLIENTS] [ROUNDS]}
gguf=${2:?usage: Scripts/serve-vs-llama-server.sh LLAMA_SERVER MODEL.gguf [CLIENTS] [ROUNDS]}
clients=${3:-1,8}
rounds=${4:-2}
slots=${SLOTS:-8}; threads=${THREADS:-2}; max_tokens=${MAX_TOKENS:-128}; requests=${REQUESTS:-3}
precision=${PRECISION:-fp32}
kv_cache=${KV_CACHE:-fp32}
case $kv_cache in fp32) llama_kv=f32 ;; fp16) llama_kv=f16 ;; *) echo "KV_CACHE: fp32 or fp16" >&2; exit 2 ;; esac
gpt=${GPT:-.build/release/gpt}
python=${PYTHON:-python3}
work=$(mktemp -d /tmp/serve-vs-llama.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port=${PORT:-8093}

"$gpt" info | sed -n '1,3p'
"$gpt" import "$gguf" --out "$work/model" >/dev/null
context=$(sed -n 's/.*"block_size" *: *\([0-9]*\).*/\1/p' "$work/model/config.json")

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Starts a server, waits for /health, runs the sweep, samples the server's memory every second; prints the table.
measure() {
  local name=$1; shift
  "$@" > "$work/$name.server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do
    if curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1; then break; fi
    sleep 0.2
  done
  local before; before=$(rss_kb $pid)
  : > "$work/$name.rss"
  (while kill -0 $pid 2>/dev/null; do rss_kb $pid >> "$work/$name.rss"; sleep 1; done) &
  local sampler=$!
  echo "== $name"
  "$python" Scripts/bench-serve.py --port "$port" --clients "$clients" --requests "$requests" \
    --max-tokens "$max_tokens" --json "$work/$name.json" || echo "($name: some answers were not 200)"
  local after; after=$(rss_kb $pid)
  kill $sampler 2>/dev/null || true
  local peak; peak=$(sort -n "$work/$name.rss" | tail -1)
  echo "$name memory: $((before / 1024)) MiB after start, $((after / 1024)) MiB after the sweep, peak $((${peak:-0} / 1024)) MiB"
  kill $pid; wait $pid 2>/dev/null || true
}

for round in $(seq 1 "$rounds"); do
  measure "gpt-$round" "$gpt" serve --checkpoint "$work/model" --port "$port" --parallel "$slots" \
    --queue 64 --precision "$precision" --kv-cache "$kv_cache"
  measure "llama-$round" "$llama_server" -m "$gguf" --port "$port" -np "$slots" -t "$threads" -tb "$threads" \
    -c $((slots * context)) -ctk "$llama_kv" -ctv "$llama_kv" --metrics
done

"$python" - "$work" "$rounds" <<'EOF'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def levels(name):
    return [json.load(open(f"{work}/{name}-{r}.json")) for r in range(1, rounds + 1)]
ours, peer = levels("gpt"), levels("llama")
print("| clients | gpt serve tokens/s (median) | llama-server tokens/s (median) | ratio |")
print("|---|---|---|---|")
for i, level in enumerate(ours[0]):
    a = statistics.median(run[i]["output_tokens_per_s"] for run in ours)
    b = statistics.median(run[i]["output_tokens_per_s"] for run in peer)
    print(f"| {level['clients']} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
EOF
