"""The report's statistics: IQM, stratified bootstrap intervals, performance profiles, curve bands."""

import numpy as np
import pytest

from gorl.report.stats import (
    bootstrap_mean_band,
    iqm,
    normalise,
    performance_profile,
    performance_profile_ci,
    stratified_bootstrap_ci,
    stratified_resample,
)


def test_iqm_by_hand():
    # n = 8: floor(8 / 4) = 2 cut from each end of 1..8, leaving 3, 4, 5, 6; (3 + 4 + 5 + 6) / 4 = 4.5
    assert iqm([8, 1, 7, 2, 6, 3, 5, 4]) == pytest.approx(4.5)
    # n = 5: floor(5 / 4) = 1 cut from each end of 1, 2, 3, 10, 100, leaving 2, 3, 10; 15 / 3 = 5
    assert iqm([10, 1, 100, 2, 3]) == pytest.approx(5.0)
    # n = 3: floor(3 / 4) = 0, nothing cut: the plain mean (1 + 2 + 6) / 3 = 3
    assert iqm([1, 2, 6]) == pytest.approx(3.0)


def test_iqm_matches_trim_mean_and_batches_over_leading_axes():
    scipy_stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for n in (1, 2, 4, 5, 7, 10, 33):
        x = rng.normal(size=n)
        assert iqm(x) == pytest.approx(scipy_stats.trim_mean(x, 0.25))
    batch = rng.normal(size=(4, 9))
    np.testing.assert_allclose(iqm(batch), [iqm(row) for row in batch])


def test_normalise_divides_by_1000():
    np.testing.assert_allclose(normalise([0, 250, 1000]), [0.0, 0.25, 1.0])


def _mean(x: np.ndarray) -> np.ndarray:
    return np.mean(x, axis=-1)


def _scores(seeds: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(0.3, 0.1, seeds), "b": rng.normal(0.7, 0.1, seeds)}


def test_bootstrap_ci_contains_point_and_is_deterministic():
    scores = _scores(10)
    point, low, high = stratified_bootstrap_ci(scores, iqm, reps=1000, seed=3)
    assert low <= point <= high
    assert point == pytest.approx(iqm(np.concatenate(list(scores.values()))))
    again = stratified_bootstrap_ci(scores, iqm, reps=1000, seed=3)
    assert (low, high) == (again[1], again[2])
    other = stratified_bootstrap_ci(scores, iqm, reps=1000, seed=4)
    assert (low, high) != (other[1], other[2])


def test_bootstrap_ci_narrows_with_more_seeds():
    widths = []
    for seeds in (5, 50):
        _, low, high = stratified_bootstrap_ci(_scores(seeds), _mean, reps=1000)
        widths.append(high - low)
    assert widths[1] < widths[0] / 2  # about 1/sqrt(10) of it


def test_resampling_never_mixes_tasks():
    scores = {"a": np.array([1.0, 2.0, 3.0]), "b": np.array([10.0, 20.0])}
    resampled = stratified_resample(scores, reps=500, rng=np.random.default_rng(0))
    assert resampled["a"].shape == (500, 3) and resampled["b"].shape == (500, 2)
    assert set(np.unique(resampled["a"])) <= {1.0, 2.0, 3.0}
    assert set(np.unique(resampled["b"])) <= {10.0, 20.0}


def test_stratified_bootstrap_keeps_each_tasks_share():
    # Task a scores 0 on its 2 seeds, task b 1 on its 6. Stratified, every resample has 2 scores from a and
    # 6 from b, so the pooled mean is 6 / 8 = 0.75 in all of them: a zero-width interval. A bootstrap over
    # the 8 runs pooled would draw 0s and 1s in varying numbers and give a wide interval.
    scores = {"a": np.zeros(2), "b": np.ones(6)}
    point, low, high = stratified_bootstrap_ci(scores, _mean, reps=500)
    assert point == low == high == pytest.approx(0.75)
    # the same runs without strata: some resamples draw more 0s, some fewer
    _, low, high = stratified_bootstrap_ci({"all": np.r_[np.zeros(2), np.ones(6)]}, _mean, reps=500)
    assert low < 0.75 < high


def test_unpooled_statistic_sees_tasks_apart():
    # mean of the per-task means: (mean(a) + mean(b)) / 2 = (0 + 1) / 2, whatever the seeds per task
    def mean_of_task_means(by_task):
        return np.mean([x.mean(axis=-1) for x in by_task.values()], axis=0)

    scores = {"a": np.zeros(2), "b": np.ones(6)}
    point, low, high = stratified_bootstrap_ci(scores, mean_of_task_means, reps=200, pooled=False)
    assert point == low == high == pytest.approx(0.5)


def test_bootstrap_skips_empty_tasks_and_rejects_no_scores():
    point, _, _ = stratified_bootstrap_ci({"a": np.array([0.5]), "b": np.array([])}, _mean, reps=10)
    assert point == pytest.approx(0.5)
    with pytest.raises(ValueError, match="no scores"):
        stratified_bootstrap_ci({"a": np.array([])}, _mean)


def test_bootstrap_rejects_a_statistic_that_reduces_the_resamples_too():
    with pytest.raises(ValueError, match="last axis"):
        stratified_bootstrap_ci(_scores(4), np.mean, reps=10)


def test_performance_profile_by_hand():
    scores = np.array([0.1, 0.5, 0.5, 0.9])
    taus = np.array([0.0, 0.1, 0.5, 0.9, 1.0])
    # > 0: all 4; > 0.1: 0.5, 0.5, 0.9 (strict: 0.1 is not above 0.1); > 0.5: only 0.9; > 0.9, > 1: none
    np.testing.assert_allclose(performance_profile(scores, taus), [1.0, 0.75, 0.25, 0.0, 0.0])
    batch = np.stack([scores, scores[::-1]])
    np.testing.assert_allclose(performance_profile(batch, taus), [[1.0, 0.75, 0.25, 0.0, 0.0]] * 2)


def test_performance_profile_band():
    taus = np.linspace(0, 1, 11)
    profile, low, high = performance_profile_ci(_scores(8), taus, reps=500)
    assert profile.shape == low.shape == high.shape == (11,)
    assert np.all(low <= profile) and np.all(profile <= high)
    assert np.all(np.diff(profile) <= 0)
    assert profile[0] == 1.0 and profile[-1] == 0.0


def test_mean_band():
    curves = np.array([[0.0, 10.0, 20.0], [2.0, 14.0, 30.0], [1.0, 12.0, 40.0]])  # (seeds, points)
    mean, low, high = bootstrap_mean_band(curves, reps=500)
    np.testing.assert_allclose(mean, [1.0, 12.0, 30.0])
    assert np.all(curves.min(axis=0) <= low) and np.all(low <= mean)
    assert np.all(mean <= high) and np.all(high <= curves.max(axis=0))
    one = bootstrap_mean_band(curves[:1], reps=50)  # one seed: the band is the curve
    for a in one:
        np.testing.assert_allclose(a, curves[0])
