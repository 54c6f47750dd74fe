"""walker-walk port: task-specific checks (the shared ones are in test_tasks_locomotion.py)."""

from __future__ import annotations

from gorl.envs.tasks import load_model

NAME = "walker-walk"


def test_unknown_object_names_list_the_known_ones():
    import pytest

    from gorl.envs.tasks.base import object_index, sensor_index

    model = load_model(NAME)
    assert object_index(model, "body", "torso") == 1
    assert sensor_index(model, "torso_subtreelinvel") == 0
    with pytest.raises(KeyError, match=r"no body named 'tail' in the model; known: .*'left_foot'"):
        object_index(model, "body", "tail")
