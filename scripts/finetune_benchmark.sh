#!/usr/bin/env bash
# Does fine-tuning adapt a checkpoint to a new stain? (docs/finetuning.md) About an hour on the 2-core CPU.
# Target domain: CoNSeP with H x1.6 and E x0.5 in HED space (scripts/stain_shift.py), fine-tuned on its train
# split and judged on its test split. Conditions: the base checkpoint; base + calibration on the target's train
# split; fine-tuned for T1 and T2 seconds of training (one run, resumed); each fine-tune + calibration.
set -uo pipefail
DATA=${DATA:-../shared/data/consep}; BASE=${BASE:-checkpoints/consep-vanilla.safetensors}; OUT=${OUT:-runs/ft-bench}
T1=${T1:-600}; T2=${T2:-1800}
mkdir -p "$OUT"
[ -f "$OUT/target/scheme.json" ] || python scripts/stain_shift.py --data "$DATA" --out "$OUT/target"
ft() { timeout -s TERM "$1" python -m pathgan finetune --checkpoint "$BASE" --data "$OUT/target" --out "$OUT/ft" --steps 20000 \
         --checkpoint-every 25 --sample-every 1000 --device cpu --diversity-weight 1 --holdout-every 0 --discriminator fresh "${@:2}" > "$OUT/ft.log" 2>&1
     echo "finetune exit $?"; }  # the settings of its 2026-11 measurement
keep() { cp "$OUT/ft/generator.safetensors" "$OUT/$1.safetensors"; cp "$OUT/ft/generator.json" "$OUT/$1.json"; tail -n 1 "$OUT/ft/metrics.jsonl"; }
ft "$T1"; keep ft-short
ft $((T2 - T1)) --resume; keep ft-long
cal() { python -m pathgan calibrate --checkpoint "$1" --data "$OUT/target" --out "$OUT/$2.safetensors" --device cpu | tail -n 4; }
cal "$BASE" base-cal; cal "$OUT/ft-short.safetensors" ft-short-cal; cal "$OUT/ft-long.safetensors" ft-long-cal
for c in "$BASE" "$OUT/base-cal.safetensors" "$OUT/ft-short.safetensors" "$OUT/ft-short-cal.safetensors" "$OUT/ft-long.safetensors" \
         "$OUT/ft-long-cal.safetensors"; do
  n=$(basename "$c" .safetensors)
  python -m pathgan evaluate --checkpoint "$c" --data "$OUT/target" --split test --seeds 0-1 --out "$OUT/eval/$n" --device cpu \
    > "$OUT/eval-$n.log" 2>&1
  echo "$n: $(grep -E '^\| (FID|KID|seed)' "$OUT/eval-$n.log" | tr '\n' ' ')"
done
