"""Methods by name: everything a run needs besides the task, at two scales.

A method names the optimiser and its preset, the encoder, and the schedule (decoder, stages, per-stage
overrides, encoder resets). It has two scales: ``paper`` (the official GPU-scale settings) and ``cpu``
(sample-efficient settings for a few CPU cores; ``docs/ppo.md``). Built in:

* ``ppo``: Gaussian (tanh-normal) PPO: identity decoder, one stage.
* ``gorl-<decoder>`` (``gorl-fm`` = flow, ``gorl-diff`` = diffusion): GoRL with PPO on the encoder.
* ``sac``: Gaussian (tanh-normal) SAC: identity decoder, one stage.
* ``gorl-sac-<decoder>`` (``gorl-sac-fm``, ``gorl-sac-diff``): GoRL with SAC on the encoder.
* ``fpo``, ``dppo``: the paper's generative baselines: a flow policy trained in action space (FPO's
  CFM-loss ratios, DPPO's per-step denoising ratios), driven by the parameter-free prior encoder.

``gorl-<d>`` and ``gorl-sac-<d>`` work for any registered decoder ``d``. Users register more with
``register(name)`` on a function ``(scale) -> MethodSpec``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import gorl.decoders as decoders
from gorl.registry import Registry, RegistryError

Scale = Literal["cpu", "paper"]
ALIASES = {"fm": "flow", "diff": "diffusion"}


@dataclass(frozen=True)
class MethodSpec:
    """Defaults a method puts on a run (the run's config overrides them).

    Attributes:
        optimizer: a name in ``gorl.algos.registry``.
        preset: the optimiser's preset.
        optimizer_overrides: fields set on top of the preset.
        encoder: a name in ``gorl.encoders``.
        encoder_options: the encoder's options (the run's ``encoder:`` fields override them).
        schedule: ``ScheduleConfig`` fields.
    """

    optimizer: str
    preset: str
    optimizer_overrides: dict[str, Any] = field(default_factory=dict)
    encoder: str = "gaussian"
    encoder_options: dict[str, Any] = field(default_factory=dict)
    schedule: dict[str, Any] = field(default_factory=dict)


REGISTRY: Registry[Callable[[Scale], MethodSpec]] = Registry("method", "gorl.methods")
ONE_STAGE: dict[str, Any] = {"decoder": None, "stage_fractions": [1.0], "stage_overrides": [{}]}
# refits sized for a CPU (docs/gorl.md has the measurements, benchmarks/refit_fidelity.py): coupled pairs
# (each action with the standardised latent that drew it), one action per state over 16,384 states,
# 2,000 steps of 1,024 at lr 1e-3; the refit data comes from the stage's last encoder; the encoder keeps
# its hidden layers when it returns to the prior. The official code
# uses 4,096 episodes and 50k steps of 8,192 with independent pairs; the paper scale keeps that pairing.
CPU_REFIT: dict[str, Any] = {
    "decoder_pairs": 16_384,
    "pairing": "auto",  # coupled with every built-in decoder; a decoder that cannot couple gets independent
    # one action per state over 16,384 distinct states rather than 4 over 4,096: the decoders extrapolate
    # better to the states the next stage visits (cheetah-run's mean error there 0.200 -> 0.145 flow,
    # 0.240 -> 0.169 diffusion, benchmarks/results/refit_reach.md). On the paired suite's 18 pairs, against
    # 4 actions: diffusion IQM +0.015 [-0.001, +0.045] after the first refit; flow +0.004 [-0.007, +0.019]
    # after, +0.025 [-0.018, +0.071] final, and against ppo +0.021 [+0.009, +0.043] after, +0.061
    # [+0.021, +0.111] final (docs/gorl.md, "One action per refit state")
    "actions_per_state": 1,
    # 2,000 steps: late refits (narrower, fitted data policies) kept 0.38 / 0.28 / 0.15 mean error at
    # 1,000 on finger-spin / hopper-stand / fish-swim, 0.24 on finger-spin at 2,000, 0.21 at 3,000
    # (benchmarks/results/late_refit.md)
    "fit": {"steps": 2000, "batch_size": 1024, "lr": 1e-3},
    "data_from_best": False,
    # the encoder returns to the exact prior by subtracting a frozen copy of itself, loc scaled by 1 / the
    # data policy's spread: every weight keeps training and a step moves the action as far as in stage 0.
    # Fresh hidden layers, or kept ones under a zeroed head, left stage 1 moving the policy less per
    # iteration than ppo (clip fraction 0.127 against 0.174 on 10 runs over 6 tasks); anchored 0.179, and
    # its stage-1 training return paired with ppo +0.004 [-0.000, +0.009] against -0.002 for kept layers
    # (benchmarks/results/stage_screen.md, docs/gorl.md)
    "encoder_reset": "anchored",
}
# the encoder's settings in GoRL(PPO)'s stages after the first refit, at cpu scale
CPU_LATER_STAGES: dict[str, Any] = {"penalty_coef": 1e-3}
# GoRL(SAC)'s refits fit longer and faster: a SAC policy is near-deterministic, and 500 steps at 3e-4 left
# the flow underfitted (a refit kept 16-25% of a 441 return on cheetah-run; 8,000 steps at 1e-3 keep 84-87%,
# as 20,000 at 3e-4 do: benchmarks/refit_budget.py, docs/sac.md). About 90 s per refit on one core.
# Coupled pairs, one action per state over 16,384 states: on the late refits where GoRL(SAC) lost its
# return (the second refit of walker-walk and hopper-stand, seed 0) they fit SAC's near-deterministic
# policy better than independent pairs on every measure, mean error 0.211 / 0.077 of its spread against
# 0.276 / 0.111, spread ratio 1.04 / 1.01 against 0.90 / 0.88, walker-walk's return kept 0.95 against
# 0.78 (benchmarks/results/sac_late_refit.md, docs/sac.md). 4 actions per state (4,096 states) fit
# worse (benchmarks/results/sac_refit_pairs.md).
SAC_CPU_REFIT: dict[str, Any] = {
    "decoder_pairs": 16_384,
    "pairing": "auto",
    "fit": {"steps": 8_000, "batch_size": 1024, "lr": 1e-3},
}


def register(name: str) -> Callable[[Any], Any]:
    """Decorator: registers a function ``(scale) -> MethodSpec`` under ``name``."""
    return REGISTRY.register(name)


# Gaussian PPO on a CPU: the cpu preset with TorchRL's PPO recipe's initialisation (pytorch/rl
# sota-implementations/ppo/utils_mujoco.py): orthogonal layers, gain 1 for the policy (its mean starts
# state-dependent) and 0.01 for the value, Adam eps 1e-5; on GoRL's own 4x32 SiLU network. docs/ppo.md has
# the 5-seed ablation that chose it (the recipe's 64x64 tanh nets and lr decay too won on cheetah-run and
# lost on walker-walk).
CPU_PPO: dict[str, Any] = {
    "penalty_coef": 0.0,
    "critic_init": "orthogonal",
    "critic_init_gain": 0.01,
    "adam_eps": 1e-5,
}
CPU_PPO_ENCODER: dict[str, Any] = {"init": "orthogonal", "init_head_gain": 1.0}
# SAC's actor (the encoder, for Gaussian SAC and GoRL(SAC) alike): TorchRL's SAC recipe's 256x256 ReLU
# MLP (pytorch/rl sota-implementations/sac/config.yaml) instead of GoRL's 4x32 SiLU network, which held
# Gaussian SAC on walker-walk to 653 at 100k env steps where this one reached 961 (docs/sac.md)
SAC_ENCODER: dict[str, Any] = {"hidden": [256, 256], "activation": "relu"}


@register("ppo")
def _ppo(scale: Scale) -> MethodSpec:
    """Gaussian (tanh-normal) PPO: identity decoder, one stage; Playground settings at paper scale, the
    cpu preset with TorchRL's recipe initialisation at cpu scale."""
    if scale == "paper":
        return MethodSpec("ppo", "playground", schedule=ONE_STAGE)
    return MethodSpec("ppo", "cpu", CPU_PPO, encoder_options=CPU_PPO_ENCODER, schedule=ONE_STAGE)


@register("sac")
def _sac(scale: Scale) -> MethodSpec:
    """Gaussian (tanh-normal) SAC: identity decoder, one stage, alpha on the squashed action's entropy."""
    return MethodSpec(
        "sac",
        scale,
        {"penalty_coef": 0.0, "regularizer": "action_entropy"},
        encoder_options=SAC_ENCODER,
        schedule=ONE_STAGE,
    )


# a flow policy trained directly: the prior as encoder, the flow from the start, no refits
FLOW_POLICY: dict[str, Any] = {**ONE_STAGE, "initial_decoder": "flow"}


def _flow_policy(scale: Scale) -> dict[str, Any]:
    """The paper's FPO/DPPO network is a 4x32 SiLU MLP (GoRL paper, appendix E.3); on a CPU gorl keeps
    its flow decoder's 4x64, so that the comparison with GoRL(FM) differs only in the objective."""
    if scale == "paper":
        return {**FLOW_POLICY, "decoder_options": {"hidden": [32, 32, 32, 32]}}
    return FLOW_POLICY


@register("fpo")
def _fpo(scale: Scale) -> MethodSpec:
    """FPO: PPO on a flow policy with ratios from conditional flow-matching losses (one stage)."""
    return MethodSpec("fpo", scale, encoder="prior", schedule=_flow_policy(scale))


@register("dppo")
def _dppo(scale: Scale) -> MethodSpec:
    """DPPO: PPO over the flow's denoising chain, one ratio per step (one stage)."""
    return MethodSpec("dppo", scale, encoder="prior", schedule=_flow_policy(scale))


def _gorl_ppo(decoder: str, scale: Scale) -> MethodSpec:
    """GoRL(PPO). Stage 0 is the method's Gaussian baseline, ``ppo`` at the same scale, setting for
    setting (so a GoRL run and the ``ppo`` run of the same seed share their trajectory up to the first
    refit, and their difference after it is what GoRL's later stages add); later stages take the
    official later-stage settings: clip 0.3 (FM; diffusion 0.15) and penalty 1e-3 at paper scale, the
    penalty alone at cpu scale (``docs/gorl.md`` has the measurements behind the cpu schedule)."""
    base = _ppo(scale)
    schedule: dict[str, Any] = {"decoder": decoder}
    if scale == "paper":
        later = {"clip_epsilon": 0.15 if decoder == "diffusion" else 0.3, "penalty_coef": 1e-3}
        schedule["stage_overrides"] = [{}, later]
    else:
        schedule |= CPU_REFIT | {"stage_overrides": [{}, CPU_LATER_STAGES]}
        # DDIM from a predicted velocity: fitted more faithfully than a predicted action (late refits'
        # spread 1.02-1.06 against 0.91-1.00); on the paired suite the two tie, IQM +0.001 after the refit
        # over 18 pairs (docs/gorl.md, "Velocity prediction"; benchmarks/results/gorl_paired/)
        if decoder == "diffusion":
            schedule["decoder_options"] = {"prediction": "velocity"}
    if decoder == "diffusion" and scale == "paper":  # the official diffusion runs keep the encoder
        schedule["reset_encoder"] = [False]
    return MethodSpec(
        "ppo",
        base.preset,
        base.optimizer_overrides,
        encoder_options=base.encoder_options,
        schedule=schedule,
    )


def _gorl_sac(decoder: str, scale: Scale) -> MethodSpec:
    """GoRL(SAC). Stage 0 is ``sac``'s run setting for setting (no latent penalty, alpha on the squashed
    action's entropy, which the identity decoder makes exact); from the first refit on, alpha weighs the
    latent's KL to N(0, I) and the latent penalty is on (the action's density through a fitted decoder is
    unknown)."""
    base = _sac(scale)
    # sac's settings in stage 0; the optimiser's own config (regulariser 'kl', penalty 1e-3) from stage 1
    schedule: dict[str, Any] = {"decoder": decoder, "stage_overrides": [dict(base.optimizer_overrides), {}]}
    if scale == "cpu":
        schedule |= SAC_CPU_REFIT
    return MethodSpec("sac", base.preset, encoder_options=base.encoder_options, schedule=schedule)


def _decoder(short: str) -> str | None:
    name = ALIASES.get(short, short)
    return name if name in decoders.names() and name != "identity" else None


def get(name: str, scale: Scale = "cpu") -> MethodSpec:
    """The spec of method ``name`` at ``scale``; ``gorl-<d>`` and ``gorl-sac-<d>`` take any decoder."""
    if name in REGISTRY:
        return REGISTRY.get(name)(scale)
    for prefix, build in (("gorl-sac-", _gorl_sac), ("gorl-", _gorl_ppo)):
        if name.startswith(prefix) and (decoder := _decoder(name[len(prefix) :])) is not None:
            return build(decoder, scale)
    raise RegistryError(f"unknown method {name!r}. Known: {', '.join(names())}")


def names() -> list[str]:
    """Every method name that ``get`` accepts (decoders by their short names where they have one)."""
    short = {v: k for k, v in ALIASES.items()}
    decs = [short.get(d, d) for d in decoders.names() if d != "identity"]
    return sorted(set(REGISTRY.names()) | {f"gorl-{d}" for d in decs} | {f"gorl-sac-{d}" for d in decs})
