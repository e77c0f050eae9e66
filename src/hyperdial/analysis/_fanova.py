"""Exact functional ANOVA of a random forest, tree by tree, from the leaves' boxes.

Hutter, Hoos & Leyton-Brown (2014), "An Efficient Approach for Assessing Hyperparameter
Importance", ICML. For a tree ``t`` with leaves ``L`` (boxes with value ``v_L``) and a product
measure ``mu`` on the space, the marginal of a set ``U`` of dimensions is

    f_U(x_U) = sum_L v_L * prod_{j not in U} mu_j(L_j) * [x_U in L_U],

a step function on the grid cut by the tree's split points. Its variance under ``mu_U``, minus
the variances of the lower-order effects it contains, is the variance of the pure effect of
``U``. Nothing is sampled: each marginal is summed over the leaves with difference arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hyperdial.analysis._forest import Forest, Measure, Tree


@dataclass(eq=False)
class _Prep:
    mass: np.ndarray  # (n_leaves, d): measure of each leaf's side in each dimension
    vol: np.ndarray  # (n_leaves,): measure of each leaf
    mean: float
    var: float
    bounds: list[np.ndarray]  # per dimension [-inf, splits..., inf]
    seg_mass: list[np.ndarray]  # per dimension, measure of each segment between splits
    start: list[np.ndarray]  # per dimension, first segment of each leaf
    end: list[np.ndarray]  # per dimension, one past the last segment of each leaf


def _prep(tree: Tree, measures: list[Measure], keep: bool = True) -> _Prep:
    cached = tree.cache.get("prep") if keep else None
    if cached is not None:
        return cached  # type: ignore[return-value]
    d = len(measures)
    mass = np.empty_like(tree.lo)
    bounds, seg_mass, start, end = [], [], [], []
    for j, measure in enumerate(measures):
        mass[:, j] = measure.cdf(tree.hi[:, j]) - measure.cdf(tree.lo[:, j])
        b = np.concatenate([[-np.inf], tree.splits[j], [np.inf]])
        bounds.append(b)
        seg_mass.append(np.diff(measure.cdf(b)))
        start.append(np.searchsorted(b, tree.lo[:, j]))
        end.append(np.searchsorted(b, tree.hi[:, j]))
    vol = np.prod(mass, axis=1) if d else np.ones(len(tree.value))
    mean = float(vol @ tree.value)
    var = max(float(vol @ tree.value**2) - mean**2, 0.0)
    prep = _Prep(mass, vol, mean, var, bounds, seg_mass, start, end)
    if keep:
        tree.cache["prep"] = prep
    return prep


def _others(prep: _Prep, *dims: int) -> np.ndarray:
    """Return, per leaf, the product of its measure over the dimensions not in ``dims``.

    A leaf with no mass in one of ``dims`` only covers segments of no mass there, which weigh
    nothing in a variance and hold no legal value, so its weight may be taken as 0.
    """
    part = np.prod(prep.mass[:, list(dims)], axis=1)
    out: np.ndarray = np.zeros_like(part)
    np.divide(prep.vol, part, out=out, where=part > 0)
    return out


def _curve(tree: Tree, prep: _Prep, j: int, keep: bool = True) -> np.ndarray:
    """Return the marginal of dimension ``j`` on each of its segments."""
    key = ("curve", j)
    cached = tree.cache.get(key) if keep else None
    if cached is not None:
        return cached  # type: ignore[return-value]
    n_seg = len(prep.seg_mass[j])
    c = tree.value * _others(prep, j)
    diff = np.bincount(prep.start[j], c, n_seg + 1) - np.bincount(prep.end[j], c, n_seg + 1)
    curve = np.cumsum(diff)[:n_seg]
    if keep:
        tree.cache[key] = curve
    return curve


def _surface(tree: Tree, prep: _Prep, j: int, k: int) -> np.ndarray:
    """Return the joint marginal of dimensions ``j`` and ``k`` on their segment grid."""
    nj, nk = len(prep.seg_mass[j]), len(prep.seg_mass[k])
    c = tree.value * _others(prep, j, k)
    sj, ej, sk, ek = prep.start[j], prep.end[j], prep.start[k], prep.end[k]
    width = nk + 1
    size = (nj + 1) * width
    diff = (
        np.bincount(sj * width + sk, c, size)
        - np.bincount(sj * width + ek, c, size)
        - np.bincount(ej * width + sk, c, size)
        + np.bincount(ej * width + ek, c, size)
    ).reshape(nj + 1, width)
    np.cumsum(diff, axis=0, out=diff)
    np.cumsum(diff, axis=1, out=diff)
    return diff[:nj, :nk]


def main_effects(forest: Forest) -> tuple[np.ndarray, np.ndarray]:
    """Return the main-effect variances ``(n_trees, d)`` and total variances ``(n_trees,)``."""
    cached = forest.cache.get("main")
    if cached is not None:
        return cached  # type: ignore[return-value]
    d = len(forest.measures)
    main = np.zeros((len(forest.trees), d))
    total = np.zeros(len(forest.trees))
    for t, tree in enumerate(forest.trees):
        prep = _prep(tree, forest.measures)
        total[t] = prep.var
        for j in range(d):
            if tree.splits[j].size:
                f = _curve(tree, prep, j)
                main[t, j] = max(float(prep.seg_mass[j] @ f**2) - prep.mean**2, 0.0)
    forest.cache["main"] = (main, total)
    return main, total


def pair_effect(forest: Forest, j: int, k: int) -> np.ndarray:
    """Return the variance of the pure interaction of ``j`` and ``k`` in each tree."""
    key = ("pair", min(j, k), max(j, k))
    cached = forest.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[return-value]
    main, _ = main_effects(forest)
    out = np.zeros(len(forest.trees))
    for t, tree in enumerate(forest.trees):
        if not (tree.splits[j].size and tree.splits[k].size):
            continue
        prep = _prep(tree, forest.measures)
        f = _surface(tree, prep, j, k)
        joint = float(prep.seg_mass[j] @ f**2 @ prep.seg_mass[k]) - prep.mean**2
        out[t] = max(joint - main[t, j] - main[t, k], 0.0)
    forest.cache[key] = out
    return out


def _segment(prep: _Prep, j: int, u: np.ndarray) -> np.ndarray:
    # A leaf holds (lo, hi]: the segment of u is the number of split points below it.
    return np.searchsorted(prep.bounds[j][1:-1], u, "left")


def marginal(
    forest: Forest, j: int, u: np.ndarray, measures: list[Measure] | None = None
) -> np.ndarray:
    """Return each tree's marginal prediction of dimension ``j`` at ``u``: ``(n_trees, n)``.

    ``measures`` replaces the forest's measures (e.g. restricted to where ``j`` is active).
    """
    keep = measures is None
    out = np.empty((len(forest.trees), len(u)))
    for t, tree in enumerate(forest.trees):
        prep = _prep(tree, forest.measures if measures is None else measures, keep)
        if tree.splits[j].size:
            out[t] = _curve(tree, prep, j, keep)[_segment(prep, j, u)]
        else:
            out[t] = prep.mean
    return out


def marginal_2d(
    forest: Forest,
    j: int,
    k: int,
    uj: np.ndarray,
    uk: np.ndarray,
    measures: list[Measure] | None = None,
) -> np.ndarray:
    """Return each tree's joint marginal at ``(uj[i], uk[m])``: ``(n_trees, len(uk), len(uj))``."""
    out = np.empty((len(forest.trees), len(uk), len(uj)))
    for t, tree in enumerate(forest.trees):
        prep = _prep(tree, forest.measures if measures is None else measures, measures is None)
        f = _surface(tree, prep, j, k)
        out[t] = f[_segment(prep, j, uj)][:, _segment(prep, k, uk)].T
    return out


def main_shares(forest: Forest, columns: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Return each column's share of the main-effect variance of ``columns`` and its spread.

    Shares are taken per tree (they sum to 1 in every tree that varies) and averaged; all are
    0 when no tree varies.
    """
    main, _ = main_effects(forest)
    sub = main[:, columns]
    sums = sub.sum(axis=1)
    varied = sums > 0
    if not varied.any():
        return np.zeros(len(columns)), np.zeros(len(columns))
    per_tree = sub[varied] / sums[varied, None]
    return per_tree.mean(axis=0), per_tree.std(axis=0)
