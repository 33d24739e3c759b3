#!/usr/bin/env bash
# Prepared on 2026-11-26 and never run on a GPU (the 2026-11-27 runs used 2026-11-27-resize-pair-h200.sh instead):
# the shipped recipe, from scratch, for TRAIN_S seconds, with a moving average of the generator (--ema-decay).
# A CPU dry run of it timed the shipped recipe at 4.6 s per step on 2 idle cores (docs/results.md).
# Budget: a lease of 15 min of device time, starts included, and one command at most 10 min, so the
# default TRAIN_S of 330 s keeps the whole command near 7 min. DISCS picks the runs: DISCS=patchgan gets
# the GPU to itself (about twice the images of a shared run); the default trains both side by side, the same
# budget each, as the paper comparison wants. UPSAMPLE=resize (nearest x2 + 3x3 conv) avoids the checkerboards
# of the deconv generators. Every EMA snapshot is scored on the test split, and the final raw generator beside
# it, so the average's effect is measured. Brings back the final EMA generators (split into 15 MB parts), the
# curves and logs. Inputs are staged as for 2026-11-26-shipped-recipe-h200.sh: $DATA and $INCEPTION in the
# git-ignored .gpu/. The curves check the Inception file's SHA256, so $INCEPTION must be the standard default_1.pt.
# The curves score lossless network output. Back on the CPU: join the parts with cat, run
# `python -m pathgan calibrate` (JPEG matching, plus the colour map if it lowers train-split FID), then run
# `python -m pathgan evaluate`. Ship a file only if it beats the shipped one's report.
set -u
DATA=${DATA:-.gpu/data/consep}; INCEPTION=${INCEPTION-.gpu/default_1.pt}; TRAIN_S=${TRAIN_S:-330}; DISCS=${DISCS:-patchgan vanilla}; EMA=${EMA:-0.999}; UPSAMPLE=${UPSAMPLE:-resize}
RUNS=/tmp/pathgan-runs; mkdir -p "$RUNS" "$OUT"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no GPU visible (dry run?)"
common="--data $DATA --scheme consep --steps 1000000 --batch-size 8 --checkpoint-every 1000 --keep-snapshots --sample-every 4000 --log-every 50 --no-seeded-noise --half-weights --device ${DEVICE:-cuda} --ngf 32 --ndf 64 --diversity-weight 1 --ema-decay $EMA --upsample $UPSAMPLE"
train() { name=$1; shift; timeout -s TERM "$TRAIN_S" python3 -m pathgan train $common --out "$RUNS/$name" "$@" > "$RUNS/$name.log" 2>&1; echo "$name exit $?"; }
for d in $DISCS; do train "consep-$d" --disc "$d" & done
wait
runs=()
for d in $DISCS; do
  n=consep-$d; runs+=("$RUNS/$n" "$RUNS/$n-raw")
  echo "$n: $(tail -n 1 "$RUNS/$n/metrics.jsonl")"; rm -f "$RUNS/$n/train_state.pt"
  mkdir -p "$RUNS/$n-raw" && step=$(python3 -c "import json;print(json.load(open('$RUNS/$n/generator.json'))['provenance']['steps'])")
  cp "$RUNS/$n/generator-raw.safetensors" "$RUNS/$n-raw/generator-step$(printf %06d "$step").safetensors"
done
python3 -m pathgan curves --data "$DATA" --runs "${runs[@]}" \
  --inception-weights "$INCEPTION" --out "$OUT/curves.json" --max-points 5 2>&1 | grep -v "^\s*$"
for d in $DISCS; do n=consep-$d; split -b 15M "$RUNS/$n/generator.safetensors" "$OUT/$n.safetensors.part-"; done
tar czf "$OUT/runs.tgz" -C "$RUNS" --exclude='*.safetensors' --exclude='train_state.pt' .
ls -la "$OUT"
