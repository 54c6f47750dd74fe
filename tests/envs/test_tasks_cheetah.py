"""cheetah-run port: task-specific checks (the shared ones are in test_tasks_locomotion.py)."""

from __future__ import annotations

import pytest

from gorl.envs.tasks import get_port, load_model

NAME = "cheetah-run"


def test_registry_names_errors_and_control_timesteps():
    # The task registry (gorl.envs.tasks) is shared by all ports; checked once here.
    from dm_control import suite

    from gorl.envs.tasks import CONTROL_TIMESTEP, control_substeps, port_names
    from gorl.registry import RegistryError

    assert set(CONTROL_TIMESTEP) <= set(port_names())
    with pytest.raises(RegistryError, match=r"unknown task 'cheetah-walk'. Known: .*cheetah-run"):
        get_port("cheetah-walk")
    expected_substeps = {"cheetah-run": 1, "walker-walk": 10, "hopper-stand": 4, "finger-spin": 2}
    for name, dt in CONTROL_TIMESTEP.items():
        domain, _, task = name.partition("-")
        assert suite.load(domain, task).control_timestep() == pytest.approx(dt), name
        if name in expected_substeps:  # dm_control 1.0.50: control timestep / the model's <option timestep>
            assert control_substeps(name, load_model(name)) == expected_substeps[name]
