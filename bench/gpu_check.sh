#!/usr/bin/env bash
# The CUDA checks, as one script for a GPU machine lent for a few minutes (run from the repository root):
#   bash bench/gpu_check.sh [OUT_DIR]
# 1. the tests marked cuda (they skip elsewhere): training on cuda in fp32 / bf16 / fp16, a killed cuda run
#    resumes to the same numbers (dropout on the device's generator, fp16's loss scaler), two search workers on
#    one GPU; 2. the trainer against a bare PyTorch loop on the GPU in each precision (bench/overhead.py);
# 3. the README's default run on the GPU; 4. the trainer, model, inference and search tests on that machine
#    (PRECISIONS="" skips part 2, SKIP_SUITE=1 part 4, SUITE narrows it). Each part's log goes to OUT_DIR; a part's failure does not stop the next.
set -u
out=${1:-gpu-check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
nvidia-smi -L | tee "$out/device.txt"
$py -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))" \
    | tee -a "$out/device.txt"
part() {  # part NAME SECONDS CMD...: run CMD under a time limit, log to OUT_DIR/NAME.log, print its status
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" >"$out/$name.log" 2>&1
    echo "== $name: exit $? in $((SECONDS - start)) s" | tee -a "$out/summary.txt"
    tail -n 4 "$out/$name.log"
}
part gpu-tests 240 $py -m pytest -q -rfs -p no:cacheprovider -m cuda tests/train/test_precision.py \
    tests/train/test_trainer.py tests/tuning/test_search.py tests/inference/test_engine.py
for precision in ${PRECISIONS-fp32 bf16 fp16}; do
    part "overhead-$precision" 90 $py bench/overhead.py --device cuda --precision "$precision" --samples 60000 \
        --epochs 2 --repeats 3 --batch-size 256
done
part default-run 120 $py -m convscope.cli run --set train.device=cuda
# the rest of the suite on the GPU machine: tests not marked cuda see a CPU-only machine (tests/conftest.py)
[ -n "${SKIP_SUITE:-}" ] || part suite-on-gpu-machine 200 $py -m pytest -q -rf -p no:cacheprovider -n 8 ${SUITE:-tests/train tests/models \
    tests/inference tests/tuning/test_search.py tests/test_stored_run.py}
