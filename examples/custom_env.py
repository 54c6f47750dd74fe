"""Train GoRL's PPO on your own batched TorchRL env (the README's example; it runs in the tests).

``Reach`` is a plain TorchRL ``EnvBase``: N points in the plane steered toward a goal, with two
float64 observation entries and a time limit of its own. gorl wraps it (the entries are concatenated
into one float32 ``observation``), ``check_env`` checks it against the env contract, and the library
API trains on it by name once its factory is registered.
"""

from __future__ import annotations

import torch
from tensordict import TensorDict
from torchrl.data import Bounded, Categorical, Composite, Unbounded
from torchrl.envs import EnvBase

import gorl.envs
from gorl.algos.evaluate import random_return
from gorl.testing import check_env
from gorl.train import Trainer
from gorl.train_config import TrainConfig


class Reach(EnvBase):
    """N points; the action moves a point by up to 0.1 per axis; reward -distance to the goal."""

    def __init__(self, num_envs: int, seed: int = 0, episode_length: int = 40) -> None:
        super().__init__(batch_size=torch.Size([num_envs]))
        n, f64 = num_envs, torch.float64
        self.episode_length = episode_length
        self.observation_spec = Composite(
            position=Unbounded(shape=(n, 2), dtype=f64), goal=Unbounded(shape=(n, 2), dtype=f64), shape=(n,)
        )
        self.action_spec = Bounded(low=-1.0, high=1.0, shape=(n, 2))
        self.reward_spec = Unbounded(shape=(n, 1))
        flag = Categorical(2, shape=(n, 1), dtype=torch.bool)
        self.done_spec = Composite(done=flag, terminated=flag.clone(), truncated=flag.clone(), shape=(n,))
        self.gen = torch.Generator()
        self.pos, self.goal = torch.zeros(n, 2, dtype=f64), torch.zeros(n, 2, dtype=f64)
        self.t = torch.zeros(n, dtype=torch.int64)
        self.set_seed(seed)

    def _set_seed(self, seed: int | None) -> None:
        self.gen.manual_seed(0 if seed is None else int(seed))

    def _reset(self, td: TensorDict | None = None, **kwargs) -> TensorDict:
        n = self.batch_size[0]
        mask = (
            torch.ones(n, dtype=torch.bool) if td is None or "_reset" not in td else td["_reset"].reshape(n)
        )
        draw = torch.rand(n, 4, generator=self.gen, dtype=torch.float64) * 2 - 1
        self.pos = torch.where(mask[:, None], draw[:, :2], self.pos)
        self.goal = torch.where(mask[:, None], draw[:, 2:], self.goal)
        self.t = torch.where(mask, 0, self.t)
        false = torch.zeros(n, 1, dtype=torch.bool)
        obs = {"position": self.pos.clone(), "goal": self.goal.clone()}
        return TensorDict({**obs, "done": false, "terminated": false, "truncated": false}, [n])

    def _step(self, td: TensorDict) -> TensorDict:
        self.pos = self.pos + 0.1 * td["action"].clamp(-1, 1).double()
        self.t = self.t + 1
        truncated = (self.t >= self.episode_length)[:, None]
        reward = -(self.pos - self.goal).norm(dim=-1, keepdim=True).float()
        return TensorDict(
            {
                "position": self.pos.clone(),
                "goal": self.goal.clone(),
                "reward": reward,
                "done": truncated,
                "terminated": torch.zeros_like(truncated),
                "truncated": truncated,
            },
            td.batch_size,
        )


@gorl.envs.register_factory("reach")
def make_reach(num_envs: int, *, seed: int, device: str = "cpu") -> Reach:
    """gorl calls ``factory(num_envs, seed=, device=)``; the env needs ``batch_size=[num_envs]``."""
    return Reach(num_envs, seed=seed)


def main() -> float:
    # the env contract: specs, flags, truncation, final observations, reset by mask, seeds, restarts
    check_env(lambda n, seed, length: gorl.envs.make_env(make_reach, n, seed=seed), episode_length=40)
    print("check_env: passed")
    # 3 PPO iterations of 8 envs x 256 steps (the CPU preset); fewer epochs than its 10, for speed
    config = TrainConfig(
        task="torchrl:reach",
        method="ppo",
        total_steps=6144,
        eval_every=6144,
        eval_envs=8,
        optimizer={"update_epochs": 4},
        progress=False,
    )
    trainer = Trainer(config, "runs/example-reach")
    floor = random_return(trainer.eval_env, trainer.eval_length).mean().item()
    summary = trainer.run()
    print(f"final evaluation return {summary['final_return']:.1f}; uniformly random actions: {floor:.1f}")
    return float(summary["final_return"]) - floor


if __name__ == "__main__":
    margin = main()  # how much better than random the trained policy is
