"""Latent PPO's ratio term: the encoder's Gaussian over z, the decoder frozen (``ppo``, GoRL(PPO)).

Ratios are ``exp(log pi_new(z|s) - log pi_old(z|s))`` with the diagonal Gaussian's closed-form density
(``gorl.interfaces.latent_policy``), one per transition; the decoder never enters the loss.
"""

from __future__ import annotations

from typing import Any, Literal

from torch import Tensor, nn

from gorl.interfaces.latent_policy import gaussian_entropy, gaussian_log_prob
from gorl.interfaces.policy import ActingPolicy, Actor


class LatentTerm:
    """The ``RatioTerm`` of PPO in latent space (see the module docstring).

    The prior penalty is computed only when the engine asks (``penalty_coef > 0``): for Gaussian PPO it
    would run the encoder a second time per minibatch for nothing.
    """

    trains: Literal["encoder", "decoder"] = "encoder"

    def bind(self, policy: ActingPolicy, config: Any = None) -> list[nn.Parameter]:
        """Freezes the decoder; the encoder's parameters that require grad are trained (the term has no
        settings of its own: the engine applies clip and coefficients)."""
        policy.decoder.requires_grad_(False)
        return [p for p in policy.encoder.parameters() if p.requires_grad]

    def actor(self, policy: ActingPolicy) -> Actor:
        """The composite itself: z ~ pi(.|s), a = squash(decode(s, z))."""
        return policy

    def prepare(self, policy: ActingPolicy, obs: Tensor, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The stored latent and its log-probability under the behaviour encoder."""
        return {"latent": batch["latent"], "old_log_prob": batch["log_prob"]}

    def objective(
        self, policy: ActingPolicy, obs: Tensor, data: dict[str, Tensor], *, penalty: bool
    ) -> dict[str, Tensor]:
        """``log_ratio (B,)``, the latent entropy and (if ``penalty``) the encoder's prior penalty."""
        loc, scale = policy.encoder.loc_scale(obs)
        out = {
            "log_ratio": gaussian_log_prob(data["latent"], loc, scale) - data["old_log_prob"],
            "entropy": gaussian_entropy(scale).mean(),
        }
        if penalty:
            out["penalty"] = policy.encoder.prior_penalty(obs)
        return out
