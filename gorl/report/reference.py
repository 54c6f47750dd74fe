"""The paper's reference numbers, to show beside a suite run in the paper's setting.

Source: GoRL paper (Table 1), 180M env steps, 5 seeds, mean +- std of the final evaluation return on six
DeepMind Control tasks. Method names are gorl's (``gorl-diff`` is GoRL(Diff), ``gorl-fm`` is GoRL(FM)).
"""

from __future__ import annotations

from gorl.envs import PAPER_TASKS  # the paper's tasks, in the order of its table's columns

__all__ = ["PAPER_ENV_STEPS", "PAPER_TASKS", "REFERENCE"]

PAPER_ENV_STEPS = 180_000_000
"""Env steps per run in the paper's setting."""

_ROWS: dict[str, tuple[tuple[float, float], ...]] = {
    # method: (mean, std) per task, in PAPER_TASKS order
    "ppo": ((724.8, 155.7), (539.0, 146.6), (738.7, 114.5), (433.7, 73.6), (286.1, 273.1), (825.7, 79.7)),
    "fpo": ((599.2, 297.5), (56.1, 124.5), (752.1, 55.4), (204.7, 191.5), (3.9, 1.8), (29.0, 4.3)),
    "dppo": ((559.8, 100.0), (694.1, 191.6), (633.8, 88.2), (143.5, 26.3), (2.1, 0.8), (345.6, 64.5)),
    "gorl-diff": ((902.2, 2.2), (844.7, 59.4), (884.6, 27.0), (608.6, 22.1), (874.6, 38.8), (909.0, 30.5)),
    "gorl-fm": ((883.4, 19.9), (903.9, 104.1), (860.8, 14.9), (641.0, 13.1), (733.7, 223.8), (919.6, 60.9)),
}

REFERENCE: dict[str, dict[str, tuple[float, float]]] = {
    method: dict(zip(PAPER_TASKS, row, strict=True)) for method, row in _ROWS.items()
}
"""method -> task -> (mean, std) of the final evaluation return over 5 seeds (GoRL paper, Table 1)."""
