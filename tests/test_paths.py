"""The OT path that the flow decoder and FPO share, by hand."""

import pytest
import torch

from gorl.paths import ot_path


def test_ot_path_hand_numbers():
    # a = 1, eps = 3, t = 0.25: x_t = 0.25 * 3 + 0.75 * 1 = 1.5; target eps - a = 2
    x_t, target = ot_path(torch.tensor([[1.0]]), torch.tensor([[3.0]]), torch.tensor([0.25]))
    assert x_t.item() == pytest.approx(1.5)
    assert target.item() == pytest.approx(2.0)
    # the endpoints: t = 0 is the data, t = 1 the noise
    a, eps = torch.randn(5, 3), torch.randn(5, 3)
    assert torch.equal(ot_path(a, eps, torch.zeros(5))[0], a)
    assert torch.equal(ot_path(a, eps, torch.ones(5))[0], eps)
