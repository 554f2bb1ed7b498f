#!/usr/bin/env bash
# The CPU speedrun: wall time to a validation loss on tiny shakespeare, the default `gpt train` (baby) against
# `gpt train --preset modern`, one after the other on the same machine, for several seeds; prints each run, the
# medians and their ratio. Not part of the tests or CI (about 2 minutes a run on 2 cores).
#
# Usage: Scripts/speedrun.sh [TARGET] [SEEDS]      (default: 1.78 "1337 1 2")
#   EXTRA_MODERN="--muon-learning-rate 0.05" adds flags to the modern runs (the tuning in docs/speedrun.md).
#        Scripts/speedrun.sh lecture [SEEDS]       (default: "1337 1")
#   The lecture's target (issue 27): `gpt train --preset speedrun` for each seed, then `gpt eval` of the saved model
#   over the whole validation split; prints the wall time of both together (from the start of the training command)
#   and the loss, then the medians. EXTRA="..." adds flags to the training runs. About 45-60 minutes a seed.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-1.78}
work=${WORK:-/tmp/gpt-speedrun}
mkdir -p "$work"
swift build -c release --product gpt >/dev/null
gpt=.build/release/gpt
$gpt info | sed -n '1,3p'
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
if [ "$target" = lecture ]; then
  walls="" losses=""
  for seed in ${2:-"1337 1"}; do
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    $gpt train --preset speedrun --seed "$seed" --out "$work/speedrun-$seed" --overwrite --sample-length 0 \
      ${EXTRA:-} > "$work/speedrun-$seed.log" 2>&1
    loss=$($gpt eval --checkpoint "$work/speedrun-$seed" | sed -n 's/^loss \([0-9.]*\) nats.*/\1/p')
    wall=$(awk -v end="$(date +%s.%N)" -v start="$start" 'BEGIN { printf "%.1f", end - start }')
    echo "speedrun seed $seed: whole validation split loss $loss, $wall s wall (training and evaluation)"
    walls+="$wall " losses+="$loss "
  done
  echo "median: loss $(median "$losses"), $(median "$walls") s wall (target 1.48 within 3600 s)"
  exit 0
fi
seeds=${2:-"1337 1 2"}
# The wall time to the target; for a run that never reached it, its whole run (a lower bound, marked with >=).
seconds() {
  local reached; reached=$(sed -n 's/^reached val loss .* at step \([0-9]*\): \([0-9.]*\) s wall.*/\2/p' "$1")
  if [ -n "$reached" ]; then echo "$reached"; else sed -n 's/^trained in \([0-9.]*\) s.*/\1/p' "$1"; fi
}
declare -A times
for seed in $seeds; do
  for preset in baby modern; do
    extra=""; [ "$preset" = modern ] && extra=${EXTRA_MODERN:-}
    log="$work/$preset-$seed.log"
    # shellcheck disable=SC2086
    $gpt train --preset "$preset" --seed "$seed" --target-val-loss "$target" --out "$work/$preset-$seed" --overwrite \
      --sample-length 0 $extra > "$log" 2>&1
    line=$(grep -E "^reached val loss|^did not reach" "$log" || true)
    echo "$preset seed $seed: ${line:-no result (see $log)}; $(grep '^trained in' "$log" | cut -d';' -f1)"
    times[$preset]+="$(seconds "$log") "
  done
done
baby=$(median "${times[baby]:-}"); modern=$(median "${times[modern]:-}")
echo "median wall time to val loss $target: baby $baby s, modern $modern s (a run that never reached it counts its whole time: a lower bound)"
awk -v b="$baby" -v m="$modern" 'BEGIN { if (b > 0 && m > 0) printf "modern / baby: %.2f\n", m / b }'
