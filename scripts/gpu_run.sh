#!/usr/bin/env bash
# The real-data chapters under the `gpu` preset on one CUDA machine, with GPU provenance.
#
#   bash scripts/gpu_run.sh 05            # any of: bench tests 05 06 07 08 10 (default: bench 05 06 07 08 10)
#
# Before (here, after committing): pack the real data and record the commit beside it, both in the
# git-ignored data/external/device (53 MiB; carry that folder to the device, never commit it):
#
#   python scripts/prepare_device_data.py pack     # once: ../shared/realdata -> data/external/device/realdata.tar.gz
#   python scripts/prepare_device_data.py tree     # each commit: the commit and its files' blob hashes
#
# What it does there: checks the environment (CUDA, the Python packages the recipes import), checks
# the copy of the tree against the recorded commit (the copy has no .git: scripts/prepare_device_data.py
# check-tree, whose record every results file takes as its git metadata), unpacks the data and checks
# every file's SHA-256, then runs each item with its own time limit and an empty page and encoder cache:
#
#   bench  benchmarks/pipeline.py on the GPU at the gpu preset's size: pipeline views/s vs training images/s
#   tests  the batched-augmentation and device-pipeline tests with CUDA visible
#   05..10 `simcardionet-lite run RECIPE --preset gpu --tag gpu` on the real Dataset I (06: its Kaggle
#          stand-in; 07: the PTB-XL sample); estimated minutes (scripts/gpu_estimate.py --preset gpu, an
#          ESTIMATE until the bench has run): 05 ~6, 06 ~2, 07 ~5, 08 ~6, 10 ~2
#
# A dry run of the plumbing on a CPU (minutes, numbers meaningless):
#   ALLOW_CPU=1 THREADS=1 EXTRA_SET="--set device=cpu --set experiment.max_cv_folds=1 --set eval.seeds=[0]
#     --set pretrain.epochs=1 --set finetune.epochs=1 --set experiment.cv_arms=[]" bash scripts/gpu_run.sh 05
#
# Only a few files come back from a device run, so results go to $WORK and only what is kept is copied to
# $OUT: results/<chapter>/<source>-gpu/metrics.json per chapter, pipeline_gpu.json, gpu_run.log (every
# step's output) and provenance.json (commit check, machine, packages, data manifest, each step's status
# and seconds). Commit the metrics.json files under results/ with the command and this log's timings.
set -u
OUT=${OUT:-results/gpu_run}
PY=${PYTHON:-python3}
PACK=${PACK:-data/external/device}
WORK=${WORK:-/tmp/simcardionet_gpu}
THREADS=${THREADS:-8}
LIMIT=${LIMIT:-560}  # seconds per item: the device tool stops a command at 600
ITEMS=${*:-bench 05 06 07 08 10}
mkdir -p "$OUT" "$WORK"
rm -rf "$WORK/results" "$WORK/steps.jsonl"  # a warm machine keeps /tmp between calls: this call's results only
LOG="$OUT/gpu_run.log"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1

step() {  # step NAME CMD...: run with the time limit, append to the log, remember status and seconds
  local name=$1 t0=$SECONDS rc
  shift
  echo "== $name: $*" >>"$LOG"
  timeout "$LIMIT" "$@" >>"$LOG" 2>&1
  rc=$?
  echo "{\"step\": \"$name\", \"rc\": $rc, \"seconds\": $((SECONDS - t0))}" >>"$WORK/steps.jsonl"
  echo "== $name: rc=$rc in $((SECONDS - t0)) s" | tee -a "$LOG"
  return $rc
}

step env bash -c "nvidia-smi -L; nproc; $PY -c 'import sys, torch, torchvision; print(sys.version.split()[0], torch.__version__, torchvision.__version__, torch.cuda.get_device_name(0))'" \
  || [ -n "${ALLOW_CPU:-}" ] || { echo "no usable CUDA device or torch: stopping"; exit 1; }
step packages "$PY" -c "
import importlib.util as u
need = ('numpy', 'cv2', 'scipy', 'sklearn', 'pandas', 'PIL', 'wfdb', 'imagehash', 'tqdm', 'matplotlib', 'pytorch_grad_cam')
missing = [m for m in need if u.find_spec(m) is None]
print('missing:', missing or 'none')
raise SystemExit(1 if missing else 0)"
if git rev-parse HEAD >/dev/null 2>&1; then
  echo "a git checkout: the results record its commit themselves" >>"$LOG"
else
  step tree "$PY" scripts/prepare_device_data.py check-tree --out "$PACK" --to "$WORK/git.json" \
    && export SIMCARDIONET_TREE_CHECK="$WORK/git.json"
fi
D=$WORK/realdata
[ -d "$D/dataset1_mendeley" ] || step data "$PY" scripts/prepare_device_data.py unpack --out "$PACK" --to "$D"

for item in $ITEMS; do
  export SIMCARDIONET_CACHE="$WORK/cache-$item"  # an empty cache per item: nothing carried over
  rm -rf "$SIMCARDIONET_CACHE"
  # shellcheck disable=SC2086  # EXTRA_SET: further --set KEY=VALUE words (a dry run of the plumbing on a CPU)
  run=("$PY" -m simcardionet_lite run --preset gpu --tag gpu --threads "$THREADS" --results-root "$WORK/results" ${EXTRA_SET:-})
  case $item in
  bench) step bench "$PY" benchmarks/pipeline.py --device cuda --preset gpu --steps 20 --json "$OUT/pipeline_gpu.json" ;;
  tests) step tests "$PY" -m pytest -q -p no:cacheprovider tests/test_batch_augment.py tests/test_device_pipeline.py ;;
  05) step 05_dataset1 "${run[@]}" dataset1_cv --data-root "$D/dataset1_mendeley" ;;
  06) step 06_dataset2 "${run[@]}" dataset2_ood --data-root "$D/dataset1_mendeley" --set data.source=kaggle_standin ;;
  07) step 07_ptbxl "${run[@]}" ptbxl_folds --data-root "$D/ptbxl_sample" ;;
  08) step 08_ablations "${run[@]}" ablations --data-root "$D/dataset1_mendeley" ;;
  10) step 10_gradcam "${run[@]}" gradcam --data-root "$D/dataset1_mendeley" ;;
  *) echo "unknown item $item (bench tests 05 06 07 08 10)" | tee -a "$LOG" ;;
  esac
done

# keep the metrics files only (the models and encoders stay behind)
if [ -d "$WORK/results" ]; then
  (cd "$WORK/results" && find . -name metrics.json) | while read -r f; do
    mkdir -p "$OUT/results/$(dirname "$f")" && cp "$WORK/results/$f" "$OUT/results/$f"
  done
fi
"$PY" - "$OUT/provenance.json" "$PACK" "$WORK/steps.jsonl" "${SIMCARDIONET_TREE_CHECK:-}" "$ITEMS" <<'EOF'
import json, sys
from pathlib import Path
from simcardionet_lite.results import run_metadata
out, pack, steps, tree, items = sys.argv[1:6]
manifest = Path(pack) / "realdata_manifest.json"
rec = {"command": f"bash scripts/gpu_run.sh {items}", "metadata": run_metadata(),
       "steps": [json.loads(line) for line in Path(steps).read_text().splitlines()] if Path(steps).exists() else [],
       "tree_check": json.loads(Path(tree).read_text()) if tree else None,
       "data_manifest": ({k: v for k, v in json.loads(manifest.read_text()).items() if k != "files"}
                         if manifest.exists() else None)}
Path(out).write_text(json.dumps(rec, indent=1, default=str))
print("provenance:", out)
EOF
