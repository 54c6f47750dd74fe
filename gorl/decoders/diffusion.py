"""The conditional diffusion decoder (GoRL(Diff)): DDPM training, deterministic DDIM decoding.

Training (epsilon prediction, Ho et al.): for each (s, a) draw ``pairs_per_sample`` pairs
``t ~ U{1..T}``, ``eps ~ N(0, I)``, form ``x_t = sqrt(ab_t) a + sqrt(1 - ab_t) eps`` with Nichol &
Dhariwal's cosine schedule ``ab`` over ``T = train_timesteps`` steps, and regress ``eps_net(x_t, t/T, s)``
onto ``eps``. Decoding runs ``steps`` DDIM updates with eta = 0 (no noise of its own) from ``x_T = z``
down to t = 0 over evenly spaced timesteps, clamping each predicted x0 to ``+-clip_x0``.

The noise net is the flow decoder's ``TimeConditionedMLP`` (MLP, SiLU, 4x64 by default, on
``concat(x_t, sinusoidal_embedding(t / T), obs)``). Needs ``latent_dim == action_dim``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from torch import Generator, Tensor, nn

from gorl.decoders import register
from gorl.decoders.flow import TimeConditionedConfig, TimeConditionedMLP, action_space_dims, check_pair, mse
from gorl.decoders.functional import (
    cosine_alpha_bars,
    ddim_step,
    ddim_step_from_x0,
    ddim_timesteps,
    draw_int,
    draw_normal,
    q_sample,
    velocity_target,
    x0_from_velocity,
)
from gorl.nn import reinit_


class DiffusionConfig(TimeConditionedConfig):
    """Options of the diffusion decoder (defaults: the paper's 4x64 net, the official 10 DDIM steps)."""

    steps: int = Field(10, ge=1, le=1000, description="DDIM steps (eta = 0) from x_T = z to t = 0")
    train_timesteps: int = Field(
        100, ge=1, le=10000, description="T, the DDPM noising steps of the cosine schedule (>= steps)"
    )
    clip_x0: float | None = Field(
        3.0, gt=0, description="clamp each predicted x0 to +-clip_x0 while decoding; None: no clamp"
    )
    prediction: Literal["epsilon", "sample", "velocity"] = Field(
        "epsilon",
        description="what the net predicts: epsilon (the noise; the paper's), sample (the clean action "
        "x0, well conditioned at high noise where recovering x0 from epsilon divides by sqrt(alpha_bar)) "
        "or velocity (v = sqrt(ab) eps - sqrt(1 - ab) x0: x0 at high noise, the noise at low noise)",
    )

    def model_post_init(self, __context: object) -> None:
        if self.steps > self.train_timesteps:
            raise ValueError(
                f"steps={self.steps} exceeds train_timesteps={self.train_timesteps}: DDIM visits a subset "
                "of the training timesteps"
            )


@register("diffusion")
class DiffusionDecoder(nn.Module):
    """Epsilon-prediction DDPM with a cosine schedule, decoded by deterministic DDIM from z."""

    trainable = True
    couples = True
    alpha_bars: Tensor  # (T + 1,) the cosine schedule, a non-persistent buffer

    def __init__(self, *, obs_dim: int, action_dim: int, latent_dim: int | None = None, **options: object):
        super().__init__()
        self.config = DiffusionConfig.model_validate(options)
        self.obs_dim, self.action_dim, self.latent_dim = action_space_dims(
            obs_dim,
            action_dim,
            latent_dim,
            "the diffusion decoder starts its chain at x_T = z in the action space",
        )
        cfg = self.config
        self.net = TimeConditionedMLP(
            action_dim, obs_dim, cfg.time_embed_dim, cfg.hidden, action_dim, cfg.obs_norm == "fit"
        )
        # derived from the config, so not saved: a state_dict holds only the net
        self.register_buffer("alpha_bars", cosine_alpha_bars(cfg.train_timesteps), persistent=False)
        self._chain = ddim_timesteps(cfg.train_timesteps, cfg.steps)

    def eps(self, x_t: Tensor, t: Tensor, obs: Tensor) -> Tensor:
        """The net's prediction ``(x_t (N, D), t (N,) integer steps, obs (N, obs_dim)) -> (N, D)``: the
        noise, the clean action (``prediction="sample"``) or the velocity (``"velocity"``)."""
        return self.net(x_t, t.to(x_t.dtype) / self.config.train_timesteps, obs)

    def decode(self, obs: Tensor, z: Tensor) -> Tensor:
        """DDIM (eta = 0) from ``x_T = z`` to t = 0: ``(*B, obs_dim), (*B, D) -> (*B, D)``."""
        batch = check_pair(obs, self.obs_dim, z, "z", "latent_dim", self.latent_dim)
        o = obs.reshape(-1, self.obs_dim)
        x = z.reshape(-1, self.latent_dim)
        ab = self.alpha_bars.to(x.dtype)
        for t, t_prev in zip(self._chain[:-1], self._chain[1:], strict=True):
            tt = x.new_full((x.shape[0],), float(t))
            if self.config.prediction == "sample":
                x = ddim_step_from_x0(x, self.eps(x, tt, o), ab[t], ab[t_prev], self.config.clip_x0)
            elif self.config.prediction == "velocity":
                x0 = x0_from_velocity(x, self.eps(x, tt, o), ab[t])
                x = ddim_step_from_x0(x, x0, ab[t], ab[t_prev], self.config.clip_x0)
            else:
                x = ddim_step(x, self.eps(x, tt, o), ab[t], ab[t_prev], self.config.clip_x0)
        return x.reshape(*batch, self.action_dim)

    def loss(
        self, obs: Tensor, action: Tensor, generator: Generator | None = None, noise: Tensor | None = None
    ) -> Tensor:
        """DDPM loss ``mean ||eps_net(x_t, t, s) - eps||^2`` over ``pairs_per_sample`` draws per pair.

        ``noise (*B, D)``: the noise each action is paired with (coupled pairs: the standardised latent
        that produced it, so that DDIM from ``x_T = noise`` retraces the pair); None draws it independently.
        """
        check_pair(obs, self.obs_dim, action, "action", "action_dim", self.action_dim)
        p = self.config.pairs_per_sample
        a = action.reshape(-1, self.action_dim).repeat(p, 1)
        o = obs.reshape(-1, self.obs_dim).repeat(p, 1)
        t = draw_int(1, self.config.train_timesteps + 1, (a.shape[0],), a, generator)
        if noise is None:
            eps = draw_normal(tuple(a.shape), a, generator)
        else:
            check_pair(obs, self.obs_dim, noise, "noise", "latent_dim", self.latent_dim)
            eps = noise.reshape(-1, self.latent_dim).repeat(p, 1)
        ab = self.alpha_bars.to(a.dtype)[t]
        x_t = q_sample(a, eps, ab)
        pred = self.config.prediction
        target = eps if pred == "epsilon" else a if pred == "sample" else velocity_target(a, eps, ab)
        return mse(self.eps(x_t, t, o), target)

    def standardize_to(self, obs: Tensor) -> None:
        """With ``obs_norm="fit"``, the net reads observations standardised like ``obs (N, obs_dim)``
        (``fit_decoder`` passes its training states); otherwise a no-op."""
        self.net.standardize_to(obs)

    def reset_parameters(self) -> None:
        """Re-initialises the noise net (PyTorch's default init) and its standardisation."""
        reinit_(self.net)
        self.net.reset_standardization()
