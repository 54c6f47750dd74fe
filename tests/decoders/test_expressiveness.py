"""The paper's Figure 1/7 claim in miniature: generative decoders keep two modes apart, a Gaussian cannot.

Target: obs s ~ U(-1, 1)^2, action a = +-m(s) + 0.1 * noise with m(s) = 1.5 + 0.5 * s_0 (two modes per
state, 2 to 4 apart). Flow and diffusion decoders are fitted with ``fit_decoder`` and decoded from
z ~ N(0, 1); a Gaussian policy (an MLP giving mean and log-std) is fitted by maximum likelihood on the
same pairs. For fresh states we count the share of samples near a mode (| |a| - m(s) | < 0.3, three noise
standard deviations) and in the gap (|a| < m(s) / 2). The figures go to docs/decoders.md.
"""

import pytest
import torch
from torch import nn

import gorl.decoders as D
from gorl.algos.fit import FitConfig, fit_decoder

N_TRAIN, N_TEST = 2048, 2000


def _bimodal(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    s = torch.rand(n, 2, generator=g) * 2 - 1
    m = 1.5 + 0.5 * s[:, :1]
    sign = torch.randint(0, 2, (n, 1), generator=g) * 2 - 1
    return s, sign * m + 0.1 * torch.randn(n, 1, generator=g), m


def _shares(a: torch.Tensor, m: torch.Tensor) -> tuple[float, float, float]:
    """(near a mode, in the gap, on the positive mode) shares of the samples ``a`` for mode sizes ``m``."""
    near = ((a.abs() - m).abs() < 0.3).float().mean().item()
    gap = (a.abs() < 0.5 * m).float().mean().item()
    return near, gap, (a > 0).float().mean().item()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # small MLPs: on a busy 2-core machine two intra-op threads ran a fit step 20x slower than one
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def task():
    g = torch.Generator().manual_seed(0)
    s, a, _ = _bimodal(N_TRAIN, g)
    s_test, _, m_test = _bimodal(N_TEST, g)
    z = torch.randn(N_TEST, 1, generator=g)
    return s, a, s_test, m_test, z


@pytest.mark.slow
@pytest.mark.parametrize("name", ["flow", "diffusion"])
def test_generative_decoder_puts_its_mass_on_the_modes(task, name):
    s, a, s_test, m_test, z = task
    torch.manual_seed(0)
    dec = D.make(name, obs_dim=2, action_dim=1, pairs_per_sample=4)
    cfg = FitConfig(steps=1500, batch_size=512, lr=3e-3, eval_every=100, seed=0, progress=False)
    rep = fit_decoder(dec, s, a, cfg)
    with torch.no_grad():
        near, gap, pos = _shares(dec.decode(s_test, z), m_test)
    print(f"{name}: near a mode {near:.3f}, in the gap {gap:.3f}, positive mode {pos:.3f}", end=" ")
    print(f"({rep.steps} steps, {rep.wall_time:.1f} s fit)")
    assert near > 0.9
    assert gap < 0.05
    assert 0.35 < pos < 0.65  # both modes are used


@pytest.mark.slow
def test_gaussian_policy_spreads_mass_into_the_gap(task):
    s, a, s_test, m_test, z = task
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(), nn.Linear(32, 2))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(400):  # full-batch maximum likelihood
        mean, log_std = net(s).chunk(2, dim=-1)
        nll = (log_std + 0.5 * ((a - mean) / log_std.exp()) ** 2).mean()
        opt.zero_grad()
        nll.backward()
        opt.step()
    with torch.no_grad():
        mean, log_std = net(s_test).chunk(2, dim=-1)
        near, gap, _ = _shares(mean + log_std.exp() * z, m_test)
        std = log_std.exp().mean().item()
    # the MLE of one Gaussian per state is N(0, m^2 + 0.01): about 19% near a mode, 38% in the gap
    print(f"gaussian: near a mode {near:.3f}, in the gap {gap:.3f}, mean std {std:.3f}")
    assert gap > 0.3
    assert near < 0.3
