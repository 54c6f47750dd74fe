"""fish-swim torch port against dm_control 1.0.50.

Tolerance: SimState holds float32 copies of dm_control's float64 arrays and the port computes in
float32; the entries are O(1) (angles, unit-matrix entries, positions < 1 m, velocities of a few
units), so a few float32 ulps stay far below ``rtol=atol=1e-5``. The reward is a smooth function of
those quantities (gaussian tolerance with margin 0.09 m), so it gets ``atol=1e-5`` too.
"""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import pytest
import torch

# With MUJOCO_GL=egl, importing dm_control loads EGL, after which a first import of triton (through
# torch._dynamo, which tensordict and torchrl import) segfaults. Importing it first keeps this module
# safe to collect before modules that import tensordict (seen with torch 2.14.1, dm_control 1.0.50).
import torch._dynamo
from dm_control import suite
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor

from gorl.envs.tasks import control_substeps, get_port, load_model, make_port
from gorl.envs.tasks.base import SimState
from gorl.envs.tasks.fish import JOINTS, FishSwim, vector_in_frame

# the CPU here and in CI; GORL_TEST_DEVICE=cuda runs the same tests on a GPU (benchmarks/gpu_session.sh)
WARP_DEVICE = os.environ.get("GORL_TEST_DEVICE", "cpu")

EPISODES = 3
TIME_LIMIT = 2.0  # 50 control steps of 0.04 s per episode
SWEEP = 40


def flat_obs(obs: dict) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(v, dtype=np.float64)).ravel() for v in obs.values()])


def make(seed: int):
    env = suite.load("fish", "swim", task_kwargs={"random": seed, "time_limit": TIME_LIMIT})
    return env, FishSwim(env.physics.model.ptr)


def visited_states(env, seed: int):
    """Random-action episodes; after each, the target is swept from the mouth outwards.

    Yields ``(live physics, is_sweep)`` at every state (callers read the physics immediately).
    """
    rng = np.random.RandomState(seed)
    spec = env.action_spec()
    model = env.physics.model
    target, mouth = model.name2id("target", "geom"), model.name2id("mouth", "geom")
    for _ in range(EPISODES):
        ts = env.reset()
        yield env.physics, False
        while not ts.last():
            ts = env.step(rng.uniform(spec.minimum, spec.maximum))
            yield env.physics, False
        # Target at distances 0..0.15 m from the mouth in a random direction: inside the target
        # radii (0.045), in the margin and beyond, so every branch of the reward is compared.
        direction = rng.randn(3)
        direction /= np.linalg.norm(direction)
        for dist in np.linspace(0.0, 0.15, SWEEP):
            model.geom_pos[target] = env.physics.data.geom_xpos[mouth] + dist * direction
            env.physics.forward()
            yield env.physics, True


def test_observation_and_reward_match_dm_control() -> None:
    env, port = make(seed=4)
    sims, tss, ref_obs, ref_rew, sweep = [], [], [], [], []
    for physics, is_sweep in visited_states(env, seed=4):
        sweep.append(is_sweep)
        sims.append(SimState.from_physics([physics]))
        tss.append(port.task_state_from_physics([physics]))
        ref_obs.append(flat_obs(env.task.get_observation(physics)))
        ref_rew.append(env.task.get_reward(physics))
        assert physics.data.ncon == 0
    sim = SimState(**{k: torch.cat([getattr(s, k) for s in sims]) for k in SimState.field_names()})
    ts = {"target": torch.cat([t["target"] for t in tss])}
    ref_obs, ref_rew = np.stack(ref_obs), np.array(ref_rew)
    n = len(ref_rew)
    assert n == EPISODES * (51 + SWEEP)

    obs, rew = port.observation(sim, ts), port.reward(sim, ts)
    assert port.obs_dim == 24 and port.action_dim == 5 and obs.shape == (n, 24)
    assert obs.dtype == torch.float32 and rew.dtype == torch.float32 and rew.shape == (n,)
    np.testing.assert_allclose(obs.numpy(), ref_obs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(rew.numpy(), ref_rew, rtol=0, atol=1e-5)

    episode_targets = ts["target"][~torch.tensor(sweep)].unique(dim=0)
    assert len(episode_targets) == EPISODES  # a new target each episode
    dist = np.linalg.norm(ref_obs[:, 8:11], axis=1)
    assert (dist < 0.045).sum() > 10 and ((dist > 0.045) & (dist < 0.135)).sum() > 10
    assert np.ptp(ref_obs[:, 7]) > 0.5  # uprightness varied


def test_vector_in_frame_hand_computed() -> None:
    # A frame turned +90 degrees about z: its x axis is world y, its y axis is world -x.
    xmat = torch.tensor([[0.0, -1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]])
    vec = torch.tensor([[0.0, 2.0, 3.0]])  # world y -> local x
    torch.testing.assert_close(vector_in_frame(vec, xmat), torch.tensor([[2.0, 0.0, 3.0]]))


def dm_initial_states(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """dm_control's own episode initialisation, ``n`` times: qpos (n, nq), target geom pos (n, 3)."""
    env, _ = make(seed)
    target = env.physics.model.name2id("target", "geom")
    qpos, targets = [], []
    for _ in range(n):
        with env.physics.reset_context():
            env.task.initialize_episode(env.physics)
        qpos.append(env.physics.data.qpos.copy())
        targets.append(env.physics.model.geom_pos[target].copy())
    return np.stack(qpos), np.stack(targets)


@functools.lru_cache(maxsize=1)
def model_and_port():
    """A model and its port, built once (``initial_state`` touches neither)."""
    env, port = make(0)
    return env.physics.model.ptr, port


def port_initial_states(n: int, seed: int):
    model, port = model_and_port()
    qpos0 = torch.as_tensor(model.qpos0, dtype=torch.float32).expand(n, -1)
    return model, port.initial_state(qpos0, torch.Generator().manual_seed(seed))


def assert_same_moments(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Means and second moments agree within 5 standard errors (fixed seeds: deterministic)."""
    for k, (x, y) in enumerate(((a, b), (a**2, b**2))):
        se = math.sqrt(x.var() / len(x) + y.var() / len(y))
        assert abs(x.mean() - y.mean()) < 5 * se, f"{what} moment {k + 1}: {x.mean()} vs {y.mean()}"


def test_initial_state_distribution_matches_dm_control() -> None:
    n = 8000
    model, (qpos, qvel, ts) = port_initial_states(n, seed=7)
    ref_qpos, ref_target = dm_initial_states(2000, seed=7)
    assert qpos.shape == (n, model.nq) and qpos.dtype == torch.float32
    assert torch.equal(qvel, torch.zeros(n, model.nv))
    q = qpos.double().numpy()
    np.testing.assert_array_equal(q[:, :3], np.broadcast_to(model.qpos0[:3], (n, 3)).astype(np.float32))

    quat, ref_quat = q[:, 3:7], ref_qpos[:, 3:7]
    np.testing.assert_allclose(np.linalg.norm(quat, axis=1), 1.0, atol=1e-6)
    for i in range(4):  # uniform on the 3-sphere: every component has mean 0 and E[q_i^2] = 1/4
        assert_same_moments(quat[:, i], ref_quat[:, i], f"quat[{i}]")
        assert abs(quat[:, i].mean()) < 5 * 0.5 / math.sqrt(n)
        assert abs((quat[:, i] ** 2).mean() - 0.25) < 0.01
    assert_same_moments(np.abs(quat[:, 0]), np.abs(ref_quat[:, 0]), "|quat[0]|")

    joint_cols = [model.jnt_qposadr[model.joint(name).id] for name in JOINTS]
    for col, name in zip(joint_cols, JOINTS, strict=True):
        assert np.all(np.abs(q[:, col]) <= 0.2)
        assert_same_moments(q[:, col], ref_qpos[:, col], name)
        assert abs(q[:, col].var() - 0.4**2 / 12) < 5e-4  # uniform on [-0.2, 0.2]

    target = ts["target"].double().numpy()
    assert ts["target"].shape == (n, 3)
    low, high = np.array([-0.4, -0.4, 0.1]), np.array([0.4, 0.4, 0.3])
    assert np.all(target >= low) and np.all(target <= high)
    for i in range(3):
        assert_same_moments(target[:, i], ref_target[:, i], f"target[{i}]")
        assert abs(target[:, i].var() - (high[i] - low[i]) ** 2 / 12) < 0.01 * (high[i] - low[i]) ** 2


def load_into(env, qpos: Tensor, qvel: Tensor, target: Tensor) -> None:
    """Writes one port state into dm_control as its reset would (the target into the model)."""
    physics = env.physics
    physics.model.geom_pos[physics.model.name2id("target", "geom")] = target.double().numpy()
    physics.data.qpos[:], physics.data.qvel[:] = qpos.double().numpy(), qvel.double().numpy()
    physics.after_reset()  # forward pass with actuation disabled, as at dm_control's reset


def test_initial_states_round_trip_through_dm_control() -> None:
    """Port initial states written into dm_control: the same target read back, the same observation."""
    _, port = model_and_port()
    _, (qpos, qvel, ts) = port_initial_states(200, seed=11)
    env, _ = make(0)
    sims, targets, ref_obs = [], [], []
    for row in range(len(qpos)):
        load_into(env, qpos[row], qvel[row], ts["target"][row])
        sims.append(SimState.from_physics([env.physics]))
        targets.append(port.task_state_from_physics([env.physics])["target"])
        ref_obs.append(flat_obs(env.task.get_observation(env.physics)))
    sim = SimState(**{k: torch.cat([getattr(s, k) for s in sims]) for k in SimState.field_names()})
    assert torch.equal(torch.cat(targets), ts["target"])
    np.testing.assert_allclose(port.observation(sim, ts).numpy(), np.stack(ref_obs), rtol=1e-5, atol=1e-5)


def test_initial_state_deterministic_per_seed() -> None:
    _, (qpos, qvel, ts) = port_initial_states(64, seed=5)
    _, (qpos2, qvel2, ts2) = port_initial_states(64, seed=5)
    _, (qpos3, _, ts3) = port_initial_states(64, seed=6)
    assert torch.equal(qpos, qpos2) and torch.equal(qvel, qvel2) and torch.equal(ts["target"], ts2["target"])
    assert not torch.equal(qpos, qpos3) and not torch.equal(ts["target"], ts3["target"])


def test_target_is_visual_only() -> None:
    """Moving the target geom does not change the dynamics (constraints disabled: no contacts).

    The second target sits on the fish's start position, where a colliding geom would push it.
    """
    trajectories = []
    for target in ([0.3, -0.2, 0.25], [0.0, 0.0, 0.1]):
        env, _ = make(seed=2)
        env.reset()
        env.physics.model.geom_pos[env.physics.model.name2id("target", "geom")] = target
        rng = np.random.RandomState(0)
        qpos = []
        for _ in range(40):
            env.step(rng.uniform(-1.0, 1.0, size=5))
            qpos.append(env.physics.data.qpos.copy())
            assert env.physics.data.ncon == 0
        trajectories.append(np.stack(qpos))
    np.testing.assert_array_equal(trajectories[0], trajectories[1])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(1, 64), seed=st.integers(0, 2**31 - 1))
def test_initial_state_any_batch_and_seed(n: int, seed: int) -> None:
    model, (qpos, qvel, ts) = port_initial_states(n, seed)
    assert qpos.shape == (n, model.nq) and qvel.shape == (n, model.nv) and ts["target"].shape == (n, 3)
    assert qpos.dtype == qvel.dtype == ts["target"].dtype == torch.float32
    torch.testing.assert_close(qpos[:, 3:7].norm(dim=-1), torch.ones(n))


def test_registered_and_satisfies_task_port() -> None:
    assert get_port("fish-swim") is FishSwim
    model = load_model("fish-swim")
    port = make_port("fish-swim", model)  # raises unless the port satisfies TaskPort
    assert [k for k, _ in port.obs_spec] == ["joint_angles", "upright", "target", "velocity"]
    assert port.settle_steps == 0
    assert control_substeps("fish-swim", model) == 10  # 0.04 s control step over 0.004 s physics steps


def test_warp_env_tracks_dm_control() -> None:
    """WarpBatchEnv (MuJoCo Warp, float32, CPU) with this port vs dm_control over 20 control steps.

    Four dm_control reset states (targets included) are copied into the warp worlds and both step the
    same random actions. Measured here: observation errors stay below 1e-5 over 30 steps (no contacts
    in fish), rewards within 1e-7; the bounds below leave an order of magnitude of room.
    """
    pytest.importorskip("mujoco_warp")
    warp_env = pytest.importorskip("gorl.envs.warp")
    from tensordict import TensorDict

    n, horizon = 4, 20
    env = warp_env.WarpBatchEnv("fish-swim", n, seed=0, device=WARP_DEVICE, episode_length=10**6)
    dmc = [make(seed=i)[0] for i in range(n)]
    first = [e.reset() for e in dmc]

    def stacked(field: str) -> torch.Tensor:
        return torch.tensor(np.stack([getattr(e.physics.data, field) for e in dmc]), dtype=torch.float32)

    task_state = env.port.task_state_from_physics([e.physics for e in dmc])
    assert len(task_state["target"].unique(dim=0)) == n
    obs = [
        env.set_physics_state(
            stacked("qpos"), stacked("qvel"), qacc_warmstart=stacked("qacc_warmstart"), task_state=task_state
        )
    ]
    ref_obs = [np.stack([flat_obs(ts.observation) for ts in first])]
    rew, ref_rew = [], []
    rng = np.random.default_rng(0)
    for _ in range(horizon):
        action = rng.uniform(-1.0, 1.0, (n, 5))
        steps = [e.step(a) for e, a in zip(dmc, action, strict=True)]
        td = env.step(TensorDict({"action": torch.tensor(action, dtype=torch.float32)}, batch_size=[n]))
        obs.append(td["next", "observation"])
        rew.append(td["next", "reward"][:, 0])
        ref_obs.append(np.stack([flat_obs(ts.observation) for ts in steps]))
        ref_rew.append([ts.reward for ts in steps])
    obs, ref_obs = torch.stack(obs).double().numpy(), np.stack(ref_obs)
    assert np.abs(obs[0] - ref_obs[0]).max() < 1e-6  # same state, one forward pass each
    np.testing.assert_allclose(obs, ref_obs, rtol=0, atol=1e-4)
    np.testing.assert_allclose(torch.stack(rew).double().numpy(), np.array(ref_rew), rtol=0, atol=1e-5)

    # The env's own reset path (port.initial_state, forward) against dm_control at that state.
    reset_obs = env.reset()["observation"].double().numpy()
    state = env.env_state()
    for row, e in enumerate(dmc):
        load_into(
            e, state["live"]["qpos"][row], state["live"]["qvel"][row], state["task_state"]["target"][row]
        )
        np.testing.assert_allclose(reset_obs[row], flat_obs(e.task.get_observation(e.physics)), atol=1e-5)
