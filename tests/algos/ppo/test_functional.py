"""PPO's math against numbers computed by hand."""

import math

import pytest
import torch

from gorl.algos.ppo import functional as F


def test_gae_by_hand_with_a_truncation_and_a_termination():
    # one segment of 3 steps, gamma 0.9, lambda 0.5; step 1 is a time-limit end (done, not terminated),
    # step 2 a termination.
    reward = torch.tensor([[1.0, 2.0, 3.0]])
    value = torch.tensor([[0.5, 1.0, 1.5]])
    next_value = torch.tensor([[1.0, 4.0, 9.0]])  # V of the true next observations
    done = torch.tensor([[False, True, True]])
    terminated = torch.tensor([[False, False, True]])
    adv, target = F.gae(reward, value, next_value, done, terminated, gamma=0.9, lmbda=0.5)
    # delta_2 = 3 + 0 (terminated) - 1.5 = 1.5;               A_2 = 1.5
    # delta_1 = 2 + 0.9 * 4 (bootstraps through the time limit) - 1 = 4.6; A_1 = 4.6 (done cuts A_2)
    # delta_0 = 1 + 0.9 * 1 - 0.5 = 1.4;                      A_0 = 1.4 + 0.45 * 4.6 = 3.47
    torch.testing.assert_close(adv, torch.tensor([[3.47, 4.6, 1.5]]))
    torch.testing.assert_close(target, adv + value)


def test_gae_restarts_at_each_segment():
    reward = torch.ones(2, 2)
    zeros = torch.zeros(2, 2)
    never = torch.zeros(2, 2, dtype=torch.bool)
    adv, _ = F.gae(reward, zeros, zeros, never, never, gamma=1.0, lmbda=1.0)
    # each segment's last step sees A_{t+1} = 0: [1 + 1, 1] per row
    torch.testing.assert_close(adv, torch.tensor([[2.0, 1.0], [2.0, 1.0]]))


RHO = torch.tensor([1.5, 0.5, 1.1, 1.5])
ADV = torch.tensor([1.0, -2.0, 3.0, -1.0])


def test_clipped_surrogate_by_hand():
    # min(rho A, clip(rho, 0.8, 1.2) A):
    # [min(1.5, 1.2), min(-1.0, -1.6), min(3.3, 3.3), min(-1.5, -1.2)] = [1.2, -1.6, 3.3, -1.5], sum 1.4
    loss = F.surrogate(RHO.log(), ADV, clip=0.2)
    assert math.isclose(loss.item(), -1.4 / 4, rel_tol=1e-6)
    # K ratios per transition: each weighted by its transition's advantage, the mean over all M * K
    two = F.surrogate(torch.stack([RHO.log(), torch.zeros(4)], dim=-1), ADV, clip=0.2)
    # the second column has rho = 1: its terms are A, summing to 1.0
    assert math.isclose(two.item(), -(1.4 + 1.0) / 8, rel_tol=1e-6)


def test_asymmetric_surrogate_by_hand():
    # A >= 0: the clipped term, as PPO: 1.2 (rho 1.5, A 1) and 3.3 (rho 1.1, A 3).
    # A < 0: rho A - |A| / (2 clip) (rho - 1)^2 with clip 0.2, i.e. |A| * 2.5 (rho - 1)^2:
    #   rho 0.5, A -2: -1.0 - 2 * 2.5 * 0.25 = -2.25 (PPO's clip would stop at -1.6)
    #   rho 1.5, A -1: -1.5 - 1 * 2.5 * 0.25 = -2.125 (PPO's: -1.5)
    # sum 1.2 - 2.25 + 3.3 - 2.125 = 0.125
    loss = F.surrogate(RHO.log(), ADV, clip=0.2, trust_region="asymmetric")
    assert math.isclose(loss.item(), -0.125 / 4, rel_tol=1e-5)
    with pytest.raises(ValueError, match="unknown trust_region 'trust'"):
        F.surrogate(RHO.log(), ADV, clip=0.2, trust_region="trust")


def test_masked_value_loss_skips_masked_steps():
    v, t = torch.tensor([1.0, 2.0]), torch.tensor([2.0, 5.0])
    assert F.masked_value_loss(v, t, None).item() == (1 + 9) / 2
    assert F.masked_value_loss(v, t, torch.tensor([1.0, 0.0])).item() == 1 / 2


def test_normalize_advantage():
    a = F.normalize_advantage(torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(a, torch.tensor([-1.0, 0.0, 1.0]), atol=1e-6, rtol=0)
