"""gorl's Gymnasium batch env against Gymnasium's own ``SyncVectorEnv``: env steps per second.

Both step N copies of one id with the same uniform random actions and reset finished episodes in the
same call (``SyncVectorEnv`` with ``autoreset_mode=SAME_STEP``, which keeps the final observation in
``info``, the behaviour gorl needs). Rounds alternate between the two; medians are reported.

    python benchmarks/gym_vector_speed.py --task Hopper-v5 --envs 8 --steps 500 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

from gorl.envs.gym import GymBatchEnv


def _gorl(task: str, n: int, steps: int, actions: np.ndarray) -> float:
    env = GymBatchEnv(task, n, seed=0)
    td = env.reset()
    acts = torch.from_numpy(actions.astype(np.float32))
    t0 = time.perf_counter()
    for t in range(steps):
        td["action"] = acts[t]
        _, td = env.step_and_maybe_reset(td)
    return n * steps / (time.perf_counter() - t0)


def _sync(task: str, n: int, steps: int, actions: np.ndarray) -> float:
    env = gym.vector.SyncVectorEnv(
        [lambda: gym.make(task, disable_env_checker=True) for _ in range(n)],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
    )
    env.reset(seed=0)
    low, high = env.single_action_space.low, env.single_action_space.high
    scaled = low + (actions + 1.0) * 0.5 * (high - low)
    t0 = time.perf_counter()
    for t in range(steps):
        env.step(scaled[t])
    return n * steps / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--task", default="Hopper-v5")
    ap.add_argument("--envs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    probe = gym.make(args.task)
    dim = probe.action_space.shape[0]
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (args.steps, args.envs, dim))
    ours, theirs = [], []
    for r in range(args.rounds):
        order = [(_gorl, ours), (_sync, theirs)][:: 1 if r % 2 == 0 else -1]
        for fn, out in order:
            out.append(fn(args.task, args.envs, args.steps, actions))
    a, b = statistics.median(ours), statistics.median(theirs)
    print(
        f"{args.task} N={args.envs}: gorl GymBatchEnv {a:.0f} steps/s, "
        f"SyncVectorEnv {b:.0f} steps/s ({a / b:.2f}x)"
    )


if __name__ == "__main__":
    main()
