"""Any batched TorchRL env, from a factory: the ``torchrl`` backend.

A factory is a callable ``factory(num_envs, *, seed, device, **kwargs) -> EnvBase`` with
``batch_size=[num_envs]``; gorl adds ``episode_length=`` to the call when a run sets one and the factory
takes it (a factory that does not must build envs whose ``episode_length`` is the one asked for). Name it in a
task as ``"torchrl:<name>"`` after ``register_factory(name)(factory)``, or as ``"torchrl:pkg.module:fn"``
(imported); ``make_env(factory, N)`` takes the callable itself.

``TorchRLBatchEnv`` wraps the env to ``gorl.interfaces.env`` by composition: observation entries that
are not one float32 ``"observation"`` vector are concatenated into one (TorchRL's ``CatTensors``, after
``DoubleToFloat``); ``obs_dim``, ``action_dim``, the action bounds and ``episode_length`` are read from the
specs (and the env's ``episode_length`` attribute or the run's); ``step_and_maybe_reset`` is TorchRL's.
Its resume is restart-only (``exact_resume = False``): ``env_state`` holds the seed and a restart count,
and ``load_env_state`` reseeds the env so that the next ``reset`` starts fresh, deterministic episodes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from gorl.interfaces.keys import OBSERVATION, TERMINATED, TRUNCATED
from gorl.registry import Registry

STATE_FORMAT = 1


@dataclass(frozen=True)
class _Lazy:
    path: str  # "module:function"

    def load(self) -> Callable[..., Any]:
        return load_path(self.path)


FACTORIES: Registry[Any] = Registry("torchrl env factory", "gorl.torchrl_envs")
FACTORIES.add("toy", _Lazy("gorl.testing.toy_env:make_point_mass"))


def register_factory(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: registers an env factory, so tasks ``"torchrl:<name>"`` build it."""
    return FACTORIES.register(name)


def load_path(path: str) -> Callable[..., Any]:
    """The callable a ``"pkg.module:function"`` path names; ValueError if it is none."""
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"a factory path is 'pkg.module:function', got {path!r}")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"torchrl factory {path!r} cannot be imported: {e}") from e
    if not callable(obj):
        raise ValueError(f"torchrl factory {path!r} is a {type(obj).__name__}, not a callable")
    return obj  # type: ignore[no-any-return]


def get_factory(task: str) -> Callable[..., Any]:
    """The factory of a ``torchrl`` task: a registered name or a ``module:function`` path."""
    if ":" in task:
        return load_path(task)
    if task not in FACTORIES:
        raise ValueError(
            f"unknown torchrl env {task!r}: register a factory under that name "
            f"(gorl.envs.register_factory) or give 'pkg.module:function'. Registered: "
            f"{', '.join(FACTORIES.names())}"
        )
    entry = FACTORIES.get(task)
    return entry.load() if isinstance(entry, _Lazy) else entry  # type: ignore[no-any-return]


class TorchRLBatchEnv:
    """A batched TorchRL ``EnvBase`` seen through ``gorl.interfaces.env`` (see the module docstring).

    Args:
        env: the env, ``batch_size=[N]``, a ``Bounded`` action spec ``(N, action_dim)``, done entries
            ``terminated`` and ``truncated``.
        seed: the seed it was built with (restarts derive their seeds from it).
        episode_length: steps per episode; None: ``env.episode_length``.
    """

    exact_resume = False

    def __init__(self, env: Any, *, seed: int = 0, episode_length: int | None = None) -> None:
        from torchrl.envs import EnvBase

        if not isinstance(env, EnvBase):
            raise TypeError(f"a torchrl factory must return an EnvBase, got {type(env).__name__}")
        if len(env.batch_size) != 1:
            raise ValueError(f"gorl needs a batched env with batch_size [N], got {list(env.batch_size)}")
        done_keys = set(env.done_spec.keys())
        missing = {TERMINATED, TRUNCATED} - done_keys
        if missing:
            raise ValueError(
                f"{type(env).__name__} has no {sorted(missing)} done entries: gorl needs terminated and "
                "truncated apart (add TorchRL's StepCounter(max_steps) for a time limit)"
            )
        self.num_envs = int(env.batch_size[0])
        self.env = _observation_vector(env)
        spec = self.env.observation_spec[OBSERVATION]
        self.obs_dim = int(spec.shape[-1])
        action = self.env.action_spec
        if action.shape != (self.num_envs, action.shape[-1]) or not hasattr(action.space, "low"):
            raise ValueError(f"gorl needs a Bounded action spec (N, action_dim), got {action}")
        self.action_dim = int(action.shape[-1])
        low, high = action.space.low, action.space.high
        self.action_low = low.reshape(-1, self.action_dim)[0].to(torch.float32).clone()
        self.action_high = high.reshape(-1, self.action_dim)[0].to(torch.float32).clone()
        if not (torch.isfinite(self.action_low).all() and torch.isfinite(self.action_high).all()):
            raise ValueError(f"gorl needs finite action bounds, got {action}")
        length = episode_length if episode_length is not None else getattr(env, "episode_length", None)
        if not isinstance(length, int) or length < 1:
            raise ValueError(
                f"{type(env).__name__} declares no episode_length: give one (TrainConfig.episode_length)"
            )
        self.episode_length = length
        self.device = self.env.device
        self.batch_size = self.env.batch_size
        self.seed, self._restarts = seed, 0

    def reset(self, *args: Any, **kwargs: Any) -> Any:
        return self.env.reset(*args, **kwargs)

    def step_and_maybe_reset(self, tensordict: Any) -> tuple[Any, Any]:
        return self.env.step_and_maybe_reset(tensordict)  # type: ignore[no-any-return]

    def step(self, tensordict: Any) -> Any:
        return self.env.step(tensordict)

    def env_state(self) -> dict[str, Any]:
        return {"format": STATE_FORMAT, "exact": False, "seed": self.seed, "restarts": self._restarts}

    def load_env_state(self, state: dict[str, Any]) -> None:
        """Reseeds the env from the saved restart count; the next ``reset`` starts fresh episodes."""
        if state.get("format") != STATE_FORMAT or state.get("exact") is not False:
            raise ValueError(f"not a torchrl env state (format {state.get('format')!r})")
        self.seed, self._restarts = int(state["seed"]), int(state["restarts"])
        seed = (
            self.seed
            if self._restarts == 0
            else int(np.random.SeedSequence([self.seed, self._restarts]).generate_state(1)[0])
        )
        self.env.set_seed(seed)
        self._restarts += 1

    def close(self) -> None:
        self.env.close()


def _observation_vector(env: Any) -> Any:
    """``env``, or ``env`` with transforms giving it one float32 ``(N, d)`` ``"observation"`` entry."""
    from torchrl.envs import CatTensors, Compose, DoubleToFloat, TransformedEnv

    spec = env.observation_spec
    keys = list(spec.keys(True, True))
    for k in keys:
        if len(spec[k].shape) != 2 or not spec[k].dtype.is_floating_point:
            raise ValueError(
                f"observation entry {k!r} has shape {tuple(spec[k].shape)}, dtype {spec[k].dtype}: gorl "
                "takes float vectors (N, d); flatten others in the factory (TorchRL's FlattenObservation)"
            )
    transforms = []
    doubles = [k for k in keys if spec[k].dtype == torch.float64]
    if doubles:
        transforms.append(DoubleToFloat(in_keys=doubles))
    if keys != [OBSERVATION]:
        transforms.append(CatTensors(in_keys=keys, out_key=OBSERVATION, del_keys=True))
    return TransformedEnv(env, Compose(*transforms)) if transforms else env


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` takes a keyword argument ``name`` (or ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def from_factory(
    factory: Callable[..., Any],
    num_envs: int,
    *,
    seed: int = 0,
    device: Any = "cpu",
    episode_length: int | None = None,
    **kwargs: Any,
) -> TorchRLBatchEnv:
    """Builds ``factory(num_envs, seed=, device=, **kwargs)`` (and ``episode_length=`` when given and the
    factory takes it) and wraps it; checks its batch size and episode length."""
    takes_length = _accepts(factory, "episode_length")
    extra = {} if episode_length is None or not takes_length else {"episode_length": episode_length}
    env = factory(num_envs, seed=seed, device=device, **kwargs, **extra)
    own = getattr(env, "episode_length", None)
    if episode_length is not None and not takes_length and own is not None and own != episode_length:
        raise ValueError(
            f"the run asks for {episode_length}-step episodes, but the factory takes no episode_length "
            f"and its env's episode_length is {own}"
        )
    wrapped = TorchRLBatchEnv(env, seed=seed, episode_length=episode_length)
    if wrapped.num_envs != num_envs:
        raise ValueError(f"the factory built {wrapped.num_envs} envs, {num_envs} were asked for")
    return wrapped
