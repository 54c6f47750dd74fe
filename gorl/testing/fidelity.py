"""``check_refit_fidelity``: can a decoder plug-in take over a policy in one refit?

A refit must hand the next stage the policy the last stage learned. The check builds a known data
policy (a state-dependent Gaussian encoder through an affine map, ``a = 0.5 + 0.4 z``, so the action
distribution at each state is a Gaussian with a state-dependent mean), draws refit pairs from it as
``gorl.twotimescale`` does (coupled when the decoder's ``couples`` trait is True, independent otherwise),
fits the decoder with the given ``FitConfig``, pairs it with the prior and measures
``gorl.twotimescale.action_fidelity`` on held-out states. It fails, naming the measure, when the
refitted policy is further from the data policy than the thresholds allow.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

import gorl.encoders as encoders
from gorl.composite import CompositePolicy
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.twotimescale import Fidelity, FitConfig, action_fidelity, draw_pairs, fit_decoder


class _Affine(nn.Module):
    """The data policy's decoder: ``a = shift + scale * z`` (nothing to fit)."""

    trainable, couples = False, True

    def __init__(self, obs_dim: int, action_dim: int, shift: float, scale: float) -> None:
        super().__init__()
        self.obs_dim, self.action_dim, self.latent_dim = obs_dim, action_dim, action_dim
        self.shift, self.scale = shift, scale

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        return self.shift + self.scale * z

    def loss(
        self,
        obs: Tensor,
        action: Tensor,
        generator: torch.Generator | None = None,
        noise: Tensor | None = None,
    ) -> Tensor:
        return action.new_zeros(())

    def reset_parameters(self) -> None:
        """Nothing to reset."""


def check_refit_fidelity(
    factory: Callable[..., GenerativeDecoder],
    *,
    obs_dim: int = 8,
    action_dim: int = 3,
    states: int = 4096,
    actions_per_state: int = 2,
    fit: FitConfig | None = None,
    max_mean_error: float = 0.2,
    spread_range: tuple[float, float] = (0.8, 1.2),
    max_det_error: float | None = None,
    seed: int = 0,
) -> Fidelity:
    """Refits ``factory(obs_dim=..., action_dim=...)`` on a known policy; returns the fidelity figures.

    ``max_det_error`` bounds the deterministic action's error; None: 0.2 for a coupling decoder, unchecked
    otherwise (with independent pairs a decoder's image of z = 0 need not be the data policy's mean).

    Raises:
        AssertionError: naming the measure that misses its bound.
    """
    torch.manual_seed(seed)
    encoder = encoders.make("gaussian", obs_dim=obs_dim, latent_dim=action_dim, init_head_gain=1.0)
    data = CompositePolicy(encoder, _Affine(obs_dim, action_dim, 0.5, 0.4), -10.0, 10.0)
    decoder = factory(obs_dim=obs_dim, action_dim=action_dim)
    obs = torch.randn(states, obs_dim)
    gen = torch.Generator().manual_seed(seed)
    pairs = draw_pairs(
        data, obs, actions_per_state, coupled=decoder.couples, raw_action_clip=3.0, generator=gen
    )
    fit = fit or FitConfig(steps=800, lr=3e-3, batch_size=512, progress=False)
    fit_decoder(decoder, pairs.obs, pairs.action, fit, noise=pairs.noise)
    prior = encoders.make("gaussian", obs_dim=obs_dim, latent_dim=action_dim)
    refitted = CompositePolicy(prior, decoder, -10.0, 10.0)
    fid = action_fidelity(data, refitted, torch.randn(32, obs_dim), samples=256)
    if not fid.mean_error <= max_mean_error:
        raise AssertionError(
            f"refit mean error {fid.mean_error:.3f} of the policy's spread > {max_mean_error}"
        )
    low, high = spread_range
    if not low <= fid.spread_ratio <= high:
        raise AssertionError(f"refit spread ratio {fid.spread_ratio:.3f} outside [{low}, {high}]")
    det_bound = max_det_error if max_det_error is not None else (0.2 if decoder.couples else None)
    if det_bound is not None and not fid.det_error <= det_bound:
        raise AssertionError(
            f"refit deterministic-action error {fid.det_error:.3f} of the spread > {det_bound}"
        )
    return fid
