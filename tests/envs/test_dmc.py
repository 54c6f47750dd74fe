"""DMControlBatchEnv against dm_control itself and TorchRL's semantics (CPU, a few seconds)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from tensordict import TensorDict
from torchrl.envs import EnvBase

from gorl.envs import PAPER_TASKS, make_env, task_names
from gorl.envs.dmc import DMControlBatchEnv, env_seeds
from gorl.interfaces.env import BatchedEnv
from gorl.interfaces.keys import ACTION, DONE, NEXT, OBSERVATION, REWARD, TERMINATED, TRUNCATED
from gorl.registry import RegistryError


def flat(obs: dict) -> np.ndarray:
    """dm_control's observation dict flattened in its own order."""
    return np.concatenate([np.asarray(v, np.float64).reshape(-1) for v in obs.values()])


def raw_envs(task: str, n: int, seed: int = 0) -> list:
    """The dm_control environments DMControlBatchEnv(task, n, seed=seed) should reproduce."""
    from dm_control import suite

    domain, _, name = task.partition("-")
    return [suite.load(domain, name, task_kwargs={"random": s}) for s in env_seeds(seed, n)]


def actions(n: int, a_dim: int, steps: int, seed: int = 0, scale: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(steps, n, a_dim, generator=g) * 2 - 1) * scale


def run(env: DMControlBatchEnv, td: TensorDict, acts: torch.Tensor) -> tuple[list[TensorDict], TensorDict]:
    out = []
    for a in acts:
        td.set(ACTION, a)
        stepped, td = env.step_and_maybe_reset(td)
        out.append(stepped[NEXT].clone())
    return out, td


def test_keys_shapes_dtypes_and_protocol() -> None:
    env = DMControlBatchEnv("finger-turn_hard", 3)
    assert isinstance(env, BatchedEnv)
    assert (env.num_envs, env.obs_dim, env.action_dim, env.episode_length) == (3, 12, 2, 1000)
    assert env.batch_size == torch.Size([3])
    assert torch.equal(env.action_low, -torch.ones(2)) and torch.equal(env.action_high, torch.ones(2))
    assert [k for k, _, _ in env.obs_layout] == [
        "position",
        "velocity",
        "touch",
        "target_position",
        "dist_to_target",
    ]
    td = env.reset()
    assert td[OBSERVATION].shape == (3, 12) and td[OBSERVATION].dtype == torch.float32
    td[ACTION] = env.action_spec.rand()
    stepped, nxt_root = env.step_and_maybe_reset(td)
    nxt = stepped[NEXT]
    assert nxt[OBSERVATION].shape == (3, 12) and nxt[OBSERVATION].dtype == torch.float32
    assert nxt[REWARD].shape == (3, 1) and nxt[REWARD].dtype == torch.float32
    for key in (DONE, TERMINATED, TRUNCATED):
        assert nxt[key].shape == (3, 1) and nxt[key].dtype == torch.bool
        assert nxt_root[key].shape == (3, 1) and not nxt_root[key].any()
    assert env.observation_spec[OBSERVATION].shape == (3, 12)
    assert env.action_spec.shape == (3, 2) and env.reward_spec.shape == (3, 1)


def test_torchrl_check_env_specs_passes() -> None:
    from torchrl.envs.utils import check_env_specs

    check_env_specs(DMControlBatchEnv("finger-turn_hard", 2, episode_length=3))


@pytest.mark.parametrize("task", ["cheetah-run", "finger-turn_hard"])
def test_matches_dm_control_step_by_step_in_its_dict_order(task: str) -> None:
    n, steps = 2, 5
    env = DMControlBatchEnv(task, n)
    raw = raw_envs(task, n)
    td = env.reset()
    want = np.stack([flat(e.reset().observation) for e in raw])
    assert np.array_equal(td[OBSERVATION].numpy(), want.astype(np.float32))
    acts = actions(n, env.action_dim, steps)
    got, _ = run(env, td, acts)
    for t in range(steps):
        ts = [e.step(a.double().numpy()) for e, a in zip(raw, acts[t], strict=True)]
        want_obs = np.stack([flat(x.observation) for x in ts]).astype(np.float32)
        want_rew = np.array([[x.reward] for x in ts], np.float32)
        assert np.array_equal(got[t][OBSERVATION].numpy(), want_obs)
        assert np.array_equal(got[t][REWARD].numpy(), want_rew)


def test_time_limit_truncates_and_auto_resets_the_finished_envs() -> None:
    n, length = 2, 3
    env = DMControlBatchEnv("finger-spin", n, episode_length=length)
    raw = raw_envs("finger-spin", n)
    td = env.reset()
    for e in raw:
        e.reset()
    acts = actions(n, env.action_dim, 2 * length)
    for t, a in enumerate(acts, start=1):
        td.set(ACTION, a)
        stepped, td = env.step_and_maybe_reset(td)
        last = np.stack([flat(e.step(x.double().numpy()).observation) for e, x in zip(raw, a, strict=True)])
        nxt = stepped[NEXT]
        end = t % length == 0
        assert bool(nxt[TRUNCATED].all()) == end and bool(nxt[DONE].all()) == end
        assert not nxt[DONE].any() or end
        assert not nxt[TERMINATED].any()
        # ("next", obs) is the last observation of the episode, never the reset one
        assert np.array_equal(nxt[OBSERVATION].numpy(), last.astype(np.float32))
        if end:  # the root holds the new episode's first observation, the done flags are cleared
            first = np.stack([flat(e.reset().observation) for e in raw])
            assert np.array_equal(td[OBSERVATION].numpy(), first.astype(np.float32))
            assert not td[DONE].any()
        else:
            assert torch.equal(td[OBSERVATION], nxt[OBSERVATION])


def test_partial_reset_mask_resets_only_the_masked_envs() -> None:
    env = DMControlBatchEnv("cheetah-run", 3)
    td = env.reset()
    td[ACTION] = actions(3, 6, 1)[0]
    after = env.step(td)[NEXT][OBSERVATION]
    mask = torch.tensor([[True], [False], [False]])
    out = env._reset(TensorDict({"_reset": mask}, batch_size=[3]))
    assert torch.equal(out[OBSERVATION][1:], after[1:])
    assert not torch.equal(out[OBSERVATION][0], after[0])
    assert env._group.steps.tolist() == [0, 1, 1]


def test_fast_path_equals_torchrl_generic_step_and_maybe_reset() -> None:
    env = DMControlBatchEnv("finger-turn_hard", 2, episode_length=2)
    td = env.reset()
    td["latent"] = torch.zeros(2, 2)  # a policy output: step_mdp carries it to the next root
    for a in actions(2, 2, 4):
        td.set(ACTION, a)
        state = env.env_state()
        fast, fast_next = env.step_and_maybe_reset(td.clone())
        env.load_env_state(state)
        slow, slow_next = EnvBase._step_and_maybe_reset(env, td.clone())
        assert set(fast.keys(True)) == set(slow.keys(True))
        assert set(fast_next.keys(True)) == set(slow_next.keys(True))
        assert bool((fast == slow).all()) and bool((fast_next == slow_next).all())
        td = fast_next


def test_per_env_seeds() -> None:
    a = DMControlBatchEnv("finger-spin", 3, seed=7)
    b = DMControlBatchEnv("finger-spin", 3, seed=7)
    c = DMControlBatchEnv("finger-spin", 3, seed=8)
    ta, tb, tc = a.reset(), b.reset(), c.reset()
    assert torch.equal(ta[OBSERVATION], tb[OBSERVATION])
    obs = ta[OBSERVATION]
    assert not torch.equal(obs[0], obs[1]) and not torch.equal(obs[1], obs[2])
    assert not torch.equal(obs, tc[OBSERVATION])
    acts = actions(3, 2, 4)
    ra, _ = run(a, ta, acts)
    rb, _ = run(b, tb, acts)
    assert all(bool((x == y).all()) for x, y in zip(ra, rb, strict=True))


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match=r"unknown dm_control task 'cheetah-fly'.*cheetah-run"):
        DMControlBatchEnv("cheetah-fly", 2)
    with pytest.raises(ValueError, match="num_envs"):
        DMControlBatchEnv("cheetah-run", 0)
    with pytest.raises(RegistryError, match=r"unknown env backend 'jax'\. Known: dmc, gym, torchrl, warp"):
        make_env("cheetah-run", 2, backend="jax")
    env = DMControlBatchEnv("finger-spin", 2)
    with pytest.raises(RuntimeError, match="before reset"):
        env.step_and_maybe_reset(TensorDict({ACTION: torch.zeros(2, 2)}, batch_size=[2]))
    td = env.reset()
    td[ACTION] = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"action has shape \(2, 3\), expected \(2, 2\)"):
        env.step_and_maybe_reset(td)
    td[ACTION] = torch.tensor([[0.0, 0.0], [float("nan"), 0.0]])
    with pytest.raises(ValueError, match=r"NaN actions for envs \[1\]"):
        env.step_and_maybe_reset(td)


def test_out_of_bounds_actions_are_clipped() -> None:
    a = DMControlBatchEnv("cheetah-run", 2)
    b = DMControlBatchEnv("cheetah-run", 2)
    ta, tb = a.reset(), b.reset()
    big = actions(2, 6, 3, scale=5.0)
    ra, _ = run(a, ta, big)
    rb, _ = run(b, tb, big.clamp(-1, 1))
    assert all(bool((x == y).all()) for x, y in zip(ra, rb, strict=True))


@pytest.mark.parametrize("task", ["cheetah-run", "finger-turn_hard"])
def test_resume_is_bit_identical_across_an_episode_boundary(task: str) -> None:
    n, length = 2, 4
    env = DMControlBatchEnv(task, n, seed=3, episode_length=length)
    td = env.reset()
    acts = actions(n, env.action_dim, 3 + 2 * length, seed=1)
    _, td = run(env, td, acts[:3])
    buf = io.BytesIO()
    torch.save({"env": env.env_state(), "td": td.to_dict()}, buf)
    want, want_td = run(env, td.clone(), acts[3:])  # crosses two resets

    fresh = DMControlBatchEnv(task, n, seed=99, episode_length=length)
    fresh.reset()
    fresh.reset()  # a different episode (finger: a different target) that the load must undo
    buf.seek(0)
    saved = torch.load(buf, weights_only=False)
    fresh.load_env_state(saved["env"])
    got, got_td = run(fresh, TensorDict(saved["td"], batch_size=[n]), acts[3:])
    assert any(bool(x[DONE].any()) for x in want)
    for x, y in zip(want, got, strict=True):
        assert bool((x == y).all())
    assert bool((want_td == got_td).all())


def test_load_rejects_a_state_of_another_task() -> None:
    state = DMControlBatchEnv("finger-spin", 2).env_state()
    with pytest.raises(ValueError, match="task='finger-spin'"):
        DMControlBatchEnv("cheetah-run", 2).load_env_state(state)


def test_torchrl_rollout_and_collector_with_a_random_policy() -> None:
    from torchrl.collectors import Collector

    env = DMControlBatchEnv("cheetah-run", 2, episode_length=5)
    env.set_seed(0)
    ro = env.rollout(8, break_when_any_done=False)
    assert ro.batch_size == (2, 8)
    assert ro[NEXT, DONE][:, 4].all() and not ro[NEXT, DONE][:, :4].any()
    collector = Collector(env, None, frames_per_batch=12, total_frames=24)
    batches = list(collector)
    collector.shutdown()
    assert len(batches) == 2 and batches[0].numel() == 12
    assert torch.isfinite(batches[1][NEXT, OBSERVATION]).all()


def test_workers_give_the_same_results_as_one_process() -> None:
    one = DMControlBatchEnv("finger-spin", 3, seed=5, episode_length=3)
    two = DMControlBatchEnv("finger-spin", 3, seed=5, episode_length=3, workers=2)
    try:
        acts = actions(3, 2, 5)
        r1, td1 = run(one, one.reset(), acts)
        r2, td2 = run(two, two.reset(), acts)
        assert all(bool((x == y).all()) for x, y in zip(r1, r2, strict=True))
        assert bool((td1 == td2).all())
        state = two.env_state()  # worker states merge into the same layout as one process
        one.load_env_state(state)
        assert np.array_equal(one.env_state()["groups"]["physics"], state["groups"]["physics"])
    finally:
        two.close()


def test_make_env_and_task_names() -> None:
    assert set(PAPER_TASKS) <= set(task_names()) and len(PAPER_TASKS) == 6
    env = make_env("hopper-stand", 2, seed=1, episode_length=7)
    assert isinstance(env, DMControlBatchEnv) and env.episode_length == 7 and env.obs_dim == 15


def test_warp_backend_without_mujoco_warp_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gorl.envs.warp", None)  # import of it now fails
    with pytest.raises(ImportError, match=r"gorl\[gpu\]"):
        make_env("cheetah-run", 2, backend="warp")


def test_a_new_mujoco_warning_raises_physics_error_like_dm_control() -> None:
    from dm_control.rl.control import PhysicsError

    env = DMControlBatchEnv("cheetah-run", 2)
    td = env.reset()
    td[ACTION] = torch.zeros(2, 6)
    env._group.envs[1].physics._warnings[3] += 1  # as if MuJoCo had flagged a bad qpos in env 1
    with pytest.raises(PhysicsError, match=r"env 1: .*mjWARN_BADQPOS"):
        env.step_and_maybe_reset(td)
