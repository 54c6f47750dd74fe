"""The batched environment contract shared by the ``dmc`` (CPU) and ``warp`` (GPU) backends.

A batched env is a TorchRL ``EnvBase`` with ``batch_size=[N]`` that steps N copies of one task in one
call. Keys (``gorl.interfaces.keys``), all with leading dim N:

* root: ``OBSERVATION (N, obs_dim)`` float32, flattened in the order of dm_control's observation dict.
* ``("next", ...)`` after ``step``: ``OBSERVATION``, ``REWARD (N, 1)``, ``DONE``, ``TERMINATED``,
  ``TRUNCATED`` ``(N, 1)`` bool. DM Control episodes end by their time limit only: ``TRUNCATED`` and
  ``DONE`` are set, ``TERMINATED`` never is, so value targets bootstrap through the end.
  ``("next", OBSERVATION)`` is the last observation of the episode, never the reset one.
* ``step_and_maybe_reset`` resets exactly the finished envs (by mask) and puts their first
  observation in the root of the returned TensorDict.
* Actions are ``ACTION (N, action_dim)`` in ``[action_low, action_high]`` (``[-1, 1]`` for DM Control).
* Per-env seeds: ``seed`` seeds every copy deterministically; the same seed gives the same episodes.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class BatchedEnv(Protocol):
    """What gorl needs of an environment beyond TorchRL's ``EnvBase``."""

    num_envs: int
    obs_dim: int
    action_dim: int
    action_low: Tensor
    action_high: Tensor
    episode_length: int

    def reset(self, *args: Any, **kwargs: Any) -> Any:
        """TorchRL reset: returns a TensorDict with ``OBSERVATION``."""
        ...

    def step_and_maybe_reset(self, tensordict: Any) -> tuple[Any, Any]:
        """TorchRL step plus a masked reset of the envs that finished."""
        ...

    def env_state(self) -> dict[str, Any]:
        """Everything needed to continue the episodes in progress exactly (physics, RNGs)."""
        ...

    def load_env_state(self, state: dict[str, Any]) -> None:
        """Restores ``env_state``."""
        ...
