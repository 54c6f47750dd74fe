"""PPO baseline check: TorchRL's own PPO recipe against gorl's PPO-based methods on dm_control tasks.

Each run trains one method on one task for the same env-step budget, then scores it the same way: one
deterministic evaluation (the policy's mean action) of ``--eval-envs`` full episodes on gorl's own
evaluation env, ``gorl.envs.make_env(task, eval_envs, backend="dmc", seed=seed + 1_000_003,
episode_length=...)``, exactly the env and start states that ``gorl.train.Trainer`` evaluates on.

Methods:

* ``torchrl``: TorchRL's PPO recipe for MuJoCo, written with TorchRL's public API as a TorchRL user
  would run it, adapted to dm_control and evaluated on gorl's evaluation env (and, as a cross-check,
  in its own TorchRL env): ``benchmarks/torchrl_ppo_recipe.py``, whose docstring gives every setting
  and its source.
* ``ppo``, ``gorl-fm`` (and any gorl method): ``gorl.train.Trainer(TrainConfig(...)).run()`` with gorl's
  defaults, evaluated once, at the end.

Every (task, method, seed) runs in its own process with one torch thread, ``--parallel`` at a time, in
the order seed, task, method, so the methods alternate and share the machine's load alike. Results:
``benchmarks/results/ppo_vs_torchrl/<task>_<method>_s<seed>.json`` (and ``.log``; gorl's run folders
beside them), and the table ``benchmarks/results/ppo_vs_torchrl.md`` (and ``.png``), rewritten after each
finished run. A run whose JSON exists (with the same budget) is skipped: rerunning resumes. A failed run
leaves ``<run>.error.json`` and the others go on.

    python benchmarks/ppo_vs_torchrl.py    # the benchmark: 2 tasks x 3 methods x 3 seeds x 200k steps
    python benchmarks/ppo_vs_torchrl.py --tasks cheetah-run --seeds 0 --total-steps 20480 \\
        --out /tmp/ppo_vs_torchrl_quick    # a quick check (a few minutes)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MUJOCO_GL", "disable")  # as gorl/__init__.py: nothing renders

import torch  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
from torchrl_ppo_recipe import EVAL_SEED_OFFSET, RECIPE, run_torchrl, stamp  # noqa: E402

from gorl.checkpoint import atomic_write_json, atomic_write_text  # noqa: E402
from gorl.plots import pyplot, save_figure  # noqa: E402

METHODS = ("torchrl", "ppo", "gorl-fm")
TASKS = ("cheetah-run", "walker-walk")
RESULTS = ROOT / "benchmarks" / "results"


# -- gorl -------------------------------------------------------------------------------------------------
def run_gorl(task: str, method: str, seed: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """One gorl run through the library API (gorl's defaults), evaluated once, at the end."""
    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    kw: dict[str, Any] = {
        "task": task,
        "method": method,
        "total_steps": args.total_steps,
        "seed": seed,
        "eval_every": args.total_steps,
        "eval_envs": args.eval_envs,
        "progress": False,
        "threads": 1,
    }
    if args.episode_length is not None:
        kw["episode_length"] = args.episode_length  # Trainer evaluates episodes of this length too
    if out.exists():  # a run cut short: start it again
        shutil.rmtree(out)
    summary = Trainer(TrainConfig(**kw), out).run()
    (out / "checkpoint.pt").unlink(missing_ok=True)
    summary = dict(summary)
    summary.setdefault("env_steps_per_second", summary["env_steps"] / max(summary["wall_time"], 1e-9))
    summary["eval_episode_length"] = args.episode_length or 1000
    summary["run_dir"] = str(out)
    return summary


# -- one run, in its own process --------------------------------------------------------------------------
def run_name(task: str, method: str, seed: int) -> str:
    return f"{task}_{method}_s{seed}"


def run_key(args: argparse.Namespace) -> dict[str, Any]:
    """What a stored result must match to be reused."""
    return {
        "total_steps": args.total_steps,
        "eval_envs": args.eval_envs,
        "episode_length": args.episode_length,
    }


def single(task: str, method: str, seed: int, args: argparse.Namespace) -> int:
    """Runs one (task, method, seed); writes ``<run>.json`` (or ``<run>.error.json``) atomically."""
    torch.set_num_threads(1)
    results = Path(args.out) / "ppo_vs_torchrl"
    name = run_name(task, method, seed)
    print(f"[{stamp()}] {name}: torch {torch.__version__}, {shlex.join(sys.argv)}", flush=True)
    t0 = time.perf_counter()
    try:
        if method == "torchrl":
            result = run_torchrl(task, seed, args)
        else:
            result = run_gorl(task, method, seed, args, results / name)
    except Exception as e:
        traceback.print_exc()
        atomic_write_json(
            results / f"{name}.error.json",
            {"task": task, "method": method, "seed": seed, "error": f"{type(e).__name__}: {e}"},
        )
        return 1
    import torchrl

    result.update(
        {
            "task": task,
            "method": method,
            "seed": seed,
            **run_key(args),
            "process_wall_time": time.perf_counter() - t0,
            "versions": {"torch": torch.__version__, "torchrl": torchrl.__version__},
        }
    )
    atomic_write_json(results / f"{name}.json", result)
    (results / f"{name}.error.json").unlink(missing_ok=True)
    print(f"[{stamp()}] {name}: final return {result['final_return']:.2f}", flush=True)
    return 0


# -- the runner -------------------------------------------------------------------------------------------
def load_result(path: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """A stored result with this benchmark's budget, or None."""
    if not path.exists():
        return None
    try:
        r = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return r if all(r.get(k) == v for k, v in run_key(args).items()) else None


def single_command(task: str, method: str, seed: int, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--single", task, method, str(seed)]
    cmd += ["--total-steps", str(args.total_steps), "--eval-envs", str(args.eval_envs), "--out", args.out]
    if args.episode_length is not None:
        cmd += ["--episode-length", str(args.episode_length)]
    return cmd


def run_all(args: argparse.Namespace) -> tuple[dict[tuple[str, str, int], dict], dict]:
    """Runs the pending (seed, task, method), ``args.parallel`` at a time; rewrites the report after each."""
    results = Path(args.out) / "ppo_vs_torchrl"
    results.mkdir(parents=True, exist_ok=True)
    jobs = [(t, m, s) for s in args.seeds for t in args.tasks for m in args.methods]
    done: dict[tuple[str, str, int], dict] = {}
    failed: dict[tuple[str, str, int], str] = {}
    pending = []
    for job in jobs:
        r = load_result(results / f"{run_name(*job)}.json", args)
        if r is None:
            pending.append(job)
        else:
            done[job] = r
            ret = r["final_return"]
            print(f"[{stamp()}] skip {run_name(*job)}: done (final return {ret:.1f})", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    running: list[tuple[tuple[str, str, int], subprocess.Popen, Any, float]] = []
    total = len(jobs)
    try:
        while pending or running:
            while pending and len(running) < args.parallel:
                job = pending.pop(0)
                name = run_name(*job)
                (results / f"{name}.error.json").unlink(missing_ok=True)
                log = open(results / f"{name}.log", "w")  # noqa: SIM115 - closed when the run ends
                proc = subprocess.Popen(
                    single_command(*job, args), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
                running.append((job, proc, log, time.time()))
                print(f"[{stamp()}] start {name} ({jobs.index(job) + 1}/{total})", flush=True)
            time.sleep(1.0)
            for item in list(running):
                job, proc, log, started = item
                if proc.poll() is None:
                    continue
                running.remove(item)
                log.close()
                name = run_name(*job)
                r = load_result(results / f"{name}.json", args)
                minutes = (time.time() - started) / 60
                if proc.returncode == 0 and r is not None:
                    done[job] = r
                    print(
                        f"[{stamp()}] done {name} in {minutes:.1f} min: "
                        f"final return {r['final_return']:.1f}, "
                        f"training {r['wall_time']:.0f} s, {r['env_steps_per_second']:,.0f} env steps/s",
                        flush=True,
                    )
                else:
                    err_path = results / f"{name}.error.json"
                    if err_path.exists():
                        error = json.loads(err_path.read_text())["error"]
                    else:
                        tail = (results / f"{name}.log").read_text(errors="replace")[-2000:]
                        error = f"exit code {proc.returncode}; log tail: {tail}"
                        atomic_write_json(
                            err_path, {"task": job[0], "method": job[1], "seed": job[2], "error": error}
                        )
                    failed[job] = error
                    print(f"[{stamp()}] FAILED {name} (exit {proc.returncode}): {error[:300]}", flush=True)
                write_report(args, done, failed)
    except KeyboardInterrupt:
        for _, proc, log, _ in running:  # only the runs this runner started
            proc.terminate()
            proc.wait()
            log.close()
        raise
    return done, failed


# -- the report -------------------------------------------------------------------------------------------
def fmt(x: float | None, spec: str = ".1f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def aggregate(runs: list[dict]) -> dict[str, Any]:
    rets = [r["final_return"] for r in runs]
    return {
        "n": len(runs),
        "mean": statistics.fmean(rets),
        "std": statistics.stdev(rets) if len(rets) > 1 else float("nan"),
        "per_seed": [(r["seed"], r["final_return"]) for r in sorted(runs, key=lambda r: r["seed"])],
        "wall": statistics.fmean(r["wall_time"] for r in runs),
        "total_wall": statistics.fmean(r["total_wall_time"] for r in runs),
        "sps": statistics.fmean(r["env_steps_per_second"] for r in runs),
        "steps": statistics.fmean(r["env_steps"] for r in runs),
    }


def table(args: argparse.Namespace, done: dict, failed: dict) -> str:
    """The markdown report."""
    length = args.episode_length or 1000
    cmd = shlex.join(["python", "benchmarks/ppo_vs_torchrl.py", *args.argv])
    lines = [
        "# PPO: TorchRL's PPO recipe vs gorl (dm_control)",
        "",
        f"Measured: the final deterministic evaluation return (policy mean action, {args.eval_envs} episodes "
        f"of {length} steps on gorl's evaluation env `make_env(task, {args.eval_envs}, seed=seed + "
        f"{EVAL_SEED_OFFSET:_})`, the same start states for every method) after {args.total_steps:,} env "
        "steps of training; the training wall time (torchrl: the whole collection and update loop, final "
        "evaluation excluded; gorl: the Trainer's `wall_time`, training iterations only, decoder refits and "
        "evaluations excluded) and env steps/s = env steps / training wall time. The total wall time adds "
        "the evaluation (and gorl's refits). Return: mean ± standard deviation over seeds (n - 1); "
        "ratios: a method's mean over torchrl's, per task.",
        "",
        "torchrl: TorchRL's PPO recipe for MuJoCo (pytorch/rl `sota-implementations/ppo`, settings of "
        "`config_mujoco.yaml`, written with TorchRL's API in `benchmarks/ppo_vs_torchrl.py`) on "
        f"`SerialEnv({RECIPE['num_envs']}, DMControlEnv)`; gorl methods: `gorl.train.Trainer` with gorl's "
        f"defaults. One process and one torch thread per run, {args.parallel} at a time on "
        f"{os.cpu_count()} cores, ordered seed, task, method. torch "
        f"{torch.__version__}.",
        "",
        f"Command: `{cmd}`",
        "",
        "| task | method | seeds | final return | per seed | return / torchrl | train wall (s) "
        "| wall / torchrl | env steps/s | env steps | total wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for task in args.tasks:
        aggs = {}
        for m in args.methods:
            runs = [r for (t, mm, _), r in done.items() if t == task and mm == m]
            if runs:
                aggs[m] = aggregate(runs)
        base = aggs.get("torchrl")
        for m, a in aggs.items():
            ratio = a["mean"] / base["mean"] if base and base["mean"] > 0 else None
            wall_ratio = a["wall"] / base["wall"] if base and base["wall"] > 0 else None
            per_seed = ", ".join(f"{v:.1f}" for _, v in a["per_seed"])
            lines.append(
                f"| {task} | {m} | {a['n']} | {fmt(a['mean'])} ± {fmt(a['std'])} | {per_seed} | "
                f"{fmt(ratio, '.2f')} | {fmt(a['wall'], '.0f')} | {fmt(wall_ratio, '.2f')} | "
                f"{fmt(a['sps'], ',.0f')} | {fmt(a['steps'], ',.0f')} | {fmt(a['total_wall'], '.0f')} |"
            )
        own = [r["final_return_torchrl_env"] for (t, m, _), r in done.items() if t == task and m == "torchrl"]
        if own:
            checks.append(
                f"{task}: {statistics.fmean(own):.1f} (on gorl's env: {fmt(base['mean']) if base else 'n/a'})"
            )
    if checks:
        lines += [
            "",
            "Cross-check of the torchrl evaluation: the same policies evaluated inside their own TorchRL env "
            "(training transforms, VecNorm frozen, the same start states), mean over seeds: "
            + "; ".join(checks)
            + ". Small gaps are float32 vs float64 observations amplified over long episodes.",
        ]
    if failed:
        lines += ["", "Failed runs (see their `.log` and `.error.json`):", ""]
        lines += [f"* {run_name(*job)}: {err[:200]}" for job, err in sorted(failed.items())]
    missing = [
        run_name(t, m, s)
        for s in args.seeds
        for t in args.tasks
        for m in args.methods
        if (t, m, s) not in done and (t, m, s) not in failed
    ]
    if missing:
        lines += ["", f"Not run yet: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def plot(args: argparse.Namespace, done: dict, png: Path) -> None:
    """Bars: mean final return per task and method, ± std over seeds, dots per seed."""
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, len(args.tasks), figsize=(3.2 * len(args.tasks) + 1, 3.6), squeeze=False)
    for ax, task in zip(axes[0], args.tasks, strict=True):
        for i, m in enumerate(args.methods):
            vals = [r["final_return"] for (t, mm, _), r in done.items() if t == task and mm == m]
            if not vals:
                continue
            std = statistics.stdev(vals) if len(vals) > 1 else 0.0
            ax.bar(i, statistics.fmean(vals), yerr=std, color=f"C{i}", alpha=0.7, capsize=4)
            ax.scatter([i] * len(vals), vals, color="k", s=10, zorder=3)
        ax.set_xticks(range(len(args.methods)), args.methods)
        ax.set_title(task)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(f"final eval return ({args.total_steps:,} steps)")
    save_figure(plt, fig, png, dpi=110)


def write_report(args: argparse.Namespace, done: dict, failed: dict) -> None:
    out = Path(args.out)
    atomic_write_text(out / "ppo_vs_torchrl.md", table(args, done, failed))
    if done:
        plot(args, done, out / "ppo_vs_torchrl.png")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), help="torchrl and gorl methods")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--total-steps", type=int, default=200_000, help="env-step budget of every run")
    ap.add_argument("--eval-envs", type=int, default=8, help="deterministic evaluation episodes")
    ap.add_argument(
        "--episode-length", type=int, default=None, help="training and evaluation episode length (None: 1000)"
    )
    ap.add_argument("--parallel", type=int, default=2, help="runs at a time")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--single", nargs=3, metavar=("TASK", "METHOD", "SEED"), help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.single:
        task, method, seed = args.single
        return single(task, method, int(seed), args)
    t0 = time.time()
    done, failed = run_all(args)
    write_report(args, done, failed)
    minutes = (time.time() - t0) / 60
    print(f"[{stamp()}] finished in {minutes:.1f} min: {len(done)} done, {len(failed)} failed")
    print((Path(args.out) / "ppo_vs_torchrl.md").read_text())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
