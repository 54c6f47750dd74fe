"""Host memory of envs, checked before they are built.

A backend declares what one copy of a task costs (``EnvBackend.bytes_per_env``); ``check_memory``
compares ``num_envs`` times that with ``MemAvailable`` in ``/proc/meminfo`` and refuses what cannot fit,
saying what to change. Without ``/proc/meminfo`` (not Linux) nothing is checked.
"""

from __future__ import annotations

from pathlib import Path

# Refuse above this share of MemAvailable: the networks, buffers and the eval envs need room too.
HEADROOM = 0.8
MEMINFO = Path("/proc/meminfo")


class EnvMemoryError(RuntimeError):
    """The envs asked for would not fit in the memory available."""


def available_memory(meminfo: Path = MEMINFO) -> int | None:
    """``MemAvailable`` in bytes, or None where ``/proc/meminfo`` is missing or has no such line."""
    try:
        lines = meminfo.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemAvailable:"):
            parts = line.split()
            return int(parts[1]) * (1024 if parts[2:] == ["kB"] else 1)
    return None


def check_memory(
    backend: str, task: str, num_envs: int, bytes_per_env: int, available: int | None = None
) -> None:
    """Raises ``EnvMemoryError`` when ``num_envs * bytes_per_env`` exceeds ``HEADROOM`` of ``available``
    (``MemAvailable`` if None); the message names the estimate and what to change."""
    if available is None:
        available = available_memory()
    need = num_envs * bytes_per_env
    if available is None or need <= HEADROOM * available:
        return
    fits = max(0, int(HEADROOM * available // max(bytes_per_env, 1)))
    raise EnvMemoryError(
        f"{num_envs} {backend} envs of {task} need about {need / 2**30:.1f} GiB ({bytes_per_env / 2**20:.1f} "
        f"MiB each) but {available / 2**30:.1f} GiB is available (MemAvailable); at most {fits} fit. Use "
        "fewer envs (--scale cpu, or --set optimizer.num_envs=N) or a backend with cheaper envs "
        "(--backend warp on a GPU)"
    )
