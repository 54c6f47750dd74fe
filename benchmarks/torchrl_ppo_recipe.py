"""TorchRL's PPO recipe for MuJoCo on dm_control, and its evaluation on gorl's evaluation env: the
``torchrl`` method of ``benchmarks/ppo_vs_torchrl.py``.

The recipe is written here with TorchRL's public API, as a TorchRL user would run it (not
imported from it). Settings come from pytorch/rl's
``sota-implementations/ppo/config_mujoco.yaml``, ``utils_mujoco.py`` and ``ppo_mujoco.py`` (the files
on pytorch/rl's main branch at release 0.14, identical on its ``prepare-0.14`` branch): 2048 frames
per batch, 10 epochs of minibatches of 64 drawn without replacement, Adam (lr 3e-4, eps 1e-5, linearly
annealed to 0 over the planned updates), gamma 0.99, GAE lambda 0.95 recomputed every epoch, clip 0.2
(not annealed), critic coefficient 0.25 with an l2 critic loss, entropy coefficient 0, normalised
advantages; 64x64 tanh MLPs (orthogonal init, gain 1 for the policy, 0.01 for the value), a
state-independent scale and a TanhNormal policy; ``VecNorm(decay=0.99999, eps=1e-2)`` on
observations, clipped to [-10, 10], then ``RewardSum``, ``StepCounter``, ``DoubleToFloat``.
Adapted to dm_control: 8 envs, ``SerialEnv(8, lambda: DMControlEnv(domain, task))`` (the recipe steps
one Gym env), the dict observation concatenated with ``CatTensors`` in dm_control's order (the order of
gorl's flat observation, checked) before ``VecNorm``, and ``DoubleToFloat`` on the reward too (dm_control
rewards are float64). The evaluation normalises gorl's observations with the trained ``VecNorm``
statistics, frozen, and clips them as the training env did; each run also evaluates the policy inside
its own TorchRL env, frozen statistics and the same start states, as a cross-check
(``final_return_torchrl_env`` in its JSON).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MUJOCO_GL", "disable")  # as gorl/__init__.py: nothing renders

import torch
from tensordict.nn import AddStateIndependentNormalScale, TensorDictModule
from torch import Tensor, nn
from torchrl.collectors import Collector
from torchrl.data import LazyTensorStorage, TensorDictReplayBuffer
from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement
from torchrl.envs import (
    CatTensors,
    ClipTransform,
    Compose,
    DMControlEnv,
    DMControlWrapper,
    DoubleToFloat,
    ExplorationType,
    RewardSum,
    SerialEnv,
    StepCounter,
    TransformedEnv,
    VecNorm,
    set_exploration_type,
)
from torchrl.modules import MLP, ProbabilisticActor, TanhNormal, ValueOperator
from torchrl.objectives import ClipPPOLoss, group_optimizers
from torchrl.objectives.value import GAE

EVAL_SEED_OFFSET = 1_000_003  # gorl.train.Trainer's evaluation env seed is seed + this

# TorchRL's PPO recipe (pytorch/rl sota-implementations/ppo/config_mujoco.yaml and utils_mujoco.py).
RECIPE: dict[str, Any] = {
    "frames_per_batch": 2048,  # collector.frames_per_batch
    "ppo_epochs": 10,  # loss.ppo_epochs
    "mini_batch_size": 64,  # loss.mini_batch_size
    "lr": 3e-4,  # optim.lr
    "adam_eps": 1e-5,  # ppo_mujoco.py: Adam(..., eps=1e-5), one per network, grouped
    "anneal_lr": True,  # optim.anneal_lr: lr * (1 - updates / planned updates), floored at 0
    "clip_epsilon": 0.2,  # loss.clip_epsilon
    "anneal_clip_epsilon": False,  # loss.anneal_clip_epsilon
    "gamma": 0.99,  # loss.gamma
    "gae_lambda": 0.95,  # loss.gae_lambda (GAE average_gae=False, recomputed every epoch)
    "critic_coeff": 0.25,  # loss.critic_coeff
    "entropy_coeff": 0.0,  # loss.entropy_coeff
    "loss_critic_type": "l2",  # loss.loss_critic_type
    "normalize_advantage": True,  # ppo_mujoco.py: ClipPPOLoss(normalize_advantage=True)
    "hidden": [64, 64],  # utils_mujoco.py: MLP(num_cells=[64, 64], activation_class=Tanh)
    "policy_init_gain": 1.0,  # orthogonal init, zero biases
    "value_init_gain": 0.01,
    "scale_lb": 1e-8,  # AddStateIndependentNormalScale(scale_lb=1e-8)
    "vecnorm_decay": 0.99999,  # VecNorm(in_keys=["observation"], decay=0.99999, eps=1e-2)
    "vecnorm_eps": 1e-2,
    "obs_clip": 10.0,  # ClipTransform(low=-10, high=10) after VecNorm
    "num_envs": 8,  # here: SerialEnv of 8 DMControlEnv (the recipe steps 1 Gym env)
}


def stamp() -> str:
    return time.strftime("%H:%M:%S")


def say(line: str) -> None:
    print(line, flush=True)


def split_task(task: str) -> tuple[str, str]:
    domain, _, name = task.partition("-")
    return domain, name


def dmc_obs_layout(env: Any) -> list[tuple[str, int]]:
    """(key, size) of a (batched) DMControlEnv's observation entries, in its spec's order."""
    spec = env.observation_spec
    keys = list(spec.keys())
    return [(str(k), math.prod(spec[k].shape[env.batch_dims :])) for k in keys]


def check_obs_order(torchrl_layout: list[tuple[str, int]], gorl_layout: list[tuple[str, int, int]]) -> None:
    """Raises ``AssertionError`` unless the TorchRL env concatenates the keys gorl flattens, in its order.

    ``gorl_layout`` is ``DMControlBatchEnv.obs_layout``: (key, start, end) in dm_control's dict order.
    """
    expected = [(k, e - s) for k, s, e in gorl_layout]
    if list(torchrl_layout) != expected:
        raise AssertionError(
            f"TorchRL's observation {torchrl_layout} is not concatenated in gorl's order {expected}"
        )


def recipe_transforms(keys: list[str], norm: Any, episode_length: int | None) -> Compose:
    """The recipe's transforms, after concatenating dm_control's dict observation in its own order."""
    return Compose(
        CatTensors(in_keys=keys, out_key="observation", sort=False),  # sort=True would reorder the keys
        norm,
        ClipTransform(in_keys=["observation"], low=-RECIPE["obs_clip"], high=RECIPE["obs_clip"]),
        RewardSum(),
        StepCounter(max_steps=episode_length),  # None: dm_control's own 1000-step limit truncates
        DoubleToFloat(in_keys=["observation", "reward"]),
    )


def make_torchrl_env(
    task: str, num_envs: int, seed: int, episode_length: int | None = None
) -> tuple[TransformedEnv, list[tuple[str, int]]]:
    """The training env: ``SerialEnv`` of ``DMControlEnv`` with the recipe's transforms; and its layout."""
    domain, name = split_task(task)
    base = SerialEnv(num_envs, lambda: DMControlEnv(domain, name))
    layout = dmc_obs_layout(base)
    with warnings.catch_warnings():  # VecNorm warns that VecNormV2 will replace it; the recipe uses it
        warnings.simplefilter("ignore", FutureWarning)
        norm = VecNorm(in_keys=["observation"], decay=RECIPE["vecnorm_decay"], eps=RECIPE["vecnorm_eps"])
    env = TransformedEnv(base, recipe_transforms([k for k, _ in layout], norm, episode_length))
    env.set_seed(seed)
    return env, layout


def make_models(env: Any) -> tuple[ProbabilisticActor, ValueOperator]:
    """The recipe's actor (TanhNormal over the action bounds) and critic, 64x64 tanh MLPs."""
    obs_dim = env.observation_spec["observation"].shape[-1]
    action_spec = env.action_spec_unbatched
    act_dim = action_spec.shape[-1]

    def mlp(out: int, gain: float) -> MLP:
        net = MLP(in_features=obs_dim, out_features=out, num_cells=RECIPE["hidden"], activation_class=nn.Tanh)
        for layer in net.modules():
            if isinstance(layer, nn.Linear):
                nn.init.orthogonal_(layer.weight, gain)
                nn.init.zeros_(layer.bias)
        return net

    policy_net = nn.Sequential(
        mlp(act_dim, RECIPE["policy_init_gain"]),
        AddStateIndependentNormalScale(act_dim, scale_lb=RECIPE["scale_lb"]),
    )
    actor = ProbabilisticActor(
        TensorDictModule(policy_net, in_keys=["observation"], out_keys=["loc", "scale"]),
        in_keys=["loc", "scale"],
        spec=env.full_action_spec_unbatched,
        distribution_class=TanhNormal,
        distribution_kwargs={"low": action_spec.space.low, "high": action_spec.space.high, "tanh_loc": False},
        return_log_prob=True,
        default_interaction_type=ExplorationType.RANDOM,
    )
    critic = ValueOperator(mlp(1, RECIPE["value_init_gain"]), in_keys=["observation"])
    return actor, critic


def find_vecnorm(env: TransformedEnv) -> Any:
    for t in env.transform:
        if isinstance(t, VecNorm):
            return t
    raise LookupError("the env has no VecNorm transform")


class FrozenObsNorm:
    """The training env's observation transform, frozen: ``clip((obs - loc) / scale, +-obs_clip)``.

    ``loc`` and ``scale`` are ``VecNorm``'s statistics (its ``loc`` and ``scale``, float64, as it
    normalises the float64 dm_control observation); the result has the input's dtype.
    """

    def __init__(self, vecnorm: Any, clip: float = RECIPE["obs_clip"]) -> None:
        self.loc = vecnorm.loc["observation"].detach().clone()
        self.scale = vecnorm.scale["observation"].detach().clone()
        self.clip = clip

    def __call__(self, obs: Tensor) -> Tensor:
        x = (obs.to(self.loc.dtype) - self.loc) / self.scale
        return x.clamp(-self.clip, self.clip).to(obs.dtype)


def train_torchrl(
    task: str,
    seed: int,
    total_steps: int,
    episode_length: int | None = None,
    log: Callable[[str], None] = say,
) -> dict[str, Any]:
    """Trains TorchRL's PPO recipe; returns actor, env (with its VecNorm), env steps and wall time."""
    torch.manual_seed(seed)
    env, layout = make_torchrl_env(task, RECIPE["num_envs"], seed, episode_length)
    actor, critic = make_models(env)
    fpb, mb, epochs = RECIPE["frames_per_batch"], RECIPE["mini_batch_size"], RECIPE["ppo_epochs"]
    collector = Collector(
        create_env_fn=env,
        policy=actor,
        frames_per_batch=fpb,
        total_frames=total_steps,
        device="cpu",
        max_frames_per_traj=-1,
        # torchrl 0.14's default (None) leaves the env as is but warns that 0.15 will add an InitTracker
        # (which this feed-forward policy does not read); False keeps 0.14's behaviour without the warning.
        auto_register_policy_transforms=False,
    )
    buffer = TensorDictReplayBuffer(
        storage=LazyTensorStorage(fpb), sampler=SamplerWithoutReplacement(), batch_size=mb
    )
    gae = GAE(
        gamma=RECIPE["gamma"],
        lmbda=RECIPE["gae_lambda"],
        value_network=critic,
        average_gae=False,
        vectorized=True,
    )
    loss_module = ClipPPOLoss(
        actor_network=actor,
        critic_network=critic,
        clip_epsilon=RECIPE["clip_epsilon"],
        loss_critic_type=RECIPE["loss_critic_type"],
        entropy_coeff=RECIPE["entropy_coeff"],
        critic_coeff=RECIPE["critic_coeff"],
        normalize_advantage=RECIPE["normalize_advantage"],
    )
    optim = group_optimizers(
        torch.optim.Adam(actor.parameters(), lr=RECIPE["lr"], eps=RECIPE["adam_eps"]),
        torch.optim.Adam(critic.parameters(), lr=RECIPE["lr"], eps=RECIPE["adam_eps"]),
    )
    # As the recipe: the planned updates count whole batches of total_frames (a last partial batch,
    # collected in full, trains at lr 0).
    planned_updates = (total_steps // fpb) * epochs * (fpb // mb)
    updates, frames = 0, 0
    episode_returns: list[float] = []
    t0 = time.perf_counter()
    for iterations, data in enumerate(collector, 1):
        frames += data.numel()
        done = data["next", "done"]
        episode_returns += data["next", "episode_reward"][done].tolist()
        for _ in range(epochs):
            with torch.no_grad():
                data = gae(data)
            buffer.extend(data.reshape(-1))
            for batch in buffer:
                alpha = 1.0
                if RECIPE["anneal_lr"] and planned_updates > 0:
                    alpha = max(0.0, 1.0 - updates / planned_updates)
                    for group in optim.param_groups:
                        group["lr"] = RECIPE["lr"] * alpha
                if RECIPE["anneal_clip_epsilon"]:
                    loss_module.clip_epsilon.copy_(RECIPE["clip_epsilon"] * alpha)
                loss = loss_module(batch)
                total = loss["loss_objective"] + loss["loss_critic"] + loss.get("loss_entropy", 0.0)
                optim.zero_grad(set_to_none=True)
                total.backward()
                optim.step()
                updates += 1
        collector.update_policy_weights_()
        if iterations % 10 == 0 or frames >= total_steps:
            recent = episode_returns[-16:]
            mean = sum(recent) / len(recent) if recent else float("nan")
            log(
                f"[{stamp()}] torchrl {task} seed {seed}: {frames:,} frames, {updates:,} updates, "
                f"train episode return {mean:.1f}, {time.perf_counter() - t0:.0f} s"
            )
    wall = time.perf_counter() - t0
    collector.shutdown()
    return {
        "actor": actor,
        "env": env,
        "layout": layout,
        "env_steps": frames,
        "wall_time": wall,
        "updates": updates,
        "train_episode_returns": episode_returns,
    }


def make_gorl_eval_env(task: str, seed: int, eval_envs: int, episode_length: int | None) -> Any:
    """gorl's evaluation env for a run of ``seed``, as ``gorl.train.Trainer`` builds it."""
    from gorl.envs import make_env

    return make_env(
        task, eval_envs, backend="dmc", seed=seed + EVAL_SEED_OFFSET, episode_length=episode_length
    )


def evaluate_on_gorl_env(actor: Any, normalize: Callable[[Tensor], Tensor], env: Any) -> Tensor:
    """Returns ``(eval_envs,)``: gorl's episodes (``gorl.algos.evaluate.run_episodes``) with the TorchRL
    actor's deterministic action (its mean, under ``ExplorationType.DETERMINISTIC``)."""
    from tensordict import TensorDict
    from torchrl.envs.utils import ExplorationType, set_exploration_type

    from gorl.algos.evaluate import run_episodes

    def act(obs: Tensor) -> Tensor:
        with set_exploration_type(ExplorationType.DETERMINISTIC):
            return actor(TensorDict({"observation": obs}, batch_size=[obs.shape[0]]))["action"]

    return run_episodes(act, env, normalize, env.episode_length)


def make_torchrl_eval_env(
    vecnorm: Any, task: str, seed: int, eval_envs: int, episode_length: int
) -> TransformedEnv:
    """A TorchRL env with the training transforms (``VecNorm`` frozen) whose first reset gives the start
    states of gorl's evaluation env for ``seed``.

    Env ``i`` is dm_control's task loaded with the task seed gorl gives its evaluation env ``i``
    (``gorl.envs.dmc.env_seeds``), so its first reset is gorl's.
    """
    from dm_control import suite

    from gorl.envs.dmc import env_seeds

    domain, name = split_task(task)

    def factory(task_seed: int) -> Callable[[], Any]:
        return lambda: DMControlWrapper(suite.load(domain, name, task_kwargs={"random": task_seed}))

    seeds = env_seeds(seed + EVAL_SEED_OFFSET, eval_envs)
    base = SerialEnv(eval_envs, [factory(s) for s in seeds])
    keys = [k for k, _ in dmc_obs_layout(base)]
    return TransformedEnv(base, recipe_transforms(keys, vecnorm.frozen_copy(), episode_length))


@torch.no_grad()
def evaluate_in_torchrl_env(
    actor: Any, vecnorm: Any, task: str, seed: int, eval_envs: int, episode_length: int
) -> Tensor:
    """The cross-check: ``(eval_envs,)`` returns of the policy mean inside its own kind of TorchRL env
    (``make_torchrl_eval_env``), one episode each from gorl's evaluation start states."""
    env = make_torchrl_eval_env(vecnorm, task, seed, eval_envs, episode_length)
    with set_exploration_type(ExplorationType.DETERMINISTIC):
        td = env.rollout(episode_length, actor, break_when_any_done=False)
    env.close()
    return td["next", "reward"].to(torch.float64).sum(dim=1).reshape(-1)


def run_torchrl(task: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One run of the recipe: train, then evaluate on gorl's evaluation env (and in its own env)."""
    eval_env = make_gorl_eval_env(task, seed, args.eval_envs, args.episode_length)
    trained = train_torchrl(task, seed, args.total_steps, args.episode_length)
    check_obs_order(trained["layout"], eval_env.obs_layout)
    vecnorm = find_vecnorm(trained["env"])
    t0 = time.perf_counter()
    returns = evaluate_on_gorl_env(trained["actor"], FrozenObsNorm(vecnorm), eval_env)
    eval_wall = time.perf_counter() - t0
    own = evaluate_in_torchrl_env(
        trained["actor"], vecnorm, task, seed, args.eval_envs, eval_env.episode_length
    )
    if not trained["env"].is_closed:  # the collector's shutdown closes it
        trained["env"].close()
    eval_env.close()
    return {
        "env_steps": trained["env_steps"],
        "wall_time": trained["wall_time"],
        "total_wall_time": trained["wall_time"] + eval_wall,
        "env_steps_per_second": trained["env_steps"] / max(trained["wall_time"], 1e-9),
        "final_return": returns.mean().item(),
        "final_return_std": returns.std(unbiased=False).item(),
        "final_returns": returns.tolist(),
        "final_return_torchrl_env": own.mean().item(),
        "final_returns_torchrl_env": own.tolist(),
        "eval_episode_length": eval_env.episode_length,
        "updates": trained["updates"],
        "settings": RECIPE,
    }
