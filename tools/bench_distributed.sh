#!/usr/bin/env bash
# Data-parallel training throughput: `facekit train classifier` on UTKFace faces with 1 process
# (THREADS threads) and with 2 ranks on 127.0.0.1 (THREADS / 2 threads each), the same global batch,
# seed and steps, one after the other; prints images/s of each (wall time, start-up included).
#   bash tools/bench_distributed.sh [THREADS] [BATCH] [STEPS]   (defaults 2 32 40; after tools/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${1:-2}; batch=${2:-32}; steps=${3:-40}
export OMP_WAIT_POLICY=PASSIVE
utkface=$(realpath ../shared/data/utkface)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -n $((batch * steps)) "$utkface/splits/train.txt" > "$work/train.txt"
head -n 16 "$utkface/splits/val.txt" > "$work/val.txt"
run() {  # run NAME EXTRA...; a failed run ends the benchmark with its log
  local name=$1; shift
  # UTKFace's train split repeats 1.3 % of its photos (dropped by the trainer): allow that.
  build/tools/facekit train classifier --train "utkface:$utkface" --train-split "$work/train.txt" \
    --val "utkface:$utkface" --val-split "$work/val.txt" --run "$work/$name" --width-mult 0.25 --input-size 96 \
    --epochs 1 --batch "$batch" --loader-threads 1 --seed 1 --max-bad-fraction 0.05 "$@" > "$work/$name.log" 2>&1 ||
    { echo "bench_distributed: the $name run failed:" >&2; cat "$work/$name.log" >&2; return 1; }
}
seconds() { local start=$(date +%s.%N); "$@" || exit 1; echo "$(date +%s.%N) $start" | awk '{ print $1 - $2 }'; }
one=$(seconds run single --threads "$threads")
port=$((20000 + RANDOM % 20000))
two=$(seconds bash -c "
  $(declare -f run); work='$work'; utkface='$utkface'; batch=$batch
  run rank1 --threads $((threads / 2 > 0 ? threads / 2 : 1)) --dist-url tcp://127.0.0.1:$port --world-size 2 --rank 1 &
  rank1=\$!
  run rank0 --threads $((threads / 2 > 0 ? threads / 2 : 1)) --dist-url tcp://127.0.0.1:$port --world-size 2 --rank 0
  rank0_status=\$?
  wait \$rank1 && exit \$rank0_status")
images=$((batch * steps))
awk -v n="$images" -v a="$one" -v b="$two" -v t="$threads" 'BEGIN {
  printf "1 process, %d threads: %.1f s, %.2f img/s\n", t, a, n / a
  printf "2 ranks, %d thread(s) each: %.1f s, %.2f img/s (%.2fx)\n", (t / 2 > 0 ? t / 2 : 1), b, n / b, a / b }'
