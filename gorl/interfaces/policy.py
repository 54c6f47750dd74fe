"""The ActingPolicy interface: an encoder paired with a decoder, as optimisers, rollouts and evaluation
use it (``gorl.composite.CompositePolicy`` is the implementation).

Contract:

* ``encoder`` (a ``LatentPolicy``) and ``decoder`` (a ``GenerativeDecoder``) with equal ``latent_dim``
  and ``obs_dim``; ``action_low``/``action_high`` ``(action_dim,)``, the env's bounds.
* ``act(obs, deterministic=False)``: the one sampling path, z -> decode -> squash. obs ``(*B, obs_dim)``
  (normalised as the policy sees it) -> a dict of ``latent`` ``(*B, latent_dim)`` (the encoder's mean
  when ``deterministic``), ``log_prob`` ``(*B,)`` (of the latent under the encoder), ``raw_action``
  ``(*B, action_dim)`` (unsquashed) and ``action`` (squashed into the bounds). Optimisers may add keys
  of their own through their term (DPPO's denoising chain).
* ``with_decoder(decoder)``: a new policy sharing this encoder, paired with ``decoder``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor

from gorl.interfaces.decoder import GenerativeDecoder
from gorl.interfaces.latent_policy import LatentPolicy


@runtime_checkable
class Actor(Protocol):
    """What a rollout steps an env with: ``act(obs, deterministic)`` -> at least ``latent``,
    ``log_prob``, ``raw_action``, ``action`` (an ``ActingPolicy``, or a ratio term's wrapper of one)."""

    def act(self, obs: Tensor, *, deterministic: bool = False) -> dict[str, Tensor]:
        """Acts at ``obs (*B, obs_dim)``; see ``ActingPolicy.act``."""
        ...


@runtime_checkable
class ActingPolicy(Actor, Protocol):
    """pi(a | s) = integral of pi_theta(z | s) g_phi(a | s, z) dz, acting through ``act``."""

    @property
    def encoder(self) -> LatentPolicy:
        """The latent policy pi_theta(z | s)."""
        ...

    @property
    def decoder(self) -> GenerativeDecoder:
        """The decoder g_phi(a | s, z)."""
        ...

    @property
    def action_low(self) -> Tensor:
        """Lower action bounds ``(action_dim,)``."""
        ...

    @property
    def action_high(self) -> Tensor:
        """Upper action bounds ``(action_dim,)``."""
        ...

    def act(self, obs: Tensor, *, deterministic: bool = False) -> dict[str, Tensor]:
        """z -> decode -> squash at ``obs (*B, obs_dim)``; see the module docstring."""
        ...

    def with_decoder(self, decoder: GenerativeDecoder) -> ActingPolicy:
        """A new policy sharing this encoder, paired with ``decoder``."""
        ...
