"""CPU learning benchmark: tasks x methods x seeds through the library, resumable, with a table and curves.

Each (task, method, seed) trains in its own process (one torch thread) with ``Trainer``, ``--parallel``
at a time, in seed-major order so that methods alternate. A run directory that holds a checkpoint but
no summary is resumed from it (a killed benchmark loses at most one checkpoint interval); a finished
run is skipped; a failed run is recorded and the others go on. After every finished run the table
``benchmarks/results/<name>.md`` and the curves ``benchmarks/results/<name>.png`` are rewritten; each
run's config, metrics, summary and learning curve stay under ``benchmarks/results/<name>/`` (the
checkpoint is deleted when the run ends).

    python benchmarks/learning.py --name gorl_cpu    # cheetah-run, 500k, ppo/gorl-fm/gorl-diff, 3 seeds
    python benchmarks/learning.py --name sac_cpu --methods sac gorl-sac-fm \\
        --tasks cheetah-run walker-walk --seeds 0 1
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gorl.checkpoint import atomic_write_json, atomic_write_text  # noqa: E402


def run_one(job: tuple[str, str, int, argparse.Namespace]) -> dict:
    """Trains (or resumes) one run in this process; returns its record."""
    import torch

    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    task, method, seed, args = job
    torch.set_num_threads(1)
    out = args.results / f"{task}-{method}-s{seed}"
    record: dict = {"task": task, "method": method, "seed": seed}
    try:
        if (out / "checkpoint.pt").exists():
            trainer = Trainer.resume(out)
        else:
            cfg = TrainConfig(
                task=task,
                method=method,
                seed=seed,
                total_steps=steps_for(args, task),
                eval_every=args.eval_every,
                eval_envs=args.eval_envs,
                progress=False,
                threads=1,
            )
            trainer = Trainer(cfg, out)
        record |= trainer.run()
        (out / "checkpoint.pt").unlink(missing_ok=True)
    except Exception as e:  # recorded; the other runs go on
        record["error"] = f"{type(e).__name__}: {e}\n{traceback.format_exc()}"
        atomic_write_json(out.with_suffix(".error.json"), record)
    return record


def _runs(results: Path) -> dict[tuple[str, str, int], dict]:
    """Finished runs: (task, method, seed) -> summary plus its evaluations and refits."""
    found = {}
    for summary_path in results.glob("*/summary.json"):
        s = json.loads(summary_path.read_text())
        lines = [json.loads(x) for x in (summary_path.parent / "metrics.jsonl").read_text().splitlines()]
        s["evals"] = [(r["env_steps"], r["return_mean"]) for r in lines if r["kind"] == "eval"]
        s["refits"] = [r for r in lines if r["kind"] == "refit"]
        found[(s["task"], s["method"], s["seed"])] = s
    return found


def _mean_std(values: list[float]) -> str:
    if not values:
        return "-"
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.1f} +- {std:.1f}"


def steps_for(args: argparse.Namespace, task: str) -> int:
    """The env-step budget of ``task``: its ``--task-steps`` entry, else ``--total-steps``."""
    return int(dict(x.split("=") for x in args.task_steps).get(task, args.total_steps))


def table(args: argparse.Namespace) -> str:
    """The Markdown report of every finished run."""
    runs = _runs(args.results)
    per_task = f" --task-steps {' '.join(args.task_steps)}" if args.task_steps else ""
    cmd = (
        f"python benchmarks/learning.py --name {args.name} --tasks {' '.join(args.tasks)} --methods "
        f"{' '.join(args.methods)} --seeds {' '.join(map(str, args.seeds))} --total-steps {args.total_steps}"
        f"{per_task}"
    )
    budgets = ", ".join(f"{t} {steps_for(args, t):,}" for t in args.tasks)
    lines = [
        f"# CPU learning benchmark: {args.name}",
        "",
        f"`{cmd}`",
        "",
        f"Env steps per run: {budgets}; the methods' `cpu` settings (`gorl train` defaults on a "
        f"CPU), {args.eval_envs} deterministic 1000-step evaluation episodes from fixed start states every "
        f"{args.eval_every:,} steps; one torch thread per run, {args.parallel} runs at a time on a "
        f"{os.cpu_count()}-core machine. Final: the last evaluation; best: the best one. Training env "
        "steps/s counts collection and updates only (refits and evaluations excluded).",
        "",
        "| task | method | final (mean +- std) | best (mean +- std) | final per seed | env steps/s | "
        "wall min (all) |",
        "|---|---|---|---|---|---|---|",
    ]
    for task in args.tasks:
        for method in args.methods:
            rs = [runs[(task, method, s)] for s in args.seeds if (task, method, s) in runs]
            if not rs:
                continue
            finals = [r["final_return"] for r in rs]
            lines.append(
                f"| {task} | {method} | {_mean_std(finals)} | {_mean_std([r['best_return'] for r in rs])} | "
                f"{', '.join(f'{v:.0f}' for v in finals)} | "
                f"{statistics.mean(r['env_steps_per_second'] for r in rs):,.0f} | "
                f"{statistics.mean(r['total_wall_time'] for r in rs) / 60:.1f} |"
            )
    refit_rows = [
        f"| {t} | {m} | {s} | {r['stage']} | {r.get('return_before_refit', float('nan')):.1f} | "
        f"{r['return_after_refit']:.1f} | {r['fit_best_val_loss']:.3f} |"
        for (t, m, s), run in sorted(runs.items())
        for r in run["refits"]
        if "return_after_refit" in r
    ]
    if refit_rows:
        lines += [
            "",
            "Refits: the return of the encoder the refit data came from (the stage's best evaluation), and "
            "of the refitted policy as its stage starts (encoder reset to the prior for FM).",
            "",
            "| task | method | seed | stage | return before | return after | decoder val loss |",
            "|---|---|---|---|---|---|---|",
            *refit_rows,
        ]
    errors = sorted(args.results.glob("*.error.json"))
    lines += [
        "",
        *[f"- failed: {p.stem}: {json.loads(p.read_text())['error'].splitlines()[0]}" for p in errors],
    ]
    return "\n".join(lines) + "\n"


def plot(args: argparse.Namespace, png: Path) -> None:
    """Mean evaluation curve per (task, method) over seeds, with a min-max band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = _runs(args.results)
    fig, axes = plt.subplots(1, len(args.tasks), figsize=(6 * len(args.tasks), 3.8), squeeze=False)
    for ax, task in zip(axes[0], args.tasks, strict=True):
        for method in args.methods:
            curves = [runs[(task, method, s)]["evals"] for s in args.seeds if (task, method, s) in runs]
            if not curves:
                continue
            n = min(len(c) for c in curves)
            xs = [curves[0][i][0] for i in range(n)]
            ys = [[c[i][1] for c in curves] for i in range(n)]
            ax.plot(xs, [statistics.mean(y) for y in ys], marker="o", ms=3, label=f"{method} ({len(curves)})")
            ax.fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], alpha=0.15)
        ax.set_title(task)
        ax.set_xlabel("env steps")
        ax.set_ylabel("evaluation return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    tmp = png.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, png)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--name", default="gorl_cpu", help="results go to benchmarks/results/<name>[.md|.png]")
    ap.add_argument("--tasks", nargs="+", default=["cheetah-run"])
    ap.add_argument("--methods", nargs="+", default=["ppo", "gorl-fm", "gorl-diff"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--total-steps", type=int, default=501_760)
    ap.add_argument(
        "--task-steps",
        nargs="*",
        default=[],
        metavar="TASK=STEPS",
        help="per-task budgets over --total-steps",
    )
    ap.add_argument("--eval-every", type=int, default=50_176)
    ap.add_argument("--eval-envs", type=int, default=8)
    ap.add_argument("--parallel", type=int, default=2)
    args = ap.parse_args()
    out = ROOT / "benchmarks" / "results"
    args.results = out / args.name
    args.results.mkdir(parents=True, exist_ok=True)
    for stale in args.results.glob("*.error.json"):
        stale.unlink()
    jobs = [
        (t, m, s, args)
        for s in args.seeds
        for t in args.tasks
        for m in args.methods
        if not (args.results / f"{t}-{m}-s{s}" / "summary.json").exists()
    ]
    print(f"[{time.strftime('%H:%M:%S')}] {len(jobs)} runs to do", flush=True)
    with mp.get_context("spawn").Pool(args.parallel, maxtasksperchild=1) as pool:
        for rec in pool.imap_unordered(run_one, jobs):
            status = f"final {rec['final_return']:.1f}" if "final_return" in rec else "FAILED"
            print(
                f"[{time.strftime('%H:%M:%S')}] {rec['task']} {rec['method']} s{rec['seed']}: {status}",
                flush=True,
            )
            atomic_write_text(out / f"{args.name}.md", table(args))
            plot(args, out / f"{args.name}.png")
    atomic_write_text(out / f"{args.name}.md", table(args))
    plot(args, out / f"{args.name}.png")
    print(table(args))


if __name__ == "__main__":
    main()
