#!/usr/bin/env bash
# Loads the playground in headless Chromium, lets it submit a prompt and stream the answer, and checks that
# generated text arrived in the page. Loopback only. Usage: Scripts/browser-check.sh [CHECKPOINT] [PORT]
# Needs: chromium (Debian: apt-get install chromium), a built gpt (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
checkpoint=${1:-runs/baby}
port=${2:-8097}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "browser check: chromium is not installed; skipped"; exit 0; }
.build/release/gpt serve --checkpoint "$checkpoint" --port "$port" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.2; done
dom=$(timeout 60 "$browser" --headless --no-sandbox --disable-gpu --virtual-time-budget=20000 --dump-dom \
  "http://127.0.0.1:$port/?prompt=ROMEO:&autorun=1" 2>/dev/null)
status=$(printf '%s' "$dom" | grep -o '<div id="status">[^<]*' | sed 's/.*>//')
tokens=$(printf '%s' "$dom" | grep -o 'class="token"' | wc -l)
echo "browser check: status \"$status\", $tokens token spans with probabilities"
[ "$tokens" -gt 0 ]
