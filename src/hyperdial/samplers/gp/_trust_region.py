"""A TuRBO-style trust region, rebuilt from the history instead of kept as state.

Eriksson, Pearce, Gardner, Turner and Poloczek (2019, "Scalable Global Optimization via Local
Bayesian Optimization", arXiv:1910.01739) keep a box around the incumbent whose side doubles
after a run of improvements and halves after a run of failures. The box's side is a function
of the sequence of observed values only, so replaying that sequence in trial order gives every
worker the same box without shared state.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["TrustRegion", "replay", "box"]

LENGTH_INIT = 0.8
LENGTH_MIN = 0.5**7
LENGTH_MAX = 1.6
SUCCESS_TOLERANCE = 3


@dataclass(frozen=True)
class TrustRegion:
    """The box side (in units of the unit cube) and the counters that move it."""

    length: float = LENGTH_INIT
    successes: int = 0
    failures: int = 0
    restarts: int = 0


def failure_tolerance(n_params: int) -> int:
    """Return the failures in a row that halve the box (TuRBO-1: ``max(4, d)``, capped)."""
    return int(min(max(4, n_params // 2), 16))


def replay(values: np.ndarray, n_startup: int, n_params: int) -> TrustRegion:
    """Return the trust region after observing ``values`` (minimised, in trial order).

    The first ``n_startup`` values are the initial design; each later value is a success when it
    improves the best so far by more than ``1e-3 |best|``. A box that shrinks below
    ``LENGTH_MIN`` restarts at ``LENGTH_INIT`` (the data are kept).
    """
    tol_fail = failure_tolerance(n_params)
    state = TrustRegion()
    if len(values) == 0:
        return state
    head = max(1, min(n_startup, len(values)))
    best = float(np.min(values[:head]))
    length, succ, fail, restarts = state.length, 0, 0, 0
    for v in values[head:]:
        v = float(v)
        if v < best - 1e-3 * abs(best):
            succ, fail = succ + 1, 0
        else:
            succ, fail = 0, fail + 1
        best = min(best, v)
        if succ >= SUCCESS_TOLERANCE:
            length, succ = min(2.0 * length, LENGTH_MAX), 0
        elif fail >= tol_fail:
            length, fail = length / 2.0, 0
        if length < LENGTH_MIN:
            length, succ, fail, restarts = LENGTH_INIT, 0, 0, restarts + 1
    return TrustRegion(length, succ, fail, restarts)


def box(
    center: np.ndarray, length: float, lengthscales: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the box around ``center``, its sides scaled by the relative lengthscales.

    The sides multiply to ``length ** d`` (TuRBO's ARD-weighted box), clipped to ``[0, 1]``.
    """
    if len(center) == 0:
        return center.copy(), center.copy()
    w = lengthscales / np.mean(lengthscales)
    w = w / math.exp(float(np.mean(np.log(w))))
    half = 0.5 * length * w
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)
