"""PPO baseline check: TorchRL's own PPO recipe against gorl's PPO-based methods on dm_control tasks.

Each run trains one method on one task for the same env-step budget, then scores it the same way: one
deterministic evaluation (the policy's mean action) of ``--eval-envs`` full episodes on gorl's own
evaluation env, ``gorl.envs.make_env(task, eval_envs, backend="dmc", seed=seed + 1_000_003,
episode_length=...)``, exactly the env and start states that ``gorl.train.Trainer`` evaluates on.

Methods:

* ``torchrl``: TorchRL's PPO recipe for MuJoCo, written here with TorchRL's public API as a TorchRL user
  would run it (not imported from it). Settings come from pytorch/rl's
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
* ``ppo``, ``gorl-fm`` (and any gorl method): ``gorl.train.Trainer(TrainConfig(...)).run()`` with gorl's
  defaults, evaluated once, at the end.

Every (task, method, seed) runs in its own process with one torch thread, ``--parallel`` at a time, in
the order seed, task, method, so the methods alternate and share the machine's load alike. Results:
``benchmarks/results/ppo_vs_torchrl/<task>_<method>_s<seed>.json`` (and ``.log``; gorl's run folders
beside them), and the table ``benchmarks/results/ppo_vs_torchrl.md`` (and ``.png``), rewritten after each
finished run. A run whose JSON exists (with the same budget) is skipped: rerunning resumes. A failed run
leaves ``<run>.error.json`` and the others go on.

    python benchmarks/ppo_vs_torchrl.py    # the benchmark: 2 tasks x 3 methods x 3 seeds x 200k steps
    python benchmarks/ppo_vs_torchrl.py --tasks cheetah-run --seeds 0 --total-steps 20480 \\
        --out /tmp/ppo_vs_torchrl_quick    # a quick check (a few minutes)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MUJOCO_GL", "disable")  # as gorl/__init__.py: nothing renders

import torch  # noqa: E402
from tensordict.nn import AddStateIndependentNormalScale, TensorDictModule  # noqa: E402
from torch import Tensor, nn  # noqa: E402
from torchrl.collectors import Collector  # noqa: E402
from torchrl.data import LazyTensorStorage, TensorDictReplayBuffer  # noqa: E402
from torchrl.data.replay_buffers.samplers import SamplerWithoutReplacement  # noqa: E402
from torchrl.envs import (  # noqa: E402
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
from torchrl.modules import MLP, ProbabilisticActor, TanhNormal, ValueOperator  # noqa: E402
from torchrl.objectives import ClipPPOLoss, group_optimizers  # noqa: E402
from torchrl.objectives.value import GAE  # noqa: E402

from gorl.checkpoint import atomic_write_json, atomic_write_text  # noqa: E402
from gorl.plots import pyplot, save_figure  # noqa: E402

METHODS = ("torchrl", "ppo", "gorl-fm")
TASKS = ("cheetah-run", "walker-walk")
EVAL_SEED_OFFSET = 1_000_003  # gorl.train.Trainer's evaluation env seed is seed + this
RESULTS = ROOT / "benchmarks" / "results"

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


# -- TorchRL's recipe -----------------------------------------------------------------------------------
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
    """Returns ``(eval_envs,)``: gorl's deterministic evaluation (``gorl.algos.evaluate.evaluate``)."""
    from gorl.algos.evaluate import evaluate

    return evaluate(actor, env, normalize, env.episode_length)


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


# -- gorl -------------------------------------------------------------------------------------------------
def run_gorl(task: str, method: str, seed: int, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """One gorl run through the library API (gorl's defaults), evaluated once, at the end."""
    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    kw: dict[str, Any] = {
        "task": task,
        "method": method,
        "total_steps": args.total_steps,
        "seed": seed,
        "eval_every": args.total_steps,
        "eval_envs": args.eval_envs,
        "progress": False,
        "threads": 1,
    }
    if args.episode_length is not None:
        kw["episode_length"] = args.episode_length  # Trainer evaluates episodes of this length too
    if out.exists():  # a run cut short: start it again
        shutil.rmtree(out)
    summary = Trainer(TrainConfig(**kw), out).run()
    (out / "checkpoint.pt").unlink(missing_ok=True)
    summary = dict(summary)
    summary.setdefault("env_steps_per_second", summary["env_steps"] / max(summary["wall_time"], 1e-9))
    summary["eval_episode_length"] = args.episode_length or 1000
    summary["run_dir"] = str(out)
    return summary


# -- one run, in its own process --------------------------------------------------------------------------
def run_name(task: str, method: str, seed: int) -> str:
    return f"{task}_{method}_s{seed}"


def run_key(args: argparse.Namespace) -> dict[str, Any]:
    """What a stored result must match to be reused."""
    return {
        "total_steps": args.total_steps,
        "eval_envs": args.eval_envs,
        "episode_length": args.episode_length,
    }


def single(task: str, method: str, seed: int, args: argparse.Namespace) -> int:
    """Runs one (task, method, seed); writes ``<run>.json`` (or ``<run>.error.json``) atomically."""
    torch.set_num_threads(1)
    results = Path(args.out) / "ppo_vs_torchrl"
    name = run_name(task, method, seed)
    print(f"[{stamp()}] {name}: torch {torch.__version__}, {shlex.join(sys.argv)}", flush=True)
    t0 = time.perf_counter()
    try:
        if method == "torchrl":
            result = run_torchrl(task, seed, args)
        else:
            result = run_gorl(task, method, seed, args, results / name)
    except Exception as e:
        traceback.print_exc()
        atomic_write_json(
            results / f"{name}.error.json",
            {"task": task, "method": method, "seed": seed, "error": f"{type(e).__name__}: {e}"},
        )
        return 1
    import torchrl

    result.update(
        {
            "task": task,
            "method": method,
            "seed": seed,
            **run_key(args),
            "process_wall_time": time.perf_counter() - t0,
            "versions": {"torch": torch.__version__, "torchrl": torchrl.__version__},
        }
    )
    atomic_write_json(results / f"{name}.json", result)
    (results / f"{name}.error.json").unlink(missing_ok=True)
    print(f"[{stamp()}] {name}: final return {result['final_return']:.2f}", flush=True)
    return 0


# -- the runner -------------------------------------------------------------------------------------------
def load_result(path: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """A stored result with this benchmark's budget, or None."""
    if not path.exists():
        return None
    try:
        r = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return r if all(r.get(k) == v for k, v in run_key(args).items()) else None


def single_command(task: str, method: str, seed: int, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--single", task, method, str(seed)]
    cmd += ["--total-steps", str(args.total_steps), "--eval-envs", str(args.eval_envs), "--out", args.out]
    if args.episode_length is not None:
        cmd += ["--episode-length", str(args.episode_length)]
    return cmd


def run_all(args: argparse.Namespace) -> tuple[dict[tuple[str, str, int], dict], dict]:
    """Runs the pending (seed, task, method), ``args.parallel`` at a time; rewrites the report after each."""
    results = Path(args.out) / "ppo_vs_torchrl"
    results.mkdir(parents=True, exist_ok=True)
    jobs = [(t, m, s) for s in args.seeds for t in args.tasks for m in args.methods]
    done: dict[tuple[str, str, int], dict] = {}
    failed: dict[tuple[str, str, int], str] = {}
    pending = []
    for job in jobs:
        r = load_result(results / f"{run_name(*job)}.json", args)
        if r is None:
            pending.append(job)
        else:
            done[job] = r
            ret = r["final_return"]
            print(f"[{stamp()}] skip {run_name(*job)}: done (final return {ret:.1f})", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    running: list[tuple[tuple[str, str, int], subprocess.Popen, Any, float]] = []
    total = len(jobs)
    try:
        while pending or running:
            while pending and len(running) < args.parallel:
                job = pending.pop(0)
                name = run_name(*job)
                (results / f"{name}.error.json").unlink(missing_ok=True)
                log = open(results / f"{name}.log", "w")  # noqa: SIM115 - closed when the run ends
                proc = subprocess.Popen(
                    single_command(*job, args), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
                running.append((job, proc, log, time.time()))
                print(f"[{stamp()}] start {name} ({jobs.index(job) + 1}/{total})", flush=True)
            time.sleep(1.0)
            for item in list(running):
                job, proc, log, started = item
                if proc.poll() is None:
                    continue
                running.remove(item)
                log.close()
                name = run_name(*job)
                r = load_result(results / f"{name}.json", args)
                minutes = (time.time() - started) / 60
                if proc.returncode == 0 and r is not None:
                    done[job] = r
                    print(
                        f"[{stamp()}] done {name} in {minutes:.1f} min: "
                        f"final return {r['final_return']:.1f}, "
                        f"training {r['wall_time']:.0f} s, {r['env_steps_per_second']:,.0f} env steps/s",
                        flush=True,
                    )
                else:
                    err_path = results / f"{name}.error.json"
                    if err_path.exists():
                        error = json.loads(err_path.read_text())["error"]
                    else:
                        tail = (results / f"{name}.log").read_text(errors="replace")[-2000:]
                        error = f"exit code {proc.returncode}; log tail: {tail}"
                        atomic_write_json(
                            err_path, {"task": job[0], "method": job[1], "seed": job[2], "error": error}
                        )
                    failed[job] = error
                    print(f"[{stamp()}] FAILED {name} (exit {proc.returncode}): {error[:300]}", flush=True)
                write_report(args, done, failed)
    except KeyboardInterrupt:
        for _, proc, log, _ in running:  # only the runs this runner started
            proc.terminate()
            proc.wait()
            log.close()
        raise
    return done, failed


# -- the report -------------------------------------------------------------------------------------------
def fmt(x: float | None, spec: str = ".1f") -> str:
    return "n/a" if x is None or not math.isfinite(x) else format(x, spec)


def aggregate(runs: list[dict]) -> dict[str, Any]:
    rets = [r["final_return"] for r in runs]
    return {
        "n": len(runs),
        "mean": statistics.fmean(rets),
        "std": statistics.stdev(rets) if len(rets) > 1 else float("nan"),
        "per_seed": [(r["seed"], r["final_return"]) for r in sorted(runs, key=lambda r: r["seed"])],
        "wall": statistics.fmean(r["wall_time"] for r in runs),
        "total_wall": statistics.fmean(r["total_wall_time"] for r in runs),
        "sps": statistics.fmean(r["env_steps_per_second"] for r in runs),
        "steps": statistics.fmean(r["env_steps"] for r in runs),
    }


def table(args: argparse.Namespace, done: dict, failed: dict) -> str:
    """The markdown report."""
    length = args.episode_length or 1000
    cmd = shlex.join(["python", "benchmarks/ppo_vs_torchrl.py", *args.argv])
    lines = [
        "# PPO: TorchRL's PPO recipe vs gorl (dm_control)",
        "",
        f"Measured: the final deterministic evaluation return (policy mean action, {args.eval_envs} episodes "
        f"of {length} steps on gorl's evaluation env `make_env(task, {args.eval_envs}, seed=seed + "
        f"{EVAL_SEED_OFFSET:_})`, the same start states for every method) after {args.total_steps:,} env "
        "steps of training; the training wall time (torchrl: the whole collection and update loop, final "
        "evaluation excluded; gorl: the Trainer's `wall_time`, training iterations only, decoder refits and "
        "evaluations excluded) and env steps/s = env steps / training wall time. The total wall time adds "
        "the evaluation (and gorl's refits). Return: mean ± standard deviation over seeds (n - 1); "
        "ratios: a method's mean over torchrl's, per task.",
        "",
        "torchrl: TorchRL's PPO recipe for MuJoCo (pytorch/rl `sota-implementations/ppo`, settings of "
        "`config_mujoco.yaml`, written with TorchRL's API in `benchmarks/ppo_vs_torchrl.py`) on "
        f"`SerialEnv({RECIPE['num_envs']}, DMControlEnv)`; gorl methods: `gorl.train.Trainer` with gorl's "
        f"defaults. One process and one torch thread per run, {args.parallel} at a time on "
        f"{os.cpu_count()} cores, ordered seed, task, method. torch "
        f"{torch.__version__}.",
        "",
        f"Command: `{cmd}`",
        "",
        "| task | method | seeds | final return | per seed | return / torchrl | train wall (s) "
        "| wall / torchrl | env steps/s | env steps | total wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    checks = []
    for task in args.tasks:
        aggs = {}
        for m in args.methods:
            runs = [r for (t, mm, _), r in done.items() if t == task and mm == m]
            if runs:
                aggs[m] = aggregate(runs)
        base = aggs.get("torchrl")
        for m, a in aggs.items():
            ratio = a["mean"] / base["mean"] if base and base["mean"] > 0 else None
            wall_ratio = a["wall"] / base["wall"] if base and base["wall"] > 0 else None
            per_seed = ", ".join(f"{v:.1f}" for _, v in a["per_seed"])
            lines.append(
                f"| {task} | {m} | {a['n']} | {fmt(a['mean'])} ± {fmt(a['std'])} | {per_seed} | "
                f"{fmt(ratio, '.2f')} | {fmt(a['wall'], '.0f')} | {fmt(wall_ratio, '.2f')} | "
                f"{fmt(a['sps'], ',.0f')} | {fmt(a['steps'], ',.0f')} | {fmt(a['total_wall'], '.0f')} |"
            )
        own = [r["final_return_torchrl_env"] for (t, m, _), r in done.items() if t == task and m == "torchrl"]
        if own:
            checks.append(
                f"{task}: {statistics.fmean(own):.1f} (on gorl's env: {fmt(base['mean']) if base else 'n/a'})"
            )
    if checks:
        lines += [
            "",
            "Cross-check of the torchrl evaluation: the same policies evaluated inside their own TorchRL env "
            "(training transforms, VecNorm frozen, the same start states), mean over seeds: "
            + "; ".join(checks)
            + ". Small gaps are float32 vs float64 observations amplified over long episodes.",
        ]
    if failed:
        lines += ["", "Failed runs (see their `.log` and `.error.json`):", ""]
        lines += [f"* {run_name(*job)}: {err[:200]}" for job, err in sorted(failed.items())]
    missing = [
        run_name(t, m, s)
        for s in args.seeds
        for t in args.tasks
        for m in args.methods
        if (t, m, s) not in done and (t, m, s) not in failed
    ]
    if missing:
        lines += ["", f"Not run yet: {', '.join(missing)}."]
    return "\n".join(lines) + "\n"


def plot(args: argparse.Namespace, done: dict, png: Path) -> None:
    """Bars: mean final return per task and method, ± std over seeds, dots per seed."""
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, len(args.tasks), figsize=(3.2 * len(args.tasks) + 1, 3.6), squeeze=False)
    for ax, task in zip(axes[0], args.tasks, strict=True):
        for i, m in enumerate(args.methods):
            vals = [r["final_return"] for (t, mm, _), r in done.items() if t == task and mm == m]
            if not vals:
                continue
            std = statistics.stdev(vals) if len(vals) > 1 else 0.0
            ax.bar(i, statistics.fmean(vals), yerr=std, color=f"C{i}", alpha=0.7, capsize=4)
            ax.scatter([i] * len(vals), vals, color="k", s=10, zorder=3)
        ax.set_xticks(range(len(args.methods)), args.methods)
        ax.set_title(task)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(f"final eval return ({args.total_steps:,} steps)")
    save_figure(plt, fig, png, dpi=110)


def write_report(args: argparse.Namespace, done: dict, failed: dict) -> None:
    out = Path(args.out)
    atomic_write_text(out / "ppo_vs_torchrl.md", table(args, done, failed))
    if done:
        plot(args, done, out / "ppo_vs_torchrl.png")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--tasks", nargs="+", default=list(TASKS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS), help="torchrl and gorl methods")
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    ap.add_argument("--total-steps", type=int, default=200_000, help="env-step budget of every run")
    ap.add_argument("--eval-envs", type=int, default=8, help="deterministic evaluation episodes")
    ap.add_argument(
        "--episode-length", type=int, default=None, help="training and evaluation episode length (None: 1000)"
    )
    ap.add_argument("--parallel", type=int, default=2, help="runs at a time")
    ap.add_argument("--out", default=str(RESULTS), help="results folder")
    ap.add_argument("--single", nargs=3, metavar=("TASK", "METHOD", "SEED"), help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.single:
        task, method, seed = args.single
        return single(task, method, int(seed), args)
    t0 = time.time()
    done, failed = run_all(args)
    write_report(args, done, failed)
    minutes = (time.time() - t0) / 60
    print(f"[{stamp()}] finished in {minutes:.1f} min: {len(done)} done, {len(failed)} failed")
    print((Path(args.out) / "ppo_vs_torchrl.md").read_text())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
