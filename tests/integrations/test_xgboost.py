from __future__ import annotations

import copy
import importlib.util
import sys

import pytest

import hyperdial
from hyperdial.exceptions import InvalidValueError, MissingDependencyError
from hyperdial.trial import TrialState

xgb = pytest.importorskip("xgboost")

from hyperdial.integrations import xgboost as integration  # noqa: E402
from hyperdial.integrations.xgboost import PruningCallback  # noqa: E402

ROUNDS = 15
GOOD = {"learning_rate": 0.3}
BAD = {"learning_rate": 1e-4}
QUIET = {"nthread": 1, "max_depth": 3}


def train_native(trial, data, metric="rmse", params=None, **callback_options):
    X_train, y_train, X_valid, y_valid = data
    train, valid = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_valid, y_valid)
    log = {}
    xgb.train(
        {**QUIET, "eval_metric": metric, **(params or {})},
        train,
        num_boost_round=ROUNDS,
        evals=[(train, "train"), (valid, "valid")],
        evals_result=log,
        verbose_eval=False,
        callbacks=[PruningCallback(trial, metric, **callback_options)],
    )
    return log


def train_sklearn(trial, data, params=None, **callback_options):
    X_train, y_train, X_valid, y_valid = data
    model = xgb.XGBClassifier(
        n_estimators=ROUNDS,
        n_jobs=1,
        max_depth=3,
        eval_metric="logloss",
        callbacks=[PruningCallback(trial, "logloss", **callback_options)],
        **(params or {}),
    )
    model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)
    return model.evals_result()


@pytest.mark.parametrize(
    ("train", "classification"),
    [
        pytest.param(train_native, False, id="xgboost.train"),
        pytest.param(train_sklearn, True, id="XGBClassifier.fit"),
    ],
)
def test_bad_configurations_are_pruned_after_fewer_rounds(
    train, classification, make_split_data, make_optimized_study
):
    data = make_split_data(classification=classification)

    def objective(trial):
        lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
        log = train(trial, data, params={"learning_rate": lr})
        return list(log.values())[-1].popitem()[1][-1]

    trials = make_optimized_study(objective, [GOOD, GOOD, BAD, BAD]).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2 + [TrialState.PRUNED] * 2
    assert all(t.last_step == ROUNDS for t in trials[:2])
    assert all(t.last_step < ROUNDS for t in trials[2:])
    assert all(t.intermediate[ROUNDS] == t.value for t in trials[:2])


def test_a_higher_is_better_metric_is_reported_raw_for_a_maximising_study(
    make_split_data, make_optimized_study
):
    data = make_split_data(classification=True)
    stumps = {"max_depth": 1, "learning_rate": 1e-4}  # coarse rankings: a low AUC

    def objective(trial):
        depth = trial.suggest_int("max_depth", 1, 6)
        lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
        params = {"objective": "binary:logistic", "max_depth": depth, "learning_rate": lr}
        return train_native(trial, data, metric="auc", params=params)["valid"]["auc"][-1]

    good = {"max_depth": 4, **GOOD}
    study = make_optimized_study(objective, [good, good, stumps], "maximize")
    complete, pruned = study.trials[:2], study.trials[2]
    assert pruned.state is TrialState.PRUNED and pruned.last_step < ROUNDS
    assert all(0.5 < t.value <= 1.0 for t in complete)
    assert 0.5 <= pruned.intermediate[pruned.last_step] < min(t.value for t in complete)


def test_reported_values_are_xgboost_own_evaluation_results(make_split_data, make_study):
    study = make_study()
    trial = study.ask()
    log = train_native(trial, make_split_data(), metric="mae")
    assert dict(trial.intermediate) == {i + 1: v for i, v in enumerate(log["valid"]["mae"])}

    trial = study.ask()
    log = train_sklearn(trial, make_split_data(classification=True))
    assert list(trial.intermediate.values()) == log["validation_0"]["logloss"]
    assert sorted(trial.intermediate) == list(range(1, ROUNDS + 1))


def test_valid_name_defaults_to_the_last_evaluated_set(make_split_data):
    X_train, y_train, X_valid, y_valid = make_split_data()
    sets = [
        (xgb.DMatrix(X_train, y_train), "train"),
        (xgb.DMatrix(X_valid[:30], y_valid[:30]), "early"),
        (xgb.DMatrix(X_valid[30:], y_valid[30:]), "late"),
    ]

    def run(**options):
        trial, log = hyperdial.FixedTrial({}), {}
        xgb.train(
            QUIET,
            sets[0][0],
            3,
            evals=sets,
            evals_result=log,
            verbose_eval=False,
            callbacks=[PruningCallback(trial, "rmse", **options)],
        )
        return trial.intermediate, log

    reported, log = run()
    assert list(reported.values()) == log["late"]["rmse"]
    reported, log = run(valid_name="early")
    assert list(reported.values()) == log["early"]["rmse"]


def test_an_unknown_metric_or_data_set_lists_the_evaluated_ones(make_split_data):
    trial = hyperdial.FixedTrial({})
    X_train, y_train, X_valid, y_valid = make_split_data()
    with pytest.raises(InvalidValueError) as info:
        xgb.train(
            {**QUIET, "eval_metric": ["rmse", "mae"]},
            xgb.DMatrix(X_train, y_train),
            2,
            evals=[(xgb.DMatrix(X_valid, y_valid), "valid")],
            verbose_eval=False,
            callbacks=[PruningCallback(trial, "mse")],
        )
    assert str(info.value) == (
        "xgboost.PruningCallback: metric must be one of the metrics evaluated on 'valid' "
        "['rmse', 'mae']; got 'mse'."
    )
    with pytest.raises(InvalidValueError) as info:
        train_sklearn(trial, make_split_data(classification=True), valid_name="validation_1")
    assert str(info.value) == (
        "xgboost.PruningCallback: valid_name must be one of the evaluated data sets "
        "['validation_0']; got 'validation_1'."
    )
    model = xgb.XGBRegressor(
        n_estimators=2, n_jobs=1, callbacks=[PruningCallback(trial, "logloss")]
    )
    with pytest.raises(InvalidValueError) as info:
        model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)
    assert str(info.value) == (
        "xgboost.PruningCallback: metric must be one of the metrics evaluated on "
        "'validation_0' ['rmse']; got 'logloss'."
    )
    with pytest.raises(InvalidValueError, match="XGBoost evaluated no data set"):
        model.fit(X_train, y_train, verbose=False)


def test_train_and_validation_values_are_kept_when_the_training_set_is_evaluated(make_split_data):
    trial = hyperdial.FixedTrial({})
    log = train_native(trial, make_split_data(), metric="rmse")
    assert trial.user_attrs == {
        "train_loss": log["train"]["rmse"][-1],
        "validation_loss": log["valid"]["rmse"][-1],
    }
    assert trial.user_attrs["train_loss"] < trial.user_attrs["validation_loss"]

    trial = hyperdial.FixedTrial({})
    log = train_native(trial, make_split_data(classification=True), metric="auc")
    assert trial.user_attrs == {
        "train_score": log["train"]["auc"][-1],
        "validation_score": log["valid"]["auc"][-1],
    }

    # The scikit-learn API names its evaluation sets by position.
    X_train, y_train, X_valid, y_valid = make_split_data(classification=True)
    trial = hyperdial.FixedTrial({})
    model = xgb.XGBClassifier(
        n_estimators=ROUNDS,
        n_jobs=1,
        eval_metric="error@0.3",
        callbacks=[PruningCallback(trial, "error@0.3", train_name="validation_0")],
    )
    model.fit(X_train, y_train, eval_set=[(X_train, y_train), (X_valid, y_valid)], verbose=False)
    log = model.evals_result()
    assert list(trial.intermediate.values()) == log["validation_1"]["error@0.3"]
    assert trial.user_attrs == {
        "train_loss": log["validation_0"]["error@0.3"][-1],
        "validation_loss": log["validation_1"]["error@0.3"][-1],
    }

    trial = hyperdial.FixedTrial({})
    train_sklearn(trial, make_split_data(classification=True))
    assert trial.user_attrs == {}  # no training set evaluated: nothing to compare


@pytest.mark.parametrize(
    ("metric", "is_score"),
    [
        pytest.param("auc", True, id="auc"),
        pytest.param("aucpr", True, id="aucpr"),
        pytest.param("ndcg@5", True, id="ndcg@5"),
        pytest.param("map@10-", True, id="map@10-"),
        pytest.param("pre@3", True, id="pre@3"),
        pytest.param("interval-regression-accuracy", True, id="interval"),
        pytest.param("f1", True, id="custom-f1"),
        pytest.param("rmse", False, id="rmse"),
        pytest.param("logloss", False, id="logloss"),
        pytest.param("error@0.3", False, id="error@0.3"),
        pytest.param("poisson-nloglik", False, id="poisson-nloglik"),
        pytest.param("my_custom_cost", False, id="custom-cost"),
    ],
)
def test_scores_and_losses_are_told_apart_by_name(metric, is_score):
    assert integration._is_score(metric) is is_score


def test_report_every_thins_the_reports(make_split_data):
    trial = hyperdial.FixedTrial({})
    log = train_native(trial, make_split_data(), report_every=4)
    assert dict(trial.intermediate) == {s: log["valid"]["rmse"][s - 1] for s in (4, 8, 12)}


def test_cv_reports_the_mean_over_folds(make_split_data):
    X_train, y_train, _, _ = make_split_data()
    trial = hyperdial.FixedTrial({})
    result = xgb.cv(
        QUIET,
        xgb.DMatrix(X_train, y_train),
        num_boost_round=4,
        nfold=3,
        callbacks=[PruningCallback(trial, "rmse")],
        as_pandas=False,
    )
    assert list(trial.intermediate.values()) == pytest.approx(result["test-rmse-mean"])
    assert trial.user_attrs == pytest.approx(
        {
            "train_loss": result["train-rmse-mean"][-1],
            "validation_loss": result["test-rmse-mean"][-1],
        }
    )


def test_a_continued_model_counts_its_earlier_rounds(make_split_data):
    X_train, y_train, X_valid, y_valid = make_split_data()
    train, valid = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_valid, y_valid)
    first = xgb.train(QUIET, train, 3)
    trial = hyperdial.FixedTrial({})
    xgb.train(
        QUIET,
        train,
        2,
        evals=[(valid, "valid")],
        xgb_model=first,
        verbose_eval=False,
        callbacks=[PruningCallback(trial, "rmse")],
    )
    assert sorted(trial.intermediate) == [4, 5]


def test_a_cloned_estimator_reports_to_the_same_trial(make_split_data, make_study):
    from sklearn.base import clone

    study = make_study()
    trial = study.ask()
    callback = PruningCallback(trial, "logloss", report_every=5)
    model = clone(xgb.XGBClassifier(n_estimators=10, n_jobs=1, callbacks=[callback]))
    (copied,) = model.callbacks
    assert copied is not callback and copied.trial is trial
    assert (copied.metric, copied.report_every) == ("logloss", 5)
    assert copy.deepcopy(callback).trial is trial
    X_train, y_train, X_valid, y_valid = make_split_data(classification=True)
    model.fit(X_train, y_train, eval_set=[(X_valid, y_valid)], verbose=False)
    assert sorted(trial.intermediate) == [5, 10]


def test_invalid_arguments_are_named(make_invalid_arguments):
    arguments, error, message = make_invalid_arguments("rmse")
    with pytest.raises(error) as info:
        PruningCallback(**arguments)
    assert str(info.value) == f"xgboost.PruningCallback: {message}"


def test_missing_xgboost_names_the_cpu_extra(monkeypatch):
    # A copy of the module, imported as if XGBoost were not installed.
    monkeypatch.setitem(sys.modules, "xgboost", None)
    monkeypatch.setitem(sys.modules, "xgboost.callback", None)
    spec = importlib.util.spec_from_file_location("_xgboost_missing", integration.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with pytest.raises(MissingDependencyError) as info:
        module.PruningCallback(hyperdial.FixedTrial({}), "rmse")
    assert isinstance(info.value, ImportError)
    assert str(info.value) == (
        "xgboost.PruningCallback needs XGBoost (the xgboost-cpu package); "
        "install with: pip install 'hyperdial[xgboost]'."
    )
