"""``check_env`` passes on every registered backend and each of its checks fails on an env broken in
that one way (a working toy env wrapped by composition, one flaw per wrapper)."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import torch

import gorl.envs as envs
from gorl.envs.torchrl_env import TorchRLBatchEnv
from gorl.interfaces.keys import DONE, NEXT, OBSERVATION, TERMINATED, TRUNCATED
from gorl.testing import ENV_CHECKS, check_env
from gorl.testing.toy_env import PointMass

# One task per registered backend; warp compiles its kernels for the CPU here: 289 s under load, marked slow.
TASKS = {"dmc": "cheetah-run", "gym": "gym:Hopper-v5", "torchrl": "torchrl:toy", "warp": "warp:cheetah-run"}


def test_every_registered_backend_has_a_task_here():
    assert set(envs.names()) == set(TASKS)


@pytest.mark.parametrize(
    "backend", [pytest.param(b, marks=pytest.mark.slow) if b == "warp" else b for b in sorted(TASKS)]
)
def test_check_env_passes_on_every_registered_backend(backend):
    if backend == "warp" and importlib.util.find_spec("mujoco_warp") is None:
        pytest.skip("MuJoCo Warp is not installed (gorl[gpu])")
    check_env(TASKS[backend])


class Flawed:
    """A working ``TorchRLBatchEnv`` over ``PointMass`` with one flaw; forwards everything else."""

    def __init__(self, flaw: str, n: int, seed: int, length: int) -> None:
        self.flaw = flaw
        self.inner = TorchRLBatchEnv(PointMass(n, episode_length=length, seed=seed), seed=seed)
        self.num_envs, self.obs_dim, self.action_dim = n, self.inner.obs_dim, self.inner.action_dim
        self.action_low, self.action_high = self.inner.action_low, self.inner.action_high
        self.episode_length = length
        self.exact_resume = flaw == "claims_exact_resume"
        if flaw == "wrong_obs_dim":
            self.obs_dim += 1

    def reset(self, td: Any = None) -> Any:
        if self.flaw == "unseeded":
            self.inner.env.set_seed(int(torch.randint(0, 2**31, ())))
        if self.flaw == "ignores_reset_mask" and td is not None:
            td = td.exclude("_reset")
            return self.inner.reset()
        return self.inner.reset() if td is None else self.inner.reset(td)

    def step_and_maybe_reset(self, td: Any) -> tuple[Any, Any]:
        stepped, root = self.inner.step_and_maybe_reset(td)
        nxt = stepped[NEXT]
        if self.flaw == "done_not_terminated_or_truncated":
            nxt[DONE] = torch.zeros_like(nxt[DONE])
        if self.flaw == "truncation_as_termination":
            nxt[TERMINATED] = nxt[TERMINATED] | nxt[TRUNCATED]
            nxt[TRUNCATED] = torch.zeros_like(nxt[TRUNCATED])
        if self.flaw == "reset_observation_in_next":
            done = nxt[DONE].reshape(-1)
            nxt[OBSERVATION] = torch.where(done[:, None], root[OBSERVATION], nxt[OBSERVATION])
        return stepped, root

    def env_state(self) -> dict[str, Any]:
        return self.inner.env_state()

    def load_env_state(self, state: dict[str, Any]) -> None:
        self.inner.load_env_state(state)

    def close(self) -> None:
        self.inner.close()


FLAWS = {  # flaw -> the check that must catch it
    "wrong_obs_dim": "specs",
    "done_not_terminated_or_truncated": "step",
    "truncation_as_termination": "truncation",
    "reset_observation_in_next": "final_observation",
    "ignores_reset_mask": "reset_mask",
    "unseeded": "seeding",
    "claims_exact_resume": "state",
}


def test_every_check_has_a_flaw_that_fails_it():
    assert set(FLAWS.values()) == set(ENV_CHECKS)


def test_the_unflawed_wrapper_passes():
    check_env(lambda n, seed, length: Flawed("none", n, seed, length))


@pytest.mark.parametrize("flaw", sorted(FLAWS))
def test_each_check_fails_on_its_flaw(flaw):
    check = FLAWS[flaw]
    with pytest.raises(AssertionError, match=f"^{check}: "):
        check_env(lambda n, seed, length: Flawed(flaw, n, seed, length), checks=[check])


def test_unknown_check_names_are_refused():
    with pytest.raises(ValueError, match="unknown env checks"):
        check_env("torchrl:toy", checks=["nope"])
