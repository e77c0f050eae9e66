"""PostgreSQL going away under load, as in a restart: workers retry and lose nothing.

A real ``pg_ctl restart`` would cut every other test using the server too, so the suite does to
one database what a restart does to its clients: every connection is terminated at once and new
ones are refused for a while (``ALLOW_CONNECTIONS false``), three times during a study.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import hyperdial
from hyperdial import TrialState
from hyperdial.exceptions import InvalidValueError, StorageError
from hyperdial.samplers import RandomSampler
from hyperdial.storage import SQLStorage

BUDGET = 150

WORKER = textwrap.dedent(
    """
    import sys, time
    import hyperdial
    from hyperdial.samplers import RandomSampler

    url, name, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    study = hyperdial.load_study(name, storage=url, sampler=RandomSampler())

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for step in range(3):
            trial.report(x * step, step)
            time.sleep(0.01)
        return x

    study.optimize(objective, max_trials=budget)
    """
)


def _outage(server, database, seconds):
    """Terminate every connection to ``database`` and refuse new ones for ``seconds``."""
    with server.engine.connect() as connection:
        connection.exec_driver_sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )
    time.sleep(seconds)
    with server.engine.connect() as connection:
        connection.exec_driver_sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")


@pytest.mark.slow
@pytest.mark.server
def test_workers_survive_the_database_going_away_under_load(postgresql_server, tmp_path):
    database = f"hyperdial_restart_{os.getpid()}"
    url = postgresql_server.create(database)
    try:
        name = f"restart-{uuid.uuid4().hex[:8]}"
        hyperdial.create_study(
            name,
            storage=url,
            sampler=RandomSampler(),
            heartbeat_s=0.3,
            grace_s=2.0,
            retry_failed=5,
        )
        script = tmp_path / "worker.py"
        script.write_text(WORKER)
        workers = [
            subprocess.Popen(
                [sys.executable, str(script), url, name, str(BUDGET)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        for _ in range(3):
            time.sleep(1.0)
            _outage(postgresql_server, database, 1.5)
        errors = []
        for worker in workers:
            try:
                _, err = worker.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                worker.kill()
                pytest.fail("a worker did not finish the budget in time")
            if worker.returncode != 0:
                errors.append(err.decode()[-2000:])
        assert not errors, errors

        trials = hyperdial.load_study(name, storage=url).trials
        assert [t.number for t in trials] == list(range(len(trials)))  # dense, no duplicate
        complete = [t for t in trials if t.state is TrialState.COMPLETE]
        assert len(complete) == BUDGET
        assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.FAILED}
        for t in complete:
            assert t.value == t.params["x"]
            assert sorted(t.intermediate) == [0, 1, 2]
    finally:
        postgresql_server.drop(database)


@pytest.mark.server
def test_a_storage_gives_up_after_reconnect_s(postgresql_server):
    database = f"hyperdial_gone_{os.getpid()}"
    url = postgresql_server.create(database)
    try:
        storage = SQLStorage(url, reconnect_s=0.5)
        study = hyperdial.create_study("gone", storage=storage)
        with postgresql_server.engine.connect() as connection:
            connection.exec_driver_sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
            )
        started = time.monotonic()
        with pytest.raises(StorageError, match="cannot connect"):
            study.storage.get_trials(study.study_id)
        assert 0.4 < time.monotonic() - started < 10
        storage.close()
    finally:
        with postgresql_server.engine.connect() as connection:
            connection.exec_driver_sql(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
        postgresql_server.drop(database)


def test_reconnect_s_is_checked():
    for bad in (-1, "5", True, float("nan")):
        with pytest.raises(InvalidValueError, match="reconnect_s"):
            SQLStorage("sqlite://", reconnect_s=bad)


def test_a_retried_finish_whose_first_attempt_landed_is_not_an_error(tmp_path):
    # What _run does after a connection died during a commit: it runs the write again with
    # _retry.lost set. Here the first attempt is simply made before, as it would have landed.
    from hyperdial.exceptions import TrialFinishedError
    from hyperdial.storage.base import TrialUpdate

    storage = SQLStorage(f"sqlite:///{tmp_path / 'lost.db'}")
    study = hyperdial.create_study(storage=storage)
    trial = study.ask()
    done = TrialUpdate(state=TrialState.COMPLETE, values=[1.0])
    storage.update_trial(trial.trial_id, done)
    with pytest.raises(TrialFinishedError):
        storage.update_trial(trial.trial_id, done)  # a second tell is an error...
    storage._retry.lost = True
    storage.update_trial(trial.trial_id, done)  # ...but not the retry of a lost one
    assert storage._retry.lost is False  # the flag lasts one call
    storage._retry.lost = True
    with pytest.raises(TrialFinishedError):  # unless it wanted another state
        storage.update_trial(trial.trial_id, TrialUpdate(state=TrialState.FAILED))
    assert storage.get_trial(trial.trial_id).values == (1.0,)
