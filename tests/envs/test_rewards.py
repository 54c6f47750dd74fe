"""gorl's torch ``tolerance`` against dm_control's numpy ``rewards.tolerance``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dm_control.utils import rewards as dm_rewards
from hypothesis import given, settings
from hypothesis import strategies as st

from gorl.envs.tasks.rewards import tolerance

SIGMOIDS = (
    "gaussian",
    "hyperbolic",
    "long_tail",
    "reciprocal",
    "cosine",
    "linear",
    "quadratic",
    "tanh_squared",
)
# Points inside, on and outside [-1, 2], out to several margins on both sides.
X = np.concatenate([np.linspace(-8.0, 9.0, 341), [-1.0, 2.0, 0.5, -1.0 - 1e-9, 2.0 + 1e-9]])


def both(x: np.ndarray, **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """(dm_control's value, gorl's value in float64) at the same points."""
    sigmoid = kwargs.pop("sigmoid", "gaussian")
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # tiny margins overflow numpy
        ref = dm_rewards.tolerance(x, sigmoid=sigmoid, **kwargs)
    got = tolerance(torch.as_tensor(x, dtype=torch.float64), sigmoid_kind=sigmoid, **kwargs)
    assert got.dtype == torch.float64 and got.shape == x.shape
    return np.asarray(ref), got.numpy()


@pytest.mark.parametrize("sigmoid", SIGMOIDS)
@pytest.mark.parametrize("value_at_margin", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("margin", [0.3, 1.0, 4.0])
def test_matches_dm_control_every_sigmoid(sigmoid: str, value_at_margin: float, margin: float) -> None:
    ref, got = both(X, bounds=(-1.0, 2.0), margin=margin, sigmoid=sigmoid, value_at_margin=value_at_margin)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    inside = (X >= -1.0) & (X <= 2.0)
    assert np.all(got[inside] == 1.0)
    clearly_outside = (X < -1.0 - 1e-6) | (X > 2.0 + 1e-6)
    assert np.all(got[clearly_outside] < 1.0) and np.all(got >= 0.0)
    # At exactly one margin beyond each bound the value is value_at_margin (the sigmoid's definition).
    ref_m, got_m = both(
        np.array([-1.0 - margin, 2.0 + margin]),
        bounds=(-1.0, 2.0),
        margin=margin,
        sigmoid=sigmoid,
        value_at_margin=value_at_margin,
    )
    np.testing.assert_allclose(got_m, value_at_margin, rtol=1e-9)
    np.testing.assert_allclose(got_m, ref_m, rtol=1e-12)


@pytest.mark.parametrize("sigmoid", ["cosine", "linear", "quadratic"])
def test_zero_value_at_margin_for_finite_support_sigmoids(sigmoid: str) -> None:
    ref, got = both(X, bounds=(0.0, 1.0), margin=2.0, sigmoid=sigmoid, value_at_margin=0.0)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert np.all(got[(X < -2.0) | (X > 3.0)] == 0.0)  # nothing beyond one margin


def test_margin_zero_is_the_indicator_of_the_bounds() -> None:
    ref, got = both(X, bounds=(-1.0, 2.0), margin=0.0)
    np.testing.assert_array_equal(got, ref)
    np.testing.assert_array_equal(got, ((X >= -1.0) & (X <= 2.0)).astype(np.float64))
    # Exact target (lower == upper): only x == 0 scores.
    ref0, got0 = both(np.array([-1e-9, 0.0, 1e-9]), bounds=(0.0, 0.0), margin=0.0)
    np.testing.assert_array_equal(got0, ref0)
    np.testing.assert_array_equal(got0, [0.0, 1.0, 0.0])


@pytest.mark.parametrize(
    "bounds", [(10.0, float("inf")), (-float("inf"), 0.5), (-float("inf"), float("inf"))]
)
def test_infinite_bounds(bounds: tuple[float, float]) -> None:
    ref, got = both(X, bounds=bounds, margin=2.0, sigmoid="linear", value_at_margin=0.0)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_float32_and_batch_shapes() -> None:
    x = torch.linspace(-3.0, 3.0, 24, dtype=torch.float32).reshape(2, 3, 4)
    got = tolerance(x, bounds=(-0.5, 0.5), margin=1.0)
    assert got.dtype == torch.float32 and got.shape == (2, 3, 4)
    ref = dm_rewards.tolerance(x.double().numpy(), bounds=(-0.5, 0.5), margin=1.0)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-6, atol=1e-7)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    x=st.floats(-50, 50),
    lower=st.floats(-10, 10),
    width=st.floats(0, 10),
    margin=st.floats(0, 20),
    value=st.floats(0.01, 0.99),
    sigmoid=st.sampled_from(SIGMOIDS),
)
def test_random_scalars(
    x: float, lower: float, width: float, margin: float, value: float, sigmoid: str
) -> None:
    kwargs = {"bounds": (lower, lower + width), "margin": margin, "value_at_margin": value}
    ref, got = both(np.array([x]), sigmoid=sigmoid, **kwargs)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bounds": (1.0, 0.0)},  # lower > upper
        {"bounds": (1.0, 0.0), "margin": 1.0},
        {"margin": -0.1},  # negative margin
        {"margin": 1.0, "sigmoid": "gaussian", "value_at_margin": 0.0},  # must be in (0, 1)
        {"margin": 1.0, "sigmoid": "gaussian", "value_at_margin": 1.0},
        {"margin": 1.0, "sigmoid": "long_tail", "value_at_margin": -0.5},
        {"margin": 1.0, "sigmoid": "linear", "value_at_margin": 1.0},  # must be in [0, 1)
        {"margin": 1.0, "sigmoid": "cosine", "value_at_margin": -0.1},
        {"margin": 1.0, "sigmoid": "no_such_sigmoid"},  # unknown sigmoid
    ],
)
def test_errors_match_dm_control(kwargs: dict) -> None:
    kwargs = dict(kwargs)
    sigmoid = kwargs.pop("sigmoid", "gaussian")
    x = np.array([0.5, 3.0])
    with pytest.raises(ValueError):
        dm_rewards.tolerance(x, sigmoid=sigmoid, **kwargs)
    with pytest.raises(ValueError):
        tolerance(torch.as_tensor(x), sigmoid_kind=sigmoid, **kwargs)


def test_margin_zero_ignores_sigmoid_and_value_like_dm_control() -> None:
    # With margin 0 dm_control never evaluates the sigmoid, so neither raises.
    ref, got = both(X, bounds=(0.0, 1.0), margin=0.0, sigmoid="no_such_sigmoid", value_at_margin=5.0)
    np.testing.assert_array_equal(got, ref)
