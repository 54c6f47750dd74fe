import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gorl.algos.running_norm import RunningNorm


@settings(max_examples=25, deadline=None)
@given(sizes=st.lists(st.integers(1, 50), min_size=1, max_size=6), seed=st.integers(0, 2**16))
def test_batched_updates_equal_the_moments_of_all_data(sizes, seed):
    g = torch.Generator().manual_seed(seed)
    chunks = [torch.randn(n, 3, generator=g) * 3 + 1 for n in sizes]
    norm = RunningNorm(3)
    for c in chunks:
        norm.update(c)
    data = torch.cat(chunks).double()
    torch.testing.assert_close(norm.mean, data.mean(0))
    torch.testing.assert_close(norm.var, data.var(0, unbiased=False))
    assert norm.count.item() == data.shape[0]


def test_normalize_by_hand_and_identity_before_updates():
    norm = RunningNorm(2, eps=0.0)
    x = torch.tensor([[1.0, 2.0]])
    torch.testing.assert_close(norm(x), x)  # mean 0, var 1 before any data
    norm.update(torch.tensor([[0.0, 0.0], [2.0, 4.0]]))  # mean (1, 2), var (1, 4)
    torch.testing.assert_close(norm(torch.tensor([[3.0, 6.0]])), torch.tensor([[2.0, 2.0]]))


def test_state_dict_round_trip():
    a, b = RunningNorm(4), RunningNorm(4)
    a.update(torch.randn(10, 4))
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 4)
    torch.testing.assert_close(a(x), b(x))


def test_renormalize_maps_live_normalised_obs_to_the_earlier_moments():
    from gorl.algos.running_norm import Renormalize, moment_drift

    g = torch.Generator().manual_seed(0)
    live = RunningNorm(3, eps=1e-6)
    live.update(torch.randn(200, 3, generator=g) * torch.tensor([1.0, 2.0, 0.5]) + 1.0)
    frozen = Renormalize(live)
    then = RunningNorm(3, eps=1e-6)
    then.load_state_dict(live.state_dict())
    raw = torch.randn(7, 3, generator=g) * 2
    torch.testing.assert_close(frozen(live(raw)), live(raw))  # at its refit: the identity
    live.update(torch.randn(500, 3, generator=g) * torch.tensor([3.0, 0.5, 1.0]) - 2.0)  # the norm moves
    assert not torch.allclose(live(raw), then(raw), atol=0.1)
    torch.testing.assert_close(frozen(live(raw)), then(raw))  # the earlier normalisation, exactly
    assert set(frozen.state_dict()) == {"mean", "var"}  # the live norm is read, not owned
    d = moment_drift(frozen.mean, frozen.var, live.mean, live.var, live.eps)  # how far the live norm moved
    s0 = then.var.sqrt()
    assert d["obs_drift_mean"] == pytest.approx(float(((live.mean - then.mean).abs() / s0).max()), rel=1e-5)
    ratio = live.var.sqrt() / s0
    assert d["obs_drift_std_min"] == pytest.approx(float(ratio.min()), rel=1e-5)
    assert d["obs_drift_std_max"] == pytest.approx(float(ratio.max()), rel=1e-5)


def test_moment_drift_by_hand_and_renormalize_rejects_other_shapes():
    from gorl.algos.running_norm import Renormalize, moment_drift

    d = moment_drift(
        torch.tensor([0.0, 1.0]),
        torch.tensor([4.0, 1.0]),
        torch.tensor([1.0, 1.5]),
        torch.tensor([9.0, 1.0]),
        0.0,
    )  # shifts 1/2 and 0.5/1, std ratios 3/2 and 1
    assert d == {"obs_drift_mean": 0.5, "obs_drift_std_min": 1.0, "obs_drift_std_max": 1.5}
    with pytest.raises(ValueError, match=r"moments of shape \(3,\)"):
        Renormalize(RunningNorm(3), torch.zeros(4), torch.ones(4))
