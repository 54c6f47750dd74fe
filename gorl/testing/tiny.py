"""A run that trains in seconds: ``TrainConfig`` fields for smoke tests of plug-ins and of gorl itself.

4 envs x 20 steps (two GAE segments of 10) = 80 env steps per iteration, 50-step cheetah-run episodes,
640 env steps (GoRL: 4 stages, 3 refits of 20 fit steps on 256 pairs, a 2x16 decoder, fidelity on 8
held-out states and 2 fresh episodes), evaluation every
320 steps on 2 episodes, a checkpoint every iteration. For the methods on the PPO engine (``ppo``,
``gorl-*``, ``fpo``, ``dppo``)::

    from gorl.testing.tiny import tiny_run
    Trainer(TrainConfig(**tiny_run("gorl-mydecoder")), "runs/smoke").run()
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
