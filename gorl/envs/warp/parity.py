"""How closely ``WarpBatchEnv`` (float32 MuJoCo Warp) tracks dm_control (float64 C MuJoCo).

``dm_control_parity(task, num_worlds, horizon)`` resets ``num_worlds`` dm_control environments
(seeds ``seed .. seed + num_worlds - 1``), copies their exact states (qpos, qvel, solver warm start,
task state) into the warp worlds, steps both with the same uniform random actions, and returns the
per-step errors. Run ``python -m gorl.envs.warp.parity --horizon 1000`` for the table in docs/warp.md.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from tensordict import TensorDict


@dataclass(frozen=True)
class Parity:
    """Per-step comparison of one task; W worlds, H control steps.

    Attributes:
        obs_err: ``(H + 1, W)`` max abs observation difference (row 0: the copied reset state).
        qpos_err: ``(H + 1, W)`` max abs qpos difference.
        reward_err: ``(H, W)`` abs reward difference.
        return_warp, return_dmc: ``(W,)`` summed rewards over the horizon.
    """

    obs_err: np.ndarray
    qpos_err: np.ndarray
    reward_err: np.ndarray
    return_warp: np.ndarray
    return_dmc: np.ndarray

    def first_step_above(self, threshold: float) -> list[int | None]:
        """Per world, the first step whose observation error exceeds ``threshold`` (None: never)."""
        above = self.obs_err > threshold
        return [int(np.argmax(col)) if col.any() else None for col in above.T]


def _flatten(observation: dict[str, Any]) -> np.ndarray:
    return np.concatenate([np.asarray(v, dtype=np.float64).reshape(-1) for v in observation.values()])


def dm_control_parity(
    task: str, num_worlds: int = 4, horizon: int = 100, seed: int = 0, env: Any = None
) -> Parity:
    """Steps dm_control and MuJoCo Warp side by side from identical states; see the module docstring.

    Args:
        task: a registered task name.
        num_worlds: W worlds (and dm_control environments).
        horizon: H control steps.
        seed: dm_control task seeds and the action generator's seed.
        env: an existing ``WarpBatchEnv`` for ``task`` with W worlds (reuses compiled kernels);
            built on the CPU device if None.
    """
    from dm_control import suite

    from gorl.envs.warp.env import WarpBatchEnv

    if env is None:
        env = WarpBatchEnv(task, num_worlds, seed=seed, device="cpu", episode_length=horizon + 1)
    if env.num_envs != num_worlds or env.task_name != task:
        raise ValueError(f"env is {env.task_name} x {env.num_envs}, expected {task} x {num_worlds}")
    domain, _, name = task.partition("-")
    dmc = [suite.load(domain, name, task_kwargs={"random": seed + i}) for i in range(num_worlds)]
    first = [e.reset() for e in dmc]

    def stacked(field: str) -> torch.Tensor:
        arr = np.stack([getattr(e.physics.data, field) for e in dmc])
        return torch.tensor(arr, dtype=torch.float32, device=env.device)

    task_state = env.port.task_state_from_physics([e.physics for e in dmc])
    obs_w = env.set_physics_state(
        stacked("qpos"), stacked("qvel"), qacc_warmstart=stacked("qacc_warmstart"), task_state=task_state
    )
    obs_err = [np.abs(obs_w.double().cpu().numpy() - np.stack([_flatten(ts.observation) for ts in first]))]
    qpos_err = [np.zeros((1, num_worlds))]
    rew_w, rew_d = [], []
    rng = np.random.default_rng(seed)
    for _ in range(horizon):
        action = rng.uniform(-1.0, 1.0, (num_worlds, env.action_dim))
        steps = [e.step(a) for e, a in zip(dmc, action, strict=True)]
        td = TensorDict(
            {"action": torch.tensor(action, dtype=torch.float32, device=env.device)}, [num_worlds]
        )
        nxt = env.step(td)["next"]
        obs_d = np.stack([_flatten(ts.observation) for ts in steps])
        obs_err.append(np.abs(nxt["observation"].double().cpu().numpy() - obs_d))
        qpos_d = np.stack([e.physics.data.qpos for e in dmc])
        qpos_err.append(np.abs(env._sim.qpos.double().cpu().numpy() - qpos_d).max(axis=1, keepdims=True).T)
        rew_w.append(nxt["reward"][:, 0].double().cpu().numpy())
        rew_d.append(np.array([ts.reward for ts in steps], dtype=np.float64))
    rw, rd = np.stack(rew_w), np.stack(rew_d)
    return Parity(
        obs_err=np.stack([e.max(axis=1) for e in obs_err]),
        qpos_err=np.concatenate(qpos_err),
        reward_err=np.abs(rw - rd),
        return_warp=rw.sum(axis=0),
        return_dmc=rd.sum(axis=0),
    )


def start_distribution(task: str, num: int = 128, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Compares first observations: ``num`` warp worlds after ``reset`` vs ``num`` dm_control resets.

    This checks the whole start pipeline (port sampling, cheetah's 200 settle steps, the forward pass).

    Returns:
        ``z (obs_dim,)``: difference of means in standard errors; ``ratio (obs_dim,)``: warp std / dm_control
        std (NaN where dm_control's dimension is constant).
    """
    from dm_control import suite

    from gorl.envs.warp.env import WarpBatchEnv

    warp = WarpBatchEnv(task, num, seed=seed, device="cpu").reset()["observation"].double().cpu().numpy()
    domain, _, name = task.partition("-")
    env = suite.load(domain, name, task_kwargs={"random": seed})
    dmc = np.stack([_flatten(env.reset().observation) for _ in range(num)])
    # Dimensions constant in dm_control (e.g. zero start velocities, walker's torso height) are compared
    # by value: z is 0 when the float32 value agrees to 1e-5, else inf.
    varying = dmc.std(axis=0) > 1e-6
    diff = warp.mean(axis=0) - dmc.mean(axis=0)
    se = np.sqrt(warp.var(axis=0) / num + dmc.var(axis=0) / num)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(varying, diff / se, np.where(np.abs(diff) < 1e-5, 0.0, np.inf))
        ratio = np.where(varying, warp.std(axis=0) / dmc.std(axis=0), np.nan)
    return z, ratio


def markdown(results: dict[str, Parity], checkpoints: tuple[int, ...] = (1, 10, 100, 1000)) -> str:
    """A table: max obs error at checkpoints, first step above 1e-3, reward and return differences."""
    horizon = next(iter(results.values())).reward_err.shape[0]
    marks = [k for k in checkpoints if k <= horizon]
    head = " | ".join(f"obs err @{k}" for k in marks)
    lines = [
        f"| task | {head} | first step obs err > 1e-3 (per world) | max reward err | returns warp / dmc |",
        "|---|" + "---|" * len(marks) + "---|---|---|",
    ]
    for task, p in results.items():
        errs = " | ".join(f"{p.obs_err[k].max():.1e}" for k in marks)
        first = ", ".join("-" if s is None else str(s) for s in p.first_step_above(1e-3))
        rets = ", ".join(f"{w:.1f}/{d:.1f}" for w, d in zip(p.return_warp, p.return_dmc, strict=True))
        lines.append(f"| {task} | {errs} | {first} | {p.reward_err.max():.1e} | {rets} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from gorl.envs.tasks import port_names

    parser = argparse.ArgumentParser(description="dm_control vs MuJoCo Warp divergence, per task")
    parser.add_argument("--tasks", nargs="+", default=port_names())
    parser.add_argument("--worlds", type=int, default=4)
    parser.add_argument("--horizon", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--starts", type=int, default=0, help="also compare N first observations per task")
    args = parser.parse_args(argv)
    if args.starts:
        print("| task | max abs z of means | warp/dmc std ratio range |\n|---|---|---|")
        for t in args.tasks:
            z, ratio = start_distribution(t, args.starts, args.seed)
            print(f"| {t} | {np.abs(z).max():.2f} | {np.nanmin(ratio):.2f} .. {np.nanmax(ratio):.2f} |")
    results = {t: dm_control_parity(t, args.worlds, args.horizon, args.seed) for t in args.tasks}
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
