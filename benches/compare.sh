#!/usr/bin/env bash
# Runs the lesson workloads in ember and in PyTorch (CPU, 2 threads) side by side in one go and
# prints the ratio of times for each workload (> 1 means ember is faster).
#
#   benches/compare.sh [workload...]        workloads: tiny matmul meanshift kmeans mnist seq2seq load
#
# Needs a Python with torch and numpy: PYTHON=/path/to/venv/bin/python (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
cargo build --release --quiet
work=$(mktemp -d)
./target/release/ember run benches/lessons.rhai "$@" | tee "$work/ember.tsv"
"$py" ../shared/bench/pytorch_lessons.py "$@" | sed -e 's/^meanshift_torch_batched/meanshift_batched/' | tee "$work/torch.tsv"
echo
printf '%-26s %12s %12s %10s\n' workload ember_s pytorch_s speedup
awk -F'\t' 'NR==FNR { e[$1]=$2; next } ($1 in e) { printf "%-26s %12.4f %12.4f %9.2fx\n", $1, e[$1], $2, $2/e[$1] }' "$work/ember.tsv" "$work/torch.tsv"
rm -rf "$work"
