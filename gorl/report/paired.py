"""What GoRL's later stages add, paired with its baseline's run of the same task and seed.

GoRL's stage 0 is its baseline's run setting for setting (``gorl-<d>`` is ``ppo`` until its first refit,
``gorl-sac-<d>`` is ``sac``), so a GoRL run and the baseline run of the same seed share their trajectory
up to the first refit, and their difference at equal env steps afterwards is what the refits and the later
stages add. For each pair of finished runs this module takes:

* ``final``: GoRL's final evaluation return minus the baseline's;
* ``after``: the mean, over the evaluations after GoRL's first refit, of GoRL's return minus the
  baseline's at the same env steps (both runs evaluate at the same steps).

Per task: mean and standard deviation over seeds; in aggregate: the IQM of the per-run differences
normalised by 1000 with a stratified-bootstrap 95% interval (seeds resampled within tasks), and the worst
task.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from gorl.report.load import Run, Suite, load_records
from gorl.report.stats import MAX_RETURN, iqm, stratified_bootstrap_ci


def baseline_of(method: str) -> str | None:
    """The Gaussian baseline whose run a GoRL method's stage 0 reproduces: ``sac`` for ``gorl-sac-*``,
    ``ppo`` for the other ``gorl-*``; None for any other method."""
    if method.startswith("gorl-sac-"):
        return "sac"
    if method.startswith("gorl-"):
        return "ppo"
    return None


@dataclass(frozen=True)
class PairedRun:
    """One seed of one task: GoRL's return minus its baseline's."""

    task: str
    seed: int
    final: float
    after: float | None  # None when GoRL made no refit with evaluations after it
    first_refit: int | None  # env steps of GoRL's first refit


def _evals(path: Path) -> tuple[dict[int, float], int | None]:
    """A run's evaluation returns by env step, and the env step of its first refit (None: none)."""
    records = load_records(path)
    evals = {int(r["env_steps"]): float(r["return_mean"]) for r in records if r.get("kind") == "eval"}
    first = next((int(r["env_steps"]) for r in records if r.get("kind") == "refit"), None)
    return evals, first


def paired_runs(suite: Suite, method: str, baseline: str, since: int | None = None) -> list[PairedRun]:
    """Every (task, seed) with both ``method`` and ``baseline`` finished, in task and seed order.

    ``since``: ``after`` averages the evaluations after this env step instead of after ``method``'s first
    refit (two GoRL arms that share their runs up to a later refit differ only after it)."""
    done: dict[tuple[str, str, int], Run] = {
        (r.task, r.method, r.seed): r for r in suite.runs if r.status == "done" and r.final is not None
    }
    out = []
    for (task, m, seed), run in done.items():
        base = done.get((task, baseline, seed))
        if m != method or base is None:
            continue
        ours, first = _evals(run.path)
        theirs, _ = _evals(base.path)
        start = first if since is None else since
        later = [s for s in sorted(ours) if start is not None and s > start and s in theirs]
        after = float(np.mean([ours[s] - theirs[s] for s in later])) if later else None
        final = float(run.final) - float(base.final)  # type: ignore[arg-type]
        out.append(PairedRun(task, seed, final, after, first))
    return out


@dataclass(frozen=True)
class PairedCurve:
    """One seed of one task: GoRL's evaluation return minus its baseline's at every env step both
    evaluated, in step order."""

    seed: int
    steps: NDArray[np.int64]
    diffs: NDArray[np.float64]
    first_refit: int | None


def paired_curves(suite: Suite, method: str, baseline: str, task: str) -> list[PairedCurve]:
    """The difference curves of ``task``'s finished pairs (both runs done), in seed order; the curve runs
    over the steps both runs evaluated, before the first refit too (there it is 0: the same run)."""
    done = {(r.method, r.seed): r for r in suite.runs if r.task == task and r.status == "done"}
    out = []
    for (m, seed), run in sorted(done.items(), key=lambda kv: kv[0][1]):
        base = done.get((baseline, seed))
        if m != method or base is None:
            continue
        ours, first = _evals(run.path)
        theirs, _ = _evals(base.path)
        steps = sorted(set(ours) & set(theirs))
        diffs = np.array([ours[s] - theirs[s] for s in steps], dtype=np.float64)
        out.append(PairedCurve(seed, np.array(steps, dtype=np.int64), diffs, first))
    return out


@dataclass(frozen=True)
class PairedSummary:
    """The aggregate of ``paired_runs``: IQM of normalised differences [95% CI], and the worst task."""

    n: int
    iqm: float
    ci_low: float
    ci_high: float
    worst_task: str
    worst_mean: float


def summarise(pairs: list[PairedRun], key: str = "after") -> PairedSummary | None:
    """IQM of ``key`` (``final`` or ``after``) over runs, normalised by 1000, with its interval; None
    when no run has the figure."""
    by_task: dict[str, list[float]] = {}
    for p in pairs:
        value = getattr(p, key)
        if value is not None:
            by_task.setdefault(p.task, []).append(value / MAX_RETURN)
    if not by_task:
        return None
    point, low, high = stratified_bootstrap_ci(by_task, iqm)
    means = {t: float(np.mean(v)) for t, v in by_task.items()}
    worst = min(means, key=lambda t: means[t])
    n = sum(len(v) for v in by_task.values())
    return PairedSummary(n, float(point), float(low), float(high), worst, means[worst] * MAX_RETURN)


def paired_md(suite: Suite, pictures: Sequence[Path] = ()) -> list[str]:
    """The report's section: per GoRL method with its baseline in the suite, per task and in aggregate,
    then ``pictures`` (the per-task difference curves); empty when the suite has no such pair."""
    lines: list[str] = []
    for method in suite.methods:
        baseline = baseline_of(method)
        if baseline is None or baseline not in suite.methods:
            continue
        pairs = paired_runs(suite, method, baseline)
        if not pairs:
            continue
        if not lines:
            lines += [
                "## What GoRL's stages add (paired with the baseline's run of the same seed)",
                "",
                "GoRL's stage 0 is its baseline's run, so the two runs of a seed agree until GoRL's first "
                "refit. after: mean over the evaluations after that refit of GoRL's return minus the "
                "baseline's at the same env steps; final: the difference of final returns. Per task: mean ± "
                "std over seeds (n). Aggregate: IQM of the per-run differences / 1000 with a 95% "
                "stratified-bootstrap interval, and the worst task's mean difference.",
                "",
                "| method - baseline | task | n | after | final | stages beat the baseline after the refit |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
        for task in suite.tasks:
            rows = [p for p in pairs if p.task == task]
            if not rows:
                continue
            after = [p.after for p in rows if p.after is not None]
            final = [p.final for p in rows]
            mean_after = float(np.mean(after)) if after else float("nan")
            verdict = "n/a" if not after else ("yes" if mean_after > 0 else "no")
            lines.append(
                f"| {method} - {baseline} | {task} | {len(rows)} | {_pm(after)} | {_pm(final)} | {verdict} |"
            )
        for key in ("after", "final"):
            s = summarise(pairs, key)
            if s is not None:
                lines.append(
                    f"| {method} - {baseline} | **IQM ({key})** | {s.n} | {s.iqm:+.3f} "
                    f"[{s.ci_low:+.3f}, {s.ci_high:+.3f}] | worst task: {s.worst_task} "
                    f"{s.worst_mean:+.1f} | |"
                )
    if lines and pictures:
        lines += ["", *(f"![{p.stem}]({p.name})" for p in pictures)]
    return lines


def _pm(values: list[float]) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:+.1f} (1)"
    return f"{np.mean(values):+.1f} ± {np.std(values, ddof=1):.1f} ({len(values)})"
