"""Where one PPO iteration's time goes on MuJoCo Warp: a torch profiler trace summarised as a table.

One untimed iteration (compiles, captures), then one iteration under ``torch.profiler`` (CPU and CUDA
activities) of GoRL's encoder stage: ``algos.make("ppo", ...)`` with the ``paper`` preset on N envs,
a Gaussian encoder and a flow decoder (10 Euler steps). Written to ``--out`` (Markdown):

* wall time of the iteration, split into collection and update (timed separately, synchronised);
* the operators with the most self CUDA time and the most self CPU time (top ``--top``);
* host syncs: calls of ``cudaStreamSynchronize``, ``cudaDeviceSynchronize``, ``cudaMemcpy*`` (device to
  host copies block the host), ``aten::item`` and ``aten::_local_scalar_dense``, with their count;
* kernel launches: ``cudaLaunchKernel`` and ``cudaGraphLaunch`` counts.

    python benchmarks/gpu_profile.py --num-envs 2048 --out gpu_profile.md         # on a GPU
    python benchmarks/gpu_profile.py --device cpu --num-envs 8 --rollout 30        # CPU dry run
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gorl.checkpoint import atomic_write_text  # noqa: E402

SYNC_NAMES = (
    "cudaStreamSynchronize",
    "cudaDeviceSynchronize",
    "cudaMemcpy",
    "cudaMemcpyAsync",
    "aten::item",
    "aten::_local_scalar_dense",
)
LAUNCH_NAMES = ("cudaLaunchKernel", "cudaGraphLaunch", "cuLaunchKernel")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(task: str, n: int, rollout: int, device: torch.device, epochs: int | None = None):
    from gorl import algos, decoders, encoders
    from gorl.algos.ppo import preset
    from gorl.composite import CompositePolicy
    from gorl.envs.warp import WarpBatchEnv

    env = WarpBatchEnv(task, n, seed=0, device=device)
    policy = CompositePolicy(
        encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim),
        decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim, steps=10),
        env.action_low,
        env.action_high,
    ).to(device)
    config = preset("paper", num_envs=n, rollout_length=rollout, unroll_length=min(30, rollout))
    if epochs is not None:
        config = config.model_copy(update={"update_epochs": epochs})
    return env, algos.make("ppo", env, policy, config)


def split_times(learner, device: torch.device) -> tuple[float, float]:
    """(collection s, update s) of one iteration, each between synchronisations."""
    c = learner.config
    sync(device)
    t0 = time.perf_counter()
    raw = learner.rollout.collect(learner.term.actor(learner.policy), c.rollout_length, where="profile")
    sync(device)
    t1 = time.perf_counter()
    obs, next_obs = learner.normalize(raw["obs"]), learner.normalize(raw["next_obs"])
    learner.update({**raw, "obs": obs, "next_obs": next_obs})
    sync(device)
    return t1 - t0, time.perf_counter() - t1


def rows(events, key: str, top: int) -> list[str]:
    events = sorted(events, key=lambda e: getattr(e, key), reverse=True)[:top]
    out = []
    for e in events:
        out.append(
            f"| {e.key[:60]} | {e.count} | {e.self_cpu_time_total / 1e3:.2f} | "
            f"{getattr(e, 'self_device_time_total', 0.0) / 1e3:.2f} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--task", default="cheetah-run")
    ap.add_argument("--num-envs", type=int, default=2048)
    ap.add_argument("--rollout", type=int, default=480, help="steps per env per iteration (paper: 480)")
    ap.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    ap.add_argument("--update-epochs", type=int, default=None, help="default: the paper preset's 16")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "gpu_profile.md")
    args = ap.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(0)
    _env, learner = build(args.task, args.num_envs, args.rollout, device, args.update_epochs)
    learner.iterate()  # compiles kernels, captures graphs
    collect_s, update_s = split_times(learner, device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as prof:
        learner.iterate()
        sync(device)
    events = prof.key_averages()
    steps = args.num_envs * args.rollout
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({os.cpu_count()} cores)"
    syncs = [(e.key, e.count) for e in events if any(e.key.startswith(s) for s in SYNC_NAMES)]
    launches = [(e.key, e.count) for e in events if e.key in LAUNCH_NAMES]
    header = "| operator | calls | self CPU ms | self device ms |\n|---|---|---|---|"
    text = "\n".join(
        [
            f"# One PPO iteration on MuJoCo Warp, profiled: {name}",
            "",
            f"{args.task}, N = {args.num_envs}, {args.rollout} steps per env ({steps:,} env steps), paper "
            f"preset, Gaussian encoder + flow decoder; torch {torch.__version__}.",
            "",
            f"- collection {collect_s:.3f} s ({steps / collect_s:,.0f} env steps/s), update "
            f"{update_s:.3f} s; iteration {steps / (collect_s + update_s):,.0f} env steps/s",
            f"- host syncs: {', '.join(f'{k} x{c}' for k, c in syncs) or 'none recorded'}",
            f"- launches: {', '.join(f'{k} x{c}' for k, c in launches) or 'none recorded'}",
            "",
            "## Most self device time",
            "",
            header,
            *rows(events, "self_device_time_total", args.top),
            "",
            "## Most self CPU time",
            "",
            header,
            *rows(events, "self_cpu_time_total", args.top),
            "",
            f"Command: `python benchmarks/gpu_profile.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
            "",
        ]
    )
    atomic_write_text(args.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
