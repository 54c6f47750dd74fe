"""Aggregate statistics for a few runs per task, after Agarwal et al. 2021, "Deep Reinforcement Learning at
the Edge of the Statistical Precipice" (the method of the public ``rliable`` library, written here in numpy).

* The interquartile mean (IQM) is the mean of the middle 50% of the scores: robust to an outlier seed and
  less noisy than the median.
* Uncertainty comes from the *stratified* bootstrap: the seeds of each task are resampled with replacement
  within that task, never across tasks, so every resample keeps each task's share of the runs.
* Intervals are percentile intervals of the bootstrap distribution.
* A performance profile (score distribution) gives, for each threshold tau, the fraction of runs whose score
  exceeds tau.

Scores are DeepMind Control returns in ``[0, 1000]``. Metrics that pool several tasks take scores
normalised by ``MAX_RETURN`` (``normalise``) so that each task is on the same ``[0, 1]`` scale; a metric of
one task may use raw returns. Every function here is pure and deterministic given its ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray

MAX_RETURN = 1000.0
"""A DMC episode's largest return (1000 steps, reward at most 1 each): the normaliser across tasks."""


def normalise(scores: ArrayLike, max_score: float = MAX_RETURN) -> NDArray[np.float64]:
    """DMC returns divided by the largest possible return.

    Args:
        scores: returns of any shape, in ``[0, max_score]``.
        max_score: the normaliser, 1000 for DMC.

    Returns:
        ``scores / max_score`` as float64, same shape, in ``[0, 1]``.
    """
    return np.asarray(scores, dtype=np.float64) / max_score


def iqm(scores: ArrayLike) -> NDArray[np.float64] | float:
    """Interquartile mean over the last axis: the mean of the middle 50% of the sorted scores.

    With ``n`` scores, ``k = floor(n / 4)`` are cut from each end and the remaining ``n - 2k`` averaged,
    as ``scipy.stats.trim_mean(x, 0.25)`` does (so for ``n < 4`` nothing is cut: the plain mean).

    Args:
        scores: shape ``(..., n)`` with ``n >= 1``; a 1-D array is one sample.

    Returns:
        A float for a 1-D input, else an array of shape ``(...)``: the IQM of each sample.
    """
    x = np.sort(np.asarray(scores, dtype=np.float64), axis=-1)
    n = x.shape[-1]
    if n == 0:
        raise ValueError("iqm of no scores")
    k = int(0.25 * n)
    trimmed = x[..., k : n - k].mean(axis=-1)
    return float(trimmed) if trimmed.ndim == 0 else trimmed


def stratified_resample(
    scores_by_task: Mapping[str, ArrayLike], reps: int, rng: np.random.Generator
) -> dict[str, NDArray[np.float64]]:
    """Bootstrap resamples of each task's seeds, drawn independently per task (stratified).

    Args:
        scores_by_task: task -> scores of shape ``(n_task,)``, one per run (seed); ``n_task >= 1``.
        reps: number of resamples.
        rng: the random generator; tasks are drawn in the mapping's order.

    Returns:
        task -> array ``(reps, n_task)``: row ``r`` holds ``n_task`` scores drawn with replacement from that
        task's own scores only.
    """
    out = {}
    for task, scores in scores_by_task.items():
        x = np.asarray(scores, dtype=np.float64)
        out[task] = x[rng.integers(0, len(x), size=(reps, len(x)))]
    return out


def stratified_bootstrap_ci(
    scores_by_task: Mapping[str, ArrayLike],
    statistic: Callable[..., NDArray[np.float64] | float],
    reps: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
    *,
    pooled: bool = True,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Point estimate and ``1 - alpha`` percentile interval of ``statistic`` by stratified bootstrap.

    Each of ``reps`` resamples draws, for every task separately, as many scores as the task has, with
    replacement from that task's scores (``stratified_resample``). The statistic of each resample gives the
    bootstrap distribution; the interval is its ``100 * alpha / 2`` and ``100 * (1 - alpha / 2)``
    percentiles. Tasks with no scores are left out.

    Args:
        scores_by_task: task -> scores ``(n_task,)``, one per seed. Normalise (``normalise``) before pooling
            tasks whose scales differ.
        statistic: with ``pooled`` (the default), a function of scores ``(..., N)`` reducing the last axis
            to ``(...)`` or ``(..., k)`` (e.g. ``iqm`` or ``lambda x: performance_profile(x, taus)``); it
            receives the tasks' scores concatenated, ``N = sum(n_task)``, with leading axis ``reps`` for the
            resamples. Without ``pooled`` it receives the mapping task -> ``(..., n_task)`` itself, for a
            statistic that needs the tasks apart (e.g. the mean of the per-task means).
        reps: number of bootstrap resamples.
        alpha: ``1 - alpha`` is the interval's coverage (0.05: a 95% interval).
        seed: seed of the resampling; the result is a function of the inputs and ``seed``.
        pooled: whether ``statistic`` takes the concatenation (True) or the per-task mapping (False).

    Returns:
        ``(point, low, high)``, each of the statistic's shape (0-d for a scalar statistic): the statistic of
        the data themselves and the interval's bounds.
    """
    data = {t: np.asarray(s, dtype=np.float64) for t, s in scores_by_task.items() if np.size(s) > 0}
    if not data:
        raise ValueError("no scores to bootstrap")

    def apply(by_task: Mapping[str, NDArray[np.float64]]) -> NDArray[np.float64]:
        arg = np.concatenate(list(by_task.values()), axis=-1) if pooled else by_task
        return np.asarray(statistic(arg), dtype=np.float64)

    point = apply(data)
    boot = apply(stratified_resample(data, reps, np.random.default_rng(seed)))  # (reps, ...)
    if boot.shape[:1] != (reps,) or boot.shape[1:] != point.shape:
        raise ValueError(
            f"statistic gave {boot.shape} for {reps} resamples and {point.shape} for the data: it must "
            "reduce only the last axis (e.g. np.mean(x, axis=-1), not np.mean(x))"
        )
    low, high = np.percentile(boot, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return point, low, high


def performance_profile(scores: ArrayLike, thresholds: ArrayLike) -> NDArray[np.float64]:
    """Score distribution: the fraction of runs whose score is strictly above each threshold.

    ``profile[..., j] = mean_i [scores[..., i] > thresholds[j]]``. Across tasks, use normalised scores
    (``normalise``) and thresholds in ``[0, 1]``.

    Args:
        scores: shape ``(..., runs)``; a 1-D array is one set of runs.
        thresholds: shape ``(k,)``, the taus.

    Returns:
        Shape ``(..., k)``, non-increasing in tau, each in ``[0, 1]``.
    """
    x = np.asarray(scores, dtype=np.float64)
    taus = np.asarray(thresholds, dtype=np.float64)
    return (x[..., :, None] > taus).mean(axis=-2)


def performance_profile_ci(
    scores_by_task: Mapping[str, ArrayLike],
    thresholds: ArrayLike,
    reps: int = 2000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Performance profile of all runs of all tasks, with a stratified-bootstrap band.

    Args:
        scores_by_task: task -> normalised scores ``(n_task,)``, one per seed.
        thresholds: shape ``(k,)``, the taus, in ``[0, 1]`` for normalised scores.
        reps, alpha, seed: as in ``stratified_bootstrap_ci``.

    Returns:
        ``(profile, low, high)``, each ``(k,)``: the profile of the pooled runs and the pointwise
        ``1 - alpha`` percentile band.
    """
    taus = np.asarray(thresholds, dtype=np.float64)
    return stratified_bootstrap_ci(
        scores_by_task, lambda x: performance_profile(x, taus), reps=reps, alpha=alpha, seed=seed
    )


def bootstrap_mean_band(
    values: ArrayLike, reps: int = 2000, alpha: float = 0.05, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Mean over seeds of learning curves, with a pointwise percentile bootstrap band (seeds resampled).

    A resample draws ``S`` seeds with replacement; its mean curve is ``counts @ values / S`` with
    ``counts`` the multinomial draw counts, so memory is ``(reps, points)``. With one seed the band is
    the curve itself.

    Args:
        values: shape ``(S, points)``, one curve per seed on a common step grid.
        reps, alpha, seed: as in ``stratified_bootstrap_ci``.

    Returns:
        ``(mean, low, high)``, each ``(points,)``.
    """
    x = np.asarray(values, dtype=np.float64)
    s = x.shape[0]
    counts = np.random.default_rng(seed).multinomial(s, np.full(s, 1.0 / s), size=reps)  # (reps, S)
    boot = counts @ x / s  # (reps, points)
    low, high = np.percentile(boot, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return x.mean(axis=0), low, high
