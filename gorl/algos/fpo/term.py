"""FPO's ratio term: the flow network trained in action space with ratios from CFM losses.

At rollout the action is the flow's Euler chain from z ~ N(0, I) (the composite ``prior + flow``). Per
transition ``prepare`` draws N pairs (eps, t) and stores them with their CFM losses under the behaviour
parameters; ``objective`` recomputes the losses on the same draws and returns FPO's log ratio
(``gorl.algos.fpo.functional``), which the PPO engine clips and weighs by the advantage.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from gorl.algos.fpo.config import FPOConfig
from gorl.algos.fpo.functional import cfm_losses, draw_times, fpo_log_ratio
from gorl.interfaces.decoder import VelocityDecoder
from gorl.interfaces.policy import ActingPolicy, Actor

CHUNK = 65_536  # transitions per batched pass in prepare (bounds the memory at paper scale)


def flow_of(policy: ActingPolicy, method: str) -> VelocityDecoder:
    """``policy.decoder`` if it is a flow (``VelocityDecoder``), else a ValueError naming the method."""
    decoder = policy.decoder
    if not isinstance(decoder, VelocityDecoder):
        raise ValueError(
            f"{method} trains a flow's velocity field, but the policy's decoder is a "
            f"{type(decoder).__name__}; use schedule.initial_decoder='flow' (the method's default)"
        )
    return decoder


def train_decoder(policy: ActingPolicy, method: str) -> list[nn.Parameter]:
    """Freezes the encoder, unfreezes the flow; returns the flow's parameters."""
    flow = flow_of(policy, method)
    policy.encoder.requires_grad_(False)
    flow.requires_grad_(True)  # type: ignore[attr-defined]
    return list(flow.parameters())  # type: ignore[attr-defined]


class FPOTerm:
    """The ``RatioTerm`` of FPO (see the module docstring)."""

    trains: Literal["encoder", "decoder"] = "decoder"

    def __init__(self, config: FPOConfig) -> None:
        self.config = config

    def bind(self, policy: ActingPolicy, config: FPOConfig | None = None) -> list[nn.Parameter]:
        """Trains the flow; the encoder (the prior) stays as it is. ``config``: the stage's config (stage
        overrides applied), read from now on; None keeps the current one."""
        if config is not None:
            self.config = config
        return train_decoder(policy, "fpo")

    def actor(self, policy: ActingPolicy) -> Actor:
        """The composite: a = squash(Euler chain from z ~ N(0, I))."""
        return policy

    def prepare(self, policy: ActingPolicy, obs: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The draws ``eps (M, N, D)``, ``t (M, N)`` and their losses ``loss_old (M, N)``."""
        c, flow = self.config, flow_of(policy, "fpo")
        action = batch["raw_action"]
        m, d = action.shape
        eps = torch.randn(m, c.draws, d, dtype=action.dtype, device=action.device)
        t = draw_times((m, c.draws), flow.steps, c.time_draws, action)
        loss_old = torch.cat(
            [
                cfm_losses(flow.velocity, o, a, e, tt, c.supervise)
                for o, a, e, tt in zip(
                    obs.split(CHUNK), action.split(CHUNK), eps.split(CHUNK), t.split(CHUNK), strict=True
                )
            ]
        )
        return {"action": action, "eps": eps, "t": t, "loss_old": loss_old}

    def objective(
        self, policy: ActingPolicy, obs: Tensor, data: dict[str, Tensor], *, penalty: bool
    ) -> dict[str, Tensor]:
        """FPO's ``log_ratio`` (``(B, 1)`` or ``(B, N)``) and the mean CFM loss (a metric)."""
        c = self.config
        loss_new = cfm_losses(
            flow_of(policy, "fpo").velocity, obs, data["action"], data["eps"], data["t"], c.supervise
        )
        return {
            "log_ratio": fpo_log_ratio(data["loss_old"], loss_new, c.ratio, c.log_ratio_clip),
            "cfm_loss": loss_new.detach().mean(),
        }
