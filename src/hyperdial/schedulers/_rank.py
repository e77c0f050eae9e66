"""Order the trials at a rung: by value, or by Pareto front and crowding distance."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from hyperdial._types import Direction
from hyperdial.exceptions import InvalidValueError
from hyperdial.schedulers.base import sign

__all__ = ["rank_at_rung"]


def rank_at_rung(
    values: Sequence[float | Sequence[float]], directions: Sequence[Direction]
) -> list[int]:
    """Return each entry's position in the rung's order, 0 for the best.

    One objective: ascending ``sign * value``. Several objectives: non-dominated sorting
    (every entry of front ``i`` comes before front ``i + 1``), and inside a front a larger
    crowding distance comes first (Deb et al. 2002, "A fast and elitist multiobjective
    genetic algorithm: NSGA-II", IEEE TEVC 6(2)). Remaining ties keep the order of
    ``values``: pass them by trial number, and the lower number wins. A NaN (in any
    objective) ranks after every entry without one.

    Args:
        values: One value per trial (a float, or one float per objective).
        directions: The study's directions.

    Returns:
        ``pos`` with ``pos[i]`` the position of ``values[i]``; a permutation of
        ``range(len(values))``.

    Raises:
        InvalidValueError: an entry does not have one value per objective.

    Example:
        >>> from hyperdial import Direction
        >>> rank_at_rung([0.3, 0.1, 0.2, 0.1], [Direction.MINIMIZE])
        [3, 0, 2, 1]
        >>> rank_at_rung([(1, 5), (2, 2), (3, 3), (5, 1)], [Direction.MINIMIZE] * 2)
        [0, 2, 3, 1]
    """
    points = _as_matrix(values, directions)
    n = len(points)
    if n == 0:
        return []
    has_nan = np.isnan(points).any(axis=1)
    if len(directions) == 1:
        order = sorted(range(n), key=lambda i: (bool(has_nan[i]), points[i, 0], i))
    else:
        clean = [i for i in range(n) if not has_nan[i]]
        order = []
        for front in _fronts(points, clean):
            crowd = _crowding(points[front])
            order.extend(i for _, i in sorted(zip(-crowd, front), key=lambda p: (p[0], p[1])))
        order.extend(i for i in range(n) if has_nan[i])
    position = [0] * n
    for rank, i in enumerate(order):
        position[i] = rank
    return position


def _as_matrix(
    values: Sequence[float | Sequence[float]], directions: Sequence[Direction]
) -> np.ndarray:
    """Return the values as an ``(n, n_objectives)`` array to minimise (signs applied)."""
    m = len(directions)
    rows = []
    for value in values:
        row = [value] if isinstance(value, numbers.Real) else list(value)
        if len(row) != m:
            raise InvalidValueError(
                f"rank_at_rung: each value must have one number per objective ({m}); "
                f"got {value!r}."
            )
        rows.append([sign(d) * float(x) for d, x in zip(directions, row)])
    return np.asarray(rows, dtype=float).reshape(len(rows), m)


def _fronts(points: np.ndarray, members: list[int]) -> list[list[int]]:
    """Return ``members`` split into Pareto fronts, best first, each by index."""
    fronts = []
    left = list(members)
    while left:
        block = points[left]
        # i is dominated when some j is <= everywhere and < somewhere.
        le = (block[None, :, :] <= block[:, None, :]).all(axis=2)
        lt = (block[None, :, :] < block[:, None, :]).any(axis=2)
        dominated = (le & lt).any(axis=1)
        fronts.append([i for i, d in zip(left, dominated) if not d])
        left = [i for i, d in zip(left, dominated) if d]
    return fronts


def _crowding(front: np.ndarray) -> np.ndarray:
    """Return the NSGA-II crowding distance of each point of one front (inf at the ends)."""
    n, m = front.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, math.inf)
    for k in range(m):
        order = np.argsort(front[:, k], kind="stable")
        column = front[order, k]
        distance[order[0]] = distance[order[-1]] = math.inf
        span = column[-1] - column[0]
        if not math.isfinite(span) or span == 0.0:
            continue  # no spread (or an infinite one) along k: it tells the points apart nowhere
        distance[order[1:-1]] += (column[2:] - column[:-2]) / span
    return distance
