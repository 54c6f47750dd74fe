"""benchmarks/ppo_vs_torchrl.py and its TorchRL recipe (benchmarks/torchrl_ppo_recipe.py): observation
order, the evaluation's normalisation, and a tiny run."""

from __future__ import annotations

import json
import math

import pytest
import torch

from gorl.envs import make_env


@pytest.fixture
def bench(load_script):
    return load_script("ppo_vs_torchrl")


@pytest.fixture
def recipe(load_script):
    return load_script("torchrl_ppo_recipe")


def test_observation_order_matches_gorl_and_mismatch_raises(recipe):
    # walker's dict order (orientations, height, velocity) is not sorted: CatTensors' default would reorder.
    env, layout = recipe.make_torchrl_env("walker-walk", 2, seed=0, episode_length=10)
    gorl_env = make_env("walker-walk", 1, backend="dmc")
    try:
        recipe.check_obs_order(layout, gorl_env.obs_layout)
        assert [k for k, _ in layout] == ["orientations", "height", "velocity"]
        with pytest.raises(AssertionError, match="not concatenated in gorl's order"):
            recipe.check_obs_order(sorted(layout), gorl_env.obs_layout)
        with pytest.raises(AssertionError):
            recipe.check_obs_order(layout[:-1], gorl_env.obs_layout)
    finally:
        env.close()
        gorl_env.close()


def test_frozen_norm_on_gorl_observations_equals_the_torchrl_env(recipe):
    """gorl's evaluation observations through FrozenObsNorm are what the TorchRL env feeds its policy."""
    torch.manual_seed(0)
    env, _ = recipe.make_torchrl_env("walker-walk", 2, seed=0, episode_length=20)
    env.rollout(30, break_when_any_done=False)  # random actions: VecNorm's statistics move off their start
    vecnorm = recipe.find_vecnorm(env)
    norm = recipe.FrozenObsNorm(vecnorm)
    gorl_env = recipe.make_gorl_eval_env("walker-walk", seed=3, eval_envs=3, episode_length=20)
    torchrl_env = recipe.make_torchrl_eval_env(vecnorm, "walker-walk", seed=3, eval_envs=3, episode_length=20)
    try:
        raw = gorl_env.reset()["observation"]
        ours, theirs = norm(raw), torchrl_env.reset()["observation"]
        assert ours.dtype == theirs.dtype == torch.float32
        assert torch.allclose(ours, theirs, atol=1e-5), (ours - theirs).abs().max()
        assert not torch.allclose(ours, raw, atol=0.1)  # the statistics did change the observation
    finally:
        for e in (env, gorl_env, torchrl_env):
            e.close()


def test_tiny_torchrl_run(bench, tmp_path, capsys):
    argv = ["--tasks", "cheetah-run", "--methods", "torchrl", "--seeds", "0", "--total-steps", "2048"]
    argv += ["--episode-length", "50", "--eval-envs", "2", "--parallel", "1", "--out", str(tmp_path)]
    assert bench.main(argv) == 0
    r = json.loads((tmp_path / "ppo_vs_torchrl" / "cheetah-run_torchrl_s0.json").read_text())
    assert r["env_steps"] == 2048 and r["eval_episode_length"] == 50 and r["updates"] == 320
    for key in ("final_return", "final_return_std", "wall_time", "env_steps_per_second", "total_wall_time"):
        assert math.isfinite(r[key]), key
    assert r["wall_time"] > 0 and len(r["final_returns"]) == 2
    # The same policy evaluated inside its own TorchRL env from the same start states agrees.
    assert r["final_returns"] == pytest.approx(r["final_returns_torchrl_env"], rel=1e-3, abs=1e-3)
    text = (tmp_path / "ppo_vs_torchrl.md").read_text()
    assert "| cheetah-run | torchrl | 1 |" in text and "--total-steps 2048" in text
    capsys.readouterr()
    assert bench.main(argv) == 0  # resumed: the finished run is skipped
    assert "skip cheetah-run_torchrl_s0: done" in capsys.readouterr().out
