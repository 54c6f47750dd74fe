"""SAC's losses on plain tensors: the latent draw, its score, the TD(0) target and the three losses.

The same math as TorchRL's ``SACLoss`` (v2, ``num_qvalue_nets=2``, TD(0), no priority weights) with the
actor distribution of ``networks.LatentSample``; ``gorl.algos.sac.reference`` builds that ``SACLoss``
from the same parts and ``tests/algos/sac/test_sac_losses.py`` checks that both give the same losses and
gradients on a fixed batch. With alpha = exp(log alpha) (a constant in the actor and target terms):

    y          = r + gamma (1 - terminated) (min_i Qtarg_i(s', x~') - alpha score(s', z~'))   (no grad)
    loss_q     = mean_B sum_i d(Q_i(s, x), y)            d: squared error or smooth L1
    loss_actor = mean_B (alpha score(s, z~) - min_i Q_i(s, x~))   (critic weights detached)
    loss_alpha = mean_B -log(alpha) (score(s, z~) + target_entropy)   (score detached)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# (obs (B, obs_dim), x (B, x_dim)) -> Q of every member (E, B)
QFn = Callable[[Tensor, Tensor], Tensor]
# obs (B, obs_dim) -> a reparameterised draw
DrawFn = Callable[[Tensor], "Draw"]


@dataclass(frozen=True)
class Draw:
    """A reparameterised draw of the latent policy at B states.

    Attributes:
        x: what the critic reads, z or squash(decode(s, z)), ``(B, x_dim)``.
        score: the draw's score, ``(B,)`` (``latent_score``).
        loc, scale: the encoder's parameters at the states, ``(B, latent_dim)`` (with their graph).
    """

    x: Tensor
    score: Tensor
    loc: Tensor
    scale: Tensor


@dataclass(frozen=True)
class Batch:
    """B replay transitions as plain tensors.

    Attributes:
        obs, next_obs: ``(B, obs_dim)`` (normalised when the run normalises).
        x: the stored critic input, z or the env action, ``(B, x_dim)``.
        reward: ``(B,)`` (reward-scaled).
        terminated: ``(B,)`` float, 1 where bootstrapping stops.
    """

    obs: Tensor
    x: Tensor
    reward: Tensor
    next_obs: Tensor
    terminated: Tensor


@dataclass(frozen=True)
class Losses:
    """The update's scalars; ``alpha``, ``entropy`` and ``q_policy`` carry no gradient.

    Attributes:
        loss_actor, loss_qvalue, loss_alpha: the three losses.
        alpha: exp(log alpha).
        entropy: minus the mean score of the actor's draws.
        q_policy: mean over the batch of min_i Q_i(s, x~).
        actor_draw: the actor term's draw at s (its loc and scale serve the prior penalty).
    """

    loss_actor: Tensor
    loss_qvalue: Tensor
    loss_alpha: Tensor
    alpha: Tensor
    entropy: Tensor
    q_policy: Tensor
    actor_draw: Draw


def latent_score(
    z: Tensor,
    eps: Tensor,
    scale: Tensor,
    relative_to_prior: bool = False,
    squash_bounds: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """Score of ``z = loc + scale * eps``: ``(B, d)`` each -> ``(B,)``.

    ``log N(z; loc, scale) = sum_i -eps_i^2 / 2 - log scale_i - log(2 pi) / 2``; minus
    ``log N(z; 0, I) = sum_i -z_i^2 / 2 - log(2 pi) / 2`` when ``relative_to_prior`` (a one-sample KL
    estimate); minus ``sum_i log |d squash / dz_i|`` with ``squash_bounds = (low, high)`` (the density of
    the squashed z: standard tanh-Gaussian SAC), ``log(1 - tanh^2 z) = 2 (log 2 - z - softplus(-2 z))``.
    """
    log_det_scale = scale.log()
    if relative_to_prior:  # the log(2 pi) halves cancel
        score = (0.5 * (z.pow(2) - eps.pow(2)) - log_det_scale).sum(-1)
    else:
        score = (-0.5 * eps.pow(2) - log_det_scale - _HALF_LOG_2PI).sum(-1)
    if squash_bounds is not None:
        score = score - squash_log_det(z, squash_bounds)
    return score


def squash_log_det(raw: Tensor, bounds: tuple[Tensor, Tensor]) -> Tensor:
    """``sum_i log |d squash / d raw_i|`` at ``raw (B, A)`` -> ``(B,)`` for ``gorl.squash.squash`` into
    ``bounds = (low, high)``: ``log(1 - tanh^2 u) = 2 (log 2 - u - softplus(-2 u))`` plus
    ``log((high - low) / 2)`` per dimension."""
    low, high = bounds
    log_det = 2.0 * (math.log(2.0) - raw - nn.functional.softplus(-2.0 * raw)) + ((high - low) / 2).log()
    return log_det.sum(-1)


def td0_target(batch: Batch, draw: DrawFn, q_target: QFn, alpha: Tensor, gamma: float) -> Tensor:
    """``y = r + gamma (1 - terminated) (min_i Qtarg_i(s', x~') - alpha score(s', z~'))``, ``(B,)``,
    without gradient."""
    with torch.no_grad():
        nxt = draw(batch.next_obs)
        value = q_target(batch.next_obs, nxt.x).min(0).values - alpha * nxt.score
        return batch.reward + gamma * (1.0 - batch.terminated) * value


def sac_losses(
    batch: Batch,
    draw: DrawFn,
    q: QFn,
    q_frozen: QFn,
    q_target: QFn,
    log_alpha: Tensor,
    *,
    gamma: float,
    target_entropy: float,
    loss_function: str = "l2",
) -> Losses:
    """The three SAC losses of the module docstring on ``batch``.

    Args:
        batch: B transitions.
        draw: the policy's reparameterised draw (fresh noise at every call: first for the target at s',
            then for the actor at s, the order ``SACLoss`` draws in).
        q: the online critics, with gradient to their weights.
        q_frozen: the same critics with their weights detached (gradient flows to x only).
        q_target: the target critics.
        log_alpha: scalar parameter.
        gamma: discount.
        target_entropy: alpha drives mean(score) toward ``-target_entropy``.
        loss_function: ``"l2"`` (squared error) or ``"smooth_l1"``.
    """
    alpha = log_alpha.detach().exp()
    y = td0_target(batch, draw, q_target, alpha, gamma)
    pred = q(batch.obs, batch.x)  # (E, B)
    target = y.expand_as(pred)
    if loss_function == "l2":
        dist = (pred - target).pow(2)
    elif loss_function == "smooth_l1":
        dist = nn.functional.smooth_l1_loss(pred, target, reduction="none")
    else:
        raise ValueError(f"unknown loss_function {loss_function!r}; use 'l2' or 'smooth_l1'")
    loss_q = dist.sum(0).mean()
    new = draw(batch.obs)
    q_new = q_frozen(batch.obs, new.x).min(0).values
    loss_actor = (alpha * new.score - q_new).mean()
    score = new.score.detach()
    loss_alpha = (-log_alpha * (score + target_entropy)).mean()
    return Losses(
        loss_actor=loss_actor,
        loss_qvalue=loss_q,
        loss_alpha=loss_alpha,
        alpha=alpha,
        entropy=-score.mean(),
        q_policy=q_new.detach().mean(),
        actor_draw=new,
    )
