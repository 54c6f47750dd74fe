"""DPPO (PPO over the denoising MDP, Ren et al. 2024, as the GoRL paper ran it), registered as ``dppo``."""

from gorl.algos.dppo.config import PRESETS, DPPOConfig
from gorl.algos.dppo.term import DenoisingActor, DPPOTerm
from gorl.algos.ppo.optimizer import PPOOptimizer
from gorl.algos.registry import register
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.policy import ActingPolicy


@register("dppo", config=DPPOConfig, presets=PRESETS, trains="decoder")
def build(env: BatchedEnv, policy: ActingPolicy, config: DPPOConfig) -> PPOOptimizer:
    """PPO's engine with DPPO's ratio term, training ``policy.decoder`` (a flow)."""
    return PPOOptimizer(env, policy, config, DPPOTerm(config))


__all__ = ["PRESETS", "DPPOConfig", "DPPOTerm", "DenoisingActor", "build"]
