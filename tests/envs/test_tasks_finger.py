"""finger-spin and finger-turn_hard torch ports against dm_control 1.0.50.

Tolerance: SimState holds float32 copies of dm_control's float64 arrays and the ports compute in
float32, so each observation entry carries a rounding error of a few float32 ulps of the quantities
it is built from (positions ~0.5 m, velocities up to ~50 rad/s, log-touch up to ~10): ``rtol=atol=1e-5``
bounds that with room to spare. The rewards are 0/1 thresholds and must agree exactly, except within
1e-4 of the threshold where float32 rounding may flip them (the test counts how many such states
there are and requires nearly all states to be compared).
"""

from __future__ import annotations

import functools
import math
import os

import mujoco
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

from gorl.envs.tasks import control_substeps, get_port, load_model, make_port
from gorl.envs.tasks.base import SimState
from gorl.envs.tasks.finger import FingerSpin, FingerTurnHard, PlanarContactCheck, segment_distance_2d

# the CPU here and in CI; GORL_TEST_DEVICE=cuda runs the same tests on a GPU (benchmarks/gpu_session.sh)
WARP_DEVICE = os.environ.get("GORL_TEST_DEVICE", "cpu")

EPISODES = 4
TIME_LIMIT = 1.0  # 50 control steps per episode


def flat_obs(obs: dict) -> np.ndarray:
    return np.concatenate([np.atleast_1d(np.asarray(v, dtype=np.float64)).ravel() for v in obs.values()])


def cat_states(sims: list[SimState], tss: list[dict]) -> tuple[SimState, dict]:
    sim = SimState(**{k: torch.cat([getattr(s, k) for s in sims]) for k in SimState.field_names()})
    return sim, {k: torch.cat([t[k] for t in tss]) for k in tss[0]}


def collect(env, port, physics_states):
    """Reads SimState, task state and dm_control's observation/reward at each physics state."""
    sims, tss, obs, rew = [], [], [], []
    for physics in physics_states:
        sims.append(SimState.from_physics([physics]))
        tss.append(port.task_state_from_physics([physics]))
        obs.append(flat_obs(env.task.get_observation(physics)))
        rew.append(env.task.get_reward(physics))
    return (*cat_states(sims, tss), np.stack(obs), np.array(rew))


def rollout(task: str, seed: int):
    """Random-action episodes of dm_control; also sweeps the hinge so both reward values occur.

    Yields the live physics at every visited state (callers read it immediately).
    """
    env = suite.load("finger", task, task_kwargs={"random": seed, "time_limit": TIME_LIMIT})
    port = (FingerSpin if task == "spin" else FingerTurnHard)(env.physics.model.ptr)
    rng = np.random.RandomState(seed)
    spec = env.action_spec()
    hinge = env.physics.model.name2id("hinge", "joint")

    def states():
        for _ in range(EPISODES):
            ts = env.reset()
            yield env.physics
            while not ts.last():
                ts = env.step(rng.uniform(spec.minimum, spec.maximum))
                yield env.physics
            # Sweep the spinner angle and speed at the episode's final state (same target).
            for angle, speed in zip(np.linspace(-np.pi, np.pi, 48), np.linspace(-30.0, 5.0, 48), strict=True):
                env.physics.data.qpos[hinge] = angle
                env.physics.data.qvel[hinge] = speed
                env.physics.forward()
                yield env.physics

    return env, port, states()


@pytest.mark.parametrize("task", ["spin", "turn_hard"])
def test_observation_and_reward_match_dm_control(task: str) -> None:
    env, port, states = rollout(task, seed=3)
    sim, ts, ref_obs, ref_rew = collect(env, port, states)
    n = ref_obs.shape[0]
    assert n == EPISODES * (51 + 48)
    obs, rew = port.observation(sim, ts), port.reward(sim, ts)
    assert obs.shape == (n, port.obs_dim) and obs.dtype == torch.float32
    assert port.obs_dim == {"spin": 9, "turn_hard": 12}[task] and port.action_dim == 2
    np.testing.assert_allclose(obs.numpy(), ref_obs, rtol=1e-5, atol=1e-5)

    if task == "spin":
        margin = np.abs(sim.qvel[:, 2].double().numpy() + 15.0)
        assert len(torch.unique(sim.qpos, dim=0)) > 0.9 * n  # distinct states, not repeats
    else:
        margin = np.abs(ref_obs[:, -1])  # dm_control's dist_to_target
        assert len(torch.unique(ts["target"], dim=0)) == EPISODES  # a new target every episode
    clear = margin > 1e-4
    assert clear.mean() > 0.98
    np.testing.assert_array_equal(rew.numpy()[clear], ref_rew[clear])
    assert 0 < ref_rew.sum() < n  # both outcomes were compared


def test_spin_port_sets_dm_control_hinge_damping() -> None:
    env = suite.load("finger", "spin", task_kwargs={"random": 0})
    env.reset()  # Spin.initialize_episode writes dof_damping['hinge'] = 0.03
    fresh = suite.load("finger", "spin", task_kwargs={"random": 0}).physics.model.ptr
    hinge = fresh.jnt_dofadr[mujoco.mj_name2id(fresh, mujoco.mjtObj.mjOBJ_JOINT, "hinge")]
    assert fresh.dof_damping[hinge] == pytest.approx(0.5)
    FingerSpin(fresh)
    np.testing.assert_array_equal(fresh.dof_damping, env.physics.model.dof_damping)


def test_segment_distance_2d_hand_computed() -> None:
    a0, a1 = torch.tensor([[0.0, 0.0]] * 4), torch.tensor([[2.0, 0.0]] * 4)
    b0 = torch.tensor([[1.0, 1.0], [1.0, -1.0], [3.0, 4.0], [0.5, 3.0]])
    b1 = torch.tensor([[1.0, 3.0], [1.0, 1.0], [3.0, 4.0], [1.5, 3.0]])
    # above the middle: 1; crossing: 0; point (3, 4) to end (2, 0): sqrt(1 + 16); parallel at height 3: 3
    expected = torch.tensor([1.0, 0.0, math.sqrt(17.0), 3.0])
    torch.testing.assert_close(segment_distance_2d(a0, a1, b0, b1), expected)


def test_contact_check_agrees_with_mujoco() -> None:
    physics = suite.load("finger", "turn_hard", task_kwargs={"random": 0}).physics
    model = physics.model.ptr
    rng = np.random.RandomState(1)
    low, high = model.jnt_range[:, 0].copy(), model.jnt_range[:, 1].copy()
    low[2], high[2] = -np.pi, np.pi  # the spinner's hinge is unlimited
    qpos = rng.uniform(low, high, size=(4000, 3))
    ref = np.empty(len(qpos), dtype=bool)
    for i, q in enumerate(qpos):
        physics.data.qpos[:] = q
        physics.after_reset()
        ref[i] = physics.data.ncon > 0
    got = PlanarContactCheck(model)(torch.as_tensor(qpos, dtype=torch.float32)).numpy()
    assert 0.05 < ref.mean() < 0.2  # about 9.5% of uniform draws touch the spinner
    np.testing.assert_array_equal(got, ref)


def dm_initial_states(task: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """dm_control's own episode initialisation, ``n`` times: qpos (n, 3), target site pos (n, 3)."""
    env = suite.load("finger", task, task_kwargs={"random": seed})
    target = env.physics.model.name2id("target", "site")
    qpos, targets = [], []
    for _ in range(n):
        env.task.initialize_episode(env.physics)
        qpos.append(env.physics.data.qpos.copy())
        targets.append(env.physics.model.site_pos[target].copy())
    return np.stack(qpos), np.stack(targets)


@functools.lru_cache(maxsize=2)
def model_and_port(task: str):
    """A model and its port, built once per task (``initial_state`` does not touch either)."""
    model = suite.load("finger", task, task_kwargs={"random": 0}).physics.model.ptr
    return model, (FingerSpin if task == "spin" else FingerTurnHard)(model)


def port_initial_states(task: str, n: int, seed: int):
    model, port = model_and_port(task)
    qpos0 = torch.as_tensor(model.qpos0, dtype=torch.float32).expand(n, -1)
    return model, port.initial_state(qpos0, torch.Generator().manual_seed(seed))


def assert_same_moments(a: np.ndarray, b: np.ndarray, what: str) -> None:
    """Means and second moments agree within 5 standard errors (fixed seeds: deterministic)."""
    for k, (x, y) in enumerate(((a, b), (a**2, b**2))):
        se = math.sqrt(x.var() / len(x) + y.var() / len(y))
        assert abs(x.mean() - y.mean()) < 5 * se, f"{what} moment {k + 1}: {x.mean()} vs {y.mean()}"


@pytest.mark.parametrize("task", ["spin", "turn_hard"])
def test_initial_state_distribution_matches_dm_control(task: str) -> None:
    n = 4000
    model, (qpos, qvel, ts) = port_initial_states(task, n, seed=7)
    ref_qpos, ref_target = dm_initial_states(task, 1500, seed=7)
    assert qpos.shape == (n, 3) and qpos.dtype == torch.float32
    assert torch.equal(qvel, torch.zeros(n, model.nv))
    q = qpos.double().numpy()
    limit = model.jnt_range[0, 1]  # +-110 degrees for both finger joints
    assert np.all(np.abs(q[:, :2]) <= limit + 1e-6) and np.all(np.abs(q[:, 2]) <= np.pi + 1e-6)
    for j, name in enumerate(("proximal", "distal", "hinge")):
        assert_same_moments(q[:, j], ref_qpos[:, j], name)
    # Rejecting ~9.5% of draws shifts these moments by less than 2 standard errors at this sample
    # size, so the rejection itself is checked directly: no sample is in contact (here and in MuJoCo,
    # test_initial_states_are_collision_free_in_mujoco) and the check is MuJoCo's (test above).
    assert not PlanarContactCheck(model)(qpos).any()

    if task == "turn_hard":
        target = ts["target"].double().numpy()
        anchor = np.array([0.2, 0.0, 0.4])  # the spinner's hinge; the circle radius is 0.04 + 0.09
        np.testing.assert_allclose(np.linalg.norm(target - anchor, axis=1), 0.13, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(ref_target - anchor, axis=1), 0.13, atol=1e-12)
        assert np.all(target[:, 1] == 0.0)
        assert torch.all(ts["target_radius"] == 0.03)
        angle = np.arctan2(target[:, 0] - 0.2, target[:, 2] - 0.4)
        ref_angle = np.arctan2(ref_target[:, 0] - 0.2, ref_target[:, 2] - 0.4)
        assert_same_moments(angle, ref_angle, "target angle")
        # Uniform on [-pi, pi]: variance pi^2 / 3, every quarter of the circle about equally often.
        assert abs(angle.var() - np.pi**2 / 3) < 0.1
        counts = np.histogram(angle, bins=4, range=(-np.pi, np.pi))[0]
        assert np.all(np.abs(counts - n / 4) < 5 * math.sqrt(n / 4))
    else:
        assert ts == {}


def load_into(env, qpos: np.ndarray, qvel: np.ndarray, task_state: dict, row: int) -> None:
    """Writes one row of a port state into dm_control as its reset would (targets into the model)."""
    physics = env.physics
    if "target" in task_state:
        site = physics.model.name2id("target", "site")
        physics.model.site_pos[site] = task_state["target"][row].double().numpy()
        physics.model.site_size[site, 0] = float(task_state["target_radius"][row])
    physics.data.qpos[:], physics.data.qvel[:] = qpos[row], qvel[row]
    physics.after_reset()  # forward pass with actuation disabled, as at dm_control's reset


@pytest.mark.parametrize("task", ["spin", "turn_hard"])
def test_initial_states_round_trip_through_dm_control(task: str) -> None:
    """Port initial states, written into dm_control: contact-free in MuJoCo, the same task state read
    back, and the port's observation of them equal to dm_control's."""
    _, port = model_and_port(task)
    _, (qpos, qvel, ts) = port_initial_states(task, 300, seed=11)
    env = suite.load("finger", task, task_kwargs={"random": 0})
    env.reset()  # Spin's damping; then every row overwrites the episode state
    sims, read_back, ref_obs = [], [], []
    for row in range(len(qpos)):
        load_into(env, qpos.double().numpy(), qvel.double().numpy(), ts, row)
        assert env.physics.data.ncon == 0
        sims.append(SimState.from_physics([env.physics]))
        read_back.append(port.task_state_from_physics([env.physics]))
        ref_obs.append(flat_obs(env.task.get_observation(env.physics)))
    sim, back = cat_states(sims, read_back)
    assert back.keys() == ts.keys() and all(torch.equal(back[k], ts[k]) for k in ts)
    np.testing.assert_allclose(port.observation(sim, ts).numpy(), np.stack(ref_obs), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("task", ["spin", "turn_hard"])
def test_initial_state_deterministic_per_seed(task: str) -> None:
    _, first = port_initial_states(task, 64, seed=5)
    _, again = port_initial_states(task, 64, seed=5)
    _, other = port_initial_states(task, 64, seed=6)
    for a, b in zip(first[:2], again[:2], strict=True):
        assert torch.equal(a, b)
    assert first[2].keys() == again[2].keys()
    assert all(torch.equal(first[2][k], again[2][k]) for k in first[2])
    assert not torch.equal(first[0], other[0])


def test_target_is_visual_only() -> None:
    """Moving the turn target does not change the dynamics (it is a site: sites never collide)."""
    trajectories = []
    for target in ([0.33, 0.0, 0.4], [0.2, 0.0, 0.27]):
        env = suite.load("finger", "turn_hard", task_kwargs={"random": 2})
        env.reset()
        env.physics.model.site_pos[env.physics.model.name2id("target", "site")] = target
        rng = np.random.RandomState(0)
        qpos = []
        for _ in range(40):
            env.step(rng.uniform(-1.0, 1.0, size=2))
            qpos.append(env.physics.data.qpos.copy())
        trajectories.append(np.stack(qpos))
    np.testing.assert_array_equal(trajectories[0], trajectories[1])


@settings(max_examples=25, deadline=None, derandomize=True)
@given(n=st.integers(1, 64), seed=st.integers(0, 2**31 - 1), task=st.sampled_from(["spin", "turn_hard"]))
def test_initial_state_any_batch_and_seed(n: int, seed: int, task: str) -> None:
    model, (qpos, qvel, ts) = port_initial_states(task, n, seed)
    assert qpos.shape == (n, model.nq) and qvel.shape == (n, model.nv)
    assert qpos.dtype == qvel.dtype == torch.float32 and torch.isfinite(qpos).all()
    assert not PlanarContactCheck(model)(qpos).any()
    for key, value in ts.items():
        assert value.shape[0] == n and value.dtype == torch.float32, key


@pytest.mark.parametrize(
    ("name", "cls", "keys"), [("finger-spin", FingerSpin, 3), ("finger-turn_hard", FingerTurnHard, 5)]
)
def test_registered_and_satisfies_task_port(name: str, cls: type, keys: int) -> None:
    assert get_port(name) is cls
    model = load_model(name)
    port = make_port(name, model)  # raises unless the port satisfies TaskPort
    assert (port.domain, port.task) == tuple(name.split("-"))
    assert len(port.obs_spec) == keys and port.settle_steps == 0
    assert control_substeps(name, model) == 2  # 0.02 s control step over 0.01 s physics steps


@pytest.mark.parametrize("task", ["spin", "turn_hard"])
def test_warp_env_tracks_dm_control(task: str) -> None:
    """WarpBatchEnv (MuJoCo Warp, float32, CPU) with this port vs dm_control over 20 control steps.

    Four dm_control episodes are reset, edited so both reward values occur (spin: hinge velocities
    -20 and -16 rad/s; turn: world 0's tip turned onto its target), copied into the warp worlds, and
    both step the same random actions. Measured here: observation errors stay below 2e-5 over 30
    steps, contacts included; the 1e-4 bound leaves room for float32 rounding amplified by contacts.
    Spin's 0.03 hinge damping must reach the warp model, or the fast spins decay apart within a step.
    """
    pytest.importorskip("mujoco_warp")
    warp_env = pytest.importorskip("gorl.envs.warp")
    from tensordict import TensorDict

    n, horizon = 4, 20
    env = warp_env.WarpBatchEnv(f"finger-{task}", n, seed=0, device=WARP_DEVICE, episode_length=10**6)
    dmc = [suite.load("finger", task, task_kwargs={"random": i}) for i in range(n)]
    for i, e in enumerate(dmc):
        e.reset()
        if task == "spin":
            e.physics.data.qvel[2] = (-20.0, -16.0, 0.0, 5.0)[i]
        elif i == 0:  # the tip sits at angle -q about the hinge; the target at atan2(dx, dz)
            target = e.physics.named.model.site_pos["target"]
            e.physics.data.qpos[2] = -np.arctan2(target[0] - 0.2, target[2] - 0.4)
        e.physics.forward()
    ref_rew = [[e.task.get_reward(e.physics) for e in dmc]]
    assert ref_rew[0][0] == 1.0  # spinning at -20 rad/s, or the tip inside the target

    def stacked(field: str) -> torch.Tensor:
        return torch.tensor(np.stack([getattr(e.physics.data, field) for e in dmc]), dtype=torch.float32)

    task_state = env.port.task_state_from_physics([e.physics for e in dmc])
    obs = [
        env.set_physics_state(
            stacked("qpos"), stacked("qvel"), qacc_warmstart=stacked("qacc_warmstart"), task_state=task_state
        )
    ]
    ref_obs = [np.stack([flat_obs(e.task.get_observation(e.physics)) for e in dmc])]
    rew = [env.port.reward(SimState.from_physics([e.physics for e in dmc]), task_state)]
    rng = np.random.default_rng(0)
    for _ in range(horizon):
        action = rng.uniform(-1.0, 1.0, (n, 2))
        steps = [e.step(a) for e, a in zip(dmc, action, strict=True)]
        td = env.step(TensorDict({"action": torch.tensor(action, dtype=torch.float32)}, batch_size=[n]))
        obs.append(td["next", "observation"])
        rew.append(td["next", "reward"][:, 0])
        ref_obs.append(np.stack([flat_obs(ts.observation) for ts in steps]))
        ref_rew.append([ts.reward for ts in steps])
    obs, ref_obs = torch.stack(obs).double().numpy(), np.stack(ref_obs)
    rew, ref_rew = torch.stack(rew).numpy(), np.array(ref_rew)

    assert np.abs(obs[0] - ref_obs[0]).max() < 1e-6  # same state, one forward pass each
    np.testing.assert_allclose(obs, ref_obs, rtol=0, atol=1e-4)
    # Sparse rewards must agree except within 1e-3 of their threshold.
    margin = np.abs(ref_obs[..., 6] + 15.0) if task == "spin" else np.abs(ref_obs[..., -1])
    clear = margin > 1e-3
    np.testing.assert_array_equal(rew[clear], ref_rew[clear])
    assert clear.mean() > 0.95 and 0 < ref_rew.sum() < ref_rew.size

    # The env's own reset path (port.initial_state, settle, forward) against dm_control at that state.
    reset_obs = env.reset()["observation"].double().numpy()
    state = env.env_state()
    live_qpos, live_qvel = state["live"]["qpos"].double().numpy(), state["live"]["qvel"].double().numpy()
    for row, e in enumerate(dmc):
        load_into(e, live_qpos, live_qvel, state["task_state"], row)
        assert e.physics.data.ncon == 0
        np.testing.assert_allclose(reset_obs[row], flat_obs(e.task.get_observation(e.physics)), atol=1e-5)
