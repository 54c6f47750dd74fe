"""The action figure's statistics: a shared PCA axis, a Gaussian KDE per run and its modes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
MODE_HEIGHT = 0.05  # a mode is a local maximum of the KDE above this fraction of its peak ...
# ... whose prominence is at least this fraction of its own height: between it and any higher mode the
# density dips a quarter below it. The shoulders and ripples of a flat-topped KDE (10,000 draws, 0.8 x
# Scott) stand out by up to 10% of their height; two Gaussians 4 std apart dip by 66%, a 15% component
# 2 std apart by over 90%
MODE_PROMINENCE = 0.25
GRID = 1024  # KDE evaluation points per curve


def pca_axis(actions: np.ndarray) -> tuple[FloatArray, FloatArray, float]:
    """The first principal axis of ``actions (M, D)``: ``(mean (D,), axis (D,), explained variance
    ratio)``. The axis has unit length and its largest-magnitude component positive (a fixed sign)."""
    x = np.asarray(actions, dtype=np.float64).reshape(-1, np.shape(actions)[-1])
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    axis = vt[0]
    axis = axis * np.sign(axis[np.argmax(np.abs(axis))])
    total = float((s**2).sum())
    return mean, axis, float(s[0] ** 2 / total) if total > 0 else 1.0


def kde(x: np.ndarray, grid: np.ndarray, bandwidth: float = 0.8) -> FloatArray | None:
    """Gaussian KDE of the 1-D sample ``x (M,)`` evaluated on ``grid (G,)`` -> ``(G,)``.

    ``scipy.stats.gaussian_kde(x, bw_method=lambda k: bandwidth * k.scotts_factor())``: the kernel's
    std is ``bandwidth * M ** (-1/5) * std(x)``, i.e. Scott's rule scaled by ``bandwidth`` (0.8: a bit
    narrower than Scott's). None for a sample without spread (no density to estimate).
    """
    from scipy.stats import gaussian_kde

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size < 2 or not np.std(x) > 1e-12 * max(1.0, float(np.abs(x).max())):
        return None
    k = gaussian_kde(x, bw_method=lambda kd: bandwidth * kd.scotts_factor())
    return np.asarray(k(np.asarray(grid, dtype=np.float64)), dtype=np.float64)


def count_modes(
    density: np.ndarray, rel_height: float = MODE_HEIGHT, rel_prominence: float = MODE_PROMINENCE
) -> int:
    """Modes of a density on a grid ``(G,)``: local maxima that reach ``rel_height`` of its peak and
    whose prominence is at least ``rel_prominence`` of their own height.

    A maximum's prominence is how far the density must fall from it before it can rise to a higher
    maximum (for the highest, before the grid's end): ``height - max(lowest point on the left up to the
    nearest higher maximum, lowest on the right)``, the grid taken as 0 beyond its ends. Of maxima of
    equal height the leftmost counts as the higher, so twin shoulders of one hump are one mode. The
    shoulders of one flat-topped hump barely dip between them and are one mode; two humps with a valley
    are two. A plateau counts once; an end point counts when it is above its neighbour.
    """
    d = np.asarray(density, dtype=np.float64).reshape(-1)
    if d.size == 0 or not d.max() > 0:
        return 0
    padded = np.concatenate([[0.0], np.maximum(d, 0.0), [0.0]])  # a density is 0 beyond the grid
    peaks = _local_maxima(padded)
    rank = {p: r for r, p in enumerate(sorted(peaks, key=lambda p: (-padded[p], p)))}
    modes = 0
    for p in peaks:
        height = padded[p]
        left = [q for q in peaks if q < p and rank[q] < rank[p]]
        right = [q for q in peaks if q > p and rank[q] < rank[p]]
        base = max(
            padded[max(left) if left else 0 : p].min(), padded[p : min(right) + 1 if right else None].min()
        )
        if height >= rel_height * d.max() and height - base >= rel_prominence * height:
            modes += 1
    return modes


def _local_maxima(x: FloatArray) -> list[int]:
    """Indices of the strict local maxima of ``x`` (a plateau: its first index), ends excluded."""
    out, i = [], 1
    while i < x.size - 1:
        j = i
        while j + 1 < x.size - 1 and x[j + 1] == x[i]:  # the plateau i..j
            j += 1
        if x[i] > x[i - 1] and x[i] > x[j + 1]:
            out.append(i)
        i = j + 1
    return out


def sample_modes(
    x: np.ndarray,
    bandwidth: float = 0.8,
    rel_height: float = MODE_HEIGHT,
    rel_prominence: float = MODE_PROMINENCE,
) -> int:
    """Modes of the 1-D sample ``x (M,)``: ``count_modes`` of its ``kde`` on a grid over its range
    padded by three kernel widths (1 for a sample without spread)."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    grid = shared_grid([x])
    density = kde(x, grid, bandwidth)
    return 1 if density is None else count_modes(density, rel_height, rel_prominence)


def shared_grid(samples: Sequence[np.ndarray], points: int = GRID) -> FloatArray:
    """A grid over the union of the samples' ranges, padded by 3 Scott widths of the widest."""
    lo = min(float(s.min()) for s in samples)
    hi = max(float(s.max()) for s in samples)
    pad = 3 * max(float(s.std()) * s.size ** (-0.2) for s in samples)
    pad = pad if pad > 0 else 0.1
    return np.linspace(lo - pad, hi + pad, points)
