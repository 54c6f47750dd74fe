"""The diagonal Gaussian latent policy pi_theta(z | s) on TorchRL's ``ProbabilisticActor``.

Network: an MLP (SiLU, 4x32 by default) to ``2 * latent_dim`` outputs split into ``loc`` and a raw
scale; ``scale = clip(softplus(raw) + 1e-3, 1e-3, 10)`` as in the official code (``bennidict23/GoRL``
``src/flow_policy/networks.py``, ``gaussian_policy_fwd``; the cap 10 is ``policy_scale_cap`` in its
``configs/methods/gorl_fm.toml``).

``reset_to_prior()`` re-initialises the hidden layers (PyTorch's default init, or orthogonal with gain 1
when ``init="orthogonal"``, as TorchRL's PPO recipe does) and sets the output layer to weight 0 and bias
``(0, softplus^-1(1 - 1e-3))`` so the policy is exactly N(0, I) for every state: the paper's "reset to
the prior" taken literally. A fresh encoder starts there too, unless ``init_head_gain > 0``: then its loc
head starts orthogonal with that gain (TorchRL's PPO recipe: 1), so that the first policy's mean already
depends on the state; ``reset_to_prior`` still returns to the exact prior.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import torch
from pydantic import Field
from tensordict.nn import InteractionType, TensorDictModule
from torch import Tensor, nn
from torch.distributions import Distribution
from torchrl.modules import IndependentNormal, ProbabilisticActor

from gorl.config import Config
from gorl.encoders import register
from gorl.interfaces.keys import LATENT, LATENT_LOG_PROB, LOC, OBSERVATION, SCALE
from gorl.nn import ACTIVATIONS, Init, init_, mlp

MIN_SCALE, MAX_SCALE = 1e-3, 10.0
# softplus(b) + 1e-3 = 1  <=>  b = log(exp(1 - 1e-3) - 1)
_PRIOR_SCALE_BIAS = math.log(math.expm1(1.0 - MIN_SCALE))


class GaussianEncoderConfig(Config):
    """Options of the Gaussian latent policy."""

    hidden: list[int] = Field(
        default=[32, 32, 32, 32], min_length=1, description="MLP widths (4x32 official)"
    )
    activation: Literal["silu", "tanh", "relu"] = Field(
        "silu", description="hidden activation (official: silu)"
    )
    init: Init = Field(
        "default",
        description="hidden layers: default (PyTorch's init) or orthogonal (gain 1, zero biases; TorchRL's "
        "PPO recipe); the output layer always starts at the prior",
    )
    init_head_gain: float = Field(
        0.0,
        ge=0.0,
        description="a fresh encoder's loc head: orthogonal with this gain (TorchRL's PPO recipe: 1); 0: the "
        "exact prior N(0, I). reset_to_prior always returns to the prior",
    )
    state_scale: bool = Field(
        True, description="scale computed from the state (official); False: one learned scale per latent dim"
    )
    penalty: Literal["official", "kl", "paper"] = Field(
        default="official",
        description="prior penalty: official mean(loc^2)+mean(scale^2); kl: KL(pi || N(0,I)) per dim; "
        "paper: mean(loc^2)+mean(log(scale)^2)",
    )

    def model_post_init(self, __context: object) -> None:
        if any(w <= 0 for w in self.hidden):
            raise ValueError(f"hidden: every width must be positive, got {self.hidden}")


def scale_from_raw(raw: Tensor) -> Tensor:
    """``clip(softplus(raw) + 1e-3, 1e-3, 10)``, elementwise."""
    return (nn.functional.softplus(raw) + MIN_SCALE).clamp(MIN_SCALE, MAX_SCALE)


def prior_penalty(loc: Tensor, scale: Tensor, kind: str = "official") -> Tensor:
    """Distance of N(loc, scale^2) from N(0, I), averaged over batch and latent dims; a scalar.

    official: ``mean(loc^2) + mean(scale^2)``; paper: ``mean(loc^2) + mean(log(scale)^2)``;
    kl: ``mean(0.5 * (scale^2 + loc^2 - 1) - log(scale))`` (KL per latent dim, 0 at the prior).
    """
    if kind == "official":
        return loc.pow(2).mean() + scale.pow(2).mean()
    if kind == "paper":
        return loc.pow(2).mean() + scale.log().pow(2).mean()
    if kind == "kl":
        return (0.5 * (scale.pow(2) + loc.pow(2) - 1.0) - scale.log()).mean()
    raise ValueError(f"unknown penalty kind {kind!r}; use 'official', 'paper' or 'kl'")


class _LocScale(nn.Module):
    """obs -> (loc, scale); the raw scale is the net's second half, or one parameter per latent dim
    (``state_scale=False``: a state-independent scale, as TorchRL's PPO recipe uses).

    Anchored (``anchor``): the outputs are the net's minus those of a frozen copy of it (``anchor``, its
    weights held as buffers), the loc difference times ``gain``, the raw scale difference plus the prior's
    bias: N(0, I) at every state when anchored, and the net keeps all its weights and gradient paths.
    """

    anchor: nn.Module | None
    gain: Tensor

    def __init__(self, net: nn.Sequential, latent_dim: int, state_scale: bool = True) -> None:
        super().__init__()
        self.net = net
        self.latent_dim = latent_dim
        self.raw_scale = None if state_scale else nn.Parameter(torch.full((latent_dim,), _PRIOR_SCALE_BIAS))
        self.anchor = None
        self.register_buffer("gain", torch.ones(latent_dim))
        self.register_load_state_dict_pre_hook(_LocScale._load_anchor)

    def forward(self, obs: Tensor) -> tuple[Tensor, Tensor]:
        out = self.net(obs)
        if self.anchor is not None:
            out = out - self.anchor(obs)
        if self.raw_scale is None:
            loc, raw = out.split(self.latent_dim, dim=-1)
        else:
            loc, raw = out, self.raw_scale.expand_as(out)
        if self.anchor is not None:
            loc = loc * self.gain
            if self.raw_scale is None:
                raw = raw + _PRIOR_SCALE_BIAS
        return loc, scale_from_raw(raw)

    @torch.no_grad()
    def set_anchor(self, gain: Tensor | None) -> None:
        """Anchors at the net's current weights with loc ``gain`` (``(latent_dim,)``); None: unanchored."""
        if gain is None:
            self.anchor = None
            self.gain.fill_(1.0)
            return
        self.anchor = _frozen_copy(self.net)
        self.gain.copy_(gain.to(self.gain))

    def _load_anchor(self, state: dict[str, Any], prefix: str, *args: Any) -> None:
        """Before loading: anchored as the state is (its anchor's weights are then loaded into it)."""
        anchored = any(k.startswith(prefix + "anchor.") for k in state)
        if anchored and self.anchor is None:
            self.anchor = _frozen_copy(self.net)
        elif not anchored:
            self.anchor = None
        state.setdefault(prefix + "gain", torch.ones(self.latent_dim))


def _frozen_copy(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose parameters are buffers: it computes what ``net`` computed at the time,
    takes no gradient and is no optimiser's parameter."""
    copy_ = copy.deepcopy(net)
    for module in copy_.modules():
        for name, param in list(module._parameters.items()):
            del module._parameters[name]
            if param is not None:
                module.register_buffer(name, param.detach().clone())
    return copy_


def latent_actor(loc_scale: nn.Module) -> ProbabilisticActor:
    """TorchRL's actor around ``loc_scale`` (obs -> (loc, scale)): OBSERVATION -> LOC, SCALE, a sampled
    LATENT and its LATENT_LOG_PROB under the diagonal Gaussian."""
    module = TensorDictModule(loc_scale, in_keys=[OBSERVATION], out_keys=[LOC, SCALE])
    return ProbabilisticActor(
        module,
        in_keys=[LOC, SCALE],
        out_keys=[LATENT],
        distribution_class=IndependentNormal,
        return_log_prob=True,
        log_prob_key=LATENT_LOG_PROB,
        # sample unless told otherwise (TorchRL's default is the mean): evaluation asks for
        # ExplorationType.DETERMINISTIC explicitly
        default_interaction_type=InteractionType.RANDOM,
    )


@register("gaussian")
class GaussianEncoder(nn.Module):
    """A diagonal Gaussian latent policy; see the module docstring.

    Args:
        obs_dim: observation size.
        latent_dim: size of z (``action_dim`` by default in ``gorl.encoders.make``).
        **options: fields of ``GaussianEncoderConfig``.
    """

    def __init__(self, *, obs_dim: int, latent_dim: int, **options: object) -> None:
        super().__init__()
        if obs_dim <= 0 or latent_dim <= 0:
            raise ValueError(f"obs_dim and latent_dim must be positive, got {obs_dim}, {latent_dim}")
        self.config = GaussianEncoderConfig(**options)  # type: ignore[arg-type]
        self.obs_dim, self.latent_dim = obs_dim, latent_dim
        heads = 2 * latent_dim if self.config.state_scale else latent_dim
        net = mlp(obs_dim, self.config.hidden, heads, ACTIVATIONS[self.config.activation])
        self.loc_scale = _LocScale(net, latent_dim, self.config.state_scale)
        self._actor = latent_actor(self.loc_scale)
        self.reset_to_prior()
        if self.config.init_head_gain > 0:
            head = self.loc_scale.net[-1]
            assert isinstance(head, nn.Linear)
            loc_rows = torch.empty(latent_dim, head.in_features)
            nn.init.orthogonal_(loc_rows, self.config.init_head_gain)
            with torch.no_grad():
                head.weight[:latent_dim].copy_(loc_rows)

    @property
    def actor(self) -> ProbabilisticActor:
        """The TorchRL actor: OBSERVATION -> LOC, SCALE, LATENT, LATENT_LOG_PROB."""
        return self._actor

    def distribution(self, obs: Tensor) -> Distribution:
        """pi_theta(. | obs) with batch shape ``obs.shape[:-1]`` and event shape ``(latent_dim,)``."""
        loc, scale = self.loc_scale(obs)
        return IndependentNormal(loc, scale)

    def mode(self, obs: Tensor) -> Tensor:
        """The mean latent, ``(*B, latent_dim)``."""
        return self.loc_scale(obs)[0]

    def prior_penalty(self, obs: Tensor) -> Tensor:
        """``prior_penalty(loc, scale, config.penalty)`` at ``obs``; a scalar."""
        return self.prior_penalty_at(*self.loc_scale(obs))

    def prior_penalty_at(self, loc: Tensor, scale: Tensor) -> Tensor:
        """``prior_penalty`` from ``(loc, scale)`` an optimiser already has from ``loc_scale(obs)``: the
        same value and gradient without a second pass of the network (SAC's actor draw)."""
        return prior_penalty(loc, scale, self.config.penalty)

    @torch.no_grad()
    def reset_to_prior(self, *, keep_features: bool = False) -> None:
        """Output layer set so that pi(. | s) = N(0, I) for every s; fresh hidden layers, or the learned
        ones kept (``keep_features``: the state features of the last stage, a zero head on top)."""
        self.loc_scale.set_anchor(None)
        if not keep_features:
            init_(self.loc_scale.net, self.config.init)
        head = self.loc_scale.net[-1]
        assert isinstance(head, nn.Linear)
        head.weight.zero_()
        head.bias[: self.latent_dim].zero_()
        head.bias[self.latent_dim :].fill_(_PRIOR_SCALE_BIAS)
        if self.loc_scale.raw_scale is not None:
            self.loc_scale.raw_scale.fill_(_PRIOR_SCALE_BIAS)

    @torch.no_grad()
    def anchor_to_prior(self, gain: Tensor | float = 1.0) -> None:
        """pi(. | s) = N(0, I) for every s by subtracting from the network a frozen copy of itself: every
        learned weight is kept and keeps its gradient path (no zeroed layer), and ``gain``
        (``(latent_dim,)`` or a scalar) scales loc: with gain 1 / (the data policy's spread), a step of
        the network moves the latent by as many of its stds as it moved the action in stage 0."""
        gain_t = torch.as_tensor(gain, dtype=torch.float32).expand(self.latent_dim)
        if not bool(torch.isfinite(gain_t).all() and (gain_t > 0).all()):
            raise ValueError(f"anchor gain must be finite and positive, got {gain_t.tolist()}")
        if self.loc_scale.raw_scale is not None:
            self.loc_scale.raw_scale.fill_(_PRIOR_SCALE_BIAS)
        self.loc_scale.set_anchor(gain_t)  # a copy of the net as it is now (a former anchor is dropped)
