"""fit_decoder: it lowers the loss, restores the best-by-validation weights, and fails loudly."""

import json
import math

import pydantic
import pytest
import torch
from torch import nn

import gorl.decoders as D
from gorl.twotimescale import FitConfig, fit_decoder


class ScalarDecoder(nn.Module):
    """Test double: one parameter w, ``loss = mean((w - action)^2)``, no noise; call ``nan_at`` gives NaN."""

    trainable = True

    couples = False

    def __init__(self, nan_at: int | None = None):
        super().__init__()
        self.obs_dim, self.action_dim, self.latent_dim = 1, 1, 1
        self.w = nn.Parameter(torch.zeros(()))
        self.calls, self.nan_at = 0, nan_at

    def decode(self, obs, z):
        return self.w.expand_as(z)

    def loss(self, obs, action, generator=None):
        self.calls += 1
        out = ((self.w - action) ** 2).mean()
        return out * math.nan if self.calls == self.nan_at else out

    def reset_parameters(self):
        nn.init.zeros_(self.w)


def _linear_data(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    obs = torch.randn(n, 2, generator=g)
    return obs, obs @ torch.tensor([[1.0], [-0.5]]) + 0.05 * torch.randn(n, 1, generator=g)


def test_fit_lowers_the_loss_of_a_flow_decoder():
    torch.manual_seed(0)
    dec = D.make("flow", obs_dim=2, action_dim=1, hidden=[32, 32], pairs_per_sample=2)
    obs, act = _linear_data()
    rep = fit_decoder(
        dec, obs, act, FitConfig(steps=150, batch_size=64, lr=3e-3, eval_every=50, progress=False)
    )
    assert rep.steps == 150 and rep.val_steps == [50, 100, 150]
    assert rep.val_losses[-1] < 0.7 * rep.val_losses[0]
    assert sum(rep.train_losses[-20:]) < 0.7 * sum(rep.train_losses[:20])
    assert rep.best_val_loss == min(rep.val_losses) == rep.final_val_loss
    json.dumps(rep.summary())  # loggable


def test_best_by_validation_weights_are_restored():
    # Adam with lr 0.4 on (w - 1)^2 overshoots and oscillates around w = 1; with every action equal to 1
    # the validation loss is exactly (w - 1)^2, so the kept w must be the one with the lowest recorded loss
    dec = ScalarDecoder()
    obs, act = torch.zeros(40, 1), torch.ones(40, 1)
    rep = fit_decoder(dec, obs, act, FitConfig(steps=25, batch_size=8, lr=0.4, eval_every=1, progress=False))
    best = min(range(25), key=lambda i: rep.val_losses[i])
    assert rep.best_step == rep.val_steps[best] < 25  # the restore mattered: the last step was not best
    assert rep.val_losses[-1] > rep.best_val_loss
    assert (dec.w.item() - 1.0) ** 2 == pytest.approx(rep.best_val_loss, rel=1e-6)


def test_without_validation_the_final_weights_stay():
    dec = ScalarDecoder()
    rep = fit_decoder(
        dec, torch.zeros(8, 1), torch.ones(8, 1), FitConfig(steps=5, lr=0.1, val_fraction=0.0, progress=False)
    )
    assert rep.val_losses == [] and rep.best_step == 5 and math.isnan(rep.final_val_loss)
    w = nn.Parameter(torch.zeros(()))  # the same five Adam steps by hand
    opt = torch.optim.Adam([w], lr=0.1)
    for _ in range(5):
        opt.zero_grad()
        ((w - 1.0) ** 2).backward()
        opt.step()
    assert dec.w.item() == pytest.approx(w.item(), abs=1e-6)


def test_non_finite_loss_raises_with_the_step():
    dec = ScalarDecoder(nan_at=4)
    cfg = FitConfig(steps=10, val_fraction=0.0, progress=False)
    with pytest.raises(RuntimeError, match=r"non-finite.*at step 4 of 10"):
        fit_decoder(dec, torch.zeros(8, 1), torch.ones(8, 1), cfg)


def test_untrainable_decoder_returns_an_empty_report():
    dec = D.make("identity", obs_dim=2, action_dim=1)
    rep = fit_decoder(dec, torch.zeros(5, 2), torch.zeros(5, 1), FitConfig(progress=False))
    assert rep.steps == 0 and rep.val_losses == []


def test_input_errors():
    dec = ScalarDecoder()
    cfg = FitConfig(steps=1, progress=False)
    with pytest.raises(ValueError, match="obs has 5 rows but actions has 4"):
        fit_decoder(dec, torch.zeros(5, 1), torch.zeros(4, 1), cfg)
    with pytest.raises(ValueError, match="action_dim=1"):
        fit_decoder(dec, torch.zeros(5, 1), torch.zeros(5, 3), cfg)
    with pytest.raises(ValueError, match=r"\(N, obs_dim\)"):
        fit_decoder(dec, torch.zeros(5), torch.zeros(5, 1), cfg)
    with pytest.raises(ValueError, match="no training data"):
        fit_decoder(dec, torch.zeros(1, 1), torch.zeros(1, 1), cfg)
    with pytest.raises(pydantic.ValidationError, match="lr"):
        FitConfig(lr=0.0)
    with pytest.raises(pydantic.ValidationError, match="val_fraction"):
        FitConfig(val_fraction=1.0)


def test_epochs_override_steps_and_batch_is_clamped():
    dec = ScalarDecoder()
    # 50 pairs, 10 held out -> 40 train; batch 16 -> 3 steps per epoch; 2 epochs -> 6 steps
    rep = fit_decoder(
        dec, torch.zeros(50, 1), torch.ones(50, 1), FitConfig(epochs=2, batch_size=16, progress=False)
    )
    assert rep.steps == 6
    rep = fit_decoder(
        dec, torch.zeros(50, 1), torch.ones(50, 1), FitConfig(steps=3, batch_size=10**6, progress=False)
    )
    assert rep.steps == 3


def test_fit_is_deterministic_given_the_seed():
    obs, act = _linear_data(64)
    states = []
    for _ in range(2):
        torch.manual_seed(3)
        dec = D.make("diffusion", obs_dim=2, action_dim=1, hidden=[16], train_timesteps=20)
        fit_decoder(dec, obs, act, FitConfig(steps=10, batch_size=16, seed=7, eval_every=5, progress=False))
        states.append(dec.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
