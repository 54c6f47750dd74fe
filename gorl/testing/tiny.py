"""A run that trains in seconds: ``TrainConfig`` fields for smoke tests of plug-ins and of gorl itself.

4 envs x 20 steps (two GAE segments of 10) = 80 env steps per iteration, 50-step cheetah-run episodes,
640 env steps (GoRL: 4 stages, 3 refits of 20 fit steps on 256 pairs, a 2x16 decoder, fidelity on 8
held-out states and 2 fresh episodes), evaluation every
320 steps on 2 episodes, a checkpoint every iteration. For the methods on the PPO engine (``ppo``,
``gorl-*``, ``fpo``, ``dppo``)::

    from gorl.testing.tiny import tiny_run
    Trainer(TrainConfig(**tiny_run("gorl-mydecoder")), "runs/smoke").run()

``tiny_sac_run`` is the same for GoRL(SAC) (``gorl-sac-<decoder>``): 2 envs, 40 env steps per
iteration, 24 of warm-up, 320 env steps in 4 stages (three refits), evaluation every 160 steps.
"""

from __future__ import annotations

import copy
from typing import Any

TINY_OPTIMIZER: dict[str, Any] = {
    "num_envs": 4,
    "rollout_length": 20,
    "unroll_length": 10,
    "num_minibatches": 2,
    "update_epochs": 2,
    "critic_hidden": [32],
}
TINY_REFITS: dict[str, Any] = {
    "decoder_pairs": 256,
    "fit": {"steps": 20, "batch_size": 64, "eval_every": 10},
    "decoder_options": {"hidden": [16, 16]},
    "fidelity_states": 8,
    "fidelity_samples": 16,
    "fidelity_episodes": 2,
}


def tiny_run(method: str = "gorl-fm", **fields: Any) -> dict[str, Any]:
    """The tiny run's ``TrainConfig`` fields for ``method``; ``fields`` replace top-level keys.

    ``ppo`` fits no decoder, so it gets no schedule options (its identity decoder takes none).
    """
    run: dict[str, Any] = {
        "task": "cheetah-run",
        "method": method,
        "total_steps": 640,
        "episode_length": 50,
        "eval_every": 320,
        "eval_envs": 2,
        "progress": False,
        "checkpoint_every_steps": 0,
        "optimizer": TINY_OPTIMIZER,
        "schedule": {} if method == "ppo" else TINY_REFITS,
    }
    return copy.deepcopy({**run, **fields})


TINY_SAC_OPTIMIZER: dict[str, Any] = {
    "num_envs": 2,
    "steps_per_iteration": 40,
    "warmup_steps": 24,
    "batch_size": 16,
    "buffer_size": 1000,
    "critic_hidden": [32],
}


def tiny_sac_run(method: str = "gorl-sac-fm", **fields: Any) -> dict[str, Any]:
    """``tiny_run`` for the methods on the SAC engine (``sac``, ``gorl-sac-*``); ``fields`` replace
    top-level keys. ``sac`` fits no decoder, so it gets no schedule options."""
    run: dict[str, Any] = {
        "task": "cheetah-run",
        "method": method,
        "total_steps": 320,
        "episode_length": 50,
        "eval_every": 160,
        "eval_envs": 2,
        "progress": False,
        "plot": False,
        "optimizer": TINY_SAC_OPTIMIZER,
        "schedule": {}
        if method == "sac"
        else {k: TINY_REFITS[k] for k in ("decoder_pairs", "fit", "decoder_options")},
    }
    return copy.deepcopy({**run, **fields})
