"""PPO in latent space: config and presets, the math, and the optimiser (registered as ``ppo``)."""

from gorl.algos.ppo.config import PRESETS, PPOConfig, preset
from gorl.algos.ppo.optimizer import PPOOptimizer
from gorl.algos.registry import register

register("ppo", config=PPOConfig, presets=PRESETS)(PPOOptimizer)

__all__ = ["PRESETS", "PPOConfig", "PPOOptimizer", "preset"]
