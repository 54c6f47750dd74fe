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
* ``decode(obs, z)``: the unsquashed action ``(*B, action_dim)`` of latent ``z`` at ``obs`` (as the
  encoder sees it): every caller outside the policy (refit pairs, SAC's reparameterised draw) decodes
  through it, never through ``decoder.decode``, so that the policy's observation map applies.
* ``with_decoder(decoder, decoder_obs=None)``: a new policy sharing this encoder, paired with
  ``decoder``, which reads ``decoder_obs(obs)`` (a module, e.g. the normaliser's statistics of the
  decoder's refit, ``gorl.algos.running_norm.Renormalize``) instead of ``obs`` when given.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from torch import Tensor, nn

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

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        """The unsquashed action of latent ``z (*B, latent_dim)`` at ``obs (*B, obs_dim)``."""
        ...

    def with_decoder(
        self, decoder: GenerativeDecoder, *, decoder_obs: nn.Module | None = None
    ) -> ActingPolicy:
        """A new policy sharing this encoder, paired with ``decoder`` (reading ``decoder_obs(obs)``)."""
        ...
