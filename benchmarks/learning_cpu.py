"""CPU learning benchmark: ppo, gorl-fm and gorl-diff on cheetah-run, 2 seeds each, one env-step budget.

Runs ``gorl train`` in subprocesses, two at a time (one torch thread each, one per core), then writes
``benchmarks/results/learning_cpu.md`` (final and best evaluation return, env steps/s, wall time) and
``benchmarks/results/learning_cpu.png`` (evaluation curves), and keeps each run's config, metrics and
summary under ``benchmarks/results/learning_cpu/`` (checkpoints are deleted). Sized for about 30 minutes
on a 2-core machine:

    python benchmarks/learning_cpu.py                      # the committed table
    python benchmarks/learning_cpu.py --total-steps 38400  # a quick check
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gorl.checkpoint import atomic_write_text  # noqa: E402

METHODS = ("ppo", "gorl-fm", "gorl-diff")


def command(method: str, seed: int, args: argparse.Namespace, out: Path) -> list[str]:
    """The ``gorl train`` command line of one run."""
    sets = [
        f"eval_every={args.eval_every}",
        f"eval_envs={args.eval_envs}",
        "threads=1",
    ]
    return [
        sys.executable,
        "-m",
        "gorl.cli",
        "train",
        "--task",
        args.task,
        "--method",
        method,
        "--total-steps",
        str(args.total_steps),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--no-progress",
        *[x for s in sets for x in ("--set", s)],
    ]


def run_all(args: argparse.Namespace, results: Path) -> list[dict]:
    """Runs every (method, seed), ``args.parallel`` at a time; returns their summaries."""
    jobs = [(m, s) for m in args.methods for s in args.seeds]
    pending, running, done = list(jobs), [], []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    while pending or running:
        while pending and len(running) < args.parallel:
            m, s = pending.pop(0)
            out = results / f"{m}-s{s}"
            if out.exists():
                for f in out.iterdir():
                    f.unlink()
            log = open(results / f"{m}-s{s}.log", "w")  # noqa: SIM115 - closed when the run ends
            print(f"[{time.strftime('%H:%M:%S')}] start {m} seed {s}", flush=True)
            running.append(
                (
                    m,
                    s,
                    out,
                    subprocess.Popen(
                        command(m, s, args, out), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                    ),
                    log,
                )
            )
        time.sleep(2)
        for item in list(running):
            m, s, out, proc, log = item
            if proc.poll() is None:
                continue
            running.remove(item)
            log.close()
            if proc.returncode != 0:
                raise RuntimeError(
                    f"{m} seed {s} failed (exit {proc.returncode}); see {results}/{m}-s{s}.log"
                )
            (out / "checkpoint.pt").unlink(missing_ok=True)
            summary = json.loads((out / "summary.json").read_text())
            print(
                f"[{time.strftime('%H:%M:%S')}] done {m} seed {s}: final {summary['final_return']:.1f}",
                flush=True,
            )
            done.append(summary)
    return done


def evals(out: Path) -> list[tuple[int, float]]:
    """(env steps, mean return) of each evaluation of a run."""
    rows = [json.loads(s) for s in (out / "metrics.jsonl").read_text().splitlines()]
    return [(r["env_steps"], r["return_mean"]) for r in rows if r["kind"] == "eval"]


def table(summaries: list[dict], args: argparse.Namespace, wall: float) -> str:
    """The markdown results table."""
    lines = [
        f"# CPU learning benchmark: {args.task}",
        "",
        f"{args.total_steps:,} env steps per run (same budget for every run), {args.eval_envs} deterministic "
        f"evaluation episodes of 1000 steps every {args.eval_every:,} steps; CPU-sized settings "
        "(`gorl train` defaults: 16 envs, 3,840 env steps per iteration); one torch thread per run, "
        "two runs at a time on a 2-core machine "
        f"({os.cpu_count()} cores seen). Whole benchmark: {wall / 60:.1f} min.",
        "",
        f"Command: `python benchmarks/learning_cpu.py --total-steps {args.total_steps} "
        f"--eval-every {args.eval_every}`",
        "",
        "| method | seed | final eval return | best eval return | env steps/s (training) "
        "| total wall time (s) |",
        "|---|---|---|---|---|---|",
    ]
    by_method: dict[str, list[dict]] = {}
    for s in sorted(summaries, key=lambda s: (METHODS.index(s["method"]), s["seed"])):
        by_method.setdefault(s["method"], []).append(s)
        lines.append(
            f"| {s['method']} | {s['seed']} | {s['final_return']:.1f} | {s['best_return']:.1f} | "
            f"{s['env_steps_per_second']:,.0f} | {s['total_wall_time']:.0f} |"
        )
    lines += ["", "| method | final (mean over seeds) | best (mean over seeds) |", "|---|---|---|"]
    for m, rows in by_method.items():
        final = sum(r["final_return"] for r in rows) / len(rows)
        best = sum(r["best_return"] for r in rows) / len(rows)
        lines.append(f"| {m} | {final:.1f} | {best:.1f} |")
    lines += [
        "",
        "env steps/s counts training iterations only (collection and updates); decoder refits and "
        "evaluations are in the wall time.",
        "",
    ]
    return "\n".join(lines)


def plot(summaries: list[dict], results: Path, png: Path, task: str) -> None:
    """Evaluation curves, one line per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    colors = {"ppo": "tab:gray", "gorl-fm": "tab:blue", "gorl-diff": "tab:orange"}
    for s in summaries:
        pts = evals(results / f"{s['method']}-s{s['seed']}")
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            color=colors.get(s["method"]),
            marker="o",
            ms=3,
            linestyle="-" if s["seed"] == 0 else "--",
            label=f"{s['method']} s{s['seed']}",
        )
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation return (1000-step episodes)")
    ax.set_title(f"{task}, CPU budget")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = png.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, png)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="cheetah-run")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    ap.add_argument("--total-steps", type=int, default=691_200)
    ap.add_argument("--eval-every", type=int, default=76_800)
    ap.add_argument("--eval-envs", type=int, default=8)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = ap.parse_args()
    out = Path(args.out)
    results = out / "learning_cpu"
    results.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    summaries = run_all(args, results)
    wall = time.time() - t0
    text = table(summaries, args, wall)
    atomic_write_text(out / "learning_cpu.md", text)
    plot(summaries, results, out / "learning_cpu.png", args.task)
    print(text)


if __name__ == "__main__":
    main()
