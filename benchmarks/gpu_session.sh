#!/usr/bin/env bash
# Issue 11's first GPU checks as one device call, sized for about 9 minutes on an H100/H200 (a device
# command may run 10). On the GPU machine, after `bash .gpu-a/stage.sh` in the call before:
#
#   source .gpu-b/install.sh && bash benchmarks/gpu_session.sh
#
# Steps, each with its own time limit; a step that fails or runs out does not stop the next:
#   1. versions and the GPU's name; gorl, torchrl and warp import on the box's torch
#   2. the MuJoCo Warp tests on CUDA (GORL_TEST_DEVICE), then CPU tests of the PPO, SAC and composite code
#      on the box's torch (its torch is older than the one torchrl 0.14.1 was built against)
#   3. short `gorl train --backend warp --device cuda` runs of ppo, gorl-fm and gorl-sac-fm
#   4. benchmarks/gpu_speed.py: raw / env / rollout / train / refit env-steps/s
#   5. benchmarks/gpu_profile.py: one PPO iteration under torch.profiler (host syncs, launches)
# Files under $OUT (the device tool brings back at most 8): session.log, speed.md, profile.md, runs.md.
#
# CPU dry run of the whole script (tiny sizes, the warp CPU device; about 5 minutes here):
#   GORL_SESSION_DEVICE=cpu GORL_SESSION_SIZE=tiny OUT=/tmp/gpu_session bash benchmarks/gpu_session.sh
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gorl_gpu_session}
DEVICE=${GORL_SESSION_DEVICE:-cuda}
SIZE=${GORL_SESSION_SIZE:-full}
RUNS=${GORL_SESSION_RUNS:-/tmp/gorl_gpu_runs}
mkdir -p "$OUT" "$RUNS"
export MUJOCO_GL=${MUJOCO_GL:-disable} PYTHONUNBUFFERED=1 GORL_TEST_DEVICE=$DEVICE
PY=${PYTHON:-python3}
log=$OUT/session.log
: >"$log"

step() {  # step NAME LIMIT_S COMMAND...: runs COMMAND with a time limit, output to the log
    local name=$1 limit=$2
    shift 2
    echo "== [$(date +%T)] $name (limit ${limit} s): $*" | tee -a "$log"
    local t0
    t0=$(date +%s)
    timeout -k 10 "$limit" "$@" >>"$log" 2>&1
    echo "== $name: exit $? after $(($(date +%s) - t0)) s" | tee -a "$log"
}

if [ "$SIZE" = tiny ]; then
    SPEED="--tasks cheetah-run --num-envs 16 --steps 10 --warmup 2 --train-iters 1 --train-rollout 30"
    SPEED="$SPEED --fit-steps 5 --fit-batch 256 --fit-pairs 4096 --threads 1"
    PROFILE="--num-envs 8 --rollout 30 --update-epochs 1"
    TRAIN="--scale cpu --total-steps 4096 --set eval_envs=2 --set eval_every=4096"
    REFIT="--set schedule.decoder_pairs=512 --set schedule.fit.steps=5 --set schedule.fit.batch_size=256"
    SAC="--total-steps 2048 --set optimizer.warmup_steps=256 --set optimizer.steps_per_iteration=512"
    SAC="$SAC --set optimizer.utd_ratio=0.25 --set eval_every=2048"
    TESTS_LIMIT=300
else
    # all six tasks at N = 2048, cheetah and walker at 8192; 300 timed control steps per loop
    SPEED="--num-envs 2048 --steps 300 --warmup 20 --train-iters 2 --fit-steps 200"
    PROFILE="--num-envs 2048"
    # paper scale: one PPO iteration is 2,048 x 480 = 983,040 env steps; 3 iterations, one evaluation
    TRAIN="--scale paper --total-steps 2949120 --set eval_envs=128 --set eval_every=2949120"
    REFIT="--set schedule.decoder_pairs=262144 --set schedule.fit.steps=500"
    SAC="--total-steps 128000 --set eval_every=128000"  # 8,000 updates of 512 (UTD 8/128)
    TESTS_LIMIT=150
fi

step versions 60 bash -c "nvidia-smi -L 2>/dev/null; $PY -c 'import sys, torch, tensordict, torchrl, warp, mujoco_warp, \
dm_control, gorl; print(sys.version.split()[0], \"torch\", torch.__version__, \"cuda\", torch.cuda.is_available(), \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else \"-\", \"tensordict\", tensordict.__version__, \
\"torchrl\", torchrl.__version__, \"warp\", warp.__version__)'"
step warp-tests "$TESTS_LIMIT" $PY -m pytest -q -x -p no:cacheprovider tests/envs/test_warp.py \
    tests/envs/test_tasks_fish.py tests/envs/test_tasks_finger.py
step cpu-tests "$TESTS_LIMIT" env GORL_TEST_DEVICE=cpu $PY -m pytest -q -p no:cacheprovider tests/algos/ppo \
    tests/algos/sac tests/test_composite.py tests/algos/test_optimizer_conformance.py
for method in ppo gorl-fm gorl-sac-fm; do
    extra=""
    [ "$method" = gorl-fm ] && extra="$REFIT"
    [ "$method" = gorl-sac-fm ] && extra="$REFIT $SAC"
    rm -rf "${RUNS:?}/$method"
    # shellcheck disable=SC2086
    step "train-$method" 150 $PY -m gorl.cli train --task cheetah-run --method "$method" --backend warp \
        --device "$DEVICE" --no-progress --out "$RUNS/$method" $TRAIN $extra
done
# shellcheck disable=SC2086
step speed 200 $PY benchmarks/gpu_speed.py --device "$DEVICE" $SPEED --out "$OUT/speed.md"
[ "$SIZE" = full ] && step speed-8192 90 $PY benchmarks/gpu_speed.py --device "$DEVICE" --tasks cheetah-run \
    walker-walk --num-envs 8192 --steps 200 --train-iters 1 --fit-steps 0 --out "$OUT/speed-8192.md"
# shellcheck disable=SC2086
step profile 90 $PY benchmarks/gpu_profile.py --device "$DEVICE" $PROFILE --out "$OUT/profile.md"
step runs 30 $PY - "$RUNS" "$OUT/runs.md" <<'EOF'
import json, sys
from pathlib import Path
runs, out = Path(sys.argv[1]), Path(sys.argv[2])
lines = ["| method | env steps | final return | train s | env steps/s | status |", "|---|---|---|---|---|---|"]
for d in sorted(p for p in runs.iterdir() if p.is_dir()):
    s = d / "summary.json"
    if s.exists():
        r = json.loads(s.read_text())
        lines.append(f"| {d.name} | {r['env_steps']:,} | {r['final_return']:.1f} | {r['wall_time']:.1f} | "
                     f"{r['env_steps_per_second']:,.0f} | done |")
    else:
        err = d / "error.json"
        lines.append(f"| {d.name} | | | | | {'error.json' if err.exists() else 'no summary'} |")
out.write_text("\n".join(lines) + "\n")
print(out.read_text())
EOF
echo "== [$(date +%T)] done; files in $OUT: $(ls "$OUT" | tr '\n' ' ')" | tee -a "$log"
