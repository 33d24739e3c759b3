#!/usr/bin/env bash
# Six ways to go on training consep-patchgan-resize on a 2-core CPU, at an equal budget: 300 steps x batch 4
# (1,200 masks, 2,400 generated tiles with the diversity term's second draw), each against the critic the generator
# was trained with, side by side, one thread each. Only the arm's option differs; seed 0 gives every arm the same
# data order and noise. Run from the repository root; results go to runs/arms/<arm>.
set -euo pipefail
STEPS=${STEPS:-300}
common=(--data ../shared/data/consep --scheme consep --disc patchgan
        --init-generator checkpoints/consep-patchgan-resize.safetensors
        --init-discriminator checkpoints/consep-patchgan-resize.discriminator.safetensors
        --batch-size 4 --diversity-weight 1 --lr 1e-4 --ema-decay 0.99 --half-weights
        --steps "$STEPS" --checkpoint-every 150 --keep-snapshots --sample-every 150 --log-every 5)
declare -A arms=(
  [control]=""
  [diffaugment]="--diffaugment color,translation,cutout"
  [r1]="--r1-gamma 0.01"
  [critic-codec]="--critic-codec"
  [spade]="--decoder-norm spade"
  [oasis]="--oasis-weight 1"
)
for arm in ${ARMS:-"${!arms[@]}"}; do
  mkdir -p "runs/arms/$arm"
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 nohup python -m pathgan train "${common[@]}" ${arms[$arm]} --out "runs/arms/$arm" \
    > "runs/arms/$arm.log" 2>&1 &
done
wait
