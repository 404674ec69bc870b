#!/usr/bin/env bash
# GPU checks, run as one short script on a CUDA machine (the development sessions' `device`
# tool; any GPU box works). Everything goes to $OUT (default results/model_checks/gpu).
#
#   bash benchmarks/gpu_checks.sh quick   # env, throughput (fp32 vs bf16 + channels_last), GPU unit tests
#   bash benchmarks/gpu_checks.sh long    # only the long-schedule check; EXTRA_SET='model.pool="grid"' TAG=_grid
#                                         # adds overrides and names the output
#   bash benchmarks/gpu_checks.sh train   # paper-size pretraining epoch times (augmentation workers 0 vs
#                                         # WORKERS, default 12) and the 10 %-label check with a long
#                                         # schedule (3 seeds in parallel; needs about 16 CPU cores)
#
# Each step has its own time limit, so one slow or failing step does not cost the others.
# Python is whatever `python3` is there (PYTHON overrides); the package is used from the tree.
set -u
STAGE=${1:-quick}
OUT=${OUT:-results/model_checks/gpu}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD PYTHONUNBUFFERED=1
step() {  # step NAME SECONDS CMD...: run with a limit, log to $OUT/NAME.log, report the status
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
  echo "== $name: rc=$? in $((SECONDS - t0)) s"
  tail -n 25 "$OUT/$name.log"
}

case $STAGE in
quick)
  step env 30 bash -c "nvidia-smi -L; nproc; $PY -c 'import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.get_device_name(0))'"
  step throughput 150 "$PY" benchmarks/throughput.py --device cuda --steps 20 --json "$OUT/throughput_gpu.json"
  # the model tests with CUDA visible: device "auto" puts pretraining/fine-tuning on the GPU
  step pytest_gpu 200 "$PY" -m pytest -q -p no:cacheprovider --continue-on-collection-errors \
    tests/test_losses.py tests/test_backbone.py tests/test_pretrain.py tests/test_finetune.py \
    tests/test_checkpoint.py tests/test_distributed.py tests/test_augment.py tests/test_views.py
  ;;
train)
  W=${WORKERS:-12} DEV=${DEVICE:-cuda}  # DEVICE=cpu LONG_N=8 LONG_EPOCHS=2 AW_N=4: a dry run of the plumbing
  step env 30 bash -c "nvidia-smi -L; nproc; df -h /dev/shm | tail -1; git rev-parse HEAD 2>/dev/null || echo \"commit \${GIT_COMMIT:-unknown}\""
  # paper size (224 x 224, batch 256): epoch time with augmentation in-process vs in W workers
  step aug_workers 200 "$PY" benchmarks/aug_workers.py --device "$DEV" --preset paper --workers 0 "$W" \
    --n-per-class "${AW_N:-200}" --epochs 3 --json "$OUT/aug_workers_gpu.json"
  bash "$0" long
  ;;
long)
  # the 10 %-label check with a long schedule (300 pages/class, 100 pretraining epochs), 3 seeds in parallel
  LONG=(--n-per-class "${LONG_N:-300}" --threads 1 --set pretrain.epochs="${LONG_EPOCHS:-100}" pretrain.batch_size=128 pretrain.num_workers=4
        finetune.epochs=30 finetune.patience=8 ${EXTRA_SET:-})
  t0=$SECONDS
  for s in 0 1 2; do
    timeout 300 "$PY" benchmarks/label_efficiency_check.py --seeds $s "${LONG[@]}" --out "$OUT/le_long_s$s.json" \
      >"$OUT/le_long_s$s.log" 2>&1 &
  done
  wait
  echo "== label_eff_long: $((SECONDS - t0)) s"
  for s in 0 1 2; do echo "-- seed $s"; cat "$OUT/le_long_s$s.log"; done >"$OUT/le_long.log"
  rm -f "$OUT"/le_long_s?.log  # at most 8 files come back from the device tool
  grep -h "seed [0-9]:" "$OUT/le_long.log"
  "$PY" benchmarks/label_efficiency_check.py --merge "$OUT"/le_long_s?.json --out "$OUT/label_efficiency_long${TAG:-}_gpu.json" \
    2>&1 | tail -1 && rm -f "$OUT"/le_long_s?.json
  ;;
*)
  echo "unknown stage $STAGE (quick | train | long)" >&2
  exit 2
  ;;
esac
