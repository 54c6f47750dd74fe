"""``quiet_env_warnings``: silences the notices simulators print while their models load.

dm_control's suite models set MuJoCo's deprecated ``settotalmass``, and MuJoCo logs that through absl
once per env built (12 lines for gorl's main job, 1,937 at paper scale), hiding gorl's own output.
No torch here: dm_control worker processes use it too.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_env_warnings() -> Iterator[None]:
    """Within the block, absl's logger shows errors only and Python's deprecation warnings are off."""
    absl = logging.getLogger("absl")
    level = absl.level
    absl.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        absl.setLevel(level)
