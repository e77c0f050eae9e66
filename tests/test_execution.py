"""Trials in child processes and on a Dask cluster: results come back, failures are recorded."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import time

import pytest

import hyperdial
from hyperdial import TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.execution import DaskExecutor, ProcessExecutor
from hyperdial.samplers import RandomSampler


def _study(tmp_path, name="exec"):
    url = f"sqlite:///{tmp_path}/{name}.db"
    return hyperdial.create_study(name, storage=url, sampler=RandomSampler(), seed=0), url


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def runaway(trial):
    x = trial.suggest_float("x", 0, 1)
    if trial.number == 1:  # a runaway trial that also started a grandchild process
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        trial.set_user_attr("grandchild", child.pid)
        time.sleep(600)
    if trial.number == 2:
        trial.set_user_attr("big", len(bytearray(3 * 2**30)))  # over the memory cap
    if trial.number == 3:
        os.kill(os.getpid(), signal.SIGKILL)  # the process dies without a word
    return x


def test_processes_kill_runaways_cap_memory_and_record_deaths(tmp_path):
    study, url = _study(tmp_path)
    executor = ProcessExecutor(max_workers=2, timeout_s=4, memory_mb=1024)
    started = time.monotonic()
    study.optimize(runaway, n_trials=6, executor=executor, catch=(MemoryError,))
    assert time.monotonic() - started < 60
    trials = hyperdial.load_study("exec", storage=url).trials
    assert [t.state for t in trials] == [
        TrialState.COMPLETE,
        TrialState.FAILED,
        TrialState.FAILED,
        TrialState.FAILED,
        TrialState.COMPLETE,
        TrialState.COMPLETE,
    ]
    assert trials[1].error == "timed out after 4 s: the trial's process was killed"
    deadline = time.monotonic() + 10
    while _pid_alive(trials[1].user_attrs["grandchild"]):
        assert time.monotonic() < deadline, "the runaway's grandchild survived the kill"
        time.sleep(0.1)
    assert "MemoryError" in trials[2].error
    assert trials[3].error == "the trial's process died (signal 9)"
    assert all(t.value == t.params["x"] for t in trials if t.state is TrialState.COMPLETE)


def test_an_objective_error_in_a_process_is_recorded_then_raised(tmp_path):
    study, _ = _study(tmp_path)

    def broken(trial):
        trial.suggest_float("x", 0, 1)
        raise ValueError("bad data in fold 3")

    with pytest.raises(ValueError, match="bad data in fold 3"):
        study.optimize(broken, n_trials=3, executor=ProcessExecutor(max_workers=1))
    assert study.trials[0].state is TrialState.FAILED
    assert "bad data in fold 3" in study.trials[0].error
    study.optimize(broken, n_trials=2, executor=ProcessExecutor(max_workers=2), catch=ValueError)
    assert [t.state for t in study.trials] == [TrialState.FAILED] * 3


def test_processes_need_a_shared_storage_and_valid_settings():
    study = hyperdial.create_study()
    with pytest.raises(InvalidValueError, match="must be shared"):
        study.optimize(lambda t: 0.0, n_trials=1, executor=ProcessExecutor())
    for kwargs in ({"max_workers": 0}, {"timeout_s": -1}, {"start_method": "teleport"}):
        with pytest.raises(InvalidValueError, match="ProcessExecutor"):
            ProcessExecutor(**kwargs)
    with pytest.raises(InvalidValueError, match="executor must be"):
        study.optimize(lambda t: 0.0, n_trials=1, executor=object())


def test_processes_run_the_scheduler_and_the_sampler_of_the_study(tmp_path):
    from hyperdial.schedulers import SuccessiveHalving
    from hyperdial.testing.scheduler import _curve

    url = f"sqlite:///{tmp_path}/sh.db"
    study = hyperdial.create_study(
        "sh", storage=url, scheduler=SuccessiveHalving(3, max_resource=9), seed=0
    )
    study.optimize(_curve, n_trials=7, executor=ProcessExecutor(max_workers=2))
    trials = study.trials
    assert {t.state for t in trials} == {TrialState.COMPLETE}
    assert any(t.parent is not None for t in trials)  # promotions resumed from checkpoints
    assert all(t.reason.startswith(("iteration", "rung", "bracket")) or t.reason for t in trials)


distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def dask_client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def flaky_worker(directory, trial):
    x = trial.suggest_float("x", 0, 1)
    marker = os.path.join(directory, f"killed-{trial.number}")
    if trial.number == 2 and not os.path.exists(marker):
        with open(marker, "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(0.3)  # the suggestion reaches the database first
        os.kill(os.getpid(), signal.SIGKILL)  # the Dask worker dies mid-trial
    return x


def test_dask_runs_trials_and_survives_a_worker_killed_mid_trial(tmp_path, dask_client):
    study, url = _study(tmp_path, "dask")
    executor = DaskExecutor(dask_client)
    assert executor.max_workers == 2
    study.optimize(functools.partial(flaky_worker, str(tmp_path)), n_trials=8, executor=executor)
    trials = hyperdial.load_study("dask", storage=url).trials
    assert len(trials) == 8
    assert (tmp_path / "killed-2").exists()
    assert all(t.state is TrialState.COMPLETE for t in trials), [t.error for t in trials]
    assert all(t.value == t.params["x"] for t in trials)


def test_dask_executor_checks_its_arguments(dask_client):
    with pytest.raises(InvalidValueError, match="distributed.Client"):
        DaskExecutor(object())
    with pytest.raises(InvalidValueError, match="max_workers"):
        DaskExecutor(dask_client, max_workers=0)
    with pytest.raises(InvalidValueError, match="must be shared"):
        hyperdial.create_study().optimize(
            lambda t: 0.0, n_trials=1, executor=DaskExecutor(dask_client)
        )
