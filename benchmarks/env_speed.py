"""Steps/s of ``DMControlBatchEnv`` against a plain Python loop over the same dm_control envs.

For each task, N dm_control environments (``suite.load``, the same per-env seeds) are stepped with
uniform random actions in two ways, round by round (interleaved, so machine load hits both alike; the
order within a round alternates):

* ``raw loop``: ``for env, a in zip(envs, actions): env.step(a)`` (dm_control auto-resets);
* ``batch env``: ``td_next, td = env.step_and_maybe_reset(td)`` on ``DMControlBatchEnv`` (auto-reset),
  including building every TensorDict. With ``--workers k`` a third column times ``workers=k``.

The actions are drawn before timing. Reported: the median over rounds of env steps/s and the median
of the per-round ratios. The table is printed and written atomically to ``--out``.

    .venv/bin/python benchmarks/env_speed.py --workers 2   # six paper tasks, N=16, about 2 minutes
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

# The same default as gorl/__init__.py (see docs/envs.md, "Caveats"): nothing here renders; with
# MUJOCO_GL=egl, importing dm_control and then triton (which torch/tensordict import) segfaults, and with
# no setting dm_control warns about GLFW. "disable" avoids both; a user's own setting wins.
os.environ.setdefault("MUJOCO_GL", "disable")

import numpy as np
import torch
from tensordict import TensorDict

from gorl.checkpoint import atomic_write_text
from gorl.envs import PAPER_TASKS
from gorl.envs.dmc import DMControlBatchEnv, env_seeds


def time_raw(envs: list, actions: np.ndarray) -> float:
    """Seconds to step every env through ``actions (T, N, A)`` in a plain loop."""
    t0 = time.perf_counter()
    for step_actions in actions:
        for env, a in zip(envs, step_actions, strict=True):
            env.step(a)
    return time.perf_counter() - t0


def time_batch(env: DMControlBatchEnv, td: TensorDict, actions: torch.Tensor) -> tuple[float, TensorDict]:
    """Seconds for ``T`` calls of ``step_and_maybe_reset``; returns the last root TensorDict too."""
    t0 = time.perf_counter()
    for a in actions:
        td.set("action", a)
        _, td = env.step_and_maybe_reset(td)
    return time.perf_counter() - t0, td


def bench_task(task: str, n: int, steps: int, rounds: int, workers: int, seed: int) -> dict:
    from dm_control import suite

    domain, _, name = task.partition("-")
    raw = [suite.load(domain, name, task_kwargs={"random": s}) for s in env_seeds(seed, n)]
    for e in raw:
        e.reset()
    variants = {"batch": DMControlBatchEnv(task, n, seed=seed)}
    if workers:
        variants[f"workers={workers}"] = DMControlBatchEnv(task, n, seed=seed, workers=workers)
    tds = {k: v.reset() for k, v in variants.items()}
    rng = np.random.default_rng(seed)
    a_dim = variants["batch"].action_dim
    rates: dict[str, list[float]] = {"raw": [], **{k: [] for k in variants}}
    for r in range(rounds + 1):  # round 0 warms up and is not counted
        acts = rng.uniform(-1.0, 1.0, size=(steps, n, a_dim))
        acts_t = torch.from_numpy(acts.astype(np.float32))
        times = {}
        order = ["raw", *variants] if r % 2 else [*variants, "raw"]
        for k in order:  # the order alternates between rounds, so neither variant always goes first
            if k == "raw":
                times[k] = time_raw(raw, acts)
            else:
                times[k], tds[k] = time_batch(variants[k], tds[k], acts_t)
        if r:
            for k, t in times.items():
                rates[k].append(steps * n / t)
    for env in variants.values():
        env.close()
    out: dict[str, float | tuple[float, float]] = {k: statistics.median(v) for k, v in rates.items()}
    for k in variants:
        ratios = [b / a for a, b in zip(rates["raw"], rates[k], strict=True)]
        out[f"ratio {k}"] = statistics.median(ratios)
        out[f"range {k}"] = (min(ratios), max(ratios))
    return out


def table(results: dict[str, dict], n: int, steps: int, rounds: int, workers: int) -> str:
    cols = ["raw", "batch"] + ([f"workers={workers}"] if workers else [])
    head = ["task", "raw loop steps/s", "batch env steps/s", "batch / raw", "per-round range"]
    if workers:
        head += [f"workers={workers} steps/s", f"workers={workers} / raw"]
    lines = [
        f"# DMControlBatchEnv speed: N={n} envs, random actions, {rounds} interleaved rounds of "
        f"{steps} steps, medians",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}; "
        f"written {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `benchmarks/env_speed.py`.",
        "",
        "Steps/s columns: median over rounds. Ratio columns: median over rounds of the ratio within a round "
        "(both variants timed back to back, so machine load cancels); the range is its min-max over rounds.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for task, res in results.items():
        lo, hi = res["range batch"]
        row = [
            task,
            f"{res['raw']:,.0f}",
            f"{res['batch']:,.0f}",
            f"{res['ratio batch']:.2f}",
            f"{lo:.2f}-{hi:.2f}",
        ]
        if workers:
            k = cols[2]
            row += [f"{res[k]:,.0f}", f"{res['ratio ' + k]:.2f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(PAPER_TASKS))
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=25, help="batch steps per round")
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--workers", type=int, default=0, help="also time workers=k (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "env_speed.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for task in args.tasks:
        results[task] = bench_task(task, args.num_envs, args.steps, args.rounds, args.workers, args.seed)
        print(
            task,
            {k: v if isinstance(v, tuple) else round(v, 2) for k, v in results[task].items()},
            flush=True,
        )
    text = table(results, args.num_envs, args.steps, args.rounds, args.workers)
    print(text)
    if args.out:
        atomic_write_text(Path(args.out), text)


if __name__ == "__main__":
    main()
