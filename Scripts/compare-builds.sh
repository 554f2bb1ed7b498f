#!/usr/bin/env bash
# Puts two builds of gpt side by side on the same machine: training step time (gpt bench, each preset) and KV-cached
# decoding speed (--sample), alternating the builds round by round (this machine is noisy), then the median of each
# figure and the ratio new/old. For checking that a refactor keeps the speed (issue 29: steps within 3%, decoding
# within 5%).
#
# Usage: Scripts/compare-builds.sh OLD_GPT NEW_GPT [ROUNDS] [PRESETS]     (default 3 rounds, tiny,baby)
# Build the old one from a worktree of the old commit: git worktree add /tmp/old REV && (cd /tmp/old &&
# swift build -c release --product gpt); OLD_GPT=/tmp/old/.build/release/gpt.
set -euo pipefail
old=$1 new=$2 rounds=${3:-3} presets=${4:-tiny,baby}
out=$(mktemp -d)
for round in $(seq "$rounds"); do
  for which in old new; do
    gpt=${!which}
    "$gpt" bench --presets "$presets" --steps 20 --warmup 3 --sample --sample-tokens 200 2>/dev/null \
      | grep -E "^swift" | sed "s/^/$which /" >>"$out/lines"
  done
  echo "round $round of $rounds done" >&2
done
python3 - "$out/lines" <<'PY'
import re, statistics, sys
figures = {}
for line in open(sys.argv[1]):
    which, rest = line.split(" ", 1)
    config = re.search(r"config=(\S+)", rest).group(1)
    for key in ("ms_per_step", "sample_tok_per_s", "tok_per_s_sampling", "decode_tok_per_s"):
        m = re.search(key + r"=([0-9.]+)", rest)
        if m:
            figures.setdefault((config, key), {}).setdefault(which, []).append(float(m.group(1)))
for (config, key), by in sorted(figures.items()):
    if "old" in by and "new" in by:
        o, n = statistics.median(by["old"]), statistics.median(by["new"])
        print(f"{config:8s} {key:20s} old {o:9.2f}  new {n:9.2f}  new/old {n / o:.3f}  (rounds {len(by['new'])})")
PY
