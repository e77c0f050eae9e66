"""Map configurations of a search space to rows of the GP's design matrix and back.

Columns, one per parameter in the space's order, then one activity indicator per distinct
condition:

* a float without step: ``to_unit`` (log parameters on the log scale), continuous;
* an int or a stepped float: ``to_unit``, the centre of its grid cell; snapped to the grid so
  the GP only ever sees legal values;
* a categorical: the index of the choice, a Hamming-distance column in the kernel, so choices
  are not ordered;
* an indicator: ``1`` when the parameters under that condition are active, ``0`` otherwise,
  also a Hamming column. Inactive parameters take a fixed value (``0.5``, or ``-1`` for a
  categorical, unequal to every choice), so two configurations that both lack a parameter do
  not differ in it, and the indicator's own lengthscale learns how far apart "present" and
  "absent" are.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.space import (
    Categorical,
    Condition,
    Distribution,
    Int,
    SearchSpace,
    from_unit,
    to_unit,
)

__all__ = ["Encoding"]

_MAX_TABLE = 1 << 14  # largest grid whose condition values are tabulated
_EXHAUSTIVE = 16  # grids up to this size are searched exhaustively

CONT, GRID, INT_LOG, CAT = "cont", "grid", "int_log", "cat"


def _kind(dist: Distribution) -> str:
    if isinstance(dist, Categorical):
        return CAT
    if isinstance(dist, Int) and dist.log:
        return INT_LOG
    if isinstance(dist, Int) or dist.step is not None:
        return GRID
    return CONT


def _n_grid(dist: Distribution) -> int:
    n = dist.n_grid
    return int(n) if n is not None else 0


class Encoding:
    """The design-matrix layout of one search space (see the module docstring)."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        self.names: tuple[str, ...] = tuple(space)
        self.dists: tuple[Distribution, ...] = tuple(space.values())
        self.kinds: tuple[str, ...] = tuple(_kind(d) for d in self.dists)
        self.n_params = len(self.names)
        self.index = {name: i for i, name in enumerate(self.names)}
        groups: dict[tuple[str, ...], int] = {}
        self.indicator: dict[int, int] = {}  # param -> indicator column
        for i, name in enumerate(self.names):
            conds = space.conditions.get(name)
            if conds:
                key = tuple(str(c) for c in conds)
                self.indicator[i] = groups.setdefault(key, self.n_params + len(groups))
        self.dim = self.n_params + len(groups)
        self.is_cat = np.zeros(self.dim, dtype=bool)
        self.is_cat[self.n_params :] = True
        for i, kind in enumerate(self.kinds):
            self.is_cat[i] = kind == CAT
        self.impute = np.where(self.is_cat, -1.0, 0.5)
        self.impute[self.n_params :] = 0.0
        self.n_choices = [
            len(d.choices) if isinstance(d, Categorical) else _n_grid(d) for d in self.dists
        ]
        #: Columns the gradient optimiser moves: floats, and grids too large to enumerate.
        self.relaxed = np.array(
            [k == CONT or (k in (GRID, INT_LOG) and n > _EXHAUSTIVE)
             for k, n in zip(self.kinds, self.n_choices)], dtype=bool,
        )  # fmt: skip
        self.discrete = [i for i, k in enumerate(self.kinds) if k != CONT]
        self.numeric = np.array([k != CAT for k in self.kinds], dtype=bool)
        self._conditions = [
            [(self.index[c.param], self._evaluator(c)) for c in space.conditions.get(name, ())]
            for name in self.names
        ]

    # ------------------------------------------------------------------ values <-> columns
    def encode_value(self, i: int, value: ParamValue) -> float:
        """Return the column value of parameter ``i`` taking ``value``."""
        dist = self.dists[i]
        if isinstance(dist, Categorical):
            return float(dist.index(value))
        return float(to_unit(dist, value))

    def decode_value(self, i: int, u: float) -> ParamValue:
        """Return the legal value of parameter ``i`` at column value ``u``."""
        dist = self.dists[i]
        if isinstance(dist, Categorical):
            return dist.choices[min(max(int(round(u)), 0), len(dist.choices) - 1)]
        return from_unit(dist, float(u))

    def encode(self, params: Mapping[str, ParamValue]) -> np.ndarray | None:
        """Return the row of a complete configuration, or ``None`` if it lacks a parameter."""
        row = self.impute.copy()
        seen: dict[str, ParamValue] = {}
        for i, name in enumerate(self.names):
            if not self.space.is_active(name, seen):
                continue
            if name not in params or not self.dists[i].contains(params[name]):
                return None
            seen[name] = params[name]
            row[i] = self.encode_value(i, params[name])
        return self.canonical(row[None, :])[0]

    def decode(self, row: np.ndarray, known: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
        """Return every active parameter's value (``known`` values win), in order."""
        values: dict[str, ParamValue] = {}
        for i, name in enumerate(self.names):
            if self.space.is_active(name, values):
                values[name] = known[name] if name in known else self.decode_value(i, row[i])
        return values

    def from_cube(self, U: np.ndarray) -> np.ndarray:
        """Return canonical rows from points of the unit cube, one dimension per parameter."""
        X = np.empty((U.shape[0], self.dim))
        X[:, : self.n_params] = U
        for i, kind in enumerate(self.kinds):
            if kind == CAT:
                n = self.n_choices[i]
                X[:, i] = np.minimum(np.floor(U[:, i] * n), n - 1)
        return self.canonical(X)

    # ------------------------------------------------------------------ structure
    def snap(self, X: np.ndarray) -> np.ndarray:
        """Round discrete columns to their legal grid (in place) and return ``X``."""
        for i in self.discrete:
            kind, dist, col = self.kinds[i], self.dists[i], X[:, i]
            if kind == CAT:
                X[:, i] = np.clip(np.round(col), 0, self.n_choices[i] - 1)
            elif kind == GRID:
                n = self.n_choices[i]
                X[:, i] = (np.clip(np.floor(col * n), 0, n - 1) + 0.5) / n
            else:
                assert isinstance(dist, Int)
                lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
                x = np.round(np.exp(lo + np.clip(col, 0, 1) * (hi - lo)))
                x = np.clip(x, dist.low, dist.high)
                X[:, i] = (np.log(x) - lo) / (hi - lo)
        return X

    def active(self, X: np.ndarray) -> np.ndarray:
        """Return which parameters are active in each row, ``(B, n_params)``."""
        act = np.ones((X.shape[0], self.n_params), dtype=bool)
        for i, conds in enumerate(self._conditions):
            for parent, holds in conds:
                act[:, i] &= act[:, parent] & holds(X[:, parent])
        return act

    def canonical(self, X: np.ndarray) -> np.ndarray:
        """Snap, impute inactive columns and set the indicators (in place); return ``X``."""
        self.snap(X)
        if not self.indicator:
            return X
        act = self.active(X)
        for i, col in self.indicator.items():
            X[:, i] = np.where(act[:, i], X[:, i], self.impute[i])
            X[:, col] = act[:, i]
        return X

    def neighbours(self, row: np.ndarray, i: int) -> np.ndarray:
        """Return other legal column values of discrete parameter ``i`` near ``row[i]``."""
        kind, n, u = self.kinds[i], self.n_choices[i], float(row[i])
        if kind == CAT:
            return np.array([c for c in range(n) if c != int(u)], dtype=float)
        if kind == GRID:
            k = min(max(int(math.floor(u * n)), 0), n - 1)
            ks = range(n) if n <= _EXHAUSTIVE else (k - 2, k - 1, k + 1, k + 2)
            return np.array([(j + 0.5) / n for j in ks if 0 <= j < n and j != k])
        dist = self.dists[i]
        assert isinstance(dist, Int)
        x = int(self.decode_value(i, u))
        if n <= _EXHAUSTIVE:
            xs: set[int] = set(range(dist.low, dist.high + 1))
        else:
            xs = {x - 2, x - 1, x + 1, x + 2, round(x * 1.25), round(x / 1.25)}
        return np.array(
            [to_unit(dist, v) for v in sorted(xs) if dist.low <= v <= dist.high and v != x]
        )

    # ------------------------------------------------------------------ conditions
    def _evaluator(self, cond: Condition) -> Callable[[np.ndarray], np.ndarray]:
        """Return a vectorised ``column values -> bool`` for ``cond`` on its parent column."""
        i = self.index[cond.param]
        dist, kind = self.dists[i], self.kinds[i]

        def holds(value: ParamValue) -> bool:
            return cond.holds({cond.param: value})

        if kind == CAT:
            assert isinstance(dist, Categorical)
            table = np.array([holds(c) for c in dist.choices] + [False])
            return lambda col: table[np.where(col < 0, -1, np.round(col)).astype(int)]
        n = self.n_choices[i]
        if kind == GRID and n <= _MAX_TABLE:
            grid_table = np.array([holds(from_unit(dist, (k + 0.5) / n)) for k in range(n)])
            return lambda col: grid_table[np.clip(np.floor(col * n), 0, n - 1).astype(int)]
        if kind == INT_LOG and isinstance(dist, Int) and n <= _MAX_TABLE:
            int_table = np.array([holds(v) for v in range(dist.low, dist.high + 1)])
            return lambda col: int_table[
                np.array([int(from_unit(dist, float(u))) - dist.low for u in col], dtype=int)
            ]
        # Only floats and very large grids are left: evaluate one value at a time.
        return lambda col: np.array([holds(from_unit(dist, float(u))) for u in col], dtype=bool)
