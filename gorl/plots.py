"""Pictures: the run's learning curve, and the two helpers every gorl figure is drawn and saved with."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from gorl.checkpoint import atomic_write_bytes


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend, or None when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def save_figure(plt: Any, fig: Any, path: Path, dpi: float | None = None) -> Path:
    """Lays ``fig`` out, writes it as the PNG ``path`` atomically (a reader never sees part of a picture)
    and closes it, also when drawing fails. ``dpi``: None keeps matplotlib's default."""
    try:
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        atomic_write_bytes(Path(path), buf.getvalue())
    finally:
        plt.close(fig)
    return Path(path)


def learning_curve(metrics: Path, out: Path, title: str | None = None) -> Path | None:
    """Plots the ``eval`` records of ``metrics.jsonl`` (mean with a +-std band, refits marked) into the
    PNG ``out``, written atomically. Returns ``out``, or None when matplotlib is not installed."""
    plt = pyplot()
    if plt is None:
        return None
    records = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line.strip()]
    evals = [r for r in records if r["kind"] == "eval"]
    refits = [r["env_steps"] for r in records if r["kind"] == "refit"]
    steps = [r["env_steps"] for r in evals]
    mean = [r["return_mean"] for r in evals]
    std = [r["return_std"] for r in evals]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=110)
    ax.plot(steps, mean, marker="o", label="evaluation return (mean of episodes)")
    ax.fill_between(
        steps,
        [m - s for m, s in zip(mean, std, strict=True)],
        [m + s for m, s in zip(mean, std, strict=True)],
        alpha=0.2,
    )
    for i, x in enumerate(refits):
        ax.axvline(x, color="grey", linestyle=":", label="decoder refit" if i == 0 else None)
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title(title or Path(metrics).parent.name)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return save_figure(plt, fig, out)
