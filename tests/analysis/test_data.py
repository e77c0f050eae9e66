"""Completed trials become unit-cube arrays; conditions are inferred from them."""

from __future__ import annotations

import numpy as np
import pytest

import hyperdial
from hyperdial import Categorical, Direction, Float, FrozenTrial, History, Int, TrialState
from hyperdial.analysis._data import ABSENT, load
from hyperdial.analysis._regions import find_regions, nice_between
from hyperdial.samplers import RandomSampler


def _history(rows):
    trials = []
    for i, (params, dists, value) in enumerate(rows):
        trials.append(FrozenTrial(i, i, TrialState.COMPLETE, params, dists, (value,)))
    return History((Direction.MINIMIZE,), tuple(trials))


def test_every_kind_maps_into_the_unit_cube():
    dists = {
        "f": Float(0, 10),
        "g": Float(1e-3, 1e1, log=True),
        "s": Float(0, 1, step=0.25),
        "i": Int(1, 4),
        "li": Int(1, 100, log=True),
        "c": Categorical(["a", "b"]),
    }
    params = {"f": 2.5, "g": 0.1, "s": 0.75, "i": 3, "li": 10, "c": "b"}
    data = load("test", _history([(params, dists, 1.0)] * 5), need=1)
    from hyperdial.distributions import to_unit

    expected = [to_unit(dists[k], v) for k, v in params.items()]
    assert data.x[0] == pytest.approx(expected)
    assert data.names == tuple(params)


def test_absent_and_foreign_values_are_absent():
    x = Float(0, 1)
    rows = [({"x": 0.5, "k": 2}, {"x": x, "k": Int(1, 3)}, 1.0)] * 4
    rows.append(({"x": 0.5}, {"x": x}, 2.0))  # k missing
    rows.append(({"x": 0.5, "k": 9}, {"x": x, "k": Int(5, 9)}, 3.0))  # another range
    data = load("test", _history(rows), need=1)
    k = data.names.index("k")
    assert data.x[:, k].tolist() == [0.5] * 4 + [ABSENT, ABSENT]


def test_snapshots_of_one_study_share_the_conversion():
    study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=6)
    first = load("test", study)
    assert load("test", study) is first
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert load("test", study) is not first


def test_conditions_are_inferred(make_history):
    from hyperdial import SearchSpace

    space = SearchSpace(
        {
            "kernel": Categorical(["rbf", "poly", "linear"]),
            "gamma": Float(1e-3, 1, log=True),
            "n": Int(1, 4),
            "w3": Float(0, 1),
        },
        conditions={"gamma": "kernel in [rbf, poly]", "w3": "n >= 3"},
    )
    data = load("test", make_history(lambda p: 0.0, space, n_trials=60))
    assert {k: str(c) for k, c in data.conditions.items()} == {
        "gamma": 'kernel in ["rbf", "poly"]',
        "w3": "n >= 3",
    }


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param(0.2487, 0.2531, 0.25, id="two-digits"),
        pytest.param(4, 7, 5.0, id="integers"),
        pytest.param(0.0012, 0.0031, 0.002, id="small"),
        pytest.param(-3.5, -1.2, -3.0, id="negative"),
        pytest.param(1.0, 1.0, 1.0, id="equal"),
    ],
)
def test_nice_between(a, b, expected):
    assert nice_between(a, b) == pytest.approx(expected)


def test_regions_combine_two_conditions(make_history):
    space = {"a": Float(0, 1), "b": Int(1, 10), "c": Float(0, 1)}
    history = make_history(lambda p: 0.0, space, n_trials=200)
    data = load("test", history)
    target = np.array([t.params["a"] < 0.3 and t.params["b"] >= 6 for t in history.trials])
    regions = find_regions(data, target, ["a", "b", "c"], "over-fit")
    assert regions[0].startswith("a < 0.3") and "b >= 6" in regions[0]
    k, n = (int(s) for s in regions[0].split(": ")[1].split(" trials")[0].split(" of "))
    assert k == n == int(target.sum())
    assert find_regions(data, np.zeros(200, dtype=bool), ["a"], "over-fit") == []
