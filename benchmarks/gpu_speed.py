"""Env-steps per second of MuJoCo Warp: raw physics, the gorl env step, and a full policy rollout.

For each task and batch size N, three loops of ``--steps`` control steps (after ``--warmup``):

* ``raw``: random actions written into ``ctrl`` and the task's physics substeps (one captured graph),
  nothing else: no observation, reward, reset or policy.
* ``env``: ``WarpBatchEnv.step_and_maybe_reset`` with random actions (substeps, kinematics refresh,
  observation, reward, truncation and masked resets).
* ``rollout``: the same with the action from a ``CompositePolicy`` (Gaussian encoder + flow decoder,
  10 Euler steps) under ``torch.no_grad``, as a collector would run it.
* ``train``: the whole PPO loop of GoRL's encoder stage (``algos.make("ppo", ...)``, the ``paper``
  preset with N envs and ``--train-rollout`` steps per env: collection with the flow decoder, GAE,
  ``update_epochs`` x ``num_minibatches`` gradient steps), ``--train-iters`` timed iterations after one
  untimed; env-steps/s = N x rollout x iterations / s.
* ``refit``: the decoder phase's fit (``fit_decoder``, flow decoder, batch ``--fit-batch``) on
  ``--fit-pairs`` random pairs, ``--fit-steps`` steps; reported as fitted pairs/s (batch x steps / s).

env-steps/s = N x steps / seconds, timed between device synchronisations (none inside the loops).
The markdown table is printed and written atomically (``gorl.checkpoint.atomic_write_text``) to
``benchmarks/results/gpu_speed_<device>.md``.

GPU run (one command): ``python benchmarks/gpu_speed.py``  (all six tasks, N in {2048, 8192}).
CPU check: ``python benchmarks/gpu_speed.py --device cpu --num-envs 64 256 --steps 20 --warmup 3``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

TASKS = ("cheetah-run", "walker-walk", "hopper-stand", "finger-spin", "finger-turn_hard", "fish-swim")


def synchronize(device: torch.device) -> None:
    """Waits for all queued work (torch and warp share the stream on CUDA; CPU runs synchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(loop: Callable[[int], None], steps: int, warmup: int, device: torch.device) -> float:
    """Seconds for ``loop(steps)`` after ``loop(warmup)``, between two synchronisations."""
    loop(warmup)
    synchronize(device)
    start = time.perf_counter()
    loop(steps)
    synchronize(device)
    return time.perf_counter() - start


def raw_loop(env) -> Callable[[int], None]:
    """Random ctrl + ``env.substeps`` MuJoCo Warp steps per control step (captured unless --no-graph)."""
    import mujoco_warp as mjw

    ctrl = env._sim.ctrl  # the torch view of the warp ctrl array
    gen = torch.Generator(device=env.device).manual_seed(0)

    def physics() -> None:
        for _ in range(env.substeps):
            mjw.step(env._m, env._d)

    def loop(n: int) -> None:
        for _ in range(n):
            ctrl.copy_(torch.rand(ctrl.shape, generator=gen, device=env.device) * 2 - 1)
            env._launch("raw", physics)

    return loop


def env_loop(env, policy=None) -> Callable[[int], None]:
    """``step_and_maybe_reset`` with random actions, or with ``policy``'s actions."""
    gen = torch.Generator(device=env.device).manual_seed(0)
    state = {"td": env.reset()}

    @torch.no_grad()
    def loop(n: int) -> None:
        td = state["td"]
        for _ in range(n):
            if policy is None:
                td["action"] = (
                    torch.rand(env.num_envs, env.action_dim, generator=gen, device=env.device) * 2 - 1
                )
            else:
                td = policy(td)
            _, td = env.step_and_maybe_reset(td)
        state["td"] = td

    return loop


def make_policy(env):
    """CompositePolicy(gaussian encoder, flow decoder with 10 Euler steps) on the env's device."""
    from gorl import decoders, encoders
    from gorl.composite import CompositePolicy

    encoder = encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim)
    decoder = decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim, steps=10)
    policy = CompositePolicy(encoder, decoder, env.action_low, env.action_high)
    return policy.to(env.device).eval()


def train_speed(env, iters: int, rollout: int, device: torch.device) -> float:
    """Env steps/s of ``iters`` PPO iterations (collection + update) after one untimed iteration."""
    from gorl import algos
    from gorl.algos.ppo import preset

    policy = make_policy(env).train()
    config = preset("paper", num_envs=env.num_envs, rollout_length=rollout, unroll_length=min(30, rollout))
    learner = algos.make("ppo", env, policy, config)
    learner.iterate()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        learner.iterate()
    synchronize(device)
    return env.num_envs * rollout * iters / (time.perf_counter() - start)


def refit_speed(env, pairs: int, batch: int, steps: int, device: torch.device) -> float:
    """Pairs/s of the decoder fit (``fit_decoder`` on a fresh flow decoder), batch x steps / s."""
    from gorl import decoders
    from gorl.twotimescale import FitConfig, fit_decoder

    gen = torch.Generator(device=device).manual_seed(0)
    obs = torch.randn(pairs, env.obs_dim, generator=gen, device=device)
    act = torch.randn(pairs, env.action_dim, generator=gen, device=device).clamp(-3, 3)
    decoder = decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim).to(device)
    config = FitConfig(steps=steps, batch_size=batch, eval_every=steps, progress=False)
    fit_decoder(decoder, obs, act, config.model_copy(update={"steps": 2, "eval_every": 2}))  # warm-up
    synchronize(device)
    start = time.perf_counter()
    fit_decoder(decoder, obs, act, config)
    synchronize(device)
    return batch * steps / (time.perf_counter() - start)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU device ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def slug(device: torch.device) -> str:
    if device.type != "cuda":
        return "cpu"
    return re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(device).lower()).strip("-")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS))
    parser.add_argument("--num-envs", nargs="+", type=int, default=[2048, 8192])
    parser.add_argument(
        "--steps", type=int, default=1000, help="timed control steps per loop (1000: one bank refill inside)"
    )
    parser.add_argument(
        "--warmup", type=int, default=20, help="untimed control steps first (compiles, captures)"
    )
    parser.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    parser.add_argument("--no-graph", action="store_true", help="run MuJoCo Warp eagerly, no graph capture")
    parser.add_argument("--no-policy", action="store_true", help="skip the policy rollout column")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU policy math)")
    parser.add_argument(
        "--train-iters", type=int, default=2, help="timed PPO iterations (0: no train column)"
    )
    parser.add_argument("--train-rollout", type=int, default=480, help="steps per env per PPO iteration")
    parser.add_argument(
        "--fit-steps", type=int, default=200, help="timed decoder-fit steps (0: no refit column)"
    )
    parser.add_argument("--fit-batch", type=int, default=8192, help="decoder-fit batch (official 8192)")
    parser.add_argument("--fit-pairs", type=int, default=262_144, help="pairs the decoder is fitted on")
    parser.add_argument("--out", type=Path, default=None, help="results file (default: by device name)")
    args = parser.parse_args(argv)

    from gorl.checkpoint import atomic_write_text
    from gorl.envs.warp import WarpBatchEnv

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    load_before = os.getloadavg()[0]
    out = args.out or Path(__file__).parent / "results" / f"gpu_speed_{slug(device)}.md"
    command = " ".join(argv if argv is not None else sys.argv[1:])
    rows: list[str] = []
    for task in args.tasks:
        for n in args.num_envs:
            try:
                env = WarpBatchEnv(task, n, seed=0, device=device, graph=not args.no_graph)
                raw = n * args.steps / timed(raw_loop(env), args.steps, args.warmup, device)
                stepped = n * args.steps / timed(env_loop(env), args.steps, args.warmup, device)
                rollout = float("nan")
                if not args.no_policy:
                    loop = env_loop(env, make_policy(env))
                    rollout = n * args.steps / timed(loop, args.steps, args.warmup, device)
                train = float("nan")
                if args.train_iters > 0:
                    train = train_speed(env, args.train_iters, args.train_rollout, device)
                refit = float("nan")
                if args.fit_steps > 0:
                    refit = refit_speed(env, args.fit_pairs, args.fit_batch, args.fit_steps, device)
                rows.append(
                    f"| {task} | {n} | {env.substeps} | {raw:,.0f} | {stepped:,.0f} | {stepped / raw:.2f} | "
                    f"{rollout:,.0f} | {rollout / raw:.2f} | {train:,.0f} | {train / raw:.2f} | "
                    f"{refit:,.0f} |"
                )
                del env
            except Exception as e:  # one failing configuration must not lose the others' figures
                rows.append(
                    f"| {task} | {n} | - | failed: {type(e).__name__}: {str(e)[:120]} | | | | | | | |"
                )
            print(rows[-1], file=sys.stderr)
            # Rewritten after every configuration, so an interrupted run still leaves a table.
            atomic_write_text(out, report(rows, args, device, load_before, command))
    text = report(rows, args, device, load_before, command)
    print(text)
    atomic_write_text(out, text)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def report(
    rows: list[str], args: argparse.Namespace, device: torch.device, load_before: float, command: str
) -> str:
    """The markdown results: header with device and settings, one table row per configuration."""
    import mujoco_warp
    import warp as wp

    graph = "off" if args.no_graph else ("CUDA graphs" if device.type == "cuda" else "warp CPU graph capture")
    lines = [
        f"# MuJoCo Warp speed on {device_name(device)}",
        "",
        f"Device: **{device_name(device)}** (torch device `{device}`). Graph capture: {graph}. "
        f"torch {torch.__version__}, warp {wp.__version__}, mujoco_warp {mujoco_warp.__version__}.",
        f"{args.steps} timed control steps after {args.warmup} warm-up steps; env-steps/s = N x steps / s. "
        f"torch threads {torch.get_num_threads()}; 1-min load average {load_before:.1f} before, "
        f"{os.getloadavg()[0]:.1f} after (other processes share the machine when it is above 0).",
        "raw: random ctrl + physics substeps only; env: `step_and_maybe_reset` (obs, reward, resets); "
        "rollout: env + CompositePolicy (gaussian encoder, flow decoder, 10 Euler steps), no grad; "
        f"train: the PPO loop (paper preset, N x {args.train_rollout} steps per iteration, "
        f"{args.train_iters} timed iterations); refit: decoder-fit pairs/s (flow, batch {args.fit_batch}, "
        f"{args.fit_steps} steps). The issue's goal: train >= 0.7 x raw at N = 2048.",
        "",
        "| task | N | substeps | raw steps/s | env steps/s | env/raw | rollout steps/s | rollout/raw "
        "| train steps/s | train/raw | refit pairs/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Command: `python benchmarks/gpu_speed.py {command}`",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
