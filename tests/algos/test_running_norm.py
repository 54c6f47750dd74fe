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
