"""Many processes sharing one SQL study: numbers stay gapless and claims stay exclusive."""

from __future__ import annotations

import multiprocessing

import pytest

from hyperdial import Direction
from hyperdial.space import Float
from hyperdial.storage import SQLStorage, TrialTemplate, TrialUpdate
from hyperdial.trial import TrialState

pytestmark = pytest.mark.slow

N_PROCESSES = 8
N_TRIALS = 200  # per process
N_WAITING = 200
MIN = (Direction.MINIMIZE,)


def _ask_and_tell(storage: SQLStorage, study_id: int, n: int) -> list[int]:
    dist = Float(0.0, 1.0)
    numbers = []
    for i in range(n):
        trial = storage.create_trial(study_id, TrialTemplate())
        storage.update_trial(trial.trial_id, TrialUpdate(params={"x": (dist, i / n)}))
        storage.update_trial(
            trial.trial_id, TrialUpdate(state=TrialState.COMPLETE, values=[float(i)])
        )
        numbers.append(trial.number)
    storage.close()
    return numbers


def _claim_all(storage: SQLStorage, study_id: int, results) -> None:
    claimed = []
    while (trial := storage.claim_waiting_trial(study_id)) is not None:
        claimed.append(trial.trial_id)
    results.put(claimed)


def _open_and_create(url: str, i: int) -> int:
    storage = SQLStorage(url)
    study_id = storage.create_study(f"study{i}", MIN).study_id
    number = storage.create_trial(study_id, TrialTemplate()).number
    storage.close()
    return number


def test_processes_get_gapless_numbers_and_whole_trials(make_any_storage):
    storage = make_any_storage()
    study_id = storage.create_study("shared", MIN).study_id
    # Spawned workers receive the storage pickled and reconnect on their own.
    with multiprocessing.get_context("spawn").Pool(N_PROCESSES) as pool:
        results = pool.starmap(
            _ask_and_tell, [(storage, study_id, N_TRIALS)] * N_PROCESSES, chunksize=1
        )
    total = N_PROCESSES * N_TRIALS
    assert sorted(n for numbers in results for n in numbers) == list(range(total))
    trials = storage.get_trials(study_id)
    assert [t.number for t in trials] == list(range(total))
    for trial in trials:
        assert trial.state is TrialState.COMPLETE and trial.values is not None
        assert set(trial.params) == {"x"} and trial.finished_at is not None
    assert storage.count_trials(study_id, [TrialState.COMPLETE]) == total


def test_forked_processes_claim_each_waiting_trial_once(make_any_storage):
    storage = make_any_storage()
    study_id = storage.create_study("queue", MIN).study_id
    waiting = {
        storage.create_trial(study_id, TrialTemplate(state=TrialState.WAITING)).trial_id
        for _ in range(N_WAITING)
    }
    # Forked workers inherit the storage and its pooled connections, which they must not use.
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [
        context.Process(target=_claim_all, args=(storage, study_id, results))
        for _ in range(N_PROCESSES)
    ]
    for worker in workers:
        worker.start()
    claimed = [trial_id for _ in workers for trial_id in results.get(timeout=60)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert sorted(claimed) == sorted(waiting)
    assert storage.count_trials(study_id, [TrialState.RUNNING]) == N_WAITING
    assert storage.claim_waiting_trial(study_id) is None  # the parent's connections still work


def test_processes_can_open_a_new_database_at_once(fresh_url):
    with multiprocessing.get_context("fork").Pool(6) as pool:
        numbers = pool.starmap(_open_and_create, [(fresh_url, i) for i in range(6)])
    assert numbers == [0] * 6
    storage = SQLStorage(fresh_url)
    assert sorted(s.name for s in storage.list_studies()) == [f"study{i}" for i in range(6)]
    storage.close()
