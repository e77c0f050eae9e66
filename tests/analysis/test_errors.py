from __future__ import annotations

import sys

import pytest

from hyperdial import Float
from hyperdial.analysis import (
    convergence,
    diagnose,
    explain_best,
    importance,
    interactions,
    partial_dependence,
    partial_dependence_2d,
    suggest_space,
)
from hyperdial.exceptions import (
    InvalidValueError,
    MissingDependencyError,
    NoCompletedTrialsError,
)

SPACE = {"x": Float(0, 1), "y": Float(0, 1)}

MODEL_BASED = [
    pytest.param(lambda h, **kw: importance(h, **kw), id="importance"),
    pytest.param(lambda h, **kw: importance(h, method="ped_anova", **kw), id="ped_anova"),
    pytest.param(lambda h, **kw: interactions(h, **kw), id="interactions"),
    pytest.param(lambda h, **kw: partial_dependence(h, "x", **kw), id="partial_dependence"),
    pytest.param(lambda h, **kw: partial_dependence_2d(h, "x", "y", **kw), id="pd_2d"),
    pytest.param(lambda h, **kw: suggest_space(h, **kw), id="suggest_space"),
    pytest.param(lambda h, **kw: convergence(h, **kw), id="convergence"),
]


@pytest.mark.parametrize("call", MODEL_BASED)
def test_too_few_trials_say_how_many_are_needed(make_history, call):
    history = make_history(lambda p: p["x"], SPACE, n_trials=4)
    with pytest.raises(NoCompletedTrialsError, match="needs at least 5 completed trials.*has 4"):
        call(history)


@pytest.mark.parametrize("call", MODEL_BASED)
def test_objective_index_is_checked(make_history, call):
    history = make_history(lambda p: p["x"], SPACE, n_trials=10)
    with pytest.raises(InvalidValueError, match=r"objective must be an int in \[0, 0\]"):
        call(history, objective=1)


def test_only_complete_trials_with_finite_values_count(make_history):
    import dataclasses

    from hyperdial import History, TrialState

    base = make_history(lambda p: p["x"], SPACE, n_trials=6)
    trials = list(base.trials)
    trials[0] = dataclasses.replace(trials[0], values=(float("nan"),))
    trials[1] = dataclasses.replace(trials[1], state=TrialState.PRUNED)
    with pytest.raises(NoCompletedTrialsError, match="has 4"):
        importance(History(base.directions, tuple(trials)))


def test_unknown_parameters_are_named(make_history):
    history = make_history(lambda p: p["x"], SPACE, n_trials=10)
    with pytest.raises(InvalidValueError, match=r"one of \['x', 'y'\]\); got 'z'"):
        partial_dependence(history, "z")
    with pytest.raises(InvalidValueError, match="got 'z'"):
        importance(history, params=["x", "z"])
    with pytest.raises(InvalidValueError, match="got 'z'"):
        partial_dependence_2d(history, "x", "z")
    with pytest.raises(InvalidValueError, match="param_b must differ"):
        partial_dependence_2d(history, "x", "x")
    with pytest.raises(InvalidValueError, match="params must be a list"):
        importance(history, params="x")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(lambda h: importance(h, method="shap"), "method must be", id="method"),
        pytest.param(lambda h: importance(h, seed=1.5), "seed must be an int", id="seed"),
        pytest.param(lambda h: interactions(h, top=0), "top must be an int", id="top"),
        pytest.param(
            lambda h: partial_dependence(h, "x", n_points=1), "n_points must be", id="n_points"
        ),
        pytest.param(lambda h: suggest_space(h, space={"x": 1}), "space must be", id="space"),
    ],
)
def test_invalid_arguments(make_history, call, message):
    with pytest.raises(InvalidValueError, match=message):
        call(make_history(lambda p: p["x"], SPACE, n_trials=10))


def test_study_or_history_only():
    for call in (importance, convergence, diagnose, explain_best):
        with pytest.raises(TypeError, match="expects a Study or a History; got list"):
            call([])


def test_missing_scikit_learn_names_the_extra(make_history, monkeypatch):
    history = make_history(lambda p: p["y"], SPACE, n_trials=7, seed=99)
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyperdial\[analysis\]'"):
        importance(history)
    assert next(iter(importance(history, method="ped_anova"))) == "y"  # needs no forest
