"""The exact functional ANOVA of trees, checked on hand-built trees and by sampling."""

from __future__ import annotations

import numpy as np
import pytest

from hyperdial import Categorical, Direction, Float
from hyperdial.analysis._data import Data, load
from hyperdial.analysis._fanova import main_effects, marginal, marginal_2d, pair_effect
from hyperdial.analysis._forest import Forest, Tree, fitted, measure

INF = np.inf


def _forest(leaves, dists):
    """Return a one-tree forest from ``[(lo, hi, value), ...]`` boxes."""
    lo = np.array([leaf[0] for leaf in leaves], dtype=float)
    hi = np.array([leaf[1] for leaf in leaves], dtype=float)
    value = np.array([leaf[2] for leaf in leaves], dtype=float)
    splits = [np.unique(np.concatenate([lo[:, j], hi[:, j]])) for j in range(len(dists))]
    splits = [s[np.isfinite(s)] for s in splits]
    names = tuple(f"p{j}" for j in range(len(dists)))
    data = Data(
        names, tuple(dists), np.zeros((0, len(dists))), np.zeros(0), (), Direction.MINIMIZE
    )
    return Forest(data, [Tree(lo, hi, value, splits)], [measure(d) for d in dists], 0)


def test_a_step_in_one_parameter():
    forest = _forest(
        [((-INF, -INF), (0.5, INF), 0.0), ((0.5, -INF), (INF, INF), 1.0)],
        [Float(0, 1), Float(0, 1)],
    )
    main, total = main_effects(forest)
    assert total[0] == pytest.approx(0.25)
    assert main[0] == pytest.approx([0.25, 0.0])
    assert pair_effect(forest, 0, 1)[0] == pytest.approx(0.0)
    assert marginal(forest, 0, np.array([0.2, 0.5, 0.7]))[0] == pytest.approx([0, 0, 1])


def test_a_pure_interaction():
    half = 0.5
    forest = _forest(
        [
            ((-INF, -INF), (half, half), 0.0),
            ((-INF, half), (half, INF), 1.0),
            ((half, -INF), (INF, half), 1.0),
            ((half, half), (INF, INF), 0.0),
        ],
        [Float(0, 1), Float(0, 1)],
    )
    main, total = main_effects(forest)
    assert total[0] == pytest.approx(0.25)
    assert main[0] == pytest.approx([0.0, 0.0])
    assert pair_effect(forest, 0, 1)[0] == pytest.approx(0.25)
    grid = marginal_2d(forest, 0, 1, np.array([0.25, 0.75]), np.array([0.25, 0.75]))[0]
    assert grid == pytest.approx(np.array([[0, 1], [1, 0]]))


def test_discrete_parameters_weigh_their_values_equally():
    # Three choices at 1/6, 1/2, 5/6; a split at 0.4 puts one choice left and two right.
    forest = _forest(
        [((-INF,), (0.4,), 3.0), ((0.4,), (INF,), 0.0)], [Categorical(["a", "b", "c"])]
    )
    main, total = main_effects(forest)
    assert total[0] == pytest.approx(9 * (1 / 3) * (2 / 3))
    assert main[0, 0] == pytest.approx(total[0])


def _predict(tree: Tree, x: np.ndarray) -> np.ndarray:
    inside = np.all((x[:, None, :] > tree.lo[None]) & (x[:, None, :] <= tree.hi[None]), axis=2)
    return tree.value[np.argmax(inside, axis=1)]


def test_marginals_match_sampling_on_a_fitted_forest(make_history):
    space = {"a": Float(0, 1), "b": Float(-1, 1), "c": Float(0, 2)}
    history = make_history(lambda p: p["a"] * p["b"] + p["c"] ** 2, space, n_trials=80)
    data = load("test", history)
    forest = fitted("test", data, 0)
    rng = np.random.default_rng(0)
    sample = rng.random((8000, 3))
    points = np.array([0.1, 0.45, 0.9])
    exact = marginal(forest, 0, points)
    for t in (0, 7):
        tree = forest.trees[t]
        for i, u in enumerate(points):
            x = sample.copy()
            x[:, 0] = u
            assert exact[t, i] == pytest.approx(_predict(tree, x).mean(), abs=0.03)
    main, total = main_effects(forest)
    predictions = _predict(forest.trees[0], sample)
    assert total[0] == pytest.approx(predictions.var(), rel=0.05)
    assert main[0].sum() <= total[0] + 1e-12
