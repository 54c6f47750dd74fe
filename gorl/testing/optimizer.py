"""The conformance check of a registered latent optimiser (``gorl.interfaces.optimizer``)."""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

import torch

import gorl.algos as algos
import gorl.decoders as decoders
import gorl.encoders as encoders
from gorl.algos.registry import mutable_fields
from gorl.composite import CompositePolicy
from gorl.envs import make_env
from gorl.interfaces.optimizer import LatentOptimizer
from gorl.interfaces.policy import ActingPolicy


def _setup(name: str, config: Any, task: str, seed: int) -> tuple[Any, CompositePolicy, Any]:
    torch.manual_seed(seed)
    env = make_env(task, config.num_envs, seed=seed, episode_length=20)
    if algos.spec(name).trains == "encoder":
        encoder = encoders.make("gaussian", obs_dim=env.obs_dim, latent_dim=env.action_dim, hidden=[16, 16])
    else:  # an action-space optimiser: its policy is the flow driven by the prior
        encoder = encoders.make("prior", obs_dim=env.obs_dim, latent_dim=env.action_dim)
    # a trainable decoder, so the check can see that a latent optimiser leaves it alone (and an
    # action-space one trains it)
    decoder = decoders.make("flow", obs_dim=env.obs_dim, action_dim=env.action_dim, hidden=[16, 16])
    policy = CompositePolicy(encoder, decoder, env.action_low, env.action_high)
    return env, policy, algos.make(name, env, policy, config)


def _params(module: Any) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def _bind(
    learner: Any, policy: ActingPolicy, overrides: Mapping[str, Any], stage_end: int, **kw: Any
) -> None:
    """``bind`` as the Trainer calls it: ``(policy, overrides, stage_end)``, after a refit also
    ``new_decoder=True``; a signature that cannot take that fails the check."""
    try:
        learner.bind(policy, dict(overrides), stage_end, **kw)
    except TypeError as e:
        raise AssertionError(
            f"bind(policy, overrides, stage_end{', new_decoder=True' if kw else ''}) failed as the Trainer "
            f"calls it (gorl.interfaces.optimizer): {e}"
        ) from e


def check_latent_optimizer(
    name: str,
    *,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    task: str = "cheetah-run",
    seed: int = 0,
    pairs: int = 64,
) -> None:
    """Checks registered optimiser ``name`` (its config: ``preset`` < ``overrides``; keep it small).

    Properties: protocol membership; ``bind`` called as the Trainer calls it (``(policy, overrides,
    stage_end)``, and with ``new_decoder=True`` after a refit) then ``iterate`` raises ``env_steps`` and
    returns finite float metrics; the weights of the part the optimiser trains (``spec(name).trains``: the
    encoder, or the decoder for action-space optimisers) change and the other part's do not;
    ``decoder_data(pairs)`` gives at most ``pairs`` finite pairs of the right widths without counting env
    steps (the refit clips the raw actions: ``ScheduleConfig.raw_action_clip``); ``state_dict`` round trip:
    a fresh optimiser loaded from a snapshot continues exactly like the original (metrics and weights
    equal bit for bit, on the CPU); a latent optimiser bound again after its decoder was re-initialised
    (``new_decoder=True``) goes on collecting. Raises ``AssertionError`` naming the broken property.
    """
    spec = algos.spec(name)
    config = spec.resolve(preset, overrides)
    env, policy, learner = _setup(name, config, task, seed)
    if not isinstance(learner, LatentOptimizer):
        raise AssertionError(f"{type(learner).__name__} does not implement LatentOptimizer")
    stage_end = 10**9  # far away: a stage schedule (lr decay) stays near its start
    _bind(learner, policy, {}, stage_end)
    enc0, dec0 = _params(policy.encoder), _params(policy.decoder)
    steps0 = learner.env_steps
    metrics = learner.iterate()
    if not learner.env_steps > steps0:
        raise AssertionError(f"iterate() left env_steps at {learner.env_steps}")
    for k, v in metrics.items():
        if not isinstance(v, float) or not math.isfinite(v):
            raise AssertionError(f"iterate() metric {k!r} is {v!r}, not a finite float")
    trained, frozen = ("encoder", "decoder") if spec.trains == "encoder" else ("decoder", "encoder")
    before = {"encoder": enc0, "decoder": dec0}
    if all(
        torch.equal(a, b) for a, b in zip(before[trained], _params(getattr(policy, trained)), strict=True)
    ):
        raise AssertionError(f"iterate() did not change the {trained}'s weights")
    if not all(
        torch.equal(a, b) for a, b in zip(before[frozen], _params(getattr(policy, frozen)), strict=True)
    ):
        raise AssertionError(f"iterate() changed the {frozen}'s weights: the {frozen} must stay frozen")
    steps = learner.env_steps
    obs, act = learner.decoder_data(pairs)
    if learner.env_steps != steps:
        raise AssertionError("decoder_data() counted its env steps as training steps")
    if not (0 < obs.shape[0] <= pairs and obs.shape == (act.shape[0], env.obs_dim)):
        raise AssertionError(f"decoder_data({pairs}) gave obs {tuple(obs.shape)}, actions {tuple(act.shape)}")
    if act.shape[1] != env.action_dim or not (torch.isfinite(obs).all() and torch.isfinite(act).all()):
        raise AssertionError(f"decoder_data() actions {tuple(act.shape)} or values are not as required")

    # round trip: snapshot, continue; a fresh optimiser loaded from the snapshot must continue alike
    snapshot = copy.deepcopy(learner.state_dict())
    enc_state, rng = copy.deepcopy(policy.encoder.state_dict()), torch.get_rng_state()
    dec_state = copy.deepcopy(policy.decoder.state_dict())
    steps_at_snapshot = learner.env_steps
    ref_metrics, ref_weights = learner.iterate(), _params(policy.encoder) + _params(policy.decoder)
    _, policy2, learner2 = _setup(
        name, config, task, seed + 1
    )  # different seed: all must come from the state
    policy2.decoder.load_state_dict(dec_state)
    policy2.encoder.load_state_dict(enc_state)
    _bind(learner2, policy2, {}, stage_end)
    learner2.load_state_dict(snapshot)
    torch.set_rng_state(rng)
    if learner2.env_steps != steps_at_snapshot:
        raise AssertionError(
            f"load_state_dict restored env_steps {learner2.env_steps}, not {steps_at_snapshot}"
        )
    metrics2 = learner2.iterate()
    if metrics2 != ref_metrics:
        keys = set(ref_metrics) | set(metrics2)
        diff = {
            k: (ref_metrics.get(k), metrics2.get(k)) for k in keys if ref_metrics.get(k) != metrics2.get(k)
        }
        raise AssertionError(f"after load_state_dict the next iterate() differs: {diff}")
    weights2 = _params(policy2.encoder) + _params(policy2.decoder)
    if not all(torch.equal(a, b) for a, b in zip(ref_weights, weights2, strict=True)):
        raise AssertionError(f"after load_state_dict the next iterate() left different {trained} weights")

    # a refit: the schedule binds the new decoder with new_decoder=True; the optimiser goes on with it
    if spec.trains == "encoder":
        torch.manual_seed(seed + 2)
        policy.decoder.reset_parameters()
        _bind(learner, policy, {}, stage_end, new_decoder=True)
        steps = learner.env_steps
        learner.iterate()
        if not learner.env_steps > steps:
            raise AssertionError(f"after bind(..., new_decoder=True) iterate() left env_steps at {steps}")


def _candidates(annotation: Any, current: Any) -> list[Any]:
    """Values of a field's type other than ``current``, most ordinary first (the config validates them)."""
    origin = get_origin(annotation)
    if origin is Literal:
        return [v for v in get_args(annotation) if v != current]
    if origin in (Union, types.UnionType):
        out = [v for a in get_args(annotation) if a is not type(None) for v in _candidates(a, current)]
        return out + ([None] if type(None) in get_args(annotation) and current is not None else [])
    if annotation is bool:
        return [not current]
    if annotation is int:
        n = current if isinstance(current, int) else 1
        return [v for v in (n + 1, n * 2, n - 1, 1, 2) if v != current]
    if annotation is float:
        x = float(current) if isinstance(current, (int, float)) else 0.5
        return [v for v in (x * 0.5, x * 2.0, x + 0.1, 0.5, 0.1, 1e-3, 2.0) if v != current]
    if origin is list:
        return [[*current, *current]] if isinstance(current, list) and current else []
    return []


def check_stage_overrides(
    name: str,
    *,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    values: Mapping[str, Any] | None = None,
    task: str = "cheetah-run",
    seed: int = 0,
) -> dict[str, Any]:
    """Checks that a stage override of every field in optimiser ``name``'s ``MUTABLE`` takes effect.

    For each mutable field: a value other than the config's (``values[field]`` if given, else the first
    that the config model accepts among values of the field's type) is passed to ``bind`` as the stage's
    overrides; the optimiser must accept it and its ``config`` (the config in effect) must then equal the
    registered config with that one field changed. A following ``bind`` without overrides must restore
    the registered config. Fields whose only valid value is the config's own (e.g. a coefficient a
    subclass pins to 0) cannot be changed and are returned with the value ``None``.

    Returns:
        ``{field: the override value checked}``, and ``None`` for fields no value could change.

    Raises:
        AssertionError: naming the field whose override was refused or did not reach ``config``.
    """
    spec = algos.spec(name)
    base = spec.resolve(preset, overrides)
    mutable = mutable_fields(spec.config)
    _, policy, learner = _setup(name, base, task, seed)
    checked: dict[str, Any] = {}
    for field in sorted(mutable):
        current = getattr(base, field)
        given = values or {}
        tries = (
            [given[field]]
            if field in given
            else _candidates(spec.config.model_fields[field].annotation, current)
        )
        value: Any = None
        for candidate in tries:
            try:
                spec.check_overrides(base, {field: candidate}, "")
            except ValueError:
                continue
            value = candidate
            break
        else:
            checked[field] = None
            continue
        try:
            _bind(learner, policy, {field: value}, 10**9)
        except ValueError as e:
            raise AssertionError(
                f"bind refused the stage override {field}={value!r}, a MUTABLE field: {e}"
            ) from e
        want = type(base).model_validate({**base.model_dump(), field: value}).model_dump()
        got = learner.config.model_dump()
        if got != want:
            diff = {
                k: (want.get(k), got.get(k)) for k in want.keys() | got.keys() if want.get(k) != got.get(k)
            }
            raise AssertionError(
                f"after bind with the stage override {field}={value!r} the config in effect differs "
                f"(field: (expected, got)): {diff}"
            )
        checked[field] = value
    _bind(learner, policy, {}, 10**9)
    if learner.config.model_dump() != base.model_dump():
        raise AssertionError("bind without overrides did not restore the registered config")
    return checked
