"""DPPO's ratio term: the flow network run as a stochastic denoising chain, one ratio per step.

The rollout's actor samples ``x_0 = z ~ N(0, I)`` and then every Euler step with Gaussian noise of std
``sigma`` (``gorl.algos.dppo.functional``), and returns the whole chain; ``prepare`` stores each step's
exact log-density under the behaviour parameters; ``objective`` recomputes them and returns the per-step
log ratios ``(B, K)``, which the PPO engine clips one by one and averages (the official GoRL runs'
DPPO). Evaluation goes through the composite: ``z = 0`` and the flow's deterministic chain.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from gorl.algos.dppo.config import DPPOConfig
from gorl.algos.dppo.functional import denoising_chain, step_log_probs
from gorl.algos.fpo.term import CHUNK, flow_of, train_decoder
from gorl.interfaces.latent_policy import gaussian_log_prob
from gorl.interfaces.policy import ActingPolicy
from gorl.squash import squash


class DenoisingActor:
    """Acts with ``policy``'s flow as a stochastic chain; ``act`` also returns ``chain (N, K + 1, D)``."""

    def __init__(self, policy: ActingPolicy, sigma: float) -> None:
        self.policy, self.sigma = policy, sigma
        self.flow = flow_of(policy, "dppo")

    def act(self, obs: Tensor, *, deterministic: bool = False) -> dict[str, Tensor]:
        """``obs (N, obs_dim)`` -> latent, log_prob (of z), chain, raw_action (its end), action."""
        loc, scale = self.policy.encoder.loc_scale(obs)
        z = loc if deterministic else loc + scale * torch.randn_like(loc)
        sigma = 0.0 if deterministic else self.sigma
        chain = denoising_chain(self.flow.velocity, obs, z, self.flow.steps, sigma)
        raw = chain[:, -1]
        return {
            "latent": z,
            "log_prob": gaussian_log_prob(z, loc, scale),
            "chain": chain,
            "raw_action": raw,
            "action": squash(raw, self.policy.action_low, self.policy.action_high),
        }


class DPPOTerm:
    """The ``RatioTerm`` of DPPO (see the module docstring)."""

    trains: Literal["encoder", "decoder"] = "decoder"

    def __init__(self, config: DPPOConfig) -> None:
        self.config = config

    def bind(self, policy: ActingPolicy, config: DPPOConfig | None = None) -> list[nn.Parameter]:
        """Trains the flow; the encoder (the prior) stays as it is. ``config``: the stage's config (stage
        overrides applied), read from now on; None keeps the current one."""
        if config is not None:
            self.config = config
        return train_decoder(policy, "dppo")

    def actor(self, policy: ActingPolicy) -> DenoisingActor:
        """The stochastic chain with noise ``sigma`` per step."""
        return DenoisingActor(policy, self.config.sigma)

    def prepare(self, policy: ActingPolicy, obs: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The chains and their per-step log-densities ``old_log_prob (M, K)``."""
        velocity, chain = flow_of(policy, "dppo").velocity, batch["chain"]
        old = torch.cat(
            [
                step_log_probs(velocity, o, ch, self.config.sigma)
                for o, ch in zip(obs.split(CHUNK), chain.split(CHUNK), strict=True)
            ]
        )
        return {"chain": chain, "old_log_prob": old}

    def objective(
        self, policy: ActingPolicy, obs: Tensor, data: dict[str, Tensor], *, penalty: bool
    ) -> dict[str, Tensor]:
        """Per-step ``log_ratio (B, K)``."""
        new = step_log_probs(flow_of(policy, "dppo").velocity, obs, data["chain"], self.config.sigma)
        return {"log_ratio": new - data["old_log_prob"]}
