"""The suite report's pictures: learning curves per task, GoRL's paired differences with its baseline per
task, and performance profiles over all runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from gorl.plots import save_figure
from gorl.report.load import Suite, common_prefix, load_curve
from gorl.report.paired import baseline_of, paired_curves
from gorl.report.stats import bootstrap_mean_band, performance_profile_ci
from gorl.report.summary import ALPHA, REPS, THRESHOLDS, normalised_scores


def _task_png(kind: str, task: str) -> str:
    """``<kind>_<task>.png`` with every character a file name should not hold replaced by ``_``."""
    return f"{kind}_{re.sub(r'[^A-Za-z0-9._-]', '_', task)}.png"


def curves_name(task: str) -> str:
    """File name of ``task``'s learning-curve picture."""
    return _task_png("curves", task)


def plot_curves(plt: Any, suite: Suite, task: str) -> Path | None:
    """``curves_<task>.png``: per method, the mean over finished seeds of evaluation return against env
    steps with a 95% bootstrap band (seeds resampled), and each unfinished run's evaluations so far as a
    dashed line; None when no run has an evaluation."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    drawn = False
    for i, method in enumerate(suite.methods):
        runs = [r for r in suite.runs if r.task == task and r.method == method and r.status == "done"]
        curves = [c for c in (load_curve(r.path) for r in runs) if c[0].size]
        if not curves:
            continue
        steps, values = common_prefix(curves)
        if steps.size == 0:
            continue
        mean, low, high = bootstrap_mean_band(values, reps=REPS, alpha=ALPHA)
        color = f"C{i % 10}"
        ax.plot(steps, mean, color=color, label=f"{method} ({len(curves)} seeds)")
        if len(curves) > 1:
            ax.fill_between(steps, low, high, color=color, alpha=0.2, linewidth=0)
        drawn = True
    for r in suite.runs:  # runs still going (or killed): their curves so far, thin and dashed
        if r.task != task or r.status != "unfinished":
            continue
        steps, values = load_curve(r.path)
        if steps.size:
            color = f"C{suite.methods.index(r.method) % 10}"  # load_suite lists every run's method
            label = f"{r.method} s{r.seed} (unfinished)"
            ax.plot(steps, values, color=color, linestyle="--", linewidth=1, marker=".", label=label)
            drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation return")
    ax.set_title(f"{task}: mean over finished seeds, 95% bootstrap CI")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    path = suite.dir / curves_name(task)
    return save_figure(plt, fig, path)


def paired_name(task: str) -> str:
    """File name of ``task``'s paired-difference picture."""
    return _task_png("paired", task)


def plot_paired(plt: Any, suite: Suite, task: str) -> Path | None:
    """``paired_<task>.png``: per GoRL method whose baseline is in the suite, its evaluation return minus
    the baseline's run of the same seed against env steps: one thin line per seed, the mean over seeds
    (at the steps every seed has) thick, each seed's first refit marked; None when ``task`` has no
    finished pair. Before the first refit the two runs are one, so the lines start at 0."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    drawn = False
    for i, method in enumerate(suite.methods):
        baseline = baseline_of(method)
        if baseline is None or baseline not in suite.methods:
            continue
        pairs = paired_curves(suite, method, baseline, task)
        if not pairs:
            continue
        color = f"C{i % 10}"
        for p in pairs:
            ax.plot(p.steps, p.diffs, color=color, linewidth=0.8, alpha=0.45)
        by_step = [dict(zip(p.steps.tolist(), p.diffs.tolist(), strict=True)) for p in pairs]
        common = sorted(set.intersection(*(set(d) for d in by_step)))
        mean = [float(np.mean([d[s] for d in by_step])) for s in common]
        ax.plot(common, mean, color=color, linewidth=2.2, label=f"{method} - {baseline} ({len(pairs)} seeds)")
        for refit in sorted({p.first_refit for p in pairs if p.first_refit is not None}):
            ax.axvline(refit, color=color, linestyle=":", linewidth=1)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation return, GoRL - baseline")
    ax.set_title(f"{task}: paired by seed (thin: seeds, thick: mean; dotted: first refit)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return save_figure(plt, fig, suite.dir / paired_name(task))


def plot_profile(plt: Any, suite: Suite) -> Path | None:
    """``profile.png``: per method, the fraction of runs (all tasks, seeds) with normalised final return
    above tau, with a 95% stratified-bootstrap band; None when no run has finished."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
    drawn = False
    for i, method in enumerate(suite.methods):
        by_task = normalised_scores(suite, method)
        if not by_task:
            continue
        profile, low, high = performance_profile_ci(by_task, THRESHOLDS, reps=REPS, alpha=ALPHA)
        color = f"C{i % 10}"
        n = sum(x.size for x in by_task.values())
        ax.plot(THRESHOLDS, profile, color=color, label=f"{method} ({n} runs)")
        ax.fill_between(THRESHOLDS, low, high, color=color, alpha=0.2, linewidth=0)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel(r"normalised score $\tau$ (final return / 1000)")
    ax.set_ylabel(r"fraction of runs with score > $\tau$")
    ax.set_title("performance profiles, 95% stratified-bootstrap CI")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    path = suite.dir / "profile.png"
    return save_figure(plt, fig, path)
