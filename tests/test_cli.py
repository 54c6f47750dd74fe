"""gorl train --dry-run: the resolved plan, each setting with its source, and no env built."""

import pytest
import yaml

import gorl.envs
import gorl.train as train_mod
from gorl.cli import main


@pytest.fixture
def no_env(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("--dry-run built an env")

    monkeypatch.setattr(train_mod, "make_env", refuse)
    monkeypatch.setattr(gorl.envs, "make_env", refuse)


def _table(out):
    """``{path: (value, source)}`` from the dry run's table (path, JSON value, source)."""
    rows = {}
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and "  " in parts[1] and not line.startswith(("dry run", "optimizer ", "stages")):
            value, source = parts[1].rsplit("  ", 1)
            rows[parts[0]] = (yaml.safe_load(value.strip()), source.strip())
    return rows


def test_dry_run_prints_the_plan_and_each_settings_source_without_building_an_env(tmp_path, capsys, no_env):
    config = tmp_path / "my.yaml"
    config.write_text("total_steps: 30000\noptimizer:\n  clip_epsilon: 0.25\n")
    argv = ["train", "--dry-run", "--config", str(config), "--seed", "4", "--set", "optimizer.lr=1e-4"]
    assert main([*argv, "--set", "schedule.fit.steps=100", "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run, nothing built: gorl-fm on cheetah-run: 30,000 env steps, seed 4")
    assert "stages (env steps): 0: 0-10,000, 1: 10,000-20,000, 2: 20,000-25,000, 3: 25,000-30,000" in out
    rows = _table(out)
    assert rows["total_steps"] == (30000, f"config file {config}")
    assert rows["seed"] == (4, "--seed")
    assert rows["eval_envs"] == (16, "gorl train default")
    assert rows["checkpoint_every"] == (1, "default")
    assert rows["optimizer.lr"] == (1e-4, "--set")
    assert rows["optimizer.clip_epsilon"] == (0.25, f"config file {config}")
    assert rows["optimizer.num_envs"] == (8, "preset cpu")
    assert rows["schedule.fit.steps"] == (100, "--set")
    assert rows["schedule.decoder_pairs"] == (16384, "method gorl-fm")
    assert rows["stage[1].optimizer.penalty_coef"] == (0.001, "stage override (method gorl-fm)")
    assert not (tmp_path / "run").exists()


def test_dry_run_refuses_a_bad_config_as_a_run_would(capsys, no_env):
    argv = ["train", "--dry-run", "--method", "gorl-sac-fm", "--set", "optimizer.regularizer=action_entropy"]
    assert main(argv) == 1
    assert "optimizer.regularizer='action_entropy'" in capsys.readouterr().err


def test_dry_run_does_not_combine_with_resume(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path), "--dry-run"]) == 1
    assert "--dry-run shows the plan of a new run" in capsys.readouterr().err
