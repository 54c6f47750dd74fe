"""DPPO settings and presets: PPO's (``gorl.algos.ppo.config``) plus the chain's noise scale.

The denoising chain has the flow decoder's ``steps`` (10 by default, as the official runs). Presets:
``paper``: the Playground PPO layout with DPPO as the GoRL authors ran it (FPO's code in its
``denoising_mdp`` mode: sigma 0.05, clip 0.2, lr 3e-4, no entropy bonus); ``cpu``: gorl's CPU PPO layout
with the same DPPO settings.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from gorl.algos.ppo.config import PRESETS as PPO_PRESETS
from gorl.algos.ppo.config import PPOConfig


class DPPOConfig(PPOConfig):
    """PPO over the denoising MDP: one exact Gaussian log ratio per chain step, clipped, averaged."""

    MUTABLE: ClassVar[frozenset[str]] = PPOConfig.MUTABLE

    clip_epsilon: float = Field(0.2, gt=0.0, lt=1.0, description="PPO clip of each step's ratio")
    entropy_coef: float = Field(0.0, ge=0.0, le=0.0, description="none (as the official runs)")
    penalty_coef: float = Field(
        0.0, ge=0.0, le=0.0, description="none: there is no latent to keep near N(0, I)"
    )
    sigma: float = Field(
        0.05, gt=0.0, le=1.0, description="std of every chain step's Gaussian (fixed; official 0.05)"
    )


_DPPO = {"clip_epsilon": 0.2, "lr": 3e-4, "entropy_coef": 0.0, "penalty_coef": 0.0}
PRESETS: dict[str, dict[str, object]] = {
    "paper": {**_DPPO, "max_grad_norm": None},
    "cpu": {**PPO_PRESETS["cpu"], **_DPPO},
}
