import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gorl.squash import squash, unsquash


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), lo=st.floats(-5, 0), width=st.floats(0.5, 5))
def test_squash_is_inside_bounds_and_unsquash_inverts_it(seed, lo, width):
    g = torch.Generator().manual_seed(seed)
    low, high = torch.full((3,), lo), torch.full((3,), lo + width)
    raw = (torch.randn(10, 3, generator=g) * 1.2).clamp(-2.5, 2.5)  # inside the +-3 clip
    a = squash(raw, low, high)
    assert bool(((a >= low) & (a <= high)).all())
    torch.testing.assert_close(unsquash(a, low, high), raw, atol=3e-3, rtol=1e-3)


def test_unsquash_of_the_bounds_is_finite_and_clipped():
    low, high = -torch.ones(2), torch.ones(2)
    out = unsquash(torch.tensor([[-1.0, 1.0]]), low, high, clip=3.0)
    # atanh(+-tanh(3)) = +-3, up to float32 rounding of tanh(3) = 0.99505
    torch.testing.assert_close(out, torch.tensor([[-3.0, 3.0]]), atol=2e-3, rtol=0)


def test_squash_on_unit_bounds_is_tanh():
    raw = torch.linspace(-4, 4, 9)
    torch.testing.assert_close(squash(raw, -torch.ones(9), torch.ones(9)), torch.tanh(raw))
