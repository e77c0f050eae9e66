"""The reproducibility record kept with every study, and re-running its best configuration."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import hyperdial
from hyperdial._record import data_fingerprint, record_data
from hyperdial.exceptions import InvalidValueError
from hyperdial.reproduce import ObjectiveNotFoundError, load_objective, reproduce
from hyperdial.trial import TrialState


def quadratic(trial):
    x = trial.suggest_float("x", -2.0, 2.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 0.5) ** 2 + (0.25 if kind == "a" else 0.0)


def test_a_new_study_records_its_settings_and_environment():
    study = hyperdial.create_study(seed=7, direction="maximize")
    record = study.user_attrs["record"]
    assert record["seed"] == 7
    assert record["directions"] == ["maximize"]
    assert record["scheduler"]["class"] == "AutoScheduler"
    assert record["sampler"].startswith("AutoSampler")
    env = record["environment"]
    assert env["python"] == ".".join(map(str, sys.version_info[:3]))
    assert env["packages"]["numpy"] == np.__version__
    assert env["cpu_count"] >= 1
    assert record["invocation"]["argv"] == sys.argv


def test_loading_a_study_keeps_its_first_record(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    first = hyperdial.create_study("keep", storage=url, seed=1).user_attrs["record"]
    again = hyperdial.create_study("keep", storage=url, load_if_exists=True, seed=1)
    assert again.user_attrs["record"] == first


def test_optimize_records_where_its_objective_lives():
    study = hyperdial.create_study(seed=0)
    study.optimize(quadratic, n_trials=2)
    reference = study.user_attrs["objective"]
    assert reference["module"] == __name__
    assert reference["qualname"] == "quadratic"
    assert reference["importable"] is True
    assert load_objective(study) is quadratic


def test_a_closure_is_recorded_as_not_importable():
    study = hyperdial.create_study(seed=0)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert study.user_attrs["objective"]["importable"] is False
    with pytest.raises(ObjectiveNotFoundError, match="--objective"):
        load_objective(study)


def test_data_fingerprint_changes_with_any_value():
    X = np.arange(12.0).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    same = data_fingerprint(X.copy(), y.copy())
    assert same == data_fingerprint(X, y)
    X2 = X.copy()
    X2[3, 2] += 1e-9
    assert data_fingerprint(X2, y)["sha256"] != same["sha256"]
    assert data_fingerprint(X.astype(np.float32), y)["sha256"] != same["sha256"]
    assert same["shapes"] == [[4, 3], [4]]


def test_data_fingerprint_of_sparse_and_object_arrays():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    dense = np.eye(3)
    sparse = scipy_sparse.csr_matrix(dense)
    assert data_fingerprint(sparse)["dtypes"] == ["sparse:float64"]
    assert data_fingerprint(np.array(["a", None], dtype=object))["dtypes"] == ["object"]


def test_record_data_stores_the_fingerprint_with_the_study():
    study = hyperdial.create_study()
    stored = record_data(study, np.ones((2, 2)), None, source="unit test")
    assert study.user_attrs["data_fingerprint"] == stored
    assert stored["source"] == "unit test"
    assert stored["shapes"] == [[2, 2], None]


def test_reproduce_reruns_the_best_trial_without_changing_the_study():
    study = hyperdial.create_study(seed=3)
    study.optimize(quadratic, n_trials=6)
    outcome = reproduce(study)
    best = study.best_trial
    assert outcome.number == best.number
    assert dict(outcome.params) == best.params
    assert outcome.values == tuple(best.values)
    assert outcome.is_equal() and outcome.differences == (0.0,)
    assert outcome.recorded_as is None
    assert len(study.trials) == 6


def test_reproduce_with_record_adds_a_marked_trial():
    study = hyperdial.create_study(seed=3)
    study.optimize(quadratic, n_trials=4)
    outcome = reproduce(study, number=1, record=True)
    added = study.trials[outcome.recorded_as]
    assert added.user_attrs["reproduces"] == 1
    assert added.params == study.trials[1].params
    assert added.values == study.trials[1].values


def test_reproduce_reports_a_different_value_from_an_unseeded_objective():
    rng = np.random.default_rng(0)

    def noisy(trial):
        return trial.suggest_float("x", 0, 1) + rng.normal()

    study = hyperdial.create_study(seed=0)
    study.optimize(noisy, n_trials=3)
    outcome = reproduce(study, noisy)
    assert outcome.state is TrialState.COMPLETE
    assert not outcome.is_equal()
    assert outcome.differences[0] != 0


def test_reproduce_reports_a_failing_rerun():
    study = hyperdial.create_study(seed=0)
    study.optimize(quadratic, n_trials=2)

    def broken(trial):
        raise RuntimeError("data file missing")

    outcome = reproduce(study, broken)
    assert outcome.state is TrialState.FAILED
    assert outcome.values is None and "data file missing" in outcome.error


def test_reproduce_rejects_unknown_or_unfinished_trials():
    study = hyperdial.create_study(seed=0)
    study.optimize(quadratic, n_trials=2)
    with pytest.raises(InvalidValueError, match="got 5"):
        reproduce(study, number=5)
    study.ask()
    with pytest.raises(InvalidValueError, match="RUNNING"):
        reproduce(study, number=2)
    multi = hyperdial.create_study(directions=["minimize", "minimize"])
    with pytest.raises(InvalidValueError, match="several objectives"):
        reproduce(multi, quadratic)


def test_a_scripts_objective_is_loaded_without_running_its_main_block(tmp_path):
    script = tmp_path / "train_script.py"
    script.write_text(
        textwrap.dedent(
            """
            import hyperdial

            def objective(trial):
                return abs(trial.suggest_float("x", -1, 1))

            if __name__ == "__main__":
                study = hyperdial.create_study("s", storage="sqlite:///s.db", seed=2)
                study.optimize(objective, n_trials=4, show_progress_bar=False)
            """
        )
    )
    subprocess.run([sys.executable, str(script)], cwd=tmp_path, check=True, timeout=60)
    study = hyperdial.load_study("s", storage=f"sqlite:///{tmp_path / 's.db'}")
    assert study.user_attrs["objective"]["file"] == str(script)
    outcome = reproduce(study)
    assert outcome.is_equal()
    assert len(study.trials) == 4  # the main block did not run again


def test_a_trial_records_its_datas_fingerprint_with_the_study():
    X = np.arange(6.0).reshape(3, 2)
    study = hyperdial.create_study()
    trial = study.ask()
    kept = trial.record_data(X, None, source="my loop")
    assert (
        study.user_attrs["data_fingerprint"]
        == kept
        == {
            **data_fingerprint(X, None),
            "source": "my loop",
        }
    )
    fixed = hyperdial.FixedTrial({})
    assert fixed.record_data(X, None, source="my loop") == kept == fixed.data_fingerprint
