"""SAC in latent space: config and presets, the critics and actors, and the optimiser (registered as
``sac``)."""

from gorl.algos.registry import register
from gorl.algos.sac.config import PRESETS, SACConfig, preset
from gorl.algos.sac.optimizer import SACLatentOptimizer
from gorl.algos.sac.validate import validate

register("sac", config=SACConfig, presets=PRESETS, validate=validate)(SACLatentOptimizer)

__all__ = ["PRESETS", "SACConfig", "SACLatentOptimizer", "preset"]
