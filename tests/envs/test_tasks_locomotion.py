"""Shared checks of the cheetah, walker and hopper ports: registry, shapes, initial-state distribution."""

from __future__ import annotations

import pytest
import torch

from gorl.envs.tasks import get_port, load_model, make_port
from gorl.envs.tasks.cheetah import CheetahRun
from gorl.envs.tasks.hopper import HopperStand
from gorl.envs.tasks.walker import WalkerWalk

# name, port class, (obs_dim, action_dim, settle_steps), observation keys in dm_control's order
PORTS = [
    ("cheetah-run", CheetahRun, (17, 6, 200), ["position", "velocity"]),
    ("walker-walk", WalkerWalk, (24, 6, 0), ["orientations", "height", "velocity"]),
    ("hopper-stand", HopperStand, (15, 4, 0), ["position", "velocity", "touch"]),
]


@pytest.mark.parametrize(("name", "cls", "dims", "keys"), PORTS)
def test_registered_and_shapes(name, cls, dims, keys):
    assert get_port(name) is cls
    port = make_port(name, load_model(name))
    assert (port.obs_dim, port.action_dim, port.settle_steps) == dims
    assert [k for k, _ in port.obs_spec] == keys


@pytest.mark.parametrize("name", [p[0] for p in PORTS])
def test_initial_state_distribution_matches_dm_control(name, dmc_initial_qpos, assert_same_uniform_draws):
    mj_model = load_model(name)
    port = make_port(name, mj_model)
    nq, nv = mj_model.nq, mj_model.nv
    qpos0 = torch.as_tensor(mj_model.qpos0, dtype=torch.float32).expand(4000, -1)
    qpos, qvel, task_state = port.initial_state(qpos0, torch.Generator().manual_seed(0))
    assert qpos.dtype == torch.float32 and qpos.shape == (4000, nq) and task_state == {}
    assert torch.equal(qvel, torch.zeros(4000, nv))
    dmc = dmc_initial_qpos(name, 1500, seed=0)
    assert_same_uniform_draws(qpos.double().numpy(), dmc, mj_model.qpos0)
    # Same generator seed, same draws.
    again, _, _ = port.initial_state(qpos0, torch.Generator().manual_seed(0))
    assert torch.equal(qpos, again)
