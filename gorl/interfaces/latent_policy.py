"""The LatentPolicy interface: the encoder pi_theta(z | s).

A tractable, state-conditioned diagonal Gaussian over z. Everything the latent optimiser needs (log
probabilities, ratios, entropy) is computed on z only; the decoder is never inside these quantities.

Contract (checked by ``gorl.testing.check_latent_policy``):

* ``actor``: a TorchRL ``ProbabilisticActor`` reading ``OBSERVATION`` and writing ``LOC``, ``SCALE``,
  ``LATENT`` and ``LATENT_LOG_PROB`` (keys in ``gorl.interfaces.keys``). This is what ``ClipPPOLoss``
  receives as its actor, so PPO ratios are ``exp(log pi_new(z|s) - log pi_old(z|s))``.
* ``distribution(obs)``: obs ``(*B, obs_dim)`` -> a distribution with batch shape ``*B`` and event shape
  ``(latent_dim,)``; ``log_prob`` sums over latent dims.
* ``loc_scale(obs)``: ``(loc, scale)``, each ``(*B, latent_dim)``, scale > 0: the distribution's
  parameters, for optimisers that compute log-probabilities and entropies in closed form.
* ``mode(obs)``: the mean, ``(*B, latent_dim)``: the deterministic latent used in evaluation.
* ``reset_to_prior(keep_features=False)``: after it, ``distribution(obs)`` is N(0, I) for every obs
  (exactly: loc 0, scale 1), and the network's hidden layers are freshly initialised (or, with
  ``keep_features``, kept as they are).
* optional, ``anchor_to_prior(gain)`` (``AnchoredLatentPolicy``): N(0, I) for every obs by subtracting a
  frozen copy of the network from itself, loc scaled by ``gain``; every weight stays trainable.
* ``prior_penalty(obs)``: a scalar >= 0 that is 0 at the prior's parameters when ``kind="kl"``; the
  official code's form is ``mean(loc^2) + mean(scale^2)`` (``bennidict23/GoRL``,
  ``src/flow_policy/ppo.py``, its ``z_regularization`` term).
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

from torch import Tensor
from torch.distributions import Distribution

from gorl.interfaces.module import ModuleLike


@runtime_checkable
class LatentPolicy(ModuleLike, Protocol):
    """A Gaussian latent policy over ``z`` in ``R^latent_dim``."""

    obs_dim: int
    latent_dim: int

    @property
    def actor(self) -> Any:
        """The TorchRL ``ProbabilisticActor`` (OBSERVATION -> LOC, SCALE, LATENT, LATENT_LOG_PROB)."""
        ...

    def distribution(self, obs: Tensor) -> Distribution:
        """pi_theta(. | obs): batch shape ``obs.shape[:-1]``, event shape ``(latent_dim,)``."""
        ...

    def loc_scale(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        """``(loc, scale)`` of pi_theta(. | obs), each ``(*B, latent_dim)``."""
        ...

    def mode(self, obs: Tensor) -> Tensor:
        """The mean latent ``(*B, latent_dim)``."""
        ...

    def reset_to_prior(self, *, keep_features: bool = False) -> None:
        """Re-initialises the network so that it outputs N(0, I) for every observation (``keep_features``:
        only the output layer, the hidden layers keep what they learned)."""
        ...

    def prior_penalty(self, obs: Tensor) -> Tensor:
        """A scalar penalty on the distance of pi_theta(. | obs) from N(0, I)."""
        ...


@runtime_checkable
class AnchoredLatentPolicy(LatentPolicy, Protocol):
    """A latent policy that can also return to the prior by anchoring (``encoder_reset: anchored``)."""

    def anchor_to_prior(self, gain: Tensor | float = 1.0) -> None:
        """Afterwards ``distribution(obs)`` is N(0, I) for every obs, with every learned weight kept and
        trainable (the network minus a frozen copy of itself), and a step of the network moving ``loc``
        ``gain`` (``(latent_dim,)`` or a scalar) times as far as before."""
        ...


_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def gaussian_log_prob(z: Tensor, loc: Tensor, scale: Tensor) -> Tensor:
    """log N(z; loc, diag(scale^2)) summed over the last dim: ``(*B, d)`` -> ``(*B,)``.

    ``sum_i -((z_i - loc_i) / scale_i)^2 / 2 - log(scale_i) - log(2 pi) / 2``.
    """
    return (-0.5 * ((z - loc) / scale).pow(2) - scale.log() - _HALF_LOG_2PI).sum(-1)


def gaussian_entropy(scale: Tensor) -> Tensor:
    """Entropy of N(., diag(scale^2)) summed over the last dim: ``(*B, d)`` -> ``(*B,)``.

    ``sum_i log(scale_i) + (1 + log(2 pi)) / 2``.
    """
    return (scale.log() + 0.5 + _HALF_LOG_2PI).sum(-1)
