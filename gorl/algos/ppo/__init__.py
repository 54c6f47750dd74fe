"""PPO in latent space: config and presets, the math, and the optimiser (registered as ``ppo``)."""

from gorl.algos.ppo.config import PRESETS, PPOConfig, preset
from gorl.algos.ppo.optimizer import PPOLatentOptimizer
from gorl.algos.registry import register

register("ppo", config=PPOConfig, presets=PRESETS)(PPOLatentOptimizer)

__all__ = ["PRESETS", "PPOConfig", "PPOLatentOptimizer", "preset"]
