"""The env backend registry: task names, dry-run checks, plug-ins, options, memory, quiet builds."""

from __future__ import annotations

import logging
from importlib import metadata

import pytest

import gorl.envs as envs
from gorl.envs import memory
from gorl.envs.backends import DmcOptions
from gorl.envs.registry import Backend
from gorl.registry import RegistryError


def test_parse_task_reads_prefixes_and_defaults_to_dmc():
    assert envs.parse_task("cheetah-run") == ("dmc", "cheetah-run")
    assert envs.parse_task("gym:Hopper-v5") == ("gym", "Hopper-v5")
    assert envs.parse_task("torchrl:pkg.mod:fn") == ("torchrl", "pkg.mod:fn")
    assert envs.parse_task("cheetah-run", "warp") == ("warp", "cheetah-run")
    with pytest.raises(ValueError, match="names backend 'gym' but backend is 'dmc'"):
        envs.parse_task("gym:Hopper-v5", "dmc")
    with pytest.raises(ValueError, match=r"'foo' is no env backend\. Backends: dmc, gym, torchrl, warp"):
        envs.parse_task("foo:bar")


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ("cheetah-rn", "unknown dm_control task 'cheetah-rn'. Did you mean 'cheetah-run'?"),
        ("gym:Hoper-v5", "unknown Gymnasium id 'Hoper-v5'. Did you mean gym:Hopper-v5"),
        ("warp:humanoid-run", "unknown warp task 'humanoid-run'; the warp backend has ports of: cheetah-run"),
        ("torchrl:nope", "unknown torchrl env 'nope'.*Registered: toy"),
        ("torchrl:os:nope", "cannot be imported"),
    ],
)
def test_unknown_tasks_are_named_with_the_known_ones(task, message):
    with pytest.raises(ValueError, match=message):
        envs.check(task)


def test_unknown_backends_list_the_known_ones():
    with pytest.raises(RegistryError, match=r"unknown env backend 'nope'\. Known: dmc, gym, torchrl, warp"):
        envs.check("cheetah-run", "nope")


def test_options_are_validated_by_the_backend_model_naming_the_field():
    assert envs.check("cheetah-run", options={"workers": 2}).options == DmcOptions(workers=2)
    with pytest.raises(ValueError, match=r"(?s)env_options for backend .dmc.*workerz"):
        envs.check("cheetah-run", options={"workerz": 2})
    with pytest.raises(ValueError, match="workers"):
        envs.check("cheetah-run", options={"workers": -1})
    with pytest.raises(ValueError, match="nconmax"):
        envs.check("warp:cheetah-run", options={"nconmax": 0})


def test_dry_run_builds_nothing(monkeypatch):
    import gorl.envs.dmc as dmc

    monkeypatch.setattr(dmc, "DMControlBatchEnv", None)  # building would fail
    assert envs.check("walker-walk").task == "walker-walk"


def test_every_backend_lists_its_tasks():
    assert len(envs.task_names("dmc")) == 51 and "cheetah-run" in envs.task_names("dmc")
    assert "Hopper-v5" in envs.task_names("gym")
    assert envs.task_names("torchrl") == ["toy"]
    assert set(envs.task_names("warp")) == set(envs.PAPER_TASKS)


def _fake(name: str) -> Backend:
    from gorl.envs.backends import TorchRLOptions

    return Backend(
        name=name,
        summary="a test backend",
        exact_resume=False,
        options=TorchRLOptions,
        check=lambda task: None if task == "one" else (_ for _ in ()).throw(ValueError(f"unknown {task}")),
        names=lambda: ["one"],
        per_env=lambda task: 0,
        make=lambda task, n, **kw: envs.make_env("torchrl:toy", n, seed=kw["seed"]),
    )


def test_a_registered_backend_builds_by_prefix_and_duplicates_are_refused():
    envs.register("fake")(_fake("fake"))
    try:
        env = envs.make_env("fake:one", 2)
        assert env.num_envs == 2 and "fake" in envs.names()
        with pytest.raises(ValueError, match="unknown two"):
            envs.check("fake:two")
        with pytest.raises(RegistryError, match="already registered"):
            envs.register("fake")(_fake("fake"))
    finally:
        envs.BACKENDS.remove("fake")
    with pytest.raises(TypeError, match="EnvBackend interface"):
        envs.register("broken")(object())  # type: ignore[arg-type]


def test_plugins_register_through_the_entry_point_group(monkeypatch):
    class EP:
        name, group = "plugged", "gorl.envs"

        def load(self):
            return _fake("plugged")

    real = metadata.entry_points
    monkeypatch.setattr(
        metadata, "entry_points", lambda group=None: [EP()] if group == "gorl.envs" else real(group=group)
    )
    monkeypatch.setattr(envs.BACKENDS, "_plugins_loaded", False)
    try:
        assert "plugged" in envs.names()
        assert envs.make_env("plugged:one", 3).num_envs == 3
    finally:
        envs.BACKENDS.remove("plugged")


def test_available_memory_reads_meminfo(tmp_path):
    f = tmp_path / "meminfo"
    f.write_text("MemTotal:       32000000 kB\nMemAvailable:   2048 kB\n")
    assert memory.available_memory(f) == 2048 * 1024
    assert memory.available_memory(tmp_path / "missing") is None


def test_envs_that_cannot_fit_are_refused_before_any_is_built(monkeypatch):
    import gorl.envs.dmc as dmc

    monkeypatch.setattr(dmc, "DMControlBatchEnv", None)  # building would fail
    monkeypatch.setattr(memory, "available_memory", lambda meminfo=memory.MEMINFO: 4 << 30)
    # 2048 dm_control envs at 13 MiB: 26 GiB against 4 GiB available
    with pytest.raises(
        envs.EnvMemoryError, match=r"2048 dmc envs of cheetah-run need about 26.0 GiB.*at most 252 fit"
    ):
        envs.make_env("cheetah-run", 2048)
    memory.check_memory("dmc", "cheetah-run", 16, 13 << 20, available=4 << 30)  # 208 MiB fits


def test_the_paper_scale_run_is_refused_on_a_small_machine(tmp_path, monkeypatch):
    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    monkeypatch.setattr(memory, "available_memory", lambda meminfo=memory.MEMINFO: 16 << 30)
    with pytest.raises(envs.EnvMemoryError, match="2048 dmc envs"):
        Trainer(TrainConfig(method="ppo", scale="paper", progress=False), tmp_path)


def test_building_dm_control_envs_prints_no_absl_notices(caplog):
    with caplog.at_level(logging.WARNING, logger="absl"):
        envs.make_env("cheetah-run", 2).close()
    assert not [r for r in caplog.records if "deprecated" in r.getMessage()]
    assert logging.getLogger("absl").level != logging.ERROR  # restored afterwards
