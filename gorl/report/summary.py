"""The numbers of a suite's report: per task and method (``Cell``), and per method over tasks
(``Aggregate``, the IQM of normalised final returns with a stratified-bootstrap interval)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gorl.report.load import Suite
from gorl.report.stats import iqm, normalise, stratified_bootstrap_ci

REPS = 2000
"""Bootstrap resamples for every interval in the report."""
ALPHA = 0.05
"""Intervals are ``1 - ALPHA`` = 95%."""
THRESHOLDS = np.linspace(0.0, 1.0, 101)
"""Taus of the performance profiles, on the normalised scale."""

Reference = Mapping[str, Mapping[str, tuple[float, float]]]
"""method -> task -> (mean, std), e.g. ``gorl.report.reference.REFERENCE``."""


@dataclass(frozen=True)
class Cell:
    """Final returns of one task and method (raw returns, 0..1000): ``n`` finished seeds and their
    mean, sample std (ddof 1; None for one seed, which has no spread to show), IQM and the IQM's 95%
    bootstrap interval (None if n = 0)."""

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
    std = float(x.std(ddof=1)) if x.size > 1 else None
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


UNIT_SCALE_BACKENDS = ("dmc", "warp")
"""Backends whose tasks' returns lie in 0..1000 (dm_control's suite and its MuJoCo Warp port)."""


def on_unit_scale(suite: Suite) -> bool:
    """Whether every task of ``suite`` has returns in 0..1000, so that return / 1000 puts the tasks on one
    0-1 scale; Gymnasium's tasks, for one, have no such bound."""
    from gorl.envs.registry import parse_task

    return all(parse_task(t)[0] in UNIT_SCALE_BACKENDS for t in suite.tasks)


def normalised_scores(suite: Suite, method: str) -> dict[str, NDArray[np.float64]]:
    """task -> normalised final returns ``(n_task,)`` of ``method``, tasks without finished runs left out;
    empty when the suite's tasks are not on a 0..1000 scale (``on_unit_scale``)."""
    if not on_unit_scale(suite):
        return {}
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
