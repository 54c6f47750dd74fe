"""The conditional flow-matching decoder (GoRL(FM)), with the official code's conventions.

Training (conditional flow matching on the linear / OT path): for each (s, a) draw ``pairs_per_sample``
pairs ``eps ~ N(0, I)``, ``t ~ U(0, 1)``, form ``x_t = t * eps + (1 - t) * a`` and regress the velocity
net ``v(x_t, t, s)`` onto ``eps - a`` (mean squared error). Decoding integrates the learned ODE from
``x = z`` at t = 1 back to t = 0 with ``steps`` Euler steps: ``x <- x - dt * v(x, t, s)``.

The velocity net (``TimeConditionedMLP``, shared with the diffusion decoder) is an MLP (SiLU, 4x64 by
default) on ``concat(x_t, sinusoidal_embedding(t), obs)``. Needs ``latent_dim == action_dim``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field, field_validator
from torch import Generator, Tensor, nn

from gorl.config import Config
from gorl.decoders import register
from gorl.decoders.functional import draw_normal, draw_uniform, euler_integrate, sinusoidal_embedding
from gorl.nn import mlp, reinit_
from gorl.paths import ot_path

PositiveInt = Annotated[int, Field(gt=0)]


class TimeConditionedConfig(Config):
    """Options shared by decoders built on ``TimeConditionedMLP`` (flow, diffusion)."""

    hidden: list[PositiveInt] = Field(
        default=[64, 64, 64, 64], min_length=1, description="network MLP widths (SiLU); paper 4x64"
    )
    pairs_per_sample: int = Field(
        8, ge=1, le=256, description="(eps, t) draws per (obs, action) pair in the loss (official 8)"
    )
    time_embed_dim: int = Field(16, ge=2, le=256, description="width of the sinusoidal time embedding")
    obs_norm: Literal["none", "fit"] = Field(
        "none",
        description="none: the net reads the observations as the policy passes them; fit: standardised by "
        "the mean and std of the states of its last fit (set by gorl.twotimescale.fit.fit_decoder, kept "
        "in the decoder's state_dict); for learners that pass raw observations (SAC by default)",
    )

    @field_validator("time_embed_dim")
    @classmethod
    def _even(cls, v: int) -> int:
        if v % 2:
            raise ValueError(f"time_embed_dim must be even (sin and cos halves), got {v}")
        return v


class FlowConfig(TimeConditionedConfig):
    """Options of the flow-matching decoder (defaults: the paper's 4x64 net, the official 10 steps)."""

    steps: int = Field(10, ge=1, le=1000, description="Euler steps from t=1 (x=z) to t=0 when decoding")


# the smallest std an observation coordinate is divided by under obs_norm="fit": a coordinate nearly
# constant over the fit's states is not blown up where it does vary later
MIN_OBS_STD = 1e-2


class TimeConditionedMLP(nn.Module):
    """``net(x, t, obs)``: an MLP on ``concat(x, sinusoidal_embedding(t), obs)``.

    Args:
        x_dim: width of the state being transported (the action / latent).
        obs_dim: width of the conditioning observation.
        time_embed_dim: width of the time embedding (even).
        hidden: MLP widths.
        out_dim: output width (velocity or noise, ``x_dim``).
        obs_norm: True: ``obs`` is standardised by the buffers ``obs_mean`` and ``obs_std`` (0 and 1 until
            ``standardize_to`` sets them); False: read as given, and no buffers (older state_dicts load).
    """

    obs_mean: Tensor
    obs_std: Tensor

    def __init__(
        self,
        x_dim: int,
        obs_dim: int,
        time_embed_dim: int,
        hidden: list[int],
        out_dim: int,
        obs_norm: bool = False,
    ):
        super().__init__()
        self.time_embed_dim = time_embed_dim
        self.body = mlp(x_dim + time_embed_dim + obs_dim, hidden, out_dim, nn.SiLU)
        self.obs_norm = obs_norm
        if obs_norm:
            self.register_buffer("obs_mean", torch.zeros(obs_dim))
            self.register_buffer("obs_std", torch.ones(obs_dim))

    def standardize_to(self, obs: Tensor) -> None:
        """Sets the standardisation to the mean and std (floored at ``MIN_OBS_STD``) of ``obs (N,
        obs_dim)``; a no-op without ``obs_norm``."""
        if not self.obs_norm:
            return
        with torch.no_grad():
            o = obs.detach().to(self.obs_mean.device, torch.float64)
            self.obs_mean.copy_(o.mean(0))
            self.obs_std.copy_(o.std(0, correction=0).clamp_min(MIN_OBS_STD))

    def reset_standardization(self) -> None:
        """Back to reading observations unchanged (mean 0, std 1)."""
        if self.obs_norm:
            self.obs_mean.zero_()
            self.obs_std.fill_(1.0)

    def forward(self, x: Tensor, t: Tensor, obs: Tensor) -> Tensor:
        """``x (N, x_dim)``, ``t (N,)`` in [0, 1], ``obs (N, obs_dim)`` -> ``(N, out_dim)``."""
        emb = sinusoidal_embedding(t, self.time_embed_dim)
        if self.obs_norm:
            obs = (obs - self.obs_mean.to(obs.dtype)) / self.obs_std.to(obs.dtype)
        return self.body(torch.cat([x, emb, obs], dim=-1))


def check_dims(dims: dict[str, int]) -> None:
    """Raises a ValueError naming any dimension that is not a positive int."""
    for name, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def action_space_dims(
    obs_dim: int, action_dim: int, latent_dim: int | None, why: str
) -> tuple[int, int, int]:
    """Validated ``(obs_dim, action_dim, latent_dim)`` for a decoder whose chain starts at z in the
    action space (``latent_dim`` defaults to, and must equal, ``action_dim``; ``why`` says so in the error).
    """
    latent_dim = action_dim if latent_dim is None else latent_dim
    check_dims({"obs_dim": obs_dim, "action_dim": action_dim, "latent_dim": latent_dim})
    if latent_dim != action_dim:
        raise ValueError(
            f"{why} and needs latent_dim == action_dim, got latent_dim={latent_dim}, action_dim={action_dim}"
        )
    return obs_dim, action_dim, latent_dim


def check_pair(obs: Tensor, obs_dim: int, x: Tensor, x_name: str, x_role: str, x_dim: int) -> tuple[int, ...]:
    """Validates ``obs (*B, obs_dim)`` against ``x (*B, x_dim)``; returns the batch shape ``B``.

    Raises:
        ValueError: naming the tensor whose last dim or batch shape is wrong.
    """
    if x.dim() == 0 or x.shape[-1] != x_dim:
        raise ValueError(f"{x_name} has shape {tuple(x.shape)}, expected last dim {x_role}={x_dim}")
    if obs.dim() == 0 or obs.shape[-1] != obs_dim:
        raise ValueError(f"obs has shape {tuple(obs.shape)}, expected last dim obs_dim={obs_dim}")
    if obs.shape[:-1] != x.shape[:-1]:
        raise ValueError(
            f"obs has batch shape {tuple(obs.shape[:-1])} but {x_name} has {tuple(x.shape[:-1])}; "
            "they must match"
        )
    return tuple(x.shape[:-1])


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over every element; 0 (with a graph) for an empty batch instead of NaN."""
    return (pred - target).pow(2).sum() / max(pred.numel(), 1)


@register("flow")
class FlowDecoder(nn.Module):
    """Conditional flow matching, OT path, Euler sampling from z at t = 1 to the action at t = 0."""

    trainable = True
    couples = True

    def __init__(self, *, obs_dim: int, action_dim: int, latent_dim: int | None = None, **options: object):
        super().__init__()
        self.config = FlowConfig.model_validate(options)
        self.obs_dim, self.action_dim, self.latent_dim = action_space_dims(
            obs_dim, action_dim, latent_dim, "the flow decoder transports z into the action space"
        )
        cfg = self.config
        self.net = TimeConditionedMLP(
            action_dim, obs_dim, cfg.time_embed_dim, cfg.hidden, action_dim, cfg.obs_norm == "fit"
        )

    @property
    def steps(self) -> int:
        """Euler steps of ``decode``."""
        return self.config.steps

    def velocity(self, x: Tensor, t: Tensor, obs: Tensor) -> Tensor:
        """The learned velocity ``v(x (N, D), t (N,), obs (N, obs_dim)) -> (N, D)``."""
        return self.net(x, t, obs)

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        """Euler-integrates from ``x = z`` at t = 1 to t = 0: ``(*B, obs_dim), (*B, D) -> (*B, D)``."""
        batch = check_pair(obs, self.obs_dim, z, "z", "latent_dim", self.latent_dim)
        o = obs.reshape(-1, self.obs_dim)
        x0 = euler_integrate(
            lambda x, t: self.net(x, t, o), z.reshape(-1, self.latent_dim), self.config.steps
        )
        return x0.reshape(*batch, self.action_dim)

    def loss(
        self, obs: Tensor, action: Tensor, generator: Generator | None = None, noise: Tensor | None = None
    ) -> Tensor:
        """CFM loss ``mean ||v(x_t, t, s) - (eps - a)||^2``, ``pairs_per_sample`` draws per pair; a scalar.

        ``noise (*B, D)``: the path's end at t = 1 for each pair (coupled pairs: the standardised latent
        that produced the action); None draws ``eps ~ N(0, I)`` independently of the action.
        """
        check_pair(obs, self.obs_dim, action, "action", "action_dim", self.action_dim)
        p = self.config.pairs_per_sample
        a = action.reshape(-1, self.action_dim).repeat(p, 1)
        o = obs.reshape(-1, self.obs_dim).repeat(p, 1)
        if noise is None:
            eps = draw_normal(tuple(a.shape), a, generator)
        else:
            check_pair(obs, self.obs_dim, noise, "noise", "latent_dim", self.latent_dim)
            eps = noise.reshape(-1, self.latent_dim).repeat(p, 1)
        t = draw_uniform((a.shape[0],), a, generator)
        x_t, target = ot_path(a, eps, t)
        return mse(self.net(x_t, t, o), target)

    def standardize_to(self, obs: Tensor) -> None:
        """With ``obs_norm="fit"``, the net reads observations standardised like ``obs (N, obs_dim)``
        (``fit_decoder`` passes its training states); otherwise a no-op."""
        self.net.standardize_to(obs)

    def reset_parameters(self) -> None:
        """Re-initialises the velocity net (PyTorch's default init) and its standardisation."""
        reinit_(self.net)
        self.net.reset_standardization()
