"""The LatentOptimizer interface: what an RL algorithm provides to the GoRL schedule.

The schedule (``gorl.twotimescale.TwoTimescale``) alternates encoder stages and decoder refits and
knows nothing else about the algorithm. An optimiser owns its environment(s), critic(s), replay or
rollout storage and torch optimisers; it updates only the encoder of the composite policy it is bound
to, with the decoder frozen (``requires_grad_(False)`` and no optimiser state).

Contract:

* ``bind(policy, overrides)``: (re)builds losses and optimiser state for ``policy.encoder``; called at
  the start of every encoder stage (after the schedule reset the encoder, where it does), and on
  resume. ``overrides`` are config fields for this stage (e.g. ``{"clip_epsilon": 0.3}``); fields that
  shape networks, envs or storage are rejected with a ValueError. ``stage_end`` is the env-step count
  at which the stage ends (None: unknown), for schedules such as learning-rate decay. The critic is
  kept across stages. ``new_decoder=True`` says the decoder is new since the last ``bind`` (the
  schedule passes it after a refit, and only then): whatever the optimiser keeps that depends on the
  old decoder (a latent critic, a replay buffer of latents) is reset or kept as its config says. The
  optimiser never has to find out for itself whether the decoder changed.
* ``config``: the config in effect: the registered config with this stage's overrides (``bind`` sets
  it); what the optimiser and everything it drives read their settings from.
* ``normalize(obs)``: the observation transform (running normalisation) that the encoder, the decoder
  and the evaluation see: raw ``(*B, obs_dim)`` -> ``(*B, obs_dim)``.
* ``iterate()``: one round of collection and updates; returns scalar metrics (floats) and advances
  ``env_steps`` by the number of environment steps it collected for training.
* ``decoder_data(max_pairs)``: recent on-policy pairs ``(obs (M, obs_dim), raw_action (M, action_dim))``
  with ``M <= max_pairs``, raw actions in the decoder's unsquashed space. Steps spent collecting them,
  if any, are not counted in ``env_steps`` (as in the official code).
* ``state_dict()`` / ``load_state_dict()``: everything needed to resume bit-for-bit on the CPU (networks,
  optimisers, normalisation statistics, environment state, replay storage, counters; torch's global
  RNG is the caller's). ``load_state_dict`` follows a ``bind`` to a policy of the saved layout.

An optimiser whose ``normalize`` is a running normaliser may also expose it (``ObservationNormalizing``:
``observation_norm``), which lets the schedule keep a refitted decoder on the statistics of its refit
(``ScheduleConfig.decoder_observations="frozen"``).

Optimisers are registered by name with their config model and presets (``gorl.algos.registry``);
``gorl.testing.check_latent_optimizer`` checks this contract.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor

from gorl.interfaces.policy import ActingPolicy


@runtime_checkable
class LatentOptimizer(Protocol):
    """An on- or off-policy algorithm that optimises the encoder in latent space."""

    env_steps: int
    config: Any

    def bind(
        self,
        policy: ActingPolicy,
        overrides: dict[str, Any] | None = None,
        stage_end: int | None = None,
        *,
        new_decoder: bool = False,
    ) -> None:
        """Prepares to optimise ``policy.encoder`` with ``policy.decoder`` frozen until ``stage_end``;
        ``new_decoder``: the decoder was refitted since the last ``bind``."""
        ...

    def normalize(self, obs: Tensor) -> Tensor:
        """Raw observations ``(*B, obs_dim)`` as the policy sees them."""
        ...

    def iterate(self) -> dict[str, float]:
        """Collects data and updates the encoder once; returns metrics."""
        ...

    def decoder_data(self, max_pairs: int) -> tuple[Tensor, Tensor]:
        """Recent on-policy ``(obs, raw_action)`` pairs for the decoder phase."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """A resumable snapshot."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restores a snapshot taken by ``state_dict``."""
        ...


@runtime_checkable
class ObservationNormalizing(Protocol):
    """An optimiser that exposes the running normaliser behind ``normalize``."""

    @property
    def observation_norm(self) -> Any:
        """The ``gorl.algos.running_norm.RunningNorm`` that ``normalize`` applies (its moments keep
        updating), or None when observations are not normalised."""
        ...
