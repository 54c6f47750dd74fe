"""The report of a benchmark suite: Markdown, CSV tables and pictures from the runs ``gorl bench`` wrote.

Input, a suite directory ``DIR``::

    DIR/suite.json                       optional: name, description, tasks, methods, seeds, total_steps,
                                         paper_setting
    DIR/runs/<task>/<method>/s<seed>/    one run: summary.json when finished, failed.json when failed,
                                         metrics.jsonl (its "eval" lines give the learning curve)

A run with neither summary.json nor failed.json is unfinished (running or not started), as is a run that
suite.json names but that has no directory yet; unfinished and failed runs are counted, not used in the
statistics. Runs on disk that suite.json does not name are included.

Output, each file written atomically: ``report.md``, ``table.csv`` (one row per task and method),
``runs.csv`` (one row per finished run), ``curves_<task>.png`` and ``profile.png``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gorl.report.stats import (
    bootstrap_mean_band,
    iqm,
    normalise,
    performance_profile_ci,
    stratified_bootstrap_ci,
)

REPS = 2000
"""Bootstrap resamples for every interval in the report."""
ALPHA = 0.05
"""Intervals are ``1 - ALPHA`` = 95%."""
THRESHOLDS = np.linspace(0.0, 1.0, 101)
"""Taus of the performance profiles, on the normalised scale."""

Reference = Mapping[str, Mapping[str, tuple[float, float]]]
"""method -> task -> (mean, std), e.g. ``gorl.report.reference.REFERENCE``."""


# -- reading -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Run:
    """One (task, method, seed) of the suite and what its directory says of it."""

    task: str
    method: str
    seed: int
    path: Path
    status: str  # "done", "failed" or "unfinished"
    summary: dict[str, Any] | None = None
    error: str | None = None

    @property
    def final(self) -> float | None:
        """The final evaluation return, None unless finished with an evaluation."""
        value = (self.summary or {}).get("final_return")
        return None if value is None else float(value)


@dataclass
class Suite:
    """A suite directory as read: its description and every run, in task, method, seed order."""

    dir: Path
    name: str
    tasks: list[str]
    methods: list[str]
    paper_setting: bool
    total_steps: dict[str, int]
    description: str = ""
    runs: list[Run] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.runs)

    def finals(self, task: str, method: str) -> NDArray[np.float64]:
        """Final returns ``(n,)`` of the finished runs of ``task`` and ``method``, in seed order."""
        values = [r.final for r in self.runs if r.task == task and r.method == method]
        return np.array([v for v in values if v is not None], dtype=np.float64)


def _read_json(path: Path) -> Any:
    """The JSON in ``path``, or None when it is missing or not (yet) valid JSON."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _read_run(task: str, method: str, seed: int, path: Path) -> Run:
    summary = _read_json(path / "summary.json")
    if isinstance(summary, dict):  # a finished run wins over a failed.json left from an earlier try
        return Run(task, method, seed, path, "done", summary=summary)
    failed = _read_json(path / "failed.json")
    if isinstance(failed, dict):
        return Run(task, method, seed, path, "failed", error=str(failed.get("error", "")))
    return Run(task, method, seed, path, "unfinished")


def _ordered(declared: Iterable[Any], found: Iterable[Any]) -> list[Any]:
    """``declared`` in its order, then what was ``found`` beyond it, sorted."""
    first = list(dict.fromkeys(declared))
    return first + sorted(set(found) - set(first))


def load_suite(dir: Path) -> Suite:
    """Reads ``dir/suite.json`` (when there) and every run directory under ``dir/runs``."""
    dir = Path(dir)
    meta = _read_json(dir / "suite.json")
    meta = meta if isinstance(meta, dict) else {}
    found: dict[tuple[str, str, int], Path] = {}
    for path in sorted((dir / "runs").glob("*/*/s*")):
        if path.is_dir() and re.fullmatch(r"s\d+", path.name):
            found[(path.parent.parent.name, path.parent.name, int(path.name[1:]))] = path
    declared = product(meta.get("tasks", []), meta.get("methods", []), meta.get("seeds", []))
    expected = {(t, m, int(s)) for t, m, s in declared}
    tasks = _ordered(meta.get("tasks", []), (k[0] for k in found))
    methods = _ordered(meta.get("methods", []), (k[1] for k in found))
    task_at = {t: i for i, t in enumerate(tasks)}
    method_at = {m: i for i, m in enumerate(methods)}
    keys = sorted(set(found) | expected, key=lambda k: (task_at[k[0]], method_at[k[1]], k[2]))
    runs = [_read_run(t, m, s, found.get((t, m, s), dir / "runs" / t / m / f"s{s}")) for t, m, s in keys]
    return Suite(
        dir=dir,
        name=str(meta.get("name") or dir.resolve().name),
        tasks=tasks,
        methods=methods,
        paper_setting=bool(meta.get("paper_setting", False)),
        total_steps={str(k): int(v) for k, v in (meta.get("total_steps") or {}).items()},
        description=str(meta.get("description") or ""),
        runs=runs,
    )


def load_curve(run_dir: Path) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The evaluations of a run: env steps ``(E,)`` and mean evaluation returns ``(E,)``, in file order.

    Only ``"kind": "eval"`` lines of ``metrics.jsonl`` count; an unreadable line (a half-written last line)
    is skipped.
    """
    steps: list[int] = []
    returns: list[float] = []
    try:
        lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("kind") == "eval":
            steps.append(int(record["env_steps"]))
            returns.append(float(record["return_mean"]))
    return np.array(steps, dtype=np.int64), np.array(returns, dtype=np.float64)


def common_prefix(
    curves: Sequence[tuple[NDArray[np.int64], NDArray[np.float64]]],
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Aligns curves on the longest prefix of evaluation steps they all share.

    Seeds of one method evaluate at the same env steps except at the tail (a run may stop at a different
    step), so the curves are cut where the first one ends or the grids first differ.

    Args:
        curves: ``S >= 1`` pairs (steps ``(E_s,)``, returns ``(E_s,)``).

    Returns:
        steps ``(P,)`` and returns ``(S, P)``, ``P`` the common prefix's length (maybe 0).
    """
    first = curves[0][0]
    p = min(len(s) for s, _ in curves)
    for s, _ in curves[1:]:
        differ = np.flatnonzero(s[:p] != first[:p])
        if differ.size:
            p = int(differ[0])
    return first[:p], np.stack([v[:p] for _, v in curves])


# -- statistics ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """Final returns of one task and method (raw returns, 0..1000): ``n`` finished seeds and their
    mean, sample std (ddof 1; 0 for one seed), IQM and the IQM's 95% bootstrap interval (None if n = 0)."""

    task: str
    method: str
    n: int
    mean: float | None = None
    std: float | None = None
    iqm: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def cell(suite: Suite, task: str, method: str) -> Cell:
    """The ``Cell`` of ``task`` and ``method``."""
    x = suite.finals(task, method)
    if x.size == 0:
        return Cell(task, method, 0)
    point, low, high = stratified_bootstrap_ci({task: x}, iqm, reps=REPS, alpha=ALPHA)
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    return Cell(task, method, int(x.size), float(x.mean()), std, float(point), float(low), float(high))


@dataclass(frozen=True)
class Aggregate:
    """A method's IQM of normalised final returns (return / 1000) over all tasks and seeds, with its 95%
    stratified-bootstrap interval; ``n`` runs over ``tasks`` tasks."""

    method: str
    n: int
    tasks: int
    iqm: float
    ci_low: float
    ci_high: float


def normalised_scores(suite: Suite, method: str) -> dict[str, NDArray[np.float64]]:
    """task -> normalised final returns ``(n_task,)`` of ``method``, tasks without finished runs left out."""
    by_task = {t: normalise(suite.finals(t, method)) for t in suite.tasks}
    return {t: x for t, x in by_task.items() if x.size}


def aggregate(suite: Suite, method: str) -> Aggregate | None:
    """The ``Aggregate`` of ``method``, None when it has no finished run."""
    by_task = normalised_scores(suite, method)
    if not by_task:
        return None
    point, low, high = stratified_bootstrap_ci(by_task, iqm, reps=REPS, alpha=ALPHA)
    n = sum(x.size for x in by_task.values())
    return Aggregate(method, n, len(by_task), float(point), float(low), float(high))


# -- writing -------------------------------------------------------------------------------------------
def _atomic_write_text(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would make the report private
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buf.getvalue()


RUN_FIELDS = (
    "final_return",
    "final_return_std",
    "best_return",
    "env_steps",
    "wall_time",
    "total_wall_time",
    "env_steps_per_second",
)


def _write_csvs(suite: Suite, cells: Sequence[Cell]) -> None:
    header = ("task", "method", "n", "mean", "std", "iqm", "ci_low", "ci_high")
    cell_rows = [(c.task, c.method, c.n, c.mean, c.std, c.iqm, c.ci_low, c.ci_high) for c in cells]
    _atomic_write_text(suite.dir / "table.csv", _csv_text(header, cell_rows))
    done = [r for r in suite.runs if r.status == "done"]
    rows = [(r.task, r.method, r.seed, *((r.summary or {}).get(k) for k in RUN_FIELDS)) for r in done]
    _atomic_write_text(suite.dir / "runs.csv", _csv_text(("task", "method", "seed", *RUN_FIELDS), rows))


def _pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def _save(plt: Any, fig: Any, path: Path) -> None:
    """Saves ``fig`` as the PNG ``path`` atomically and closes it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.tight_layout()
        fig.savefig(tmp, format="png")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        plt.close(fig)


def curves_name(task: str) -> str:
    """File name of ``task``'s learning-curve picture."""
    return f"curves_{re.sub(r'[^A-Za-z0-9._-]', '_', task)}.png"


def _plot_curves(plt: Any, suite: Suite, task: str) -> Path | None:
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
    _save(plt, fig, path)
    return path


def _plot_profile(plt: Any, suite: Suite) -> Path | None:
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
    _save(plt, fig, path)
    return path


# -- Markdown ------------------------------------------------------------------------------------------
def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def _num(value: Any, fmt: str = ".1f") -> str:
    return "—" if value is None else format(value, fmt)


def _cell_md(c: Cell) -> str:
    return "—" if c.n == 0 else f"{c.mean:.1f} ± {c.std:.1f} ({c.n})"


def _aggregate_md(a: Aggregate | None) -> str:
    if a is None:
        return "—"
    return f"{a.iqm:.3f} [{a.ci_low:.3f}, {a.ci_high:.3f}] ({a.n} runs, {a.tasks} tasks)"


def _results_md(suite: Suite, cells: Mapping[tuple[str, str], Cell]) -> list[str]:
    rows = [
        [m, *(_cell_md(cells[t, m]) for t in suite.tasks), _aggregate_md(aggregate(suite, m))]
        for m in suite.methods
    ]
    return [
        "## Final evaluation return",
        "",
        "Each cell: mean ± std (n) of the final evaluation return over the n finished seeds (std: sample "
        "standard deviation, ddof 1). IQM: interquartile mean of the final return **normalised by 1000** "
        "(0 to 1) over all tasks and seeds of the method, with its 95% stratified-bootstrap percentile "
        f"interval ({REPS} resamples, seeds resampled within each task; Agarwal et al. 2021). "
        "Per-cell IQM and intervals are in table.csv.",
        "",
        *_md_table(["method", *suite.tasks, "IQM (normalised) [95% CI]"], rows),
    ]


def _reference_md(suite: Suite, reference: Reference | None) -> list[str]:
    if reference is None:
        return []
    head = ["## Paper reference", ""]
    if not suite.paper_setting:
        return [
            *head,
            "Not shown: this suite is not in the paper's setting (180M env steps per run), so its numbers "
            "are not comparable with the paper's.",
        ]
    methods = [m for m in suite.methods if m in reference] + [m for m in reference if m not in suite.methods]

    def entry(m: str, t: str) -> str:
        return f"{reference[m][t][0]:.1f} ± {reference[m][t][1]:.1f}" if t in reference[m] else "—"

    rows = [[m, *(entry(m, t) for t in suite.tasks)] for m in methods]
    return [
        *head,
        "GoRL paper (Table 1): final evaluation return, mean ± std over 5 seeds, 180M env steps.",
        "",
        *_md_table(["method", *suite.tasks], rows),
    ]


def _runs_md(suite: Suite) -> list[str]:
    rows = []
    for r in suite.runs:
        if r.status != "done":
            continue
        s = r.summary or {}
        wall, total = s.get("wall_time"), s.get("total_wall_time")
        rows.append(
            [
                r.task,
                r.method,
                str(r.seed),
                _num(s.get("final_return")),
                _num(s.get("best_return")),
                _num(s.get("env_steps"), ","),
                _num(None if wall is None else wall / 60),
                _num(None if total is None else total / 60),
                _num(s.get("env_steps_per_second"), ",.0f"),
            ]
        )
    header = ["task", "method", "seed", "final", "best", "env steps", "train min", "total min", "env steps/s"]
    return [
        "## Runs",
        "",
        "Finished runs (also in runs.csv). train min: training wall time; total min: with evaluation.",
        "",
        *_md_table(header, rows),
    ]


def _unfinished_md(suite: Suite) -> list[str]:
    """Runs started but not finished (running, or killed before the end): how far each got; empty when
    none has written an evaluation."""
    rows = []
    for r in suite.runs:
        if r.status != "unfinished":
            continue
        steps, values = load_curve(r.path)
        if not steps.size:
            continue
        budget = suite.total_steps.get(r.task)
        rows.append(
            [
                r.task,
                r.method,
                str(r.seed),
                f"{int(steps[-1]):,}" + ("" if budget is None else f" of {budget:,}"),
                _num(values[-1]),
                _num(values.max()),
            ]
        )
    if not rows:
        return []
    return [
        "## Unfinished runs",
        "",
        "Runs started but not finished (still running, or stopped: the same bench resumes them). Left out "
        "of the table and the statistics above; their curves so far are the dashed lines.",
        "",
        *_md_table(["task", "method", "seed", "last evaluation at", "its return", "best so far"], rows),
    ]


def _first_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0] if lines else "(no message)"


def _failed_md(suite: Suite) -> list[str]:
    failed = [r for r in suite.runs if r.status == "failed"]
    if not failed:
        return []
    items = [f"- {r.task} / {r.method} / seed {r.seed}: `{_first_line(r.error)}`" for r in failed]
    return ["## Failed runs", "", *items]


def _pictures_md(curves: Sequence[Path], profile: Path | None, plotted: bool) -> list[str]:
    if not plotted:
        return ["## Pictures", "", "Pictures need matplotlib (`pip install gorl[plot]`); none were drawn."]
    lines = ["## Learning curves", ""]
    lines += [f"![{p.stem}]({p.name})" for p in curves] or ["No run has an evaluation yet."]
    if profile is not None:
        lines += ["", "## Performance profiles", "", f"![performance profiles]({profile.name})"]
    return lines


def _header_md(suite: Suite) -> list[str]:
    done, failed, unfinished = (suite.count(s) for s in ("done", "failed", "unfinished"))
    lines = [
        f"# Benchmark report: {suite.name}",
        "",
        *([suite.description, ""] if suite.description else []),
        f"Runs: {done} done, {failed} failed, {unfinished} unfinished ({len(suite.runs)} in all). "
        "Failed and unfinished runs are left out of the statistics.",
    ]
    if suite.total_steps:
        budget = ", ".join(f"{t} {n:,}" for t, n in suite.total_steps.items())
        lines += ["", f"Env steps per run: {budget}."]
    return lines


def _refits_md(suite: Suite) -> list[str]:
    """GoRL's refits: per task, method and stage, the mean over seeds of the return of the policy the
    refit data came from and of the refitted policy as its stage starts (a refit that loses the policy
    shows here); empty when no finished run refitted."""
    found: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    for r in suite.runs:
        path = r.path / "metrics.jsonl"
        if r.status != "done" or not path.exists():
            continue
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("kind") == "refit" and "return_before_refit" in rec and "return_after_refit" in rec:
                key = (r.task, r.method, int(rec["stage"]))
                found.setdefault(key, []).append((rec["return_before_refit"], rec["return_after_refit"]))
    if not found:
        return []
    rows = [
        [t, m, str(k), str(len(v)), _num(np.mean([b for b, _ in v])), _num(np.mean([a for _, a in v]))]
        for (t, m, k), v in sorted(found.items())
    ]
    return [
        "## Decoder refits",
        "",
        "Before: evaluation return of the encoder the refit data came from; after: the refitted policy as "
        "its stage starts (the encoder reset to the prior where the method resets it). Means over seeds.",
        "",
        *_md_table(["task", "method", "stage", "seeds", "return before", "return after"], rows),
    ]


def write_report(dir: Path, *, reference: Reference | None = None) -> Path:
    """Reads the suite in ``dir`` and writes its report there (every file atomically).

    Writes ``report.md``, ``table.csv`` (task, method, n, mean, std, iqm, ci_low, ci_high of the final
    returns per task and method, raw 0..1000 scale), ``runs.csv`` (one row per finished run),
    ``curves_<task>.png`` per task and ``profile.png``; without matplotlib, only the Markdown and the CSVs,
    and report.md says so.

    Args:
        dir: the suite directory (``dir/runs/<task>/<method>/s<seed>/``, optional ``dir/suite.json``).
        reference: method -> task -> (mean, std) of published results (``gorl.report.reference.REFERENCE``),
            shown in their own table when suite.json marks the suite as the paper's setting.

    Returns:
        The path of ``report.md``.
    """
    suite = load_suite(Path(dir))
    suite.dir.mkdir(parents=True, exist_ok=True)
    cells = {(t, m): cell(suite, t, m) for t in suite.tasks for m in suite.methods}
    _write_csvs(suite, list(cells.values()))
    plt = _pyplot()
    curves: list[Path] = []
    profile = None
    if plt is not None:
        curves = [p for p in (_plot_curves(plt, suite, t) for t in suite.tasks) if p is not None]
        profile = _plot_profile(plt, suite)
    sections = [
        _header_md(suite),
        _results_md(suite, cells),
        _reference_md(suite, reference),
        _pictures_md(curves, profile, plt is not None),
        _runs_md(suite),
        _unfinished_md(suite),
        _refits_md(suite),
        _failed_md(suite),
    ]
    text = "\n\n".join("\n".join(s) for s in sections if s) + "\n"
    path = suite.dir / "report.md"
    _atomic_write_text(path, text)
    return path
