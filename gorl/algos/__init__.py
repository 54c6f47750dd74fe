"""Latent optimisers and what surrounds them: the registry, rollout, schedule, decoder fitting.

``make(name, env, policy, config)``, ``register(name, config=..., presets=...)``, ``names()`` and
``spec(name)`` are the optimiser registry (``gorl.algos.registry``); built-in optimisers register
themselves when this package is imported: ``ppo``, ``sac``, ``fpo`` and ``dppo``.
"""

from importlib import import_module

from gorl.algos.registry import REGISTRY, OptimizerSpec, make, names, register, spec

for _name in ("ppo", "sac", "fpo", "dppo"):
    try:
        import_module(f"gorl.algos.{_name}")
    except ModuleNotFoundError as _e:  # pragma: no cover - an optimizer folder not present
        if _e.name != f"gorl.algos.{_name}":
            raise

__all__ = ["REGISTRY", "OptimizerSpec", "make", "names", "register", "spec"]
