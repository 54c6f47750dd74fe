"""FPO settings and presets: PPO's (``gorl.algos.ppo.config``) plus how the ratio is formed.

Presets: ``paper``: the Playground PPO layout of the official runs (2048 envs, 16 epochs, ...) with
FPO's clip 0.05, lr 3e-4, no entropy bonus and no gradient clip (``akanazawa/fpo``,
``playground/src/flow_policy/fpo.py``, as the GoRL authors ran it); ``cpu``: gorl's CPU PPO layout
(``docs/ppo.md``) with FPO's clip and no entropy bonus, the rest as Gaussian PPO on a CPU so that the
comparison differs only in the policy.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from gorl.algos.ppo.config import PRESETS as PPO_PRESETS
from gorl.algos.ppo.config import PPOConfig


class FPOConfig(PPOConfig):
    """Flow policy optimisation: PPO with ratios from conditional flow-matching losses."""

    MUTABLE: ClassVar[frozenset[str]] = PPOConfig.MUTABLE | {"ratio", "log_ratio_clip"}

    clip_epsilon: float = Field(0.05, gt=0.0, lt=1.0, description="PPO ratio clip (FPO: 0.05)")
    entropy_coef: float = Field(0.0, ge=0.0, le=0.0, description="none: a flow has no closed-form entropy")
    penalty_coef: float = Field(
        0.0, ge=0.0, le=0.0, description="none: there is no latent to keep near N(0, I)"
    )
    draws: int = Field(8, ge=1, le=256, description="(eps, t) draws stored per action (FPO: 8)")
    ratio: Literal["mean", "per_sample"] = Field(
        "mean",
        description="mean: rho = exp(mean L_old - mean L_new), one per action (FPO's default); per_sample: "
        "rho_i = exp(clip(L_old_i - L_new_i)), one per draw (the GoRL paper's FPO runs)",
    )
    log_ratio_clip: float = Field(3.0, gt=0.0, description="per_sample: |L_old_i - L_new_i| clipped to this")
    supervise: Literal["eps", "velocity"] = Field(
        "eps",
        description="eps: the velocity turned into a noise prediction, loss on eps (FPO's default, a "
        "(1 - t)^2 weighting); velocity: the plain CFM loss on eps - a",
    )
    time_draws: Literal["chain", "uniform"] = Field(
        "chain", description="chain: t among the sampler's Euler times (FPO's); uniform: U(0, 1)"
    )


_FPO = {"clip_epsilon": 0.05, "lr": 3e-4, "entropy_coef": 0.0, "penalty_coef": 0.0}
PRESETS: dict[str, dict[str, object]] = {
    "paper": {**_FPO, "max_grad_norm": None},
    "cpu": {**PPO_PRESETS["cpu"], **_FPO},
}
