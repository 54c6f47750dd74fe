"""Supervised fitting of a generative decoder on (observation, unsquashed action) pairs.

``fit_decoder(decoder, obs, actions, FitConfig())`` runs Adam on ``decoder.loss`` over shuffled
minibatches (with ``noise=``, each action keeps the noise it is paired with: coupled pairs), evaluates a
held-out split every ``eval_every`` steps (with the same noise draws each time, so evaluations compare
like with like), and restores the best-by-validation weights at the end, as the
official code picks its decoder checkpoint by validation loss. It returns a ``FitReport``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from pydantic import Field
from torch import Tensor
from tqdm.auto import tqdm

from gorl.config import Config
from gorl.interfaces.decoder import GenerativeDecoder, ObservationStandardizing


class FitConfig(Config):
    """Decoder training settings (defaults: the official lr and batch size)."""

    lr: float = Field(3e-4, gt=0, le=1.0, description="Adam learning rate (official 3e-4)")
    lr_schedule: Literal["constant", "cosine"] = Field(
        "constant", description="constant (official) or cosine: from lr down to 0 over the fit's steps"
    )
    batch_size: int = Field(8192, ge=1, description="minibatch size, clamped to the training-split size")
    steps: int = Field(2000, ge=1, description="gradient steps (ignored when epochs is set)")
    epochs: int | None = Field(
        None, ge=1, description="passes over the training split; overrides steps when set (paper: 50)"
    )
    val_fraction: float = Field(
        0.1, ge=0.0, lt=1.0, description="share of pairs held out for validation; 0 disables it"
    )
    eval_every: int = Field(100, ge=1, description="validation period in gradient steps (and at the end)")
    seed: int = Field(0, ge=0, description="seeds the split, the minibatch order and the loss noise")
    progress: bool = Field(True, description="show a tqdm progress bar")
    grad_clip: float | None = Field(None, gt=0, description="global gradient-norm clip; None: no clip")


@dataclass
class FitReport:
    """What a fit did. Empty (no steps) for an untrainable decoder.

    Attributes:
        train_losses: the minibatch loss at every gradient step.
        val_steps: the step count after which each validation ran.
        val_losses: the validation loss at each of ``val_steps``.
        best_step: the step whose weights were kept (the last step when validation is off).
        best_val_loss: the validation loss of the kept weights (NaN when validation is off).
        final_val_loss: the validation loss of the decoder as returned (equals best_val_loss).
        wall_time: seconds spent in ``fit_decoder``.
    """

    train_losses: list[float] = field(default_factory=list)
    val_steps: list[int] = field(default_factory=list)
    val_losses: list[float] = field(default_factory=list)
    best_step: int = 0
    best_val_loss: float = math.nan
    final_val_loss: float = math.nan
    wall_time: float = 0.0

    @property
    def steps(self) -> int:
        """Gradient steps taken."""
        return len(self.train_losses)

    def summary(self) -> dict[str, Any]:
        """A JSON-friendly digest for logs (no per-step lists)."""
        return {
            "fit_steps": self.steps,
            "fit_first_train_loss": self.train_losses[0] if self.train_losses else math.nan,
            "fit_last_train_loss": self.train_losses[-1] if self.train_losses else math.nan,
            "fit_best_step": self.best_step,
            "fit_best_val_loss": self.best_val_loss,
            "fit_final_val_loss": self.final_val_loss,
            "fit_wall_time": self.wall_time,
        }


def _split(n: int, val_fraction: float, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Shuffled train/validation index tensors (CPU, int64)."""
    perm = torch.randperm(n, generator=generator)
    n_val = round(n * val_fraction) if val_fraction > 0 else 0
    if val_fraction > 0 and n_val == 0:
        n_val = 1
    if n - n_val < 1:
        raise ValueError(f"{n} pairs leave no training data after a val_fraction={val_fraction} split")
    return perm[n_val:], perm[:n_val]


@torch.no_grad()
def _val_loss(
    decoder: GenerativeDecoder, obs: Tensor, actions: Tensor, noise: Tensor | None, batch: int, seed: int
) -> float:
    """Pair-weighted mean loss over ``obs``/``actions`` in chunks, with fixed draws from ``seed``."""
    gen = torch.Generator(device=obs.device).manual_seed(seed)
    total, n = 0.0, obs.shape[0]
    for i in range(0, n, batch):
        kw = {} if noise is None else {"noise": noise[i : i + batch]}
        chunk = decoder.loss(obs[i : i + batch], actions[i : i + batch], generator=gen, **kw)
        total += float(chunk) * min(batch, n - i)
    return total / n


def fit_decoder(
    decoder: GenerativeDecoder,
    obs: Tensor,
    actions: Tensor,
    config: FitConfig,
    noise: Tensor | None = None,
) -> FitReport:
    """Fits ``decoder`` on pairs ``obs (N, obs_dim)``, ``actions (N, action_dim)`` (unsquashed).

    ``noise (N, latent_dim)``: coupled pairs, each action trained against its own noise (the decoder's
    ``couples`` trait must be True); None: the decoder draws independent noise.

    Returns at once with an empty report when ``decoder.trainable`` is False. Otherwise trains in place
    and leaves the best-by-validation weights loaded (the final weights when validation is off).

    Raises:
        ValueError: mismatched lengths or widths, or too few pairs for the split.
        RuntimeError: a non-finite training loss (the message gives the step).
    """
    t0 = time.perf_counter()
    if not decoder.trainable:
        return FitReport(wall_time=time.perf_counter() - t0)
    if obs.dim() != 2 or actions.dim() != 2:
        raise ValueError(
            f"fit_decoder needs obs (N, obs_dim) and actions (N, action_dim), got shapes "
            f"{tuple(obs.shape)} and {tuple(actions.shape)}"
        )
    if obs.shape[0] != actions.shape[0]:
        raise ValueError(f"obs has {obs.shape[0]} rows but actions has {actions.shape[0]}; they must match")
    if obs.shape[1] != decoder.obs_dim or actions.shape[1] != decoder.action_dim:
        raise ValueError(
            f"obs width {obs.shape[1]} / actions width {actions.shape[1]} do not match the decoder's "
            f"obs_dim={decoder.obs_dim} / action_dim={decoder.action_dim}"
        )
    if obs.shape[0] == 0:
        raise ValueError("fit_decoder got no pairs")
    if noise is not None:
        if not decoder.couples:
            raise ValueError(
                f"{type(decoder).__name__} does not couple (its couples trait is False): fit it on "
                "independent pairs (noise=None, schedule.pairing='independent')"
            )
        if noise.shape != (obs.shape[0], decoder.latent_dim):
            raise ValueError(
                f"noise has shape {tuple(noise.shape)}, expected ({obs.shape[0]}, {decoder.latent_dim})"
            )
    module: torch.nn.Module = decoder  # type: ignore[assignment]
    gen = torch.Generator().manual_seed(config.seed)
    train_idx, val_idx = _split(obs.shape[0], config.val_fraction, gen)
    device = obs.device
    obs_tr, act_tr = obs[train_idx.to(device)], actions[train_idx.to(device)]
    obs_va, act_va = obs[val_idx.to(device)], actions[val_idx.to(device)]
    if isinstance(decoder, ObservationStandardizing):  # before the fit, on the states it trains on
        decoder.standardize_to(obs_tr)
    noise_tr = None if noise is None else noise[train_idx.to(device)]
    noise_va = None if noise is None else noise[val_idx.to(device)]
    n_train = obs_tr.shape[0]
    batch = min(config.batch_size, n_train)
    per_epoch = math.ceil(n_train / batch)
    total = config.epochs * per_epoch if config.epochs is not None else config.steps
    # loss noise comes from a generator on the data's device (a CPU generator cannot feed CUDA draws)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    val_seed = config.seed + 2
    use_val = obs_va.shape[0] > 0

    opt = torch.optim.Adam(module.parameters(), lr=config.lr)
    anneal = config.lr_schedule == "cosine"
    report = FitReport()
    best_state: dict[str, Tensor] | None = None
    module.train()
    perm = torch.empty(0, dtype=torch.long)
    bar = tqdm(total=total, desc="decoder fit", disable=not config.progress, leave=False)
    try:
        for step in range(1, total + 1):
            pos = ((step - 1) % per_epoch) * batch
            if pos == 0:
                perm = torch.randperm(n_train, generator=gen).to(device)
            idx = perm[pos : pos + batch]
            kw = {} if noise_tr is None else {"noise": noise_tr[idx]}  # a non-coupling loss needs no noise=
            loss = decoder.loss(obs_tr[idx], act_tr[idx], generator=noise_gen, **kw)
            value = float(loss.detach())
            if not math.isfinite(value):
                raise RuntimeError(
                    f"decoder loss became non-finite ({value}) at step {step} of {total}; "
                    "lower the learning rate, set grad_clip, or check the data for NaN/inf"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
            if anneal:  # the lr of this step: cosine from lr at step 1 to 0 after the last
                for group in opt.param_groups:
                    group["lr"] = 0.5 * config.lr * (1.0 + math.cos(math.pi * (step - 1) / total))
            opt.step()
            report.train_losses.append(value)
            if use_val and (step % config.eval_every == 0 or step == total):
                val = _val_loss(decoder, obs_va, act_va, noise_va, batch, val_seed)
                report.val_steps.append(step)
                report.val_losses.append(val)
                if math.isfinite(val) and not val >= report.best_val_loss:  # best starts as NaN
                    report.best_val_loss, report.best_step = val, step
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                bar.set_postfix(loss=f"{value:.4f}", val=f"{val:.4f}")
            bar.update(1)
    finally:
        bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
        report.final_val_loss = report.best_val_loss
    else:
        report.best_step = total
    report.wall_time = time.perf_counter() - t0
    return report
