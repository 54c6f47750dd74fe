"""The paper's Figure 1/7 claim in miniature: generative decoders keep two modes apart, a Gaussian cannot.

Target: obs s ~ U(-1, 1)^2, action a = +-m(s) + 0.1 * noise with m(s) = 1.5 + 0.5 * s_0 (two modes per
state, 2 to 4 apart). Flow and diffusion decoders are fitted with ``fit_decoder`` and decoded from
z ~ N(0, 1); gorl's stage-0 policy (the Gaussian encoder, 2x32 SiLU, with the identity decoder: a
Gaussian policy) is fitted by maximum likelihood on the same pairs. For fresh states we count the share
of samples near a mode (| |a| - m(s) | < 0.3, three noise standard deviations) and in the gap
(|a| < m(s) / 2). The figures go to docs/decoders.md.
"""

import pytest
import torch
from tensordict import TensorDict

import gorl.decoders as D
import gorl.encoders as E
from gorl.composite import CompositePolicy
from gorl.twotimescale import FitConfig, fit_decoder

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
    # gorl's stage-0 policy: the Gaussian encoder (2x32 SiLU here) paired with the identity decoder, so the
    # raw action is z ~ pi(z | s). Fitted by maximum likelihood: the encoder's log-density of the action.
    s, a, s_test, m_test, z = task
    torch.manual_seed(0)
    policy = CompositePolicy(
        E.make("gaussian", obs_dim=2, latent_dim=1, hidden=[32, 32]),
        D.make("identity", obs_dim=2, action_dim=1),
    )
    opt = torch.optim.Adam(policy.encoder.parameters(), lr=1e-2)
    for _ in range(400):  # full-batch maximum likelihood
        nll = -policy.encoder.distribution(s).log_prob(a).mean()
        opt.zero_grad()
        nll.backward()
        opt.step()
    with torch.no_grad():
        loc, scale = policy.encoder.loc_scale(s_test)
        raw = policy.decoder.decode(s_test, loc + scale * z)  # the same z as the decoders above
        near, gap, _ = _shares(raw, m_test)
        std = scale.mean().item()
        # the TensorDict path (what the collector runs) samples from the same fitted distribution
        td = policy(TensorDict({"observation": s_test}, [N_TEST]))
        near_td, gap_td, _ = _shares(td["raw_action"], m_test)
    # the MLE of one Gaussian per state is N(0, m^2 + 0.01): 20.1% near a mode, 38.2% in the gap
    print(f"gaussian: near a mode {near:.3f}, in the gap {gap:.3f}, mean std {std:.3f}", end=" ")
    print(f"(sampled by the policy: {near_td:.3f}, {gap_td:.3f})")
    assert abs(std - 1.5) < 0.1  # the mean of sqrt(m^2 + 0.01) over m ~ U(1, 2) is 1.503
    for n, g in ((near, gap), (near_td, gap_td)):
        assert g > 0.3
        assert n < 0.3
