"""How faithfully a refitted policy reproduces the policy its data came from.

A refit replaces the data policy ``(encoder, old decoder)`` with ``(prior, new decoder)``; if the two
differ, the next stage starts from another policy than the one the last stage learned. Measured on
held-out states, in the unsquashed action space and in units of the data policy's own spread at each
state and action dimension (so 0.2 means "a fifth of the policy's standard deviation"):

* mean error: ``|E[a_new] - E[a_old]| / std(a_old)``;
* spread ratio: ``std(a_new) / std(a_old)``;
* deterministic error: ``|a_new(s, z=0) - a_old(s, mu(s))| / std(a_old)``: the action evaluations use;
* energy distance between the two action distributions at a state, on standardised actions
  (``2 E|X - Y| - E|X - X'| - E|Y - Y'|``, 0 iff the distributions agree; Szekely and Rizzo 2013).

Each is averaged over states; per-dimension figures are averaged over dimensions, and the worst dimension
is reported beside the mean. At a state where the data policy is nearly deterministic (e.g. saturated at
a clip) its spread counts as at least a tenth of the median state's, so that one such state cannot
dominate the average (without the floor, one refit's mean error read 1158).

The mean error is estimated from ``samples`` actions of each policy, so a perfect refit does not score 0:
two identical Gaussian policies differ in their sample means by ``N(0, 2 / samples)`` spreads, whose
absolute value averages ``2 / sqrt(pi * samples)`` (0.07 at 256 samples), reported as
``mean_error_floor``. ``mean_error_se`` is the mean error's standard error over the held-out states.
``gorl.testing.check_refit_fidelity`` runs the same measures on a decoder plug-in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import Tensor

from gorl.interfaces.policy import ActingPolicy


@dataclass(frozen=True)
class Fidelity:
    """Fidelity figures (see the module docstring); floats, JSON-friendly through ``asdict``."""

    mean_error: float
    mean_error_worst_dim: float
    mean_error_se: float
    mean_error_floor: float
    spread_ratio: float
    spread_ratio_min_dim: float
    spread_ratio_max_dim: float
    det_error: float
    det_error_worst_dim: float
    energy_distance: float

    def record(self, prefix: str = "fidelity_") -> dict[str, float]:
        """The figures as a flat dict with ``prefix`` on each key."""
        return {prefix + k: v for k, v in asdict(self).items()}


def energy_distance(x: Tensor, y: Tensor) -> Tensor:
    """Energy distance between samples ``x (S, n, d)`` and ``y (S, m, d)`` per leading index: ``(S,)``.

    ``2 mean|x - y| - mean|x - x'| - mean|y - y'|`` with Euclidean norms (V-statistics: the diagonal
    zeros included, so two identical samples give exactly 0).
    """
    xy = torch.cdist(x, y).mean(dim=(-2, -1))
    xx = torch.cdist(x, x).mean(dim=(-2, -1))
    yy = torch.cdist(y, y).mean(dim=(-2, -1))
    return 2 * xy - xx - yy


@torch.no_grad()
def sample_raw_actions(policy: ActingPolicy, obs: Tensor, samples: int) -> Tensor:
    """``samples`` stochastic unsquashed actions at each state of ``obs (S, obs_dim)``: ``(S, samples,
    D)``."""
    states = obs.unsqueeze(1).expand(-1, samples, -1).reshape(-1, obs.shape[-1])
    raw = policy.act(states)["raw_action"]
    return raw.reshape(obs.shape[0], samples, -1)


@torch.no_grad()
def action_fidelity(old: ActingPolicy, new: ActingPolicy, obs: Tensor, samples: int = 256) -> Fidelity:
    """Fidelity of ``new`` to ``old`` at the states ``obs (S, obs_dim)``, ``samples`` actions per state
    from each (torch's global generator)."""
    a_old = sample_raw_actions(old, obs, samples)
    a_new = sample_raw_actions(new, obs, samples)
    std_old = a_old.std(dim=1)  # (S, D)
    # a state where the data policy is (near) deterministic, e.g. saturated at a decoder's clip, would
    # divide by ~0: its spread counts as at least a tenth of the median state's, per dimension
    std_old = torch.maximum(std_old, 0.1 * std_old.median(dim=0).values).clamp_min(1e-6)
    per_state = (a_new.mean(dim=1) - a_old.mean(dim=1)).abs() / std_old  # (S, D)
    mean_err = per_state.mean(dim=0)  # (D,)
    state_err = per_state.mean(dim=1)  # (S,)
    se = state_err.std() / state_err.numel() ** 0.5 if state_err.numel() > 1 else torch.tensor(float("nan"))
    spread = (a_new.std(dim=1) / std_old).mean(dim=0)
    det_old = old.act(obs, deterministic=True)["raw_action"]
    det_new = new.act(obs, deterministic=True)["raw_action"]
    det_err = ((det_new - det_old).abs() / std_old).mean(dim=0)
    scale = std_old.unsqueeze(1)
    energy = energy_distance(a_old / scale, a_new / scale).mean()
    return Fidelity(
        mean_error=float(mean_err.mean()),
        mean_error_worst_dim=float(mean_err.max()),
        mean_error_se=float(se),
        mean_error_floor=2.0 / math.sqrt(math.pi * samples),
        spread_ratio=float(spread.mean()),
        spread_ratio_min_dim=float(spread.min()),
        spread_ratio_max_dim=float(spread.max()),
        det_error=float(det_err.mean()),
        det_error_worst_dim=float(det_err.max()),
        energy_distance=float(energy),
    )
