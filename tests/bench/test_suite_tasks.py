"""Suites and run configs name their tasks correctly before anything runs (issue 22)."""

from pathlib import Path

import pytest

from gorl.bench.suite import load_suite
from gorl.train_config import TrainConfig, resolve

SUITES = Path(__file__).resolve().parents[2] / "benchmarks" / "suites"


def test_a_misspelled_task_fails_the_suite_at_load_naming_it_and_the_known_ones(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text(
        "name: s\ntasks: [cheetah-run, walker-wlak]\nmethods: [ppo]\nseeds: [0]\ntotal_steps: 1000\n"
    )
    with pytest.raises(
        ValueError,
        match=r"(?s)tasks: unknown dm_control task 'walker-wlak'\. Did you mean 'walker-walk'\?.*cheetah-run",
    ):
        load_suite(f)
    f.write_text("name: s\ntasks: ['gym:Hoper-v5']\nmethods: [ppo]\nseeds: [0]\ntotal_steps: 1000\n")
    with pytest.raises(ValueError, match="unknown Gymnasium id 'Hoper-v5'"):
        load_suite(f)


@pytest.mark.parametrize("name", ["gym-ppo.yaml", "gym-sac.yaml"])
def test_the_gymnasium_suites_load_and_expand(name):
    suite = load_suite(SUITES / name)
    runs = suite.runs()
    assert len(runs) == 6 and {r.task for r in runs} == {"gym:HalfCheetah-v5", "gym:Hopper-v5"}


def test_resolve_checks_the_task_and_the_backend_options():
    with pytest.raises(ValueError, match="unknown dm_control task 'cheetah-rn'"):
        resolve(TrainConfig(task="cheetah-rn"))
    with pytest.raises(ValueError, match="names backend 'gym' but backend is 'warp'"):
        resolve(TrainConfig(task="gym:Hopper-v5", backend="warp"))
    with pytest.raises(ValueError, match="nconmax"):
        resolve(TrainConfig(task="cheetah-run", backend="warp", env_options={"nconmax": 0}))
    resolve(TrainConfig(task="gym:Hopper-v5", method="ppo"))
