"""The RatioTerm interface: what a PPO-style optimiser needs from the policy it trains.

gorl's PPO engine (``gorl.algos.ppo.PPOOptimizer``) owns everything around the policy ratio: collection,
GAE, minibatches, the critic, Adam, gradient clipping, guards, resume. A ratio term owns the ratio:
which parameters it trains, how the behaviour policy acts, what it stores per transition, and the log
ratio ``log pi_new / pi_old`` (or a surrogate of it) of a minibatch. Three terms ship:

* latent PPO (``ppo``, GoRL(PPO)): the encoder, ``log N(z; loc, scale)`` of the stored latent, one ratio
  per transition;
* FPO (``fpo``): the flow network, ``L_old - L_new`` of conditional flow-matching losses on stored
  (eps, t) draws, one ratio per transition (averaged losses) or one per draw;
* DPPO (``dppo``): the flow network run as a stochastic denoising chain, one exact Gaussian log ratio
  per chain step.

Contract:

* ``bind(policy, config)``: makes the trained part require gradients and freezes the rest; returns the
  trained parameters (the engine builds its Adam over them and the critic's). ``config`` is the stage's
  config (the optimiser's config with this stage's overrides): until the next ``bind`` the term reads
  every setting it uses from it, so a stage override of a field the term uses takes effect.
* ``actor(policy)``: an object with ``act(obs (N, obs_dim), deterministic=False) -> dict`` of
  ``(N, ...)`` tensors holding at least ``latent``, ``log_prob``, ``raw_action`` and ``action``;
  ``gorl.algos.rollout.Rollout`` steps the env with it and stacks every key it returns.
* ``prepare(policy, obs, batch)``: called once per iteration before any update, under the behaviour
  parameters and without gradients; ``obs`` ``(M, obs_dim)`` as the policy saw it, ``batch`` the
  actor's outputs flattened to ``(M, ...)``. Returns per-transition tensors ``(M, ...)`` that the engine
  slices into minibatches (stored draws, old log-probabilities or losses).
* ``objective(policy, obs, data, penalty=...)``: on a minibatch (``obs (B, obs_dim)``, ``data`` sliced from
  ``prepare``'s output), with gradients: ``log_ratio`` ``(B, K)`` (K ratios per transition, each
  weighted by the transition's advantage), and optionally ``entropy`` (a scalar, weighted by the
  config's ``entropy_coef``) and ``penalty`` (a scalar, weighted by ``penalty_coef``; computed only when
  ``penalty`` is True, i.e. ``penalty_coef > 0``).
* ``trains``: ``"encoder"`` or ``"decoder"``, the part of the composite whose weights change (a trait
  that the optimiser conformance check reads).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

from torch import Tensor, nn

from gorl.interfaces.policy import ActingPolicy, Actor


@runtime_checkable
class RatioTerm(Protocol):
    """The policy side of a clipped-surrogate optimiser."""

    trains: Literal["encoder", "decoder"]

    def bind(self, policy: ActingPolicy, config: Any) -> list[nn.Parameter]:
        """Unfreezes the trained part of ``policy``, freezes the rest; returns the trained parameters;
        ``config`` (the stage's) is what the term reads its settings from until the next ``bind``."""
        ...

    def actor(self, policy: ActingPolicy) -> Actor:
        """What collects data: ``act(obs, deterministic=False) -> dict[str, Tensor]``."""
        ...

    def prepare(self, policy: ActingPolicy, obs: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """Per-transition data ``(M, ...)`` under the behaviour parameters (no gradients)."""
        ...

    def objective(
        self, policy: ActingPolicy, obs: Tensor, data: dict[str, Tensor], *, penalty: bool
    ) -> dict[str, Tensor]:
        """``log_ratio (B, K)`` and optional scalar ``entropy`` and ``penalty``, with gradients."""
        ...
