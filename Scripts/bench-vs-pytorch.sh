#!/usr/bin/env bash
# Side-by-side training benchmark: this tool's `gpt bench` and ../shared/bench/torch_reference.py, alternately,
# several rounds, then the median ms/step of each and the median ratio (PyTorch time / Swift time) per preset.
#
# Usage: Scripts/bench-vs-pytorch.sh [ROUNDS] [PRESETS]     e.g. Scripts/bench-vs-pytorch.sh 5 tiny,baby
# Needs: a Python with torch (PYTHON=/tmp/torchref/bin/python by default; see ../shared/bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
presets=${2:-tiny,baby}
python=${PYTHON:-/tmp/torchref/bin/python}
reference=${REFERENCE:-../shared/bench/torch_reference.py}
data=Sources/LanguageModels/Resources/tinyshakespeare.txt
swift build -c release --product gpt >/dev/null
log=$(mktemp)
for round in $(seq "$rounds"); do
  for preset in ${presets//,/ }; do
    steps=20; [ "$preset" = lecture ] && steps=3
    .build/release/gpt bench --presets "$preset" --steps "$steps" | grep '^swift' | sed "s/^/round=$round /" >>"$log"
    "$python" "$reference" --config "$preset" --data "$data" --steps "$steps" --sample 1 --threads 2 \
      | grep 'ms_per_step' | sed "s/^/round=$round /" >>"$log"
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d)"
python3 - "$log" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    m = re.search(r"round=(\d+) (swift|torch) config=(\w+) .*ms_per_step=([\d.]+)", line)
    if m:
        rows.setdefault(m.group(3), {}).setdefault(m.group(2), {})[m.group(1)] = float(m.group(4))
print(f"{'preset':8} {'swift ms/step':>14} {'torch ms/step':>14} {'median ratio':>13}")
for preset, sides in rows.items():
    s, t = sides.get("swift", {}), sides.get("torch", {})
    ratios = [t[r] / s[r] for r in s if r in t]
    if ratios:
        print(f"{preset:8} {statistics.median(s.values()):14.1f} {statistics.median(t.values()):14.1f} {statistics.median(ratios):12.2f}x")
PY
rm -f "$log"
