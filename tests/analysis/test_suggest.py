from __future__ import annotations

import math

import pytest

import hyperdial
from hyperdial import Categorical, Float, Int, SearchSpace
from hyperdial.analysis import suggest_space
from hyperdial.exceptions import InvalidValueError
from hyperdial.presets import neural_net
from hyperdial.samplers import RandomSampler

SPACE = {
    "x": Float(0, 10, default=5.0),
    "lr": Float(1e-5, 1e-1, log=True, default=1e-2),
    "width": Int(8, 256, step=8, default=8),
    "layers": Int(1, 64, log=True),
    "frac": Float(0.0, 1.0, step=0.05),
    "opt": Categorical(["adam", "sgd", "rmsprop"], default="sgd"),
}


def _objective(p):
    # x and opt dominate; the others matter a little.
    return (
        10 * (p["x"] - 2) ** 2
        + 0.1 * (math.log10(p["lr"]) + 3) ** 2
        + 0.1 * ((p["width"] - 128) / 64) ** 2
        + 0.1 * (math.log2(p["layers"]) - 3) ** 2
        + 0.1 * (p["frac"] - 0.5) ** 2
        + 50 * (p["opt"] != "adam")
    )


def test_narrows_around_the_optimum_and_keeps_types(make_history):
    history = make_history(_objective, SPACE, n_trials=300)
    narrow = suggest_space(history, quantile=0.1)
    assert isinstance(narrow, SearchSpace) and list(narrow) == list(SPACE)
    for name, old in SPACE.items():
        new = narrow[name]
        assert type(new) is type(old)
        if not isinstance(old, Categorical):
            assert new.log == old.log and new.step == old.step
            assert old.low <= new.low <= new.high <= old.high
            assert old.contains(new.low) and old.contains(new.high)
    assert narrow["x"].low < 2 < narrow["x"].high < 5
    assert narrow["x"].default is None  # 5 falls outside
    assert narrow["opt"].choices == ("adam",)
    assert narrow["opt"].default is None  # "sgd" is no longer a choice
    assert narrow["lr"].default == 1e-2  # still inside the (barely narrowed) range


@pytest.mark.parametrize(
    ("name", "best"),
    [
        pytest.param("lr", 1e-3, id="log-float"),
        pytest.param("width", 128, id="stepped-int"),
        pytest.param("layers", 8, id="log-int"),
        pytest.param("frac", 0.5, id="stepped-float"),
    ],
)
def test_each_kind_narrows_around_its_optimum(make_history, name, best):
    old = SPACE[name]
    unit = {"lr": math.log10, "layers": math.log2}.get(name, lambda v: v)
    span = unit(old.high) - unit(old.low)
    history = make_history(lambda p: abs(unit(p[name]) - unit(best)), {name: old}, n_trials=60)
    new = suggest_space(history)[name]
    assert type(new) is type(old) and new.log == old.log and new.step == old.step
    assert new.low <= best <= new.high
    assert unit(new.high) - unit(new.low) < 0.5 * span
    assert old.contains(new.low) and old.contains(new.high)


def test_samples_from_the_narrower_space_are_valid(make_history):
    narrow = suggest_space(make_history(_objective, SPACE, n_trials=200))
    study = hyperdial.create_study(sampler=RandomSampler(), seed=3)
    drawn = []
    study.optimize(lambda t: drawn.append(t.suggest_space(narrow)) or 0.0, n_trials=30)
    assert len(drawn) == 30
    for params in drawn:
        assert narrow.validate(params) == params
        for name, value in params.items():
            assert SPACE[name].contains(value)


def test_maximize_narrows_around_the_maximum(make_history):
    space = {"x": Float(-5, 5)}
    history = make_history(lambda p: -((p["x"] - 3) ** 2), space, directions=["maximize"])
    narrow = suggest_space(history, quantile=0.1)["x"]
    assert narrow.low < 3 < narrow.high and narrow.low > 1


def test_conditions_are_inferred_from_the_trials(make_history):
    space = neural_net(max_layers=4)
    history = make_history(lambda p: p["n_layers"] + p["dropout_1"], space, n_trials=200)
    narrow = suggest_space(history, quantile=0.5)
    assert [str(c) for c in narrow.conditions["units_3"]] == ["n_layers >= 3"]
    assert [str(c) for c in narrow.conditions["dropout_4"]] == ["n_layers >= 4"]


def test_a_given_space_keeps_its_conditions_and_constraints(make_history):
    space = neural_net(max_layers=4)
    history = make_history(lambda p: p["n_layers"] + p["dropout_1"], space, n_trials=200)
    narrow = suggest_space(history, space=space)
    assert narrow.conditions == space.conditions
    assert narrow.constraints == space.constraints
    assert narrow["n_layers"].high < space["n_layers"].high
    study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
    study.optimize(lambda t: narrow.validate(t.suggest_space(narrow)) and 0.0, n_trials=10)


def test_quantile_must_be_a_share(make_history):
    history = make_history(_objective, SPACE, n_trials=20)
    for bad in (0, 1.5, "0.2", True):
        with pytest.raises(InvalidValueError, match="quantile must be a number in"):
            suggest_space(history, quantile=bad)
