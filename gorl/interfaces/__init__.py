"""Protocols and data contracts of gorl. No torch modules live here."""

from gorl.interfaces import keys
from gorl.interfaces.decoder import GenerativeDecoder
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.latent_policy import LatentPolicy
from gorl.interfaces.optimizer import LatentOptimizer

__all__ = ["BatchedEnv", "GenerativeDecoder", "LatentOptimizer", "LatentPolicy", "keys"]
