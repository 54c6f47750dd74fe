"""The batched environment contract, and what an env backend must provide to build one.

A batched env steps N copies of one task in one call, as TorchRL does (``batch_size=[N]``). Keys
(``gorl.interfaces.keys``), all with leading dim N:

* root: ``OBSERVATION (N, obs_dim)`` float32, flattened (dm_control: in its observation dict's order).
* ``("next", ...)`` after a step: ``OBSERVATION``, ``REWARD (N, 1)`` float32, ``DONE``, ``TERMINATED``,
  ``TRUNCATED`` ``(N, 1)`` bool, with ``DONE = TERMINATED | TRUNCATED``. ``TERMINATED``: the episode
  reached a terminal state (a hopper fell); value targets do not bootstrap from it. ``TRUNCATED``: it was
  cut (the time limit); value targets bootstrap from ``("next", OBSERVATION)``, which is always the last
  observation of the episode, never the reset one.
* ``step_and_maybe_reset`` resets exactly the finished envs (by mask) and puts their first observation
  in the root of the returned TensorDict, with all-False done flags.
* ``reset`` with a ``"_reset" (N, 1)`` mask resets the masked envs only; without one, all.
* Actions are ``ACTION (N, action_dim)`` in ``[action_low, action_high]``.
* Seeds: the env's seed seeds every copy deterministically; the same seed gives the same episodes.
* Episodes last at most ``episode_length`` steps (evaluation runs that many).
* ``exact_resume`` (a trait of the backend): True when ``env_state``/``load_env_state`` continue the
  episodes in progress bit for bit. False when the backend cannot snapshot its episodes: then
  ``env_state`` holds only what restarts them deterministically (seeds, counters), ``load_env_state``
  makes the next ``reset`` start fresh seeded episodes, and a resumed run restarts its episodes
  (``gorl.algos.rollout.Rollout`` drops its in-progress observation) and continues everything else
  exactly.

``gorl.testing.check_env`` checks all of this on any backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from torch import Tensor


@runtime_checkable
class BatchedEnv(Protocol):
    """What gorl needs of an environment beyond TorchRL's ``EnvBase``."""

    num_envs: int
    obs_dim: int
    action_dim: int
    action_low: Tensor  # (action_dim,)
    action_high: Tensor  # (action_dim,)
    episode_length: int
    exact_resume: bool

    def reset(self, *args: Any, **kwargs: Any) -> Any:
        """TorchRL reset: returns a TensorDict with ``OBSERVATION``."""
        ...

    def step_and_maybe_reset(self, tensordict: Any) -> tuple[Any, Any]:
        """TorchRL step plus a masked reset of the envs that finished."""
        ...

    def env_state(self) -> dict[str, Any]:
        """A plain, picklable dict: the episodes in progress (``exact_resume``) or how to restart them."""
        ...

    def load_env_state(self, state: dict[str, Any]) -> None:
        """Restores ``env_state`` (with ``exact_resume`` False: the next reset starts seeded episodes)."""
        ...

    def close(self, *args: Any, **kwargs: Any) -> Any:
        """Releases worker processes and simulators; the env cannot step afterwards."""
        ...


@runtime_checkable
class EnvBackend(Protocol):
    """One way to build batched envs (``dmc``, ``warp``, ``gym``, ``torchrl``, or a plug-in's).

    A task is named ``"<backend>:<task>"`` or, for the default backend, ``"<task>"``.
    """

    @property
    def name(self) -> str:
        """The registry name, also the task prefix."""
        ...

    @property
    def summary(self) -> str:
        """One line for ``gorl list``."""
        ...

    @property
    def exact_resume(self) -> bool:
        """Whether its envs' ``env_state`` continues episodes bit for bit."""
        ...

    @property
    def options(self) -> type[Any]:
        """The pydantic model of the backend's options (``TrainConfig.env_options``)."""
        ...

    def check_task(self, task: str) -> None:
        """Raises ``ValueError`` naming ``task`` and the known ones if it is not one; builds nothing."""
        ...

    def task_names(self) -> list[str] | None:
        """The known tasks (None: open-ended, e.g. any importable factory)."""
        ...

    def bytes_per_env(self, task: str) -> int:
        """Host memory one copy of ``task`` takes (an estimate; 0: not counted, e.g. on a GPU)."""
        ...

    def build(
        self, task: str, num_envs: int, *, seed: int, device: Any, episode_length: int | None, options: Any
    ) -> BatchedEnv:
        """Builds ``num_envs`` copies of ``task``; ``options`` is an instance of ``self.options``."""
        ...
