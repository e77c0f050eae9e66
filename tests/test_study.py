from __future__ import annotations

import math
import threading
import time

import pytest

import hyperdial
from hyperdial import TrialPruned, TrialState
from hyperdial.exceptions import (
    DuplicatedStudyError,
    HyperdialWarning,
    InvalidDistributionError,
    InvalidValueError,
    NoCompletedTrialsError,
    StudyNotFoundError,
    TrialFinishedError,
)
from hyperdial.samplers import RandomSampler
from hyperdial.storage import MemoryStorage


def quadratic(trial):
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_int("y", 0, 10)
    return (x - 1) ** 2 + (y - 3) ** 2


def test_optimize_records_every_trial_and_finds_a_good_point():
    study = hyperdial.create_study(seed=0)
    study.optimize(quadratic, n_trials=60)
    trials = study.trials
    assert [t.number for t in trials] == list(range(60))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert study.best_value == min(t.value for t in trials)
    assert study.best_value < 3.0
    assert set(study.best_params) == {"x", "y"}
    best = study.best_trial
    assert best.reason.startswith("auto: GP (")  # the default sampler names its method
    assert best.started_at <= best.finished_at


def test_ask_tell_by_hand():
    study = hyperdial.create_study(direction="maximize", seed=3)
    trial = study.ask()
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    trial.report(0.5, step=1)
    trial.report(0.7, step=2)
    trial.set_user_attr("fpr", 0.02)
    frozen = study.tell(trial, 0.9)
    assert frozen.state is TrialState.COMPLETE and frozen.values == (0.9,)
    assert frozen.params == {"lr": lr}
    assert frozen.intermediate == {1: 0.5, 2: 0.7}
    assert frozen.user_attrs == {"fpr": 0.02}
    with pytest.raises(TrialFinishedError, match=r"Trial 0 is already finished \(COMPLETE\)"):
        study.tell(trial, 1.0)


def test_same_name_with_another_distribution_is_an_error():
    study = hyperdial.create_study()
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    assert trial.suggest_float("x", 0, 1) == trial.params["x"]
    with pytest.raises(InvalidDistributionError, match="'x' was already suggested"):
        trial.suggest_float("x", 0, 2)
    with pytest.raises(InvalidDistributionError, match="parameter 'z'"):
        trial.suggest_int("z", 3, 1)


@pytest.mark.parametrize(
    "value, fragment",
    [
        pytest.param(math.nan, "finite", id="nan"),
        pytest.param(math.inf, "finite", id="inf"),
        pytest.param("0.3", "number", id="string"),
        pytest.param(None, "number", id="none"),
        pytest.param((1.0, 2.0), "1 value", id="too-many"),
    ],
)
def test_bad_objective_values_are_recorded_failed_with_a_message(value, fragment):
    study = hyperdial.create_study()
    study.optimize(lambda t: value, n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 2
    assert fragment in study.trials[0].error


def test_exception_in_catch_is_recorded_and_the_study_goes_on():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2:
            raise ValueError("diverged")
        return x

    study = hyperdial.create_study()
    study.optimize(objective, n_trials=6, catch=(ValueError,))
    states = [t.state for t in study.trials]
    assert states.count(TrialState.FAILED) == 3 and states.count(TrialState.COMPLETE) == 3
    assert "ValueError: diverged" in study.trials[1].error
    assert "Traceback" in study.trials[1].error


def test_exception_not_in_catch_is_recorded_then_propagates():
    def objective(trial):
        trial.suggest_float("x", 0, 1)
        raise RuntimeError("boom")

    study = hyperdial.create_study()
    with pytest.raises(RuntimeError, match="boom"):
        study.optimize(objective, n_trials=5)
    assert len(study.trials) == 1
    assert study.trials[0].state is TrialState.FAILED


def test_pruned_trials_keep_their_last_value():
    def objective(trial):
        trial.suggest_float("x", 0, 1)
        trial.report(0.4, step=0)
        trial.report(0.3, step=1)
        raise TrialPruned()

    study = hyperdial.create_study()
    study.optimize(objective, n_trials=2)
    assert all(t.state is TrialState.PRUNED and t.values == (0.3,) for t in study.trials)
    with pytest.raises(NoCompletedTrialsError, match="no completed trial"):
        _ = study.best_trial


def test_keyboard_interrupt_records_the_running_trial_and_keeps_the_rest():
    storage = MemoryStorage()

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            raise KeyboardInterrupt
        return x

    study = hyperdial.create_study("resume-me", storage=storage, seed=1)
    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=10)
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.FAILED]
    assert "interrupted" in study.trials[3].error

    resumed = hyperdial.load_study("resume-me", storage=storage)
    resumed.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(resumed.trials) == 6
    assert resumed.seed == 1


def test_same_seed_same_sequence_also_with_parallel_threads():
    def objective(trial):
        a = trial.suggest_float("a", 0, 1)
        b = trial.suggest_categorical("b", ["x", "y", "z"])
        c = trial.suggest_int("c", 1, 100, log=True)
        return a + len(b) + c

    runs = []
    for n_jobs in (1, 1, 4):
        study = hyperdial.create_study(sampler=RandomSampler(), seed=42)
        study.optimize(objective, n_trials=24, n_jobs=n_jobs)
        runs.append([dict(t.params) for t in study.trials])
    assert runs[0] == runs[1] == runs[2]
    # A model-based default depends on what has finished, so one worker repeats exactly.
    model_based = []
    for _ in range(2):
        study = hyperdial.create_study(seed=42)
        study.optimize(objective, n_trials=12)
        model_based.append([dict(t.params) for t in study.trials])
    assert model_based[0] == model_based[1]
    other = hyperdial.create_study(seed=43)
    other.optimize(objective, n_trials=24)
    assert [dict(t.params) for t in other.trials] != runs[0]


def test_parallel_threads_run_at_once_and_respect_the_budget():
    barrier = threading.Barrier(3, timeout=5)

    def objective(trial):
        barrier.wait()  # deadlocks unless three trials run at the same time
        return trial.suggest_float("x", 0, 1)

    study = hyperdial.create_study()
    study.optimize(objective, n_trials=9, n_jobs=3)
    assert len(study.trials) == 9
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_an_objective_that_exits_is_recorded_failed():
    def leave(trial):
        trial.suggest_float("x", 0, 1)
        raise SystemExit("done here")

    study = hyperdial.create_study()
    with pytest.raises(SystemExit):
        study.optimize(leave, n_trials=3)
    (trial,) = study.trials
    assert trial.state is TrialState.FAILED
    assert trial.error.startswith("the objective exited (SystemExit: 'done here')")


@pytest.mark.timeout(60)
def test_timeout_and_stop_end_the_loop():
    def slow(trial):
        time.sleep(0.02)
        return trial.suggest_float("x", 0, 1)

    study = hyperdial.create_study()
    start = time.monotonic()
    study.optimize(slow, timeout=0.3)
    elapsed = time.monotonic() - start
    # No trial starts after the deadline; the one running then finishes (0.02 s).
    assert 0.3 <= elapsed < 5.0
    assert 3 <= len(study.trials) <= 16

    def stopping(trial):
        if trial.number == 4:
            study.stop()
        return trial.suggest_float("x", 0, 1)

    study = hyperdial.create_study()
    study.optimize(stopping, n_trials=100)
    assert len(study.trials) == 5


def test_callbacks_see_each_finished_trial():
    seen = []
    study = hyperdial.create_study()
    study.optimize(
        lambda t: t.suggest_float("x", 0, 1),
        n_trials=4,
        callbacks=[lambda s, frozen: seen.append(frozen.number)],
    )
    assert seen == [0, 1, 2, 3]


def test_enqueue_runs_the_expert_configuration_first_and_samples_the_rest():
    study = hyperdial.create_study(seed=0)
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=2)
    # depth is new to the study (the objective below adds it): queued, with a warning
    with pytest.warns(HyperdialWarning, match="has depth yet \\(its parameters: lr\\)"):
        study.enqueue({"lr": 0.01, "depth": 4}, user_attrs={"source": "expert"})
    with pytest.warns(HyperdialWarning):
        study.enqueue({"depth": 2})

    def objective(trial):
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        depth = trial.suggest_int("depth", 1, 8)
        return lr * depth

    study.optimize(objective, n_trials=3)
    first, second = study.trials[2], study.trials[3]
    assert first.params == {"lr": 0.01, "depth": 4}
    assert first.user_attrs == {"source": "expert"}
    assert first.reason.startswith("enqueued by user: lr, depth")
    assert second.params["depth"] == 2 and 1e-4 <= second.params["lr"] <= 1e-1
    assert "enqueued by user: depth" in second.reason
    assert len(study.trials) == 5


def test_enqueue_checks_values_against_the_known_space():
    study = hyperdial.create_study()
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=1)
    with pytest.raises(InvalidValueError, match="parameter 'lr'.*got 5"):
        study.enqueue({"lr": 5})
    with pytest.raises(InvalidValueError, match="JSON"):
        study.enqueue({"lr": object()})
    with pytest.raises(InvalidValueError, match="names must be non-empty strings; got 1"):
        study.enqueue({1: 0.5})
    assert len(study.trials) == 1


def test_enqueue_checks_against_the_latest_range_of_a_parameter():
    study = hyperdial.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    study.optimize(lambda t: t.suggest_float("x", 5, 10), n_trials=2)  # the range moved
    assert study.enqueue({"x": 7.0}).fixed_params == {"x": 7.0}
    with pytest.raises(InvalidValueError, match="parameter 'x'"):
        study.enqueue({"x": 0.5})


def test_enqueue_reads_each_trial_a_bounded_number_of_times():
    # Each enqueue checks values against the distributions seen so far; reading every trial
    # (the queue included) on each call made queuing n configurations cost n^2 reads.
    class Counting(MemoryStorage):
        read = 0

        def get_trials(self, study_id, states=None, min_number=0):
            trials = super().get_trials(study_id, states, min_number)
            Counting.read += len(trials)
            return trials

    study = hyperdial.create_study(storage=Counting())
    study.optimize(lambda t: t.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=20)
    Counting.read = 0
    for i in range(300):
        study.enqueue({"lr": 1e-3 + i * 1e-5})
    assert Counting.read <= 2 * 320
    with pytest.raises(InvalidValueError, match="parameter 'lr'.*got 5"):
        study.enqueue({"lr": 5})  # still checked against the known space
    assert [t.state for t in study.trials].count(TrialState.WAITING) == 300


def test_enqueued_value_outside_the_objective_distribution_fails_the_trial():
    study = hyperdial.create_study()
    study.enqueue({"units": 1000})
    with pytest.raises(InvalidValueError, match="enqueued value does not fit"):
        study.optimize(lambda t: t.suggest_int("units", 1, 64), n_trials=1)
    assert study.trials[0].state is TrialState.FAILED


def test_conditional_define_by_run_branches():
    def objective(trial):
        kind = trial.suggest_categorical("kind", ["svm", "tree"])
        if kind == "svm":
            return trial.suggest_float("C", 1e-2, 1e2, log=True)
        return trial.suggest_int("depth", 1, 10)

    study = hyperdial.create_study(seed=5)
    study.optimize(objective, n_trials=30)
    for t in study.trials:
        expected = {"kind", "C"} if t.params["kind"] == "svm" else {"kind", "depth"}
        assert set(t.params) == expected


def test_multi_objective_best_trials_is_the_pareto_set():
    study = hyperdial.create_study(directions=["maximize", "minimize"], seed=0)
    study.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=40)
    front = study.best_trials
    assert front
    for t in front:
        for o in study.trials:
            dominated = o.values[0] >= t.values[0] and o.values[1] <= t.values[1]
            strictly = o.values[0] > t.values[0] or o.values[1] < t.values[1]
            assert not (dominated and strictly)
    with pytest.raises(InvalidValueError, match="best_trials"):
        _ = study.best_trial


def test_study_lifecycle_functions():
    storage = MemoryStorage()
    hyperdial.create_study("a", storage=storage)
    with pytest.raises(DuplicatedStudyError, match="'a' already exists"):
        hyperdial.create_study("a", storage=storage)
    same = hyperdial.create_study("a", storage=storage, load_if_exists=True)
    assert same.study_name == "a"
    with pytest.raises(InvalidValueError, match="exists with directions"):
        hyperdial.create_study("a", storage=storage, direction="maximize", load_if_exists=True)
    assert [s.name for s in hyperdial.list_studies(storage)] == ["a"]
    hyperdial.delete_study("a", storage=storage)
    with pytest.raises(StudyNotFoundError, match="No study named 'a'"):
        hyperdial.load_study("a", storage=storage)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        pytest.param({"direction": "up"}, "minimize", id="direction"),
        pytest.param({"directions": []}, "non-empty", id="empty-directions"),
        pytest.param({"direction": "minimize", "directions": ["minimize"]}, "not both", id="both"),
        pytest.param({"seed": -1}, "seed must be", id="seed"),
        pytest.param({"study_name": ""}, "non-empty", id="name"),
        pytest.param({"seed": "abc"}, "seed must be", id="seed-type"),
        pytest.param({"load_if_exists": "no"}, "load_if_exists must be", id="load-if-exists"),
        pytest.param({"artifacts": "FILE"}, "is a file", id="artifacts-file"),
    ],
)
def test_create_study_rejects_bad_arguments(kwargs, fragment, tmp_path):
    if kwargs.get("artifacts") == "FILE":
        (tmp_path / "file").write_text("")
        kwargs = {"artifacts": tmp_path / "file"}
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    kwargs = {"study_name": "s", **kwargs}
    with pytest.raises(InvalidValueError, match=fragment):
        hyperdial.create_study(storage=url, **kwargs)
    # nothing was written: the same name is free for a correct call
    assert hyperdial.list_studies(url) == []
    hyperdial.create_study("s", storage=url)


def test_load_study_creates_no_database_file(tmp_path):
    path = tmp_path / "typo.db"
    with pytest.raises(StudyNotFoundError, match=f"there is no database at {path}"):
        hyperdial.load_study("s", storage=f"sqlite:///{path}")
    assert not path.exists()


def test_a_resumed_study_keeps_its_seed():
    storage = MemoryStorage()
    hyperdial.create_study("s", storage=storage, seed=3)
    assert hyperdial.create_study("s", storage=storage, load_if_exists=True).seed == 3
    assert hyperdial.create_study("s", storage=storage, seed=3, load_if_exists=True).seed == 3
    with pytest.raises(InvalidValueError, match="'s' exists with seed 3; got seed=4"):
        hyperdial.create_study("s", storage=storage, seed=4, load_if_exists=True)
    assert hyperdial.load_study("s", storage=storage).seed == 3


def test_tell_checks_whose_trial_and_what_it_is_told():
    a, b = hyperdial.create_study("a"), hyperdial.create_study("b")
    foreign = a.ask()
    foreign.suggest_float("x", 0, 1)
    own = b.ask()
    with pytest.raises(InvalidValueError, match="trial 0 belongs to study 'a', not 'b'"):
        b.tell(foreign, 1.0)
    with pytest.raises(InvalidValueError, match="PRUNED trial takes its last reported value"):
        b.tell(own, 1.0, state=TrialState.PRUNED)
    with pytest.raises(InvalidValueError, match="error must be a str; got 123"):
        b.tell(own, state=TrialState.FAILED, error=123)
    assert [t.state for t in a.trials + b.trials] == [TrialState.RUNNING] * 2
    assert a.tell(foreign, 1.0).state is TrialState.COMPLETE


def test_a_value_beyond_the_float_range_fails_its_trial():
    study = hyperdial.create_study()
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 10**400)[1], n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 2
    assert study.trials[0].error == "objective values must be finite; got inf."


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        pytest.param({"n_trials": -1}, "n_trials", id="n-trials"),
        pytest.param({"timeout": -2}, "timeout", id="timeout"),
        pytest.param({"n_jobs": 0}, "n_jobs", id="n-jobs"),
        pytest.param({"catch": [3]}, "catch", id="catch"),
        pytest.param({"catch": ValueError("x")}, "catch must be an exception type", id="catch-e"),
        pytest.param({"catch": "ValueError"}, "catch must be an exception type", id="catch-s"),
        pytest.param({"timeout": math.nan}, "timeout must be a number >= 0; got nan", id="nan"),
        pytest.param({"callbacks": [1]}, "every callback must be callable", id="callback"),
        pytest.param({"callbacks": print}, "callbacks must be a list", id="callbacks"),
        pytest.param({"callbacks": None}, "callbacks must be a list", id="callbacks-none"),
    ],
)
def test_optimize_rejects_bad_arguments(kwargs, fragment):
    study = hyperdial.create_study()
    with pytest.raises(InvalidValueError, match=fragment):
        study.optimize(quadratic, **kwargs)


def test_trials_dataframe():
    pytest.importorskip("pandas")
    study = hyperdial.create_study(seed=0)
    study.optimize(quadratic, n_trials=5)
    frame = study.trials_dataframe()
    assert list(frame["number"]) == [0, 1, 2, 3, 4]
    assert {"value", "params_x", "params_y", "state", "reason"} <= set(frame.columns)
    assert frame["value"].min() == study.best_value


def test_fixed_trial_runs_an_objective_without_a_study():
    trial = hyperdial.FixedTrial({"x": 1.0, "y": 3})
    assert quadratic(trial) == 0.0
    with pytest.raises(InvalidValueError, match="parameter 'y'"):
        quadratic(hyperdial.FixedTrial({"x": 1.0, "y": 30}))


def test_study_pickles_and_keeps_working():
    import pickle

    study = hyperdial.create_study(seed=0)
    study.optimize(quadratic, n_trials=3)
    clone = pickle.loads(pickle.dumps(study))
    assert [t.params for t in clone.trials] == [t.params for t in study.trials]


def test_declared_space_after_define_by_run_gets_a_joint_proposal():
    from hyperdial import Float as F
    from hyperdial import SearchSpace
    from hyperdial.samplers import QMCSampler

    space = SearchSpace({"a": F(0, 1), "b": F(0, 1)})
    study = hyperdial.create_study(sampler=QMCSampler(seed=0))
    for _ in range(3):
        trial = study.ask()
        trial.suggest_int("n", 1, 3)
        params = trial.suggest_space(space)
        study.tell(trial, params["a"])
    assert all("sobol point" in t.reason for t in study.trials)
    assert all(set(t.params) == {"n", "a", "b"} for t in study.trials)


def test_history_snapshots_do_not_change_as_the_study_grows():
    import pickle

    study = hyperdial.create_study(seed=0)
    study.optimize(quadratic, n_trials=3)
    before = study.history()
    study.optimize(quadratic, n_trials=2)
    assert len(before.trials) == 3 and len(study.history().trials) == 5
    assert before.trials[-1].number == 2 and before.trials[1:] == tuple(before.trials)[1:]
    assert pickle.loads(pickle.dumps(before)).trials == before.trials


@pytest.mark.parametrize("sampler", ["tpe", "gp"])
def test_reproducible_parallel_runs_repeat_model_based_suggestions(sampler):
    import random
    import time

    from hyperdial.samplers import GPSampler, TPESampler

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        y = trial.suggest_int("y", 0, 8)
        time.sleep(random.random() * 0.02)  # finishing order differs from run to run
        return (x - 1) ** 2 + (y - 4) ** 2

    runs = []
    for _ in range(2):
        make = TPESampler if sampler == "tpe" else GPSampler
        study = hyperdial.create_study(
            sampler=make(seed=5, n_startup_trials=4), storage=MemoryStorage(), seed=5
        )
        study.optimize(objective, n_trials=16, n_jobs=3, reproducible=True)
        runs.append([dict(t.params) for t in study.trials])
    assert runs[0] == runs[1]
    assert len({(p["x"], p["y"]) for p in runs[0]}) >= 14  # not one point repeated


def test_parallel_workers_see_each_others_proposals_before_they_are_written(tmp_path):
    from hyperdial.samplers.base import Sampler, Suggestion

    seen = {}

    class Spy(Sampler):
        def infer_space(self, history):
            return hyperdial.SearchSpace({"x": hyperdial.Float(0, 1)})

        def sample(self, history, trial, space, rng):
            seen[trial.number] = {t.number: dict(t.params) for t in history.running}
            return Suggestion({"x": trial.number / 10}, "spy")

        def sample_one(self, history, trial, name, dist, rng):
            return 0.5

    storage = hyperdial.storage.SQLStorage(f"sqlite:///{tmp_path}/p.db")
    storage.write_behind_s = 3600.0  # parameters reach the database only with the tell
    study = hyperdial.create_study(storage=storage, sampler=Spy(), seed=0)
    both = threading.Barrier(2)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        both.wait(timeout=30)  # both trials are running, neither has told
        return x

    study.optimize(objective, n_trials=2, n_jobs=2)
    first, second = sorted(seen)
    assert seen[second][first] == {"x": first / 10}  # the other's proposal, not yet stored
    assert all(not params for params in seen[first].values())  # nothing proposed before it
