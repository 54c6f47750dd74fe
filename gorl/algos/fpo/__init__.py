"""FPO (flow policy optimisation, McAllister et al. 2025) on gorl's PPO engine, registered as ``fpo``."""

from gorl.algos.fpo.config import PRESETS, FPOConfig
from gorl.algos.fpo.term import FPOTerm
from gorl.algos.ppo.optimizer import PPOOptimizer
from gorl.algos.registry import register
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.policy import ActingPolicy


@register("fpo", config=FPOConfig, presets=PRESETS, trains="decoder")
def build(env: BatchedEnv, policy: ActingPolicy, config: FPOConfig) -> PPOOptimizer:
    """PPO's engine with FPO's ratio term, training ``policy.decoder`` (a flow)."""
    return PPOOptimizer(env, policy, config, FPOTerm(config))


__all__ = ["PRESETS", "FPOConfig", "FPOTerm", "build"]
