"""The LatentPolicy interface: the encoder pi_theta(z | s).

A tractable, state-conditioned diagonal Gaussian over z. Everything the latent optimiser needs (log
probabilities, ratios, entropy) is computed on z only; the decoder is never inside these quantities.

Contract (checked by ``gorl.testing.check_latent_policy``):

* ``actor``: a TorchRL ``ProbabilisticActor`` reading ``OBSERVATION`` and writing ``LOC``, ``SCALE``,
  ``LATENT`` and ``LATENT_LOG_PROB`` (keys in ``gorl.interfaces.keys``). This is what ``ClipPPOLoss``
  receives as its actor, so PPO ratios are ``exp(log pi_new(z|s) - log pi_old(z|s))``.
* ``distribution(obs)``: obs ``(*B, obs_dim)`` -> a distribution with batch shape ``*B`` and event shape
  ``(latent_dim,)``; ``log_prob`` sums over latent dims.
* ``mode(obs)``: the mean, ``(*B, latent_dim)``: the deterministic latent used in evaluation.
* ``reset_to_prior()``: after it, ``distribution(obs)`` is N(0, I) for every obs (exactly: loc 0, scale
  1), and the network's hidden layers are freshly initialised.
* ``prior_penalty(obs)``: a scalar >= 0 that is 0 at the prior's parameters when ``kind="kl"``; the
  official code's form is ``mean(loc^2) + mean(scale^2)`` (anchors.md section 1).
"""

from __future__ import annotations

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

    def mode(self, obs: Tensor) -> Tensor:
        """The mean latent ``(*B, latent_dim)``."""
        ...

    def reset_to_prior(self) -> None:
        """Re-initialises the network so that it outputs N(0, I) for every observation."""
        ...

    def prior_penalty(self, obs: Tensor) -> Tensor:
        """A scalar penalty on the distance of pi_theta(. | obs) from N(0, I)."""
        ...
