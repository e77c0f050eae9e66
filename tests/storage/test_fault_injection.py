"""Workers killed with SIGKILL at random moments: nothing finished is lost, the budget holds."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

import hyperdial
from hyperdial import TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.samplers import RandomSampler

BUDGET = 200

WORKER = textwrap.dedent(
    """
    import random, sys, time
    import hyperdial
    from hyperdial.samplers import RandomSampler

    url, name = sys.argv[1], sys.argv[2]
    study = hyperdial.load_study(name, storage=url, sampler=RandomSampler())

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        n = trial.suggest_int("n", 1, 9)
        time.sleep(random.uniform(0.05, 0.15))
        return x * n

    study.optimize(objective, max_trials=int(sys.argv[3]))
    """
)


def _spawn(script, url, name):
    return subprocess.Popen(
        [sys.executable, str(script), url, name, str(BUDGET)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.server)]
)
def test_workers_killed_at_random_keep_every_finished_trial(request, tmp_path, backend):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path}/faults.db"
    else:
        url = request.getfixturevalue("postgresql_url")
    name = f"faults-{uuid.uuid4().hex[:8]}"
    hyperdial.create_study(
        name, storage=url, sampler=RandomSampler(), heartbeat_s=0.2, grace_s=1.0, retry_failed=8
    )
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    rng = random.Random(7)
    workers = [_spawn(script, url, name) for _ in range(4)]
    killed = 0
    deadline = time.monotonic() + 240
    watcher = hyperdial.load_study(name, storage=url)
    while len(watcher.trials) < 8 and time.monotonic() < deadline:  # workers have started
        time.sleep(0.2)
    while killed < 6 and any(w.poll() is None for w in workers):
        time.sleep(rng.uniform(0.8, 1.6))
        alive = [w for w in workers if w.poll() is None]
        if not alive:
            break
        victim = rng.choice(alive)
        os.kill(victim.pid, signal.SIGKILL)
        if victim.wait() != -signal.SIGKILL:
            continue  # it had just finished the budget and exited on its own
        killed += 1
        workers.append(_spawn(script, url, name))  # a replacement joins the study
        assert time.monotonic() < deadline
    for worker in workers:
        try:
            worker.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            pytest.fail("a worker did not finish the budget in time")
    outcomes = [w.returncode for w in workers]
    assert outcomes.count(-signal.SIGKILL) == killed >= 3
    assert all(code == 0 for code in outcomes if code != -signal.SIGKILL), [
        w.stderr.read().decode()[-2000:] for w in workers if w.returncode not in (0, -9)
    ]

    trials = hyperdial.load_study(name, storage=url).trials
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))  # dense and unique
    assert {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.FAILED}
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    failed = [t for t in trials if t.state is TrialState.FAILED]
    assert len(complete) == BUDGET  # exactly the budget, never more
    assert len(trials) == BUDGET + len(failed)  # every failure was replaced by its retry
    assert failed, "no kill landed mid-trial"
    retried = {t.user_attrs.get("retry_of") for t in trials}
    for t in failed:
        assert t.error.startswith("no heartbeat for ") and t.error.endswith("its worker stopped")
        assert t.number in retried
    for t in complete:
        assert t.value == pytest.approx(t.params["x"] * t.params["n"])
        if "retry_of" in t.user_attrs:
            parent = trials[t.user_attrs["retry_of"]]
            same = {k: v for k, v in t.params.items() if k in parent.params}
            assert same == dict(parent.params)  # retried with the parameters it had
            assert t.reason.startswith(f"retry {t.user_attrs['retry']} of trial")


def test_a_silent_trial_is_reaped_and_retried_with_its_parameters(tmp_path):
    url = f"sqlite:///{tmp_path}/reap.db"
    study = hyperdial.create_study(
        "reap", storage=url, sampler=RandomSampler(), heartbeat_s=0.1, grace_s=0.5, retry_failed=1
    )
    lost = study.ask()
    x = lost.suggest_float("x", 0, 1)
    study._beats.stop(lost.trial_id)  # its worker "dies": no more beats, no tell
    time.sleep(0.8)
    other = hyperdial.load_study("reap", storage=url, sampler=RandomSampler())
    retry = other.ask()  # the first worker to ask reaps the silent trial, then claims its retry
    assert retry.suggest_float("x", 0, 1) == x
    final = other.tell(retry, 1.0)
    assert final.user_attrs == {"retry_of": 0, "retry": 1}
    assert final.reason == "retry 1 of trial 0; kept: x"
    dead = other.trials[0]
    assert dead.state is TrialState.FAILED and "no heartbeat" in dead.error
    assert other.storage.count_budget(other.study_id) == 1


def test_heartbeat_settings_are_checked_and_kept_with_the_study(tmp_path):
    url = f"sqlite:///{tmp_path}/hb.db"
    for kwargs, fragment in [
        ({"heartbeat_s": 0}, "heartbeat_s"),
        ({"heartbeat_s": 1, "grace_s": 0.5}, "must exceed"),
        ({"grace_s": 5}, "need heartbeat_s"),
        ({"heartbeat_s": 1, "retry_failed": -1}, "retry_failed"),
    ]:
        with pytest.raises(InvalidValueError, match=fragment):
            hyperdial.create_study(storage=url, **kwargs)
    hyperdial.create_study("kept", storage=url, heartbeat_s=2, retry_failed=3)
    loaded = hyperdial.load_study("kept", storage=url)
    assert loaded.user_attrs["heartbeat"] == {
        "heartbeat_s": 2.0,
        "grace_s": 12.0,
        "retry_failed": 3,
    }
    assert loaded._beats is not None and loaded._beats.settings.grace_s == 12.0


def test_a_study_wide_budget_with_threads_and_resumed_calls(tmp_path):
    study = hyperdial.create_study(storage=f"sqlite:///{tmp_path}/b.db", seed=0)

    def objective(trial):
        return trial.suggest_float("x", 0, 1)

    study.optimize(objective, max_trials=25, n_jobs=4)
    assert len(study.trials) == 25
    study.optimize(objective, max_trials=25, n_jobs=2)  # already spent: nothing runs
    assert len(study.trials) == 25
    study.optimize(objective, max_trials=30)
    assert len(study.trials) == 30
    with pytest.raises(InvalidValueError, match="max_trials"):
        study.optimize(objective, max_trials=0)
