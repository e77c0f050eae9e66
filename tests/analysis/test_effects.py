from __future__ import annotations

import math

import numpy as np
import pytest

from hyperdial import Categorical, Float, Int, SearchSpace
from hyperdial.analysis import (
    PartialDependence,
    PartialDependence2D,
    partial_dependence,
    partial_dependence_2d,
)

SPACE = {"x": Float(0, 1), "y": Float(0, 1), "z": Float(0, 1)}


def test_follows_a_known_one_dimensional_shape(make_history):
    history = make_history(lambda p: (p["x"] - 0.3) ** 2 + 0.1 * p["y"], SPACE, n_trials=300)
    pd = partial_dependence(history, "x", n_points=21)
    assert isinstance(pd, PartialDependence)
    assert pd.values == pytest.approx(list(np.linspace(0, 1, 21)))
    assert len(pd.mean) == len(pd.std) == 21
    assert pd.values[int(np.argmin(pd.mean))] == pytest.approx(0.3, abs=0.1)
    truth = [(v - 0.3) ** 2 for v in pd.values]
    assert np.corrcoef(truth, pd.mean)[0, 1] > 0.97
    # In the objective's units: the curve averages 0.1 * y over y, about 0.05 above the truth.
    assert np.mean(pd.mean) - np.mean(truth) == pytest.approx(0.05, abs=0.03)
    assert not pd.categorical and not pd.log


def test_maximize_keeps_the_objective_units(make_history):
    history = make_history(
        lambda p: 1 - (p["x"] - 0.7) ** 2, SPACE, n_trials=200, directions=["maximize"]
    )
    pd = partial_dependence(history, "x", n_points=11)
    assert pd.values[int(np.argmax(pd.mean))] == pytest.approx(0.7, abs=0.1)
    assert 0.5 < min(pd.mean) and max(pd.mean) <= 1.0


def test_categorical_log_and_int_grids(make_history):
    space = {
        "opt": Categorical(["adam", "sgd"]),
        "lr": Float(1e-4, 1e-1, log=True),
        "depth": Int(2, 6),
        "width": Int(8, 1024, step=8),
    }

    def objective(p):
        return (p["opt"] == "sgd") + (math.log10(p["lr"]) + 2.5) ** 2 + 0.1 * p["depth"]

    history = make_history(objective, space, n_trials=200)
    opt = partial_dependence(history, "opt")
    assert opt.values == ["adam", "sgd"] and opt.categorical
    assert opt.mean[1] - opt.mean[0] == pytest.approx(1.0, abs=0.3)
    lr = partial_dependence(history, "lr", n_points=7)
    assert lr.log and lr.values == pytest.approx([10.0**e for e in np.linspace(-4, -1, 7)])
    assert lr.values[int(np.argmin(lr.mean))] == pytest.approx(10**-2.5, rel=0.7)
    depth = partial_dependence(history, "depth")
    assert depth.values == [2, 3, 4, 5, 6] and all(type(v) is int for v in depth.values)
    assert depth.mean == sorted(depth.mean)
    width = partial_dependence(history, "width", n_points=10)
    assert len(width.values) <= 10 and all(v % 8 == 0 for v in width.values)


def test_two_dimensional_shape(make_history):
    history = make_history(lambda p: (p["x"] - p["y"]) ** 2, SPACE, n_trials=400)
    pd = partial_dependence_2d(history, "x", "y", n_points=6)
    assert isinstance(pd, PartialDependence2D)
    assert pd.x == pytest.approx(list(np.linspace(0, 1, 6))) and pd.y == pd.x
    z = np.array(pd.z)
    assert z.shape == (6, 6)
    truth = np.array([[(x - y) ** 2 for x in pd.x] for y in pd.y])
    assert np.corrcoef(truth.ravel(), z.ravel())[0, 1] > 0.95
    assert z.diagonal().max() < z[0, -1] and z.diagonal().max() < z[-1, 0]


def test_two_dimensional_axes_follow_the_arguments(make_history):
    history = make_history(lambda p: p["x"] + 3 * p["z"], SPACE, n_trials=200)
    pd = partial_dependence_2d(history, "z", "x", n_points=4)
    z = np.array(pd.z)  # rows follow x (param_b), columns follow z (param_a)
    assert z[0, -1] - z[0, 0] == pytest.approx(3.0, abs=0.6)
    assert z[-1, 0] - z[0, 0] == pytest.approx(1.0, abs=0.4)
    assert not pd.log_a and not pd.log_b


def test_conditional_parameter_is_averaged_where_it_exists(make_history):
    space = SearchSpace(
        {"n_layers": Int(1, 3), "units_3": Float(0, 1)}, conditions={"units_3": "n_layers >= 3"}
    )

    def objective(p):
        return p["n_layers"] + (2 * p["units_3"] if "units_3" in p else 0.0)

    pd = partial_dependence(make_history(objective, space, n_trials=300), "units_3", n_points=5)
    # Where units_3 exists n_layers is 3: the curve runs from about 3 to about 5.
    assert pd.mean[0] == pytest.approx(3.0, abs=0.4)
    assert pd.mean[-1] == pytest.approx(5.0, abs=0.4)
