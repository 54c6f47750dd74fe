"""benchmarks/decoder_obs_drift.py: decoded actions under two normalisers, on a decoder known by hand."""

import pytest
import torch
from torch import nn

from gorl.algos.running_norm import RunningNorm


class _ObsPlusZ(nn.Module):
    """g(s, z) = s[:, :2] + z: its mean action moves exactly as the normalised observation does."""

    obs_dim, latent_dim, action_dim = 3, 2, 2

    def decode(self, obs, z):
        return obs[:, :2] + z


def test_the_decoded_shift_is_the_normalised_observations_shift(load_script):
    drift = load_script("decoder_obs_drift").decoded_drift
    then, now = RunningNorm(3, eps=0.0), RunningNorm(3, eps=0.0)
    then.update(torch.tensor([[0.0, 0.0, 0.0], [2.0, 2.0, 2.0]]))  # mean 1, std 1
    now.update(torch.tensor([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]]))  # mean 2, std 1
    raw = torch.randn(5, 3)
    same = drift(_ObsPlusZ(), raw, then, then, draws=512)
    assert same["shift_median"] == 0.0 and same["ratio_median"] == pytest.approx(1.0)
    moved = drift(_ObsPlusZ(), raw, then, now, draws=512)  # every normalised coordinate is 1 lower
    spread = 1.0  # the std of z over 512 draws, near 1: the shift is 1 / that std
    assert moved["shift_median"] == pytest.approx(spread, rel=0.1) and moved["ratio_median"] == pytest.approx(
        1.0
    )


def test_both_scripts_run_on_tiny_runs(tmp_path, load_script):
    # a tiny gorl-fm run (its stage-1 decoder) and a tiny ppo run stopped at its first refit (213 steps
    # round up to 240: the statistics differ a little from the refit's, which only the numbers show)
    import math

    from gorl.testing.tiny import tiny_run
    from gorl.train import Trainer
    from gorl.train_config import TrainConfig

    Trainer(TrainConfig(**tiny_run("gorl-fm")), tmp_path / "gorl").run()
    Trainer(TrainConfig(**tiny_run("ppo", total_steps=240)), tmp_path / "ppo").run()
    out = tmp_path / "drift.md"
    args = ["--at-refit", str(tmp_path / "ppo"), str(tmp_path / "gorl"), "--states", "16", "--out", str(out)]
    assert load_script("decoder_obs_drift").main(args) == 0
    row = [x for x in out.read_text().splitlines() if x.startswith(f"| {tmp_path / 'gorl'}")]
    assert len(row) == 1 and "240 -> 640" in row[0]
    assert all(math.isfinite(float(c)) for c in row[0].strip("|").split("|")[-3:])
    out = tmp_path / "reach.md"
    args = ["--at-refit", str(tmp_path / "ppo"), "--decoders", str(tmp_path / "gorl"), "--states-from"]
    args += [str(tmp_path / "gorl"), "--states", "8", "--out", str(out)]
    # and a refit of the data policy here, with gorl-fm's cpu schedule made small
    args += ["--method", "gorl-fm", "--fits", "5:1e-3:constant:decoder_pairs=64,fidelity_states=8"]
    assert load_script("refit_reach").main(args) == 0
    rows = [x for x in out.read_text().splitlines() if x.startswith("| ")][1:]
    labels = [r.split("|")[1].strip() for r in rows]
    assert labels[:2] == [str(tmp_path / "gorl")] * 2 and labels[2].startswith("gorl-fm 5:1e-3:constant")
    assert [r.split("|")[2].strip() for r in rows] == ["refit", str(tmp_path / "gorl")] * 2
    assert all(math.isfinite(float(c)) for r in rows for c in r.strip("|").split("|")[3:])
