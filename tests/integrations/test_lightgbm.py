from __future__ import annotations

import inspect
import sys

import numpy as np
import pytest

import hyperdial
from hyperdial.exceptions import InvalidValueError, MissingDependencyError
from hyperdial.schedulers import MedianPruner
from hyperdial.trial import TrialState

lgb = pytest.importorskip("lightgbm")

from hyperdial.integrations.lightgbm import PruningCallback  # noqa: E402

ROUNDS = 15
GOOD = {"learning_rate": 0.3}
BAD = {"learning_rate": 1e-4}
QUIET = {"verbose": -1, "num_threads": 1, "min_data_in_leaf": 5}


def make_data(n=240, *, classification=False, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    signal = 2.0 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
    y = signal + 0.3 * rng.normal(size=n)
    if classification:
        y = (y > 0).astype(int)
    split = n * 3 // 4
    return X[:split], y[:split], X[split:], y[split:]


def make_study(direction="minimize"):
    return hyperdial.create_study(
        direction=direction, scheduler=MedianPruner(n_startup_trials=2), seed=0
    )


def eval_kwargs(X, y):
    """``eval_X``/``eval_y`` since LightGBM 4.7, ``eval_set`` before (now deprecated)."""
    if "eval_X" in inspect.signature(lgb.LGBMModel.fit).parameters:
        return {"eval_X": X, "eval_y": y}
    return {"eval_set": list(zip(X, y))} if isinstance(X, tuple) else {"eval_set": [(X, y)]}


def train_native(trial, data, metric="l2", params=None, **callback_options):
    X_train, y_train, X_valid, y_valid = data
    train = lgb.Dataset(X_train, y_train)
    valid = lgb.Dataset(X_valid, y_valid, reference=train)
    log = {}
    lgb.train(
        {**QUIET, "metric": metric, **(params or {})},
        train,
        num_boost_round=ROUNDS,
        valid_sets=[valid],
        callbacks=[
            lgb.record_evaluation(log),
            PruningCallback(trial, metric, **callback_options),
        ],
    )
    return log["valid_0"][metric]


def train_sklearn(trial, data, params=None):
    X_train, y_train, X_valid, y_valid = data
    model = lgb.LGBMClassifier(n_estimators=ROUNDS, **QUIET, **(params or {}))
    model.fit(
        X_train,
        y_train,
        **eval_kwargs(X_valid, y_valid),
        callbacks=[PruningCallback(trial, "binary_logloss")],
    )
    return model.evals_result_["valid_0"]["binary_logloss"]


@pytest.mark.parametrize(
    ("train", "classification"),
    [
        pytest.param(train_native, False, id="lightgbm.train"),
        pytest.param(train_sklearn, True, id="LGBMClassifier.fit"),
    ],
)
def test_bad_configurations_are_pruned_after_fewer_rounds(train, classification):
    data = make_data(classification=classification)

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
        return train(trial, data, params={"learning_rate": lr})[-1]

    study = make_study()
    for params in (GOOD, GOOD, BAD, BAD):
        study.enqueue(params)
    study.optimize(objective, n_trials=4)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED] * 2
    assert all(t.last_step == ROUNDS for t in trials[:2])
    assert all(t.last_step < ROUNDS for t in trials[2:])


def test_a_higher_is_better_metric_is_reported_raw_for_a_maximising_study():
    data = make_data(classification=True)
    stumps = {"num_leaves": 2, "learning_rate": 1e-4}  # coarse rankings: a low AUC

    def objective(trial):
        leaves = trial.suggest_int("num_leaves", 2, 31)
        lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
        params = {"objective": "binary", "num_leaves": leaves, "learning_rate": lr}
        return train_native(trial, data, metric="auc", params=params)[-1]

    study = make_study("maximize")
    for params in ({"num_leaves": 31, **GOOD}, {"num_leaves": 31, **GOOD}, stumps):
        study.enqueue(params)
    study.optimize(objective, n_trials=3)
    complete, pruned = study.trials[:2], study.trials[2]
    assert pruned.state is TrialState.PRUNED and pruned.last_step < ROUNDS
    assert all(0.5 < t.value <= 1.0 for t in complete)
    assert 0.5 <= pruned.intermediate[pruned.last_step] < min(t.value for t in complete)


def test_reported_values_are_lightgbm_own_evaluation_results():
    study = make_study()
    trial = study.ask()
    logged = train_native(trial, make_data(), metric="l1")
    assert dict(trial.intermediate) == {i + 1: v for i, v in enumerate(logged)}

    trial = study.ask()
    logged = train_sklearn(trial, make_data(classification=True))
    assert list(trial.intermediate.values()) == pytest.approx(logged, abs=0)
    assert sorted(trial.intermediate) == list(range(1, ROUNDS + 1))


def test_the_pruned_round_is_recorded_by_record_evaluation_too():
    data = make_data()
    study = make_study()
    for params in (GOOD, GOOD, BAD):
        study.enqueue(params)
    logs = []

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
        logs.append([])
        X_train, y_train, X_valid, y_valid = data
        train = lgb.Dataset(X_train, y_train)
        log = {}
        try:
            lgb.train(
                {**QUIET, "learning_rate": lr},
                train,
                num_boost_round=ROUNDS,
                valid_sets=[lgb.Dataset(X_valid, y_valid, reference=train)],
                callbacks=[PruningCallback(trial, "l2"), lgb.record_evaluation(log)],
            )
        finally:
            logs[-1] = log["valid_0"]["l2"]
        return logs[-1][-1]

    study.optimize(objective, n_trials=3)
    pruned = study.trials[2]
    assert pruned.state is TrialState.PRUNED
    assert len(logs[2]) == pruned.last_step
    assert pruned.intermediate[pruned.last_step] == logs[2][-1]


def test_early_stopping_still_ends_training_after_the_last_report():
    X_train, y_train, X_valid, y_valid = make_data(n=120)
    train = lgb.Dataset(X_train, y_train)
    valid = lgb.Dataset(X_valid, y_valid, reference=train)
    trial, log = hyperdial.FixedTrial({}), {}
    booster = lgb.train(
        {**QUIET, "learning_rate": 1.0, "num_leaves": 64, "min_data_in_leaf": 1},
        train,
        200,
        valid_sets=[valid],
        callbacks=[
            lgb.early_stopping(3, verbose=False),
            PruningCallback(trial, "l2"),
            lgb.record_evaluation(log),
        ],
    )
    n_rounds = len(log["valid_0"]["l2"])
    assert booster.best_iteration + 3 == n_rounds < 200  # stopped early
    assert dict(trial.intermediate) == {i + 1: v for i, v in enumerate(log["valid_0"]["l2"])}


def test_an_unknown_metric_lists_the_evaluated_ones():
    trial = hyperdial.FixedTrial({})
    X_train, y_train, X_valid, y_valid = make_data()
    train = lgb.Dataset(X_train, y_train)
    valid = lgb.Dataset(X_valid, y_valid, reference=train)
    params = {**QUIET, "metric": ["l2", "l1"]}
    with pytest.raises(InvalidValueError) as info:
        lgb.train(params, train, 3, valid_sets=[valid], callbacks=[PruningCallback(trial, "mse")])
    assert str(info.value) == (
        "lightgbm.PruningCallback: metric must be one of the metrics evaluated on 'valid_0' "
        "['l2', 'l1']; got 'mse'."
    )
    with pytest.raises(InvalidValueError, match=r"evaluated data sets \['valid_0'\]; got 'val'"):
        lgb.train(
            params,
            train,
            3,
            valid_sets=[valid],
            callbacks=[PruningCallback(trial, "l2", valid_name="val")],
        )


def test_valid_name_chooses_among_several_validation_sets():
    X_train, y_train, X_valid, y_valid = make_data()
    train = lgb.Dataset(X_train, y_train)
    early = lgb.Dataset(X_valid[:30], y_valid[:30], reference=train)
    late = lgb.Dataset(X_valid[30:], y_valid[30:], reference=train)

    def run(**options):
        trial, log = hyperdial.FixedTrial({}), {}
        lgb.train(
            QUIET,
            train,
            3,
            valid_sets=[train, early, late],
            valid_names=["fit", "early", "late"],
            callbacks=[lgb.record_evaluation(log), PruningCallback(trial, "l2", **options)],
        )
        return trial, log

    with pytest.raises(InvalidValueError, match=r"several are evaluated \(\['fit', 'early', "):
        run()
    trial, log = run(valid_name="late")
    assert list(trial.intermediate.values()) == log["late"]["l2"]
    assert trial.user_attrs == {
        "train_loss": log["fit"]["l2"][-1],
        "validation_loss": log["late"]["l2"][-1],
    }


def test_no_validation_set_is_a_clear_error():
    X_train, y_train, _, _ = make_data()
    train = lgb.Dataset(X_train, y_train)
    callback = PruningCallback(hyperdial.FixedTrial({}), "l2")
    with pytest.raises(InvalidValueError, match="LightGBM evaluated no data set"):
        lgb.train(QUIET, train, 2, callbacks=[callback])
    with pytest.raises(InvalidValueError, match="only the training data is"):
        lgb.train(QUIET, train, 2, valid_sets=[train], callbacks=[callback])


def test_train_and_validation_losses_are_kept_when_the_training_set_is_evaluated():
    X_train, y_train, X_valid, y_valid = make_data()
    trial = make_study().ask()
    model = lgb.LGBMRegressor(n_estimators=ROUNDS, **QUIET)
    model.fit(
        X_train,
        y_train,
        **eval_kwargs((X_train, X_valid), (y_train, y_valid)),
        callbacks=[PruningCallback(trial, "l2")],
    )
    log = model.evals_result_
    assert sorted(log) == ["training", "valid_1"]  # LightGBM spots the training arrays
    assert trial.user_attrs == {
        "train_loss": log["training"]["l2"][-1],
        "validation_loss": log["valid_1"]["l2"][-1],
    }
    assert trial.user_attrs["train_loss"] < trial.user_attrs["validation_loss"]


def test_higher_is_better_metrics_are_kept_as_scores():
    X_train, y_train, X_valid, y_valid = make_data(classification=True)
    train = lgb.Dataset(X_train, y_train)
    valid = lgb.Dataset(X_valid, y_valid, reference=train)
    trial, log = hyperdial.FixedTrial({}), {}
    lgb.train(
        {**QUIET, "objective": "binary", "metric": ["binary_logloss", "auc"]},
        train,
        ROUNDS,
        valid_sets=[train, valid],
        valid_names=["fit", "holdout"],
        callbacks=[lgb.record_evaluation(log), PruningCallback(trial, "auc")],
    )
    assert trial.user_attrs == {
        "train_score": log["fit"]["auc"][-1],
        "validation_score": log["holdout"]["auc"][-1],
    }


def test_train_name_marks_training_data_lightgbm_cannot_recognise():
    X_train, y_train, X_valid, y_valid = make_data()
    train = lgb.Dataset(X_train, y_train)
    # The same rows in a Dataset of their own: LightGBM sees just another validation set.
    train_again = lgb.Dataset(X_train, y_train, reference=train)
    valid = lgb.Dataset(X_valid, y_valid, reference=train)
    trial, log = hyperdial.FixedTrial({}), {}
    lgb.train(
        QUIET,
        train,
        ROUNDS,
        valid_sets=[train_again, valid],
        callbacks=[
            lgb.record_evaluation(log),
            PruningCallback(trial, "l2", train_name="valid_0"),
        ],
    )
    assert list(trial.intermediate.values()) == log["valid_1"]["l2"]
    assert trial.user_attrs == {
        "train_loss": log["valid_0"]["l2"][-1],
        "validation_loss": log["valid_1"]["l2"][-1],
    }


def test_nothing_is_kept_without_the_training_set():
    trial = hyperdial.FixedTrial({})
    train_sklearn(trial, make_data(classification=True))
    assert len(trial.intermediate) == ROUNDS
    assert trial.user_attrs == {}


def test_report_every_thins_the_reports():
    trial = hyperdial.FixedTrial({})
    logged = train_native(trial, make_data(), report_every=4)
    assert dict(trial.intermediate) == {s: logged[s - 1] for s in (4, 8, 12)}


def test_cv_reports_the_mean_over_folds():
    X_train, y_train, _, _ = make_data()
    trial = hyperdial.FixedTrial({})
    result = lgb.cv(
        {**QUIET, "metric": "l2"},
        lgb.Dataset(X_train, y_train),
        num_boost_round=4,
        nfold=3,
        stratified=False,
        eval_train_metric=True,
        callbacks=[PruningCallback(trial, "l2")],
    )
    assert list(trial.intermediate.values()) == result["valid l2-mean"]
    assert trial.user_attrs == {
        "train_loss": result["train l2-mean"][-1],
        "validation_loss": result["valid l2-mean"][-1],
    }


def test_a_continued_model_counts_its_earlier_rounds():
    X_train, y_train, X_valid, y_valid = make_data()
    train = lgb.Dataset(X_train, y_train, free_raw_data=False)
    valid = lgb.Dataset(X_valid, y_valid, reference=train, free_raw_data=False)
    first = lgb.train(QUIET, train, 3, valid_sets=[valid])
    trial = hyperdial.FixedTrial({})
    lgb.train(
        QUIET,
        train,
        2,
        valid_sets=[valid],
        init_model=first,
        callbacks=[PruningCallback(trial, "l2")],
    )
    assert sorted(trial.intermediate) == [4, 5]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"metric": ""}, "metric must be a non-empty str; got ''.", id="metric"),
        pytest.param(
            {"metric": "l2", "valid_name": 0},
            "valid_name must be a non-empty str or None; got 0.",
            id="valid_name",
        ),
        pytest.param(
            {"metric": "l2", "report_every": 0},
            "report_every must be an int >= 1; got 0.",
            id="report_every",
        ),
    ],
)
def test_invalid_arguments_are_named(options, message):
    with pytest.raises(InvalidValueError) as info:
        PruningCallback(hyperdial.FixedTrial({}), **options)
    assert str(info.value) == f"lightgbm.PruningCallback: {message}"


def test_the_trial_must_be_a_trial():
    with pytest.raises(TypeError, match="trial must be a hyperdial Trial or FixedTrial; got dict"):
        PruningCallback({}, "l2")


def test_missing_lightgbm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    with pytest.raises(MissingDependencyError) as info:
        PruningCallback(hyperdial.FixedTrial({}), "l2")
    assert isinstance(info.value, ImportError)
    assert "pip install 'hyperdial[lightgbm]'" in str(info.value)
