"""Suggested parameters are written in batches, yet never lost and soon visible."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

import hyperdial
from hyperdial import TrialState
from hyperdial.samplers import RandomSampler
from hyperdial.storage import MemoryStorage


def _stored(storage, number: int = 0):
    study = hyperdial.load_study("wb", storage=storage)
    return study.trials[number]


def _study(storage):
    return hyperdial.create_study("wb", storage=storage, sampler=RandomSampler(), seed=1)


def test_parameters_reach_the_database_without_tell(make_any_storage):
    storage = make_any_storage()
    assert storage.write_behind_s > 0
    trial = _study(storage).ask()
    x = trial.suggest_float("x", 0, 1)
    n = trial.suggest_int("n", 1, 9)
    deadline = time.monotonic() + 10
    while dict(_stored(storage).params) != {"x": x, "n": n}:
        assert time.monotonic() < deadline, "buffered parameters were never written"
        time.sleep(0.02)
    assert _stored(storage).state is TrialState.RUNNING
    assert _stored(storage).reason == "random"


def test_writes_of_the_trial_carry_the_buffered_parameters(make_sqlite_storage):
    storage = make_sqlite_storage()
    storage.write_behind_s = 3600.0  # nothing is flushed by time in this test
    study = _study(storage)
    trial = study.ask()
    x = trial.suggest_float("x", 0, 1)
    assert dict(_stored(storage).params) == {}
    trial.report(0.5, step=1)
    assert dict(_stored(storage).params) == {"x": x}
    assert dict(_stored(storage).intermediate) == {1: 0.5}
    y = trial.suggest_float("y", 0, 1)
    trial.set_user_attr("k", "v")
    assert dict(_stored(storage).params) == {"x": x, "y": y}
    z = trial.suggest_float("z", 0, 1)
    final = study.tell(trial.number, 1.0)  # by number: the buffered write still goes with it
    assert dict(final.params) == {"x": x, "y": y, "z": z}
    assert dict(_stored(storage).params) == dict(final.params)
    assert final.state is TrialState.COMPLETE and final.user_attrs == {"k": "v"}


def test_a_failed_deferred_write_is_kept_for_the_next_one():
    class Flaky(MemoryStorage):
        write_behind_s = 0.01
        failures = 1

        def update_trial(self, trial_id, update):
            if update.params and update.state is None and self.failures:
                self.failures -= 1
                raise ConnectionError("database restarting")
            super().update_trial(trial_id, update)

    storage = Flaky()
    study = _study(storage)
    trial = study.ask()
    x = trial.suggest_float("x", 0, 1)
    deadline = time.monotonic() + 10
    while storage.failures:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    final = study.tell(trial, 2.0)
    assert dict(final.params) == {"x": x}


def test_parameters_buffered_at_exit_are_written(tmp_path):
    url = f"sqlite:///{tmp_path}/exit.db"
    script = textwrap.dedent(
        f"""
        import hyperdial
        from hyperdial.storage import SQLStorage
        storage = SQLStorage({url!r})
        storage.write_behind_s = 3600.0
        study = hyperdial.create_study("wb", storage=storage, seed=0)
        trial = study.ask()
        print(trial.suggest_int("n", 0, 1000))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert dict(_stored(url).params) == {"n": int(out.stdout.split()[-1])}


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_optimize_stores_every_parameter(make_sqlite_storage, n_jobs):
    storage = make_sqlite_storage()
    study = _study(storage)

    def objective(trial):
        return sum(trial.suggest_float(f"p{i}", 0, 1) for i in range(trial.number % 4 + 1))

    study.optimize(objective, n_trials=12, n_jobs=n_jobs)
    stored = hyperdial.load_study("wb", storage=storage).trials
    assert [len(t.params) for t in stored] == [t.number % 4 + 1 for t in stored]
    assert all(t.value == pytest.approx(sum(t.params.values())) for t in stored)
