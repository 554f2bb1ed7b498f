#!/usr/bin/env bash
# Side-by-side training benchmark: this tool's `gpt bench` and Scripts/torch_reference.py, alternately,
# several rounds, then the median ms/step of each and the median ratio (PyTorch time / Swift time) per preset.
#
# With SAMPLE=1 it also compares sampling tokens/s (KV-cached here, in each precision; the reference recomputes the
# context).
# With TRAIN_PRECISION=fp32,bf16 each side also trains in bf16: `gpt bench --precision bf16` (AMX or
# AVX512-BF16; fp32 where the CPU has neither, shown as kernel=fp32) and the reference under `--autocast bf16`; each
# Swift row is then put against both PyTorch rows.
#
# Usage: Scripts/bench-vs-pytorch.sh [ROUNDS] [PRESETS]     e.g. Scripts/bench-vs-pytorch.sh 5 tiny,baby
# Needs: a Python with torch (PYTHON=/tmp/torchref/bin/python by default; Scripts/setup-pytorch.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
presets=${2:-tiny,baby}
precisions=${TRAIN_PRECISION:-fp32}
python=${PYTHON:-/tmp/torchref/bin/python}
reference=${REFERENCE:-Scripts/torch_reference.py}
data=Sources/LanguageModels/Resources/tinyshakespeare.txt
swift build -c release --product gpt >/dev/null
log=$(mktemp)
for round in $(seq "$rounds"); do
  for preset in ${presets//,/ }; do
    steps=20; warmup=3; [ "$preset" = lecture ] && steps=2 && warmup=1
    sample=1; swift_sample=(); [ "${SAMPLE:-0}" = 1 ] && sample=200 && swift_sample=(--sample --sample-tokens 200)
    .build/release/gpt bench --presets "$preset" --steps "$steps" --warmup "$warmup" "${swift_sample[@]}" \
      --precision "$precisions" | grep '^swift' | sed "s/^/round=$round /" >>"$log"
    for precision in ${precisions//,/ }; do
      autocast=none; [ "$precision" = bf16 ] && autocast=bf16
      "$python" "$reference" --config "$preset" --data "$data" --steps "$steps" --warmup "$warmup" --sample "$sample" \
        --threads 2 --autocast "$autocast" | grep -E 'ms_per_step|sample_tok' | sed "s/^/round=$round /" >>"$log"
      sample=1
    done
  done
done
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%Y-%m-%d)"
.build/release/gpt info | grep -E '^(matrix backend|vector instructions|bfloat16)' || true
python3 - "$log" <<'PY'
import re, statistics, sys
rows, samples = {}, {}
for line in open(sys.argv[1]):
    m = re.search(r"round=(\d+) (swift|torch) config=(\w+) (?:precision=(\w+) kernel=([\w-]+) |autocast=(\w+) )?.*ms_per_step=([\d.]+)", line)
    if m:
        if m.group(2) == "swift":
            side = f"swift {m.group(4) or 'fp32'} ({m.group(5) or 'fp32'})"
        else:
            side = "torch " + ("bf16 autocast" if m.group(6) == "bf16" else "fp32")
        rows.setdefault(m.group(3), {}).setdefault(side, {})[m.group(1)] = float(m.group(7))
    m = re.search(r"round=(\d+) (swift|torch) config=(\w+) (?:precision=(\w+) )?sample_tok_per_s=([\d.]+)", line)
    if m:
        side = m.group(2) + (" " + m.group(4) if m.group(4) else "")
        samples.setdefault(m.group(3), {}).setdefault(side, {})[m.group(1)] = float(m.group(5))
print(f"{'preset':8} {'side':28} {'ms/step':>10}   median ratio (PyTorch time / this time)")
for preset, sides in rows.items():
    torch_sides = {name: times for name, times in sides.items() if name.startswith("torch")}
    for side, times in sides.items():
        ratios = []
        if side.startswith("swift"):
            for name, t in torch_sides.items():
                r = [t[k] / times[k] for k in times if k in t]
                if r:
                    ratios.append(f"{statistics.median(r):.2f}x vs {name}")
        print(f"{preset:8} {side:28} {statistics.median(times.values()):10.1f}   {', '.join(ratios)}")
for preset, sides in samples.items():
    t = sides.get("torch", {})
    for side, s in sides.items():
        ratios = [s[r] / t[r] for r in s if r in t]
        if side != "torch" and ratios:
            print(f"sampling {preset}: {side} {statistics.median(s.values()):.1f} tok/s (KV cache), "
                  f"torch {statistics.median(t.values()):.1f} tok/s, median ratio {statistics.median(ratios):.1f}x")
PY
rm -f "$log"
