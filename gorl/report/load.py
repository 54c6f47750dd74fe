"""Reading a ``gorl bench`` suite directory: its runs, their status and their learning curves.

A run with neither summary.json nor failed.json is unfinished (running or not started), as is a run that
suite.json names but that has no directory yet. Runs on disk that suite.json does not name are included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray


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


def _split_run(name: str, where: Path) -> tuple[str, str, str]:
    """``task/label/s<seed>`` -> (task, label, seed); ValueError naming ``where`` for anything else."""
    parts = name.split("/")
    if len(parts) != 3 or not re.fullmatch(r"s\d+", parts[2]):
        raise ValueError(f"{where}: run {name!r} is not named task/label/s<seed>")
    return parts[0], parts[1], parts[2][1:]


def load_suite(dir: Path) -> Suite:
    """Reads ``dir/suite.json`` (when there) and every run directory under ``dir/runs``."""
    dir = Path(dir)
    meta = _read_json(dir / "suite.json")
    meta = meta if isinstance(meta, dict) else {}
    found: dict[tuple[str, str, int], Path] = {}
    for path in sorted((dir / "runs").glob("*/*/s*")):
        if path.is_dir() and re.fullmatch(r"s\d+", path.name):
            found[(path.parent.parent.name, path.parent.name, int(path.name[1:]))] = path
    if isinstance(meta.get("runs"), list):  # gorl bench names every run (seeds may differ by task and entry)
        declared: Iterable[tuple[str, str, str]] = (
            _split_run(str(name), dir / "suite.json") for name in meta["runs"]
        )
    else:  # written before it did: every task x method x seed
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


def refit_records(run_dir: Path) -> list[dict[str, Any]]:
    """The run's refit records, in file order. A record written before refits carried
    ``data_evals_after`` gets it from the run's evaluations of the stage before the refit: the one whose
    return the record's ``return_before_refit`` is. Where several evaluations have that return (a stage
    at a floor of 0), the run's ``config.json`` says which the refit took: the first with
    ``data_from_best``, else the last; without it the record is left as it is."""
    records = load_records(run_dir)
    try:
        schedule = json.loads((Path(run_dir) / "config.json").read_text()).get("schedule") or {}
    except (OSError, ValueError, AttributeError):
        schedule = {}
    evals: dict[int, list[float]] = {}
    for r in records:
        if r.get("kind") == "eval" and "stage" in r:
            evals.setdefault(int(r["stage"]), []).append(float(r["return_mean"]))
    out = []
    for r in records:
        if r.get("kind") != "refit":
            continue
        if "data_evals_after" not in r and "return_before_refit" in r:
            stage = evals.get(int(r["stage"]) - 1, [])
            hits = [i for i, x in enumerate(stage) if x == float(r["return_before_refit"])]
            if len(hits) == 1 or (hits and "data_from_best" in schedule):
                pick = hits[0] if len(hits) == 1 or schedule["data_from_best"] else hits[-1]
                r = {**r, "data_evals_after": len(stage) - 1 - pick}
        out.append(r)
    return out


def load_records(run_dir: Path) -> list[dict[str, Any]]:
    """Every record of a run's ``metrics.jsonl``, in file order; an unreadable line (a half-written last
    line) is skipped, and a run without the file has none."""
    try:
        lines = (Path(run_dir) / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return []
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def training_returns(records: Sequence[dict[str, Any]]) -> list[tuple[int, float]]:
    """``(env_steps, train_return)`` of a run's iterations that report one (records as ``load_records``
    gives them), leaving out the first after each refit: runs recorded before 2026-12-07 reported there
    an episode whose steps before the refit's decoder-data collection were added to those after it (up
    to twice an episode's return; ``Rollout.collect``). dm_control's episodes all end together, so that
    record is the only one touched; in runs recorded since, it is a whole episode, dropped alike."""
    refits = sorted(int(r["env_steps"]) for r in records if r.get("kind") == "refit")
    out, k = [], 0
    for r in records:
        if r.get("kind") != "iteration" or r.get("train_return") is None:
            continue
        steps = int(r["env_steps"])
        if k < len(refits) and steps > refits[k]:
            while k < len(refits) and steps > refits[k]:
                k += 1
            continue  # the first report after refit k (or after several refits with none between)
        out.append((steps, float(r["train_return"])))
    return out


def load_curve(run_dir: Path) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """The evaluations of a run: env steps ``(E,)`` and mean evaluation returns ``(E,)``, in file order
    (the ``"kind": "eval"`` records of ``load_records``)."""
    evals = [r for r in load_records(run_dir) if r.get("kind") == "eval"]
    steps = np.array([int(r["env_steps"]) for r in evals], dtype=np.int64)
    return steps, np.array([float(r["return_mean"]) for r in evals], dtype=np.float64)


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
