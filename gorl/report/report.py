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
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gorl.checkpoint import atomic_write_text
from gorl.plots import pyplot
from gorl.report.figures import plot_curves, plot_paired, plot_profile
from gorl.report.load import Suite, common_prefix, load_curve, load_suite, refit_records
from gorl.report.paired import paired_md
from gorl.report.summary import REPS, Aggregate, Cell, Reference, aggregate, cell, on_unit_scale

__all__ = ["common_prefix", "load_curve", "load_suite", "write_report"]


# -- CSV -----------------------------------------------------------------------------------------------
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
    atomic_write_text(suite.dir / "table.csv", _csv_text(header, cell_rows))
    done = [r for r in suite.runs if r.status == "done"]
    rows = [(r.task, r.method, r.seed, *((r.summary or {}).get(k) for k in RUN_FIELDS)) for r in done]
    atomic_write_text(suite.dir / "runs.csv", _csv_text(("task", "method", "seed", *RUN_FIELDS), rows))


# -- Markdown ------------------------------------------------------------------------------------------
def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def _num(value: Any, fmt: str = ".1f") -> str:
    return "—" if value is None else format(value, fmt)


def _cell_md(c: Cell) -> str:
    if c.n == 0:
        return "—"
    return f"{c.mean:.1f} ({c.n})" if c.std is None else f"{c.mean:.1f} ± {c.std:.1f} ({c.n})"


def _aggregate_md(a: Aggregate | None) -> str:
    if a is None:
        return "—"
    return f"{a.iqm:.3f} [{a.ci_low:.3f}, {a.ci_high:.3f}] ({a.n} runs, {a.tasks} tasks)"


def _results_md(suite: Suite, cells: Mapping[tuple[str, str], Cell]) -> list[str]:
    unit = on_unit_scale(suite)  # the tasks share a 0-1000 scale: an IQM across them means something
    rows = [
        [
            m,
            *(_cell_md(cells[t, m]) for t in suite.tasks),
            *([_aggregate_md(aggregate(suite, m))] if unit else []),
        ]
        for m in suite.methods
    ]
    aggregate_text = (
        "IQM: interquartile mean of the final return **normalised by 1000** (0 to 1) over all tasks and "
        f"seeds of the method, with its 95% stratified-bootstrap percentile interval ({REPS} resamples, "
        "seeds resampled within each task; Agarwal et al. 2021). "
        "With one seed per task the interval is that seed's value: no spread is measured. "
        if unit
        else "No IQM across tasks and no performance profile: these tasks' returns have no common 0-1000 "
        "scale to normalise by (dm_control's do). "
    )
    return [
        "## Final evaluation return",
        "",
        "Each cell: mean ± std (n) of the final evaluation return over the n finished seeds (std: sample "
        f"standard deviation, ddof 1; none for a single seed). {aggregate_text}"
        "Per-cell IQM and intervals are in table.csv.",
        "",
        *_md_table(["method", *suite.tasks, *(["IQM (normalised) [95% CI]"] if unit else [])], rows),
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


REFIT_COLUMNS = (
    ("fidelity_mean_error", "mean err", ".2f"),
    ("fidelity_spread_ratio", "spread", ".2f"),
    ("fidelity_det_error", "det err", ".2f"),
    ("fidelity_energy_distance", "energy", ".3f"),
    ("return_data_det", "data policy", ".1f"),
    ("return_refit_det", "refitted", ".1f"),
    ("return_before_refit", "before (best eval)", ".1f"),
    ("return_after_refit", "after", ".1f"),
    ("data_evals_after", "evals after data", ".1f"),
    ("obs_drift_mean", "obs drift", ".2f"),
    ("fit_wall_time", "fit s", ".0f"),
)


def _refits_md(suite: Suite) -> list[str]:
    """GoRL's refits: per task, method and stage, means over seeds of the refit's fidelity figures and
    returns (a refit that loses the policy shows here); empty when no finished run refitted."""
    found: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in suite.runs:
        if r.status != "done":
            continue
        for rec in refit_records(r.path):
            found.setdefault((r.task, r.method, int(rec["stage"])), []).append(rec)
    if not found:
        return []

    def mean(recs: list[dict[str, Any]], key: str, fmt: str) -> str:
        values = [float(x[key]) for x in recs if key in x]
        return _num(np.mean(values), fmt) if values else "n/a"

    rows = [
        [t, m, str(k), str(len(v)), *(mean(v, key, fmt) for key, _, fmt in REFIT_COLUMNS)]
        for (t, m, k), v in sorted(found.items())
    ]
    return [
        "## Decoder refits",
        "",
        "Means over seeds. Fidelity of the refitted policy (prior latent through the new decoder) to the "
        "data policy, on held-out refit states, in units of the data policy's spread per state and action "
        "dimension: mean error, spread ratio, deterministic-action error, energy distance "
        "(`gorl.twotimescale.fidelity`); a perfect refit's mean error is its sampling floor, not 0 "
        "(2 / sqrt(pi x actions per state): 0.07 at the default 256; `fidelity_mean_error_floor`). "
        "data policy / refitted: deterministic returns of both on the same "
        "fresh episodes. before: the evaluation of the encoder the data came from (the stage's best when "
        "`data_from_best`, a selection statistic); after: the refitted policy on the run's evaluation "
        "episodes as its stage starts. evals after data: how many of the stage's evaluations came after "
        "the one whose encoder gave the data (0: the stage's last encoder; more: updates a best-encoder "
        "refit threw away). obs drift: the largest shift of the observation normaliser's mean "
        "since the previous refit, in that refit's stds (what a decoder reading running statistics saw "
        "move; none at the first refit).",
        "",
        *_md_table(["task", "method", "stage", "seeds", *(h for _, h, _ in REFIT_COLUMNS)], rows),
    ]


def write_report(dir: Path, *, reference: Reference | None = None) -> Path:
    """Reads the suite in ``dir`` and writes its report there (every file atomically).

    Writes ``report.md``, ``table.csv`` (task, method, n, mean, std, iqm, ci_low, ci_high of the final
    returns per task and method, raw 0..1000 scale), ``runs.csv`` (one row per finished run),
    ``curves_<task>.png`` per task, ``paired_<task>.png`` per task with a GoRL method and its baseline
    finished on a seed, and ``profile.png``; without matplotlib, only the Markdown and the CSVs,
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
    plt = pyplot()
    curves: list[Path] = []
    paired: list[Path] = []
    profile = None
    if plt is not None:
        curves = [p for p in (plot_curves(plt, suite, t) for t in suite.tasks) if p is not None]
        paired = [p for p in (plot_paired(plt, suite, t) for t in suite.tasks) if p is not None]
        profile = plot_profile(plt, suite)
    sections = [
        _header_md(suite),
        _results_md(suite, cells),
        _reference_md(suite, reference),
        _pictures_md(curves, profile, plt is not None),
        paired_md(suite, paired),
        _runs_md(suite),
        _unfinished_md(suite),
        _refits_md(suite),
        _failed_md(suite),
    ]
    text = "\n\n".join("\n".join(s) for s in sections if s) + "\n"
    path = suite.dir / "report.md"
    atomic_write_text(path, text)
    return path
