from __future__ import annotations

import math

import pytest

from hyperdial import Categorical, Float, Int, SearchSpace
from hyperdial.analysis import ParamImportance, importance, importance_details, interactions

METHODS = [pytest.param("fanova", id="fanova"), pytest.param("ped_anova", id="ped_anova")]


def _quadratic(p):
    return 10 * p["x1"] ** 2 + p["x2"] + 0 * p["x3"]


QUADRATIC = {"x1": Float(-1, 1), "x2": Float(-1, 1), "x3": Float(-1, 1)}


@pytest.mark.parametrize("method", METHODS)
def test_recovers_the_important_parameter(make_history, method):
    history = make_history(_quadratic, QUADRATIC, n_trials=200)
    shares = importance(history, method=method)
    assert list(shares) == ["x1", "x2", "x3"]
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["x1"] > 0.5
    assert shares["x3"] < 0.05


def test_fanova_shares_match_the_variance_decomposition(make_history):
    # Var(10 x1^2) = 100 * (1/5 - 1/9) = 8.89 and Var(x2) = 1/3: x1 holds 96% of the variance.
    history = make_history(_quadratic, QUADRATIC, n_trials=300)
    shares = importance(history)
    assert shares["x1"] == pytest.approx(0.964, abs=0.03)
    assert shares["x2"] == pytest.approx(0.036, abs=0.03)


MIXED = {
    "lr": Float(1e-5, 1e-1, log=True),
    "optimizer": Categorical(["adam", "sgd", "rmsprop"]),
    "units": Int(16, 512, log=True),
    "depth": Int(1, 8),
}


def _mixed(p):
    return (math.log10(p["lr"]) + 3) ** 2 + 2.0 * (p["optimizer"] == "sgd") + 0 * p["units"]


@pytest.mark.parametrize("method", METHODS)
def test_log_int_and_categorical_parameters(make_history, method):
    history = make_history(_mixed, MIXED, n_trials=300, noise=0.05)
    shares = importance(history, method=method)
    assert set(list(shares)[:2]) == {"lr", "optimizer"}
    assert shares["units"] < 0.1 and shares["depth"] < 0.1


def _layers_space():
    params = {"n_layers": Int(1, 4), "lr": Float(1e-4, 1e-1, log=True)}
    params.update({f"units_{k}": Int(16, 256, log=True) for k in range(2, 5)})
    conditions = {f"units_{k}": f"n_layers >= {k}" for k in range(2, 5)}
    return SearchSpace(params, conditions)


@pytest.mark.parametrize("method", METHODS)
def test_conditional_parameters_credit_the_parameter_that_activates_them(make_history, method):
    # Only n_layers matters; units_k exist when n_layers >= k but their values do not count.
    history = make_history(lambda p: -p["n_layers"], _layers_space(), n_trials=200, noise=0.1)
    shares = importance(history, method=method)
    assert next(iter(shares)) == "n_layers"
    assert max(shares[f"units_{k}"] for k in range(2, 5)) < 0.15


def test_conditional_parameter_whose_value_matters(make_history):
    space = SearchSpace(
        {"kernel": Categorical(["rbf", "linear"]), "gamma": Float(1e-3, 1e1, log=True)},
        conditions={"gamma": "kernel == rbf"},
    )

    def objective(p):
        return (math.log10(p["gamma"]) + 1) ** 2 if p["kernel"] == "rbf" else 2.0

    shares = importance(make_history(objective, space, n_trials=200))
    assert shares["gamma"] > 0.2


def test_importance_does_not_depend_on_the_direction(make_history):
    low = make_history(_quadratic, QUADRATIC, n_trials=100)
    high = make_history(lambda p: -_quadratic(p), QUADRATIC, n_trials=100, directions=["maximize"])
    for method in ("fanova", "ped_anova"):
        a, b = importance(low, method=method), importance(high, method=method)
        assert list(a) == list(b)
        assert list(a.values()) == pytest.approx(list(b.values()), abs=1e-9)


def test_details_carry_the_spread_across_trees(make_history):
    history = make_history(_quadratic, QUADRATIC, n_trials=100)
    details = importance_details(history)
    assert all(isinstance(d, ParamImportance) for d in details)
    assert [d.param for d in details] == list(importance(history))
    assert all(d.std >= 0 for d in details) and details[0].std > 0
    assert all(d.std == 0 for d in importance_details(history, method="ped_anova"))
    with pytest.raises(AttributeError):
        details[0].share = 0.5  # type: ignore[misc]


def test_params_restricts_the_ranking(make_history):
    history = make_history(_quadratic, QUADRATIC, n_trials=100)
    shares = importance(history, params=["x3", "x2"])
    assert set(shares) == {"x2", "x3"}
    assert sum(shares.values()) == pytest.approx(1.0)
    assert list(shares) == ["x2", "x3"]


def test_results_are_deterministic_and_seeded(make_history):
    history = make_history(_quadratic, QUADRATIC, n_trials=100)
    assert importance(history, seed=3) == importance(history, seed=3)
    assert importance(history, seed=3) != importance(history, seed=4)


def test_objective_selects_among_several(make_history):
    history = make_history(
        lambda p: (p["x1"], 5 * p["x3"]), QUADRATIC, n_trials=100, directions=["minimize"] * 2
    )
    assert next(iter(importance(history, objective=0))) == "x1"
    assert next(iter(importance(history, objective=1))) == "x3"


def test_constant_objective_gives_zero_shares(make_history):
    shares = importance(make_history(lambda p: 1.0, QUADRATIC, n_trials=20))
    assert set(shares.values()) == {0.0}


def test_works_on_a_study():
    import hyperdial
    from hyperdial.samplers import RandomSampler

    study = hyperdial.create_study(sampler=RandomSampler(), seed=1)
    study.optimize(lambda t: t.suggest_float("a", 0, 1) + 0 * t.suggest_int("b", 0, 3), 30)
    assert next(iter(importance(study))) == "a"


def test_learning_rate_and_batch_size_interact(make_history):
    space = {
        "lr": Float(1e-4, 1e-1, log=True),
        "batch_size": Int(16, 1024, log=True),
        "dropout": Float(0.0, 0.5),
    }

    def objective(p):
        ratio = math.log10(p["lr"]) - math.log10(p["batch_size"])
        return (ratio + 4.6) ** 2 + 0.5 * p["dropout"]

    history = make_history(objective, space, n_trials=300, noise=0.05)
    found = interactions(history)
    pairs = list(found)
    assert pairs[0] == ("lr", "batch_size")
    assert found[pairs[0]] > 3 * found[pairs[1]]
    assert len(found) == 3
    assert list(interactions(history, top=1)) == [("lr", "batch_size")]


def test_additive_parameters_barely_interact(make_history):
    found = interactions(make_history(_quadratic, QUADRATIC, n_trials=200))
    assert max(found.values()) < 0.05
