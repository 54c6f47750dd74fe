"""``quiet_env_warnings``: silences the notices simulators print while their models load.

dm_control's suite models set MuJoCo's deprecated ``settotalmass``, and MuJoCo logs that through absl
once per env built (12 lines for gorl's main job, 1,937 at paper scale), hiding gorl's own output;
Gymnasium's MuJoCo models print the same notice through MuJoCo's own warning handler.
No torch here: dm_control worker processes use it too.
"""

from __future__ import annotations

import importlib
import logging
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any


def _drop_deprecations(previous: Any) -> Callable[[str], None]:
    """A MuJoCo warning handler that drops model-compiler deprecation notices and passes the rest on."""

    def handler(message: str) -> None:
        if "is deprecated" in message:
            return
        if previous is not None:
            previous(message)
        else:
            sys.stderr.write(f"WARNING: {message}\n")

    return handler


@contextmanager
def quiet_env_warnings() -> Iterator[None]:
    """Within the block, absl's logger shows errors only, Python's deprecation warnings are off, and
    MuJoCo's own compiler deprecation notices (printed to stderr by Gymnasium's MuJoCo models, which do
    not go through absl) are dropped; other MuJoCo warnings still print."""
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    mujoco: Any = None
    with suppress(ImportError):
        mujoco = importlib.import_module("mujoco")
    previous = mujoco.get_mju_user_warning() if mujoco is not None else None
    if mujoco is not None:
        mujoco.set_mju_user_warning(_drop_deprecations(previous))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        absl.setLevel(level)
        if mujoco is not None:
            mujoco.set_mju_user_warning(previous)
