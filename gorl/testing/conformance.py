"""The conformance suite behind ``gorl.testing`` (see ``gorl.interfaces`` for the contracts)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from tensordict import TensorDict
from torch import Tensor

from gorl.interfaces.decoder import GenerativeDecoder
from gorl.interfaces.keys import ACTION, LATENT, LATENT_LOG_PROB, LOC, OBSERVATION, RAW_ACTION, SCALE
from gorl.interfaces.latent_policy import AnchoredLatentPolicy, LatentPolicy, gaussian_log_prob

DecoderFactory = Callable[..., GenerativeDecoder]


def _build(factory: DecoderFactory, seed: int, **dims: int) -> Any:
    torch.manual_seed(seed)
    return factory(**dims)


def _close(a: Tensor, b: Tensor, what: str, atol: float) -> None:
    if a.shape != b.shape:
        raise AssertionError(f"{what}: shapes differ, {tuple(a.shape)} vs {tuple(b.shape)}")
    err = (a - b).abs().max().item() if a.numel() else 0.0
    if not err <= atol:
        raise AssertionError(f"{what}: max abs difference {err:.3g} exceeds {atol:.3g}")


def check_decoder(
    factory: DecoderFactory,
    *,
    obs_dim: int,
    action_dim: int,
    latent_dim: int | None = None,
    batch_shape: Sequence[int] = (3,),
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> None:
    """Checks the GenerativeDecoder contract on decoders built by ``factory(obs_dim=, action_dim=, ...)``.

    Properties: protocol membership; ``decode`` output shape ``(*batch_shape, action_dim)`` and dtype;
    batch-shape invariance (decoding a reshaped batch gives the reshaped result); determinism given z;
    a finite scalar ``loss`` whose gradient reaches every parameter when ``trainable``; no gradient path
    from a CompositePolicy's action into its encoder; a wrong last dim raises; ``state_dict`` round trip.
    """
    latent_dim = action_dim if latent_dim is None else latent_dim
    dims = {"obs_dim": obs_dim, "action_dim": action_dim, "latent_dim": latent_dim}
    dec = _build(factory, seed, **dims).to(dtype)
    if not isinstance(dec, GenerativeDecoder):
        raise AssertionError(f"{type(dec).__name__} does not implement GenerativeDecoder")
    for name, want in dims.items():
        if getattr(dec, name) != want:
            raise AssertionError(f"decoder.{name} is {getattr(dec, name)}, expected {want}")
    atol = 1e-5 if dtype == torch.float32 else 1e-10
    gen = torch.Generator().manual_seed(seed + 1)
    batch = tuple(batch_shape)
    obs = torch.randn(*batch, obs_dim, generator=gen, dtype=dtype)
    z = torch.randn(*batch, latent_dim, generator=gen, dtype=dtype)
    act = torch.randn(*batch, action_dim, generator=gen, dtype=dtype)

    with torch.no_grad():
        out = dec.decode(obs, z)
        if out.shape != (*batch, action_dim):
            raise AssertionError(f"decode returned shape {tuple(out.shape)}, expected {(*batch, action_dim)}")
        if out.dtype != dtype:
            raise AssertionError(f"decode returned dtype {out.dtype} for {dtype} inputs")
        if not torch.isfinite(out).all():
            raise AssertionError("decode returned non-finite values")
        _close(dec.decode(obs, z), out, "decode is not deterministic given (obs, z)", 0.0)
        flat = dec.decode(obs.reshape(-1, obs_dim), z.reshape(-1, latent_dim))
        _close(flat.reshape(out.shape), out, "decode depends on the batch shape", atol)
        if len(batch) >= 1 and math.prod(batch) > 0:
            first = dec.decode(obs.reshape(-1, obs_dim)[0], z.reshape(-1, latent_dim)[0])
            _close(first, out.reshape(-1, action_dim)[0], "decode of an unbatched input differs", atol)
    for bad, what in (
        ((obs, torch.zeros(*batch, latent_dim + 1, dtype=dtype)), "z"),
        ((torch.zeros(*batch, obs_dim + 1, dtype=dtype), z), "obs"),
    ):
        try:
            dec.decode(*bad)
        except (ValueError, RuntimeError):
            pass
        else:
            raise AssertionError(f"decode accepted a {what} with the wrong last dimension")

    loss = dec.loss(obs, act, generator=torch.Generator().manual_seed(seed))
    if loss.shape != ():
        raise AssertionError(f"loss must be a scalar, got shape {tuple(loss.shape)}")
    if not torch.isfinite(loss):
        raise AssertionError(f"loss is not finite: {loss.item()}")
    params = [p for p in dec.parameters() if p.requires_grad]
    if dec.trainable:
        if not params:
            raise AssertionError("a trainable decoder has no parameters that require grad")
        if not loss.requires_grad:
            raise AssertionError("loss has no gradient path to the decoder's parameters")
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        missing = [i for i, g in enumerate(grads) if g is None]
        if missing:
            raise AssertionError(f"loss has no gradient path to {len(missing)} of {len(params)} parameters")
        if not all(torch.isfinite(g).all() for g in grads if g is not None):
            raise AssertionError("loss gradients are not finite")
        # an empty batch carries no signal: its (finite, zero) loss has zero gradients by right
        if math.prod(batch) > 0 and all(float(g.abs().sum()) == 0.0 for g in grads if g is not None):
            raise AssertionError("loss gradients are all zero")

    _check_no_encoder_gradient(dec, obs_dim, latent_dim, dtype)

    twin = _build(factory, seed + 100, **dims).to(dtype)
    buf = io.BytesIO()
    torch.save(dec.state_dict(), buf)
    buf.seek(0)
    twin.load_state_dict(torch.load(buf, weights_only=True))
    with torch.no_grad():
        _close(twin.decode(obs, z), out, "decode after a state_dict round trip differs", 0.0)


def _check_no_encoder_gradient(
    dec: GenerativeDecoder, obs_dim: int, latent_dim: int, dtype: torch.dtype
) -> None:
    from gorl.composite import CompositePolicy
    from gorl.encoders.gaussian import GaussianEncoder

    enc = GaussianEncoder(obs_dim=obs_dim, latent_dim=latent_dim).to(dtype)
    policy = CompositePolicy(enc, dec)
    td = policy(TensorDict({OBSERVATION: torch.randn(4, obs_dim, dtype=dtype)}, [4]))
    action = td[ACTION]
    if action.requires_grad:
        grads = torch.autograd.grad(action.sum(), list(enc.parameters()), allow_unused=True)
        if any(g is not None for g in grads):
            raise AssertionError("the composite's action has a gradient path into the encoder's parameters")
    if not torch.equal(td[RAW_ACTION], td[RAW_ACTION].detach()) or td[RAW_ACTION].shape[-1] != dec.action_dim:
        raise AssertionError("the composite wrote a malformed raw_action")


def _check_anchoring(
    factory: Callable[..., LatentPolicy], enc: AnchoredLatentPolicy, obs: Tensor, latent_dim: int
) -> None:
    """``anchor_to_prior``: N(0, I) exactly, the same trainable parameters, a gradient to every one of
    them, loc moved ``gain`` times as far by the same step, and a state-dict round trip into a fresh
    encoder that keeps the anchor."""
    n_params = sum(p.numel() for p in enc.parameters() if p.requires_grad)
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    gen = torch.Generator().manual_seed(0)
    step = [1e-2 * torch.randn(p.shape, generator=gen) for p in enc.parameters() if p.requires_grad]
    moved: dict[float, Tensor] = {}
    for gain in (1.0, 2.0):
        enc.anchor_to_prior(gain)
        how = f"after anchor_to_prior({gain})"
        prior = enc.distribution(obs)
        _close(prior.mean, torch.zeros_like(prior.mean), f"{how} the mean is not 0", 1e-6)
        _close(prior.stddev, torch.ones_like(prior.stddev), f"{how} the std is not 1", 1e-5)
        params = [p for p in enc.parameters() if p.requires_grad]
        if sum(p.numel() for p in params) != n_params:
            raise AssertionError(f"{how} the encoder's trainable parameters changed in number")
        loc, scale = enc.loc_scale(obs)
        grads = torch.autograd.grad((loc.sum() + scale.sum()), params, allow_unused=True)
        if any(g is None or not bool(g.abs().sum() > 0) for g in grads):
            raise AssertionError(f"{how} some parameter has no gradient: anchoring must keep every path")
        state = {k: v.clone() for k, v in enc.state_dict().items()}
        with torch.no_grad():
            for p, d in zip(params, step, strict=True):
                p.add_(d.to(p))
        moved[gain] = enc.mode(obs).detach()
        enc.load_state_dict(state)
    if not torch.allclose(moved[2.0], 2.0 * moved[1.0], rtol=1e-4, atol=1e-6):
        raise AssertionError("anchor_to_prior(2) did not move loc twice as far as anchor_to_prior(1)")
    fresh = factory(obs_dim=enc.obs_dim, latent_dim=latent_dim)
    fresh.load_state_dict(enc.state_dict())
    _close(
        fresh.mode(obs), enc.mode(obs), "an anchored encoder's state dict did not load into a fresh one", 1e-6
    )
    enc.load_state_dict(before)  # unanchored again, away from the prior, for the reset checks
    if torch.allclose(enc.mode(obs), torch.zeros(()), atol=1e-6):
        raise AssertionError("loading an unanchored state into an anchored encoder kept it at the prior")


def check_latent_policy(
    factory: Callable[..., LatentPolicy],
    *,
    obs_dim: int,
    latent_dim: int,
    batch_shape: Sequence[int] = (3,),
    seed: int = 0,
) -> None:
    """Checks the LatentPolicy contract on encoders built by ``factory(obs_dim=, latent_dim=)``.

    Properties: protocol membership; distribution batch/event shapes; ``log_prob`` finite and equal to
    the actor's ``LATENT_LOG_PROB`` and to the diagonal Gaussian's density at ``loc_scale``; ``mode``
    is the mean; ``reset_to_prior`` gives exactly N(0, I);
    ``prior_penalty`` a finite scalar with a gradient; the actor writes every key.
    """
    torch.manual_seed(seed)
    enc = factory(obs_dim=obs_dim, latent_dim=latent_dim)
    if not isinstance(enc, LatentPolicy):
        raise AssertionError(f"{type(enc).__name__} does not implement LatentPolicy")
    batch = tuple(batch_shape)
    obs = torch.randn(*batch, obs_dim)
    # move away from the prior so that the checks below see a state-dependent policy
    with torch.no_grad():
        for p in enc.parameters():
            p.add_(0.1 * torch.randn_like(p))
    dist = enc.distribution(obs)
    if tuple(dist.batch_shape) != batch or tuple(dist.event_shape) != (latent_dim,):
        raise AssertionError(
            f"distribution shapes batch={tuple(dist.batch_shape)} event={tuple(dist.event_shape)}, "
            f"expected {batch} and {(latent_dim,)}"
        )
    _close(enc.mode(obs), dist.mean, "mode differs from the distribution's mean", 1e-6)
    loc, scale = enc.loc_scale(obs)
    _close(loc, dist.mean, "loc_scale's loc differs from the distribution's mean", 1e-6)
    _close(scale, dist.stddev, "loc_scale's scale differs from the distribution's std", 1e-6)
    z = dist.sample()
    _close(
        gaussian_log_prob(z, loc, scale),
        dist.log_prob(z),
        "log_prob differs from the diagonal Gaussian's",
        1e-4,
    )
    flat = TensorDict({OBSERVATION: obs.reshape(-1, obs_dim)}, [math.prod(batch)])
    td = enc.actor(flat)
    for key in (LOC, SCALE, LATENT, LATENT_LOG_PROB):
        if key not in td:
            raise AssertionError(f"the actor did not write {key!r}")
    dist_flat = enc.distribution(td[OBSERVATION])
    if torch.equal(td[LATENT], dist_flat.mean):
        raise AssertionError("the actor returned the mean latent by default: it must sample (exploration)")
    lp = dist_flat.log_prob(td[LATENT])
    _close(lp, td[LATENT_LOG_PROB], "log_prob differs from the actor's latent_log_prob", 1e-4)
    pen = enc.prior_penalty(obs)
    if pen.shape != () or not torch.isfinite(pen):
        raise AssertionError(f"prior_penalty must be a finite scalar, got {pen}")
    params = [p for p in enc.parameters() if p.requires_grad]
    # an encoder without parameters (the prior itself) has nothing for the penalty to reach
    if params and all(g is None for g in torch.autograd.grad(pen, params, allow_unused=True)):
        raise AssertionError("prior_penalty has no gradient path to the encoder's parameters")
    if isinstance(enc, AnchoredLatentPolicy):
        _check_anchoring(factory, enc, obs, latent_dim)
    for keep in (True, False):  # keep_features first: the encoder has moved away from the prior above
        enc.reset_to_prior(keep_features=keep)
        prior = enc.distribution(obs)
        how = f"after reset_to_prior(keep_features={keep})"
        _close(prior.mean, torch.zeros(*batch, latent_dim), f"{how} the mean is not 0", 1e-6)
        _close(prior.stddev, torch.ones(*batch, latent_dim), f"{how} the std is not 1", 1e-5)
