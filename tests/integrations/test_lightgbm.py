from __future__ import annotations

import inspect
import sys

import pytest

import hyperdial
from hyperdial.exceptions import InvalidValueError, MissingDependencyError
from hyperdial.trial import TrialState

lgb = pytest.importorskip("lightgbm")

from hyperdial.integrations.lightgbm import PruningCallback  # noqa: E402

ROUNDS = 15
GOOD = {"learning_rate": 0.3}
BAD = {"learning_rate": 1e-4}
QUIET = {"verbose": -1, "num_threads": 1, "min_data_in_leaf": 5}


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
def test_bad_configurations_are_pruned_after_fewer_rounds(
    train, classification, make_split_data, make_optimized_study
):
    data = make_split_data(classification=classification)

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
        return train(trial, data, params={"learning_rate": lr})[-1]

    trials = make_optimized_study(objective, [GOOD, GOOD, BAD, BAD]).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED] * 2
    assert all(t.last_step == ROUNDS for t in trials[:2])
    assert all(t.last_step < ROUNDS for t in trials[2:])


def test_a_higher_is_better_metric_is_reported_raw_for_a_maximising_study(
    make_split_data, make_optimized_study
):
    data = make_split_data(classification=True)
    stumps = {"num_leaves": 2, "learning_rate": 1e-4}  # coarse rankings: a low AUC

    def objective(trial):
        leaves = trial.suggest_int("num_leaves", 2, 31)
        lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
        params = {"objective": "binary", "num_leaves": leaves, "learning_rate": lr}
        return train_native(trial, data, metric="auc", params=params)[-1]

    good = {"num_leaves": 31, **GOOD}
    study = make_optimized_study(objective, [good, good, stumps], "maximize")
    complete, pruned = study.trials[:2], study.trials[2]
    assert pruned.state is TrialState.PRUNED and pruned.last_step < ROUNDS
    assert all(0.5 < t.value <= 1.0 for t in complete)
    assert 0.5 <= pruned.intermediate[pruned.last_step] < min(t.value for t in complete)


def test_reported_values_are_lightgbm_own_evaluation_results(make_split_data, make_study):
    study = make_study()
    trial = study.ask()
    logged = train_native(trial, make_split_data(), metric="l1")
    assert dict(trial.intermediate) == {i + 1: v for i, v in enumerate(logged)}

    trial = study.ask()
    logged = train_sklearn(trial, make_split_data(classification=True))
    assert list(trial.intermediate.values()) == pytest.approx(logged, abs=0)
    assert sorted(trial.intermediate) == list(range(1, ROUNDS + 1))


def test_the_pruned_round_is_recorded_by_record_evaluation_too(
    make_split_data, make_optimized_study
):
    data = make_split_data()
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

    pruned = make_optimized_study(objective, [GOOD, GOOD, BAD]).trials[2]
    assert pruned.state is TrialState.PRUNED
    assert len(logs[2]) == pruned.last_step
    assert pruned.intermediate[pruned.last_step] == logs[2][-1]


def test_early_stopping_still_ends_training_after_the_last_report(make_split_data):
    X_train, y_train, X_valid, y_valid = make_split_data(n=120)
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


def test_an_unknown_metric_lists_the_evaluated_ones(make_split_data):
    trial = hyperdial.FixedTrial({})
    X_train, y_train, X_valid, y_valid = make_split_data()
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


def test_valid_name_chooses_among_several_validation_sets(make_split_data):
    X_train, y_train, X_valid, y_valid = make_split_data()
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


def test_no_validation_set_is_a_clear_error(make_split_data):
    X_train, y_train, _, _ = make_split_data()
    train = lgb.Dataset(X_train, y_train)
    callback = PruningCallback(hyperdial.FixedTrial({}), "l2")
    with pytest.raises(InvalidValueError, match="LightGBM evaluated no data set"):
        lgb.train(QUIET, train, 2, callbacks=[callback])
    with pytest.raises(InvalidValueError, match="only the training data is"):
        lgb.train(QUIET, train, 2, valid_sets=[train], callbacks=[callback])


def test_train_and_validation_losses_are_kept_when_the_training_set_is_evaluated(
    make_split_data, make_study
):
    X_train, y_train, X_valid, y_valid = make_split_data()
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


def test_higher_is_better_metrics_are_kept_as_scores(make_split_data):
    X_train, y_train, X_valid, y_valid = make_split_data(classification=True)
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


def test_train_name_marks_training_data_lightgbm_cannot_recognise(make_split_data):
    X_train, y_train, X_valid, y_valid = make_split_data()
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


def test_nothing_is_kept_without_the_training_set(make_split_data):
    trial = hyperdial.FixedTrial({})
    train_sklearn(trial, make_split_data(classification=True))
    assert len(trial.intermediate) == ROUNDS
    assert trial.user_attrs == {}


def test_report_every_thins_the_reports(make_split_data):
    trial = hyperdial.FixedTrial({})
    logged = train_native(trial, make_split_data(), report_every=4)
    assert dict(trial.intermediate) == {s: logged[s - 1] for s in (4, 8, 12)}


def test_cv_reports_the_mean_over_folds(make_split_data):
    X_train, y_train, _, _ = make_split_data()
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


def test_a_continued_model_counts_its_earlier_rounds(make_split_data):
    X_train, y_train, X_valid, y_valid = make_split_data()
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


def test_invalid_arguments_are_named(make_invalid_arguments):
    arguments, error, message = make_invalid_arguments("l2")
    with pytest.raises(error) as info:
        PruningCallback(**arguments)
    assert str(info.value) == f"lightgbm.PruningCallback: {message}"


def test_missing_lightgbm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)
    with pytest.raises(MissingDependencyError) as info:
        PruningCallback(hyperdial.FixedTrial({}), "l2")
    assert isinstance(info.value, ImportError)
    assert "pip install 'hyperdial[lightgbm]'" in str(info.value)
