"""Fit a random forest on the unit cube and read each tree as boxes with constant values.

The forest is scikit-learn's extremely randomized trees (Geurts, Ernst & Wehenkel, 2006,
"Extremely randomized trees", Machine Learning 63(1)): a random forest whose split points are
drawn at random among the candidates. Greedy bootstrap trees keep splitting strong continuous
parameters down to single trials and lose the additive effect of a categorical one (on a test
function where a choice holds 9% of the variance, they credited it with about 1%); randomized
split points keep it (about 6%) and fit faster.

A regression tree partitions the space into axis-aligned boxes (its leaves). With a product
measure on the space, every functional-ANOVA quantity of the tree is an exact sum over those
boxes (see :mod:`hyperdial.analysis._fanova`), so the forest is kept as, per tree, the leaves'
lower and upper corners, their values, and the split points of each dimension.

The measure of each dimension is uniform on the parameter's legal values in the unit cube:
Lebesgue measure on ``[0, 1]`` for a continuous parameter, and a point mass at the centre of
every cell for integers, stepped floats and categoricals (weighted by the cell's width, so a
log-scaled integer keeps its log spacing).

A conditional parameter is ``ABSENT`` in the trials where it did not exist. The forest is fitted
with those entries replaced by random draws from the parameter's measure (seeded), so a tree
cannot split on whether the parameter exists: that information belongs to the parameter whose
value decides it (``n_layers`` rather than ``units_4``), and under the product measure of the
functional ANOVA a split on existence would be credited to the wrong parameter. The value of a
conditional parameter then matters only where it is active, as in the objective itself.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, partial

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.analysis._data import ABSENT, Data
from hyperdial.distributions import Categorical, Distribution, Int
from hyperdial.exceptions import InvalidValueError, missing
from hyperdial.space import Condition

N_TREES = 64
"""Trees per forest: enough for stable shares and a spread across trees."""

MAX_ROWS = 2000
"""Larger studies are fitted on this many trials drawn without replacement (seeded)."""

_MAX_ATOMS = 256  # discrete parameters with more values are treated as continuous


@dataclass(frozen=True, eq=False)
class Measure:
    """A product-measure factor: uniform mass ``cont`` on ``[0, 1]`` plus point masses.

    ``values`` holds the parameter value of each atom (empty for a continuous parameter).
    """

    cont: float
    atoms: np.ndarray  # sorted positions
    weights: np.ndarray
    values: tuple[ParamValue, ...] = ()

    @cached_property
    def cum(self) -> np.ndarray:
        """Return ``cum[i]``, the mass of the first ``i`` atoms."""
        return np.concatenate([[0.0], np.cumsum(self.weights)])

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Return the mass of ``(-inf, x]``."""
        x = np.asarray(x, dtype=float)
        cum = self.cum
        mass: np.ndarray = (
            self.cont * np.clip(x, 0.0, 1.0) + cum[np.searchsorted(self.atoms, x, "right")]
        )
        return mass

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Return ``size`` points drawn from the measure."""
        if self.cont > 0 or not len(self.atoms):
            return rng.random(size)
        return rng.choice(self.atoms, size, p=self.weights / self.weights.sum())

    def restricted(self, holds: Callable[[ParamValue], bool]) -> Measure | None:
        """Return the measure restricted to the atoms whose value ``holds``, renormalised.

        ``None`` for a continuous parameter or when no atom holds.
        """
        if self.cont > 0 or not self.values:
            return None
        keep = np.array([holds(v) for v in self.values])
        if not keep.any():
            return None
        weights = np.where(keep, self.weights, 0.0)
        return Measure(0.0, self.atoms, weights / weights.sum(), self.values)


def measure(dist: Distribution) -> Measure:
    """Return the uniform measure on the legal values of ``dist`` in the unit cube."""
    n = dist.n_grid
    if not isinstance(dist, Categorical) and (n is None or n > _MAX_ATOMS):
        return Measure(1.0, np.zeros(0), np.zeros(0))
    assert n is not None
    if isinstance(dist, Categorical):
        values: list[ParamValue] = list(dist.choices)
    else:
        assert dist.step is not None
        values = [dist.cast(dist.low + k * dist.step) for k in range(n)]
    if isinstance(dist, Int) and dist.log:
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        ints = np.arange(dist.low, dist.high + 1)
        edges = (np.log(np.append(ints, dist.high + 1) - 0.5) - lo) / (hi - lo)
        positions, weights = (np.log(ints) - lo) / (hi - lo), np.diff(edges)
    else:
        positions, weights = (np.arange(n) + 0.5) / n, np.full(n, 1.0 / n)
    return Measure(0.0, positions, weights, tuple(values))


@dataclass(eq=False)
class Tree:
    """One tree as leaf boxes ``(lo, hi]`` with values, and its split points per dimension."""

    lo: np.ndarray  # (n_leaves, d)
    hi: np.ndarray  # (n_leaves, d)
    value: np.ndarray  # (n_leaves,)
    splits: list[np.ndarray]  # per dimension, sorted unique thresholds
    cache: dict[object, object] = field(default_factory=dict)


def _boxes(estimator: object, d: int) -> Tree:
    tree = estimator.tree_  # type: ignore[attr-defined]
    left, right = tree.children_left, tree.children_right
    feature, threshold = tree.feature, tree.threshold
    n = len(left)
    lo = np.full((n, d), -np.inf)
    hi = np.full((n, d), np.inf)
    frontier = np.array([0])
    # Children always come after their parent, so one vectorised pass per depth level suffices.
    while frontier.size:
        frontier = frontier[left[frontier] >= 0]
        if not frontier.size:
            break
        f, t = feature[frontier], threshold[frontier]
        kids_l, kids_r = left[frontier], right[frontier]
        lo[kids_l], hi[kids_l] = lo[frontier], hi[frontier]
        lo[kids_r], hi[kids_r] = lo[frontier], hi[frontier]
        hi[kids_l, f] = t
        lo[kids_r, f] = t
        frontier = np.concatenate([kids_l, kids_r])
    leaves = left < 0
    internal = ~leaves
    splits = [np.unique(threshold[internal & (feature == j)]) for j in range(d)]
    return Tree(lo[leaves], hi[leaves], tree.value[leaves, 0, 0].astype(float), splits)


@dataclass(eq=False)
class Forest:
    """A fitted forest as :class:`Tree` boxes with the measure of every dimension."""

    data: Data
    trees: list[Tree]
    measures: list[Measure]
    seed: int
    cache: dict[object, object] = field(default_factory=dict)

    def active_measures(self, dims: list[int]) -> list[Measure] | None:
        """Return the measures restricted to where the parameters ``dims`` exist.

        Each conditional parameter's condition (inferred from the trials) restricts the
        measure of the discrete parameter it reads, up the chain of conditions; plotted
        dimensions are not integrated and stay as they are. ``None`` when nothing changes.
        """
        names = self.data.names
        conditions = self.data.conditions
        measures = list(self.measures)
        changed = False
        todo, seen = [names[j] for j in dims], set()
        while todo:
            name = todo.pop()
            cond = conditions.get(name)
            if cond is None or name in seen:
                continue
            seen.add(name)
            p = names.index(cond.param)
            if p not in dims:
                restricted = measures[p].restricted(partial(_holds, cond))
                if restricted is not None:
                    measures[p], changed = restricted, True
            todo.append(cond.param)
        return measures if changed else None


def _holds(cond: Condition, value: ParamValue) -> bool:
    return cond.holds({cond.param: value})


def _fit(owner: str, data: Data, seed: int) -> Forest:
    try:
        from sklearn.ensemble import ExtraTreesRegressor  # type: ignore[import-untyped]
    except ImportError:
        raise missing("analysis", owner, "scikit-learn") from None
    x, y = data.x, data.y
    n, d = x.shape
    if n > MAX_ROWS:
        rows = np.sort(np.random.default_rng(seed).choice(n, MAX_ROWS, replace=False))
        x, y = x[rows], y[rows]
        n = MAX_ROWS
    measures = [measure(dist) for dist in data.dists]
    if d == 0:
        return Forest(data, [], measures, seed)
    x = x.copy()
    rng = np.random.default_rng([seed, 1])
    for j, m in enumerate(measures):
        absent = x[:, j] == ABSENT
        if absent.any():
            x[absent, j] = m.draw(rng, int(absent.sum()))
    forest = ExtraTreesRegressor(
        n_estimators=N_TREES,
        max_features=1.0,
        min_samples_leaf=max(1, min(3, n // 200)),
        random_state=seed,
        n_jobs=1,
    )
    forest.fit(x, y)
    trees = [_boxes(e, d) for e in forest.estimators_]
    return Forest(data, trees, measures, seed)


_CACHE: OrderedDict[tuple[int, int], Forest] = OrderedDict()
_CACHE_SIZE = 4
_LOCK = threading.Lock()


def fitted(owner: str, data: Data, seed: int) -> Forest:
    """Return the forest of ``data`` (fitted once per snapshot and seed, then reused).

    Raises:
        MissingDependencyError: scikit-learn is not installed.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidValueError(f"{owner}: seed must be an int; got {seed!r}.")
    key = (id(data), seed)
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None and hit.data is data:
            _CACHE.move_to_end(key)
            return hit
    forest = _fit(owner, data, seed)
    with _LOCK:
        _CACHE[key] = forest
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return forest
