"""Figure 7 (actions at a fixed state): sampling from saved runs, the mode counter, the figure, the CLI."""

import json
import shutil

import numpy as np
import pytest
import torch

from gorl.plot_actions import (
    action_density_figure,
    count_modes,
    fixed_states,
    main_plot_actions,
    run_labels,
    sample_actions,
    sample_modes,
)
from gorl.testing.tiny import TINY_REFITS, tiny_run
from gorl.train import Trainer
from gorl.train_config import TrainConfig

# 4 envs x 20 steps = 80 env steps per iteration; episodes of 50 steps
TINY = tiny_run("ppo", total_steps=160, eval_every=160, plot=False)
FM = {"method": "gorl-fm", "total_steps": 640, "schedule": TINY_REFITS}
WARMUP = 20  # < the evaluation episode length of 50


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two finished tiny runs on cheetah-run: ``{"ppo": dir, "gorl-fm": dir}``."""
    root = tmp_path_factory.mktemp("runs")
    Trainer(TrainConfig(**TINY), root / "ppo").run()
    Trainer(TrainConfig(**{**TINY, **FM}), root / "fm").run()
    return {"ppo": root / "ppo", "gorl-fm": root / "fm"}


@pytest.mark.parametrize("method", ["ppo", "gorl-fm"])
def test_actions_have_their_shape_bounds_and_seed(runs, method):
    states = fixed_states(runs[method], count=2, warmup_steps=WARMUP)
    assert states.shape == (2, 17) and states.dtype == np.float32  # cheetah: 17 observations
    np.testing.assert_array_equal(states, fixed_states(runs[method], count=2, warmup_steps=WARMUP))
    before = torch.get_rng_state()
    a = sample_actions(runs[method], states, n=300, seed=3)
    assert torch.equal(torch.get_rng_state(), before)  # the caller's RNG is left as it was
    assert a.shape == (2, 300, 6) and np.isfinite(a).all()
    assert a.min() >= -1.0 and a.max() <= 1.0
    assert a[0].std(0).min() > 0  # stochastic: the draws differ
    np.testing.assert_array_equal(a, sample_actions(runs[method], states, n=300, seed=3))
    assert not np.array_equal(a, sample_actions(runs[method], states, n=300, seed=4))
    one = sample_actions(runs[method], states[0], n=300, seed=3)  # one state: (obs_dim,)
    np.testing.assert_array_equal(one[0], a[0])


def test_states_are_checked(runs):
    with pytest.raises(ValueError, match="warmup_steps"):
        fixed_states(runs["ppo"], warmup_steps=50)
    with pytest.raises(ValueError, match="count"):
        fixed_states(runs["ppo"], count=3, warmup_steps=WARMUP)
    with pytest.raises(ValueError, match="obs_dim=17"):
        sample_actions(runs["ppo"], np.zeros(5), n=10)


def test_the_mode_counter():
    rng = np.random.default_rng(0)
    two = np.concatenate([rng.normal(-2.0, 0.3, 5000), rng.normal(2.0, 0.3, 5000)])
    assert sample_modes(two) == 2
    assert sample_modes(rng.normal(0.0, 1.0, 10_000)) == 1
    assert sample_modes(np.full(100, 0.5)) == 1  # no spread: a point mass
    assert count_modes(np.array([0.0, 1.0, 1.0, 0.0, 0.02, 0.0, 2.0, 0.5])) == 2  # 0.02 < 5% of 2
    assert count_modes(np.array([3.0, 2.0, 1.0])) == 1  # a maximum at the end counts


def test_the_shoulders_of_a_flat_top_are_one_mode_and_a_valley_makes_two():
    # by hand: three maxima on one hump, dips of 0.01-0.04 (prominence 0.02 of 0.98, 0.04 of the right
    # 1.0, whose higher twin is the left 1.0): one mode; the same maxima with dips to 0.3: three
    assert count_modes(np.array([0.0, 0.5, 1.0, 0.97, 0.98, 0.96, 1.0, 0.5, 0.0])) == 1
    assert count_modes(np.array([0.0, 0.5, 1.0, 0.3, 0.98, 0.3, 1.0, 0.5, 0.0])) == 3
    # a dip of exactly a quarter of the smaller maximum's height still separates them: 0.8 -> 0.6
    assert count_modes(np.array([0.0, 1.0, 0.6, 0.8, 0.0])) == 2
    assert count_modes(np.array([0.0, 1.0, 0.61, 0.8, 0.0])) == 1
    for seed in range(5):
        rng = np.random.default_rng(seed)
        # flat-topped: uniform on [-1, 1], lightly blurred; its KDE has 5-7 local maxima above 5% of the peak
        flat = rng.uniform(-1.0, 1.0, 10_000) + rng.normal(0.0, 0.05, 10_000)
        assert sample_modes(flat) == 1
        # truly bimodal, even with the modes 4 std apart or one of them holding 15% of the mass
        near = np.concatenate([rng.normal(-0.8, 0.4, 5000), rng.normal(0.8, 0.4, 5000)])
        unequal = np.concatenate([rng.normal(-1.0, 0.3, 8500), rng.normal(1.0, 0.3, 1500)])
        assert sample_modes(near) == 2 and sample_modes(unequal) == 2


def test_the_figure_and_its_numbers(runs, tmp_path):
    out = tmp_path / "fig" / "actions.png"
    assert action_density_figure(runs, out, n=500, warmup_steps=WARMUP) == out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    numbers = json.loads(out.with_suffix(".json").read_text())
    assert numbers["task"] == "cheetah-run" and numbers["samples"] == 500
    assert set(numbers["runs"]) == {"ppo", "gorl-fm"}
    assert all(len(r["modes"]) == 1 and r["modes"][0] >= 1 for r in numbers["runs"].values())
    assert sorted(p.name for p in out.parent.iterdir()) == ["actions.json", "actions.png"]  # no temp file


def test_the_command(runs, tmp_path, capsys):
    out = tmp_path / "a.png"
    code = main_plot_actions(
        [
            str(runs["ppo"]),
            str(runs["gorl-fm"]),
            "--out",
            str(out),
            "--samples",
            "200",
            "--warmup-steps",
            "20",
        ]
    )
    assert code == 0 and out.exists() and "ppo: " in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.json").write_text((runs["ppo"] / "config.json").read_text())
    assert main_plot_actions([str(empty)]) == 1
    assert "no checkpoint.pt" in capsys.readouterr().err
    assert main_plot_actions([str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
    other = tmp_path / "other"
    shutil.copytree(runs["ppo"], other)
    cfg = json.loads((other / "config.json").read_text())
    cfg["train"]["task"] = "walker-walk"
    (other / "config.json").write_text(json.dumps(cfg))
    assert main_plot_actions([str(runs["ppo"]), str(other)]) == 1
    assert "different tasks" in capsys.readouterr().err


def test_labels_are_told_apart(tmp_path):
    dirs = [tmp_path / "a", tmp_path / "b", tmp_path / "c", tmp_path / "d"]
    trains = [{"method": "ppo", "seed": 0}, {"method": "ppo", "seed": 1}, {"method": "gorl-fm", "seed": 0}]
    trains.append({"method": "ppo", "seed": 1})
    assert run_labels(trains, dirs) == ["ppo (seed 0)", "ppo (seed 1) [b]", "gorl-fm", "ppo (seed 1) [d]"]
