"""The conformance suite every :class:`~hyperdial.storage.Storage` must pass.

Subclass :class:`StorageConformance` in a pytest module and provide ``make_storage``, a fixture
returning a zero-argument factory of fresh, empty storages (the suite calls it once per test)::

    class TestMyStorage(StorageConformance):
        @pytest.fixture
        def make_storage(self, tmp_path):
            return lambda: MyStorage(tmp_path / "db")
"""

from __future__ import annotations

import math
import multiprocessing
import pickle
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta, timezone
from typing import Any, ClassVar

import pytest

from hyperdial._types import Direction
from hyperdial.exceptions import (
    DuplicatedStudyError,
    InvalidValueError,
    StudyNotFoundError,
    TrialFinishedError,
    TrialNotFoundError,
)
from hyperdial.space import Categorical, Float, Int
from hyperdial.storage.base import Storage, TrialTemplate, TrialUpdate
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["StorageConformance"]

_MIN = (Direction.MINIMIZE,)
_WAITING = TrialTemplate(state=TrialState.WAITING)
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)
_STALE_ERROR = re.compile(r"no heartbeat for (\d+\.\d) s: its worker stopped")
_BARRIER: Any = None  # set in worker processes by _set_barrier

# JSON payloads that must come back exactly, types included.
_PAYLOAD: dict[str, Any] = {
    "unicode": "héllo wörld ✓ 😀 日本語 \u0000 \ud800 \\ \" '",
    "empty": ["", [], {}],
    "nested": {"a": [1, [2, [3, {"b": None}]]], "c": {"d": {"e": [True, False]}}},
    "big_ints": [2**63 + 1, -(2**70), 10**30],
    "floats": [1e-300, 0.1, 5e-324, 1.7976931348623157e308, -0.0, 1.0, 2.5e15],
    "scalars": [None, True, False, 0, 1, 1.0, "1", "true", "null"],
    "unicode_key_é😀": 1,
}

# One case per distribution flavour: plain, log, step and default.
_DISTRIBUTIONS: dict[str, tuple[Any, Any]] = {
    "float": (Float(-1.5, 2.5), 0.1),
    "float_log": (Float(1e-5, 1.0, log=True, default=1e-3), 3e-4),
    "float_step": (Float(0.0, 1.0, step=0.25, default=0.5), 0.75),
    "int": (Int(-3, 3), -2),
    "int_log": (Int(1, 1024, log=True, default=32), 1000),
    "int_step": (Int(0, 100, step=10, default=50), 90),
    "int_big": (Int(0, 2**62), 2**62 - 1),
    "categorical": (Categorical(["a", "b", "c"], default="b"), "c"),
}


def _same(a: object, b: object) -> bool:
    """Return whether ``a`` and ``b`` are equal with equal types, recursively (1 != True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)  # tells -0.0 from 0.0 and keeps every digit
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


def _threads(n: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]


def _claim_then_create(storage: Storage, study_id: int, n: int) -> tuple[list[int], list[int]]:
    """Claim waiting trials until none is left, then create ``n`` trials (in a worker)."""
    claimed = []
    while (trial := storage.claim_waiting_trial(study_id)) is not None:
        claimed.append(trial.trial_id)
    numbers = [storage.create_trial(study_id, TrialTemplate()).number for _ in range(n)]
    storage.close()
    return claimed, numbers


def _claim_or_create(storage: Storage, study_id: int, n: int) -> list[tuple[int, int, str]]:
    """Call ``claim_or_create_trial`` ``n`` times (in a worker); return id, number, state."""
    made = []
    for _ in range(n):
        trial = storage.claim_or_create_trial(study_id, TrialTemplate())
        made.append((trial.trial_id, trial.number, trial.state.name))
    storage.close()
    return made


def _set_barrier(barrier: Any) -> None:
    """Keep the barrier the workers of a pool meet at (a pool initializer)."""
    global _BARRIER
    _BARRIER = barrier


def _reap_then_claim_or_create(
    storage: Storage, study_id: int, max_trials: int
) -> tuple[list[int], list[int]]:
    """Reap stale trials, then claim or create trials within a budget, all workers at once."""
    _BARRIER.wait(timeout=60)
    reaped = [t.trial_id for t in storage.fail_stale_trials(study_id, 0.01, retry_failed=1)]
    _BARRIER.wait(timeout=60)
    made = []
    template = TrialTemplate()
    while (trial := storage.claim_or_create_trial(study_id, template, max_trials)) is not None:
        made.append(trial.trial_id)
    storage.close()
    return reaped, made


class StorageConformance:
    """Checks of the :class:`~hyperdial.storage.Storage` contract; subclass to run them.

    Subclasses provide the fixture ``make_storage``: a zero-argument factory returning a fresh,
    empty storage. The suite calls it once per test and closes the storage afterwards.

    Class attributes a subclass may set:
        ``shared_between_processes``: ``True`` when copies of the storage in other processes
        (it is pickled to them) see the same studies, as SQL storages do. Then two checks run
        worker processes (spawned); they are marked ``slow``: register the marker
        (``markers = ["slow: ..."]``) if your pytest runs with ``--strict-markers``.

    Example:
        See the module docstring.
    """

    shared_between_processes: ClassVar[bool] = False

    @pytest.fixture
    def storage(self, make_storage: Callable[[], Storage]) -> Iterator[Storage]:
        """Return a fresh storage; closed after the test."""
        storage = make_storage()
        yield storage
        storage.close()

    def _trial(self, storage: Storage, name: str = "s", **template: Any) -> FrozenTrial:
        try:
            study_id = storage.get_study(name).study_id
        except StudyNotFoundError:
            study_id = storage.create_study(name, _MIN).study_id
        return storage.create_trial(study_id, TrialTemplate(**template))

    # -- studies ----------------------------------------------------------------------------

    def test_create_get_list_delete_study(self, storage: Storage) -> None:
        assert storage.list_studies() == []
        a = storage.create_study("a", _MIN)
        b = storage.create_study("b", (Direction.MAXIMIZE, Direction.MINIMIZE))
        assert a.study_id != b.study_id
        assert storage.get_study("a") == a
        assert storage.get_study("b").directions == (Direction.MAXIMIZE, Direction.MINIMIZE)
        assert [s.name for s in storage.list_studies()] == ["a", "b"]
        assert a.created_at is not None and a.created_at.tzinfo is not None
        storage.delete_study("a")
        assert [s.name for s in storage.list_studies()] == ["b"]
        with pytest.raises(StudyNotFoundError):
            storage.get_study("a")

    def test_duplicate_study_name_raises(self, storage: Storage) -> None:
        storage.create_study("a", _MIN)
        with pytest.raises(DuplicatedStudyError):
            storage.create_study("a", _MIN)
        assert len(storage.list_studies()) == 1

    def test_study_names_compare_exactly(self, storage: Storage) -> None:
        names = ["study", "Study", "study ", "stüdy", "ß", "ss", ""]
        for name in names:
            storage.create_study(name, _MIN)
        assert [s.name for s in storage.list_studies()] == names
        assert all(storage.get_study(name).name == name for name in names)

    def test_unknown_names_and_ids_raise(self, storage: Storage) -> None:
        with pytest.raises(StudyNotFoundError):
            storage.get_study("nope")
        with pytest.raises(StudyNotFoundError):
            storage.delete_study("nope")
        trial = self._trial(storage, "gone")
        study_id = storage.get_study("gone").study_id
        storage.delete_study("gone")
        for call in (
            lambda: storage.create_trial(study_id, TrialTemplate()),
            lambda: storage.create_trial(study_id, TrialTemplate(), max_trials=0),
            lambda: storage.claim_or_create_trial(study_id, TrialTemplate(), max_trials=0),
            lambda: storage.claim_waiting_trial(study_id),
            lambda: storage.fail_stale_trials(study_id, 1.0),
            lambda: storage.count_budget(study_id),
            lambda: storage.get_trials(study_id),
            lambda: storage.count_trials(study_id),
            lambda: storage.set_study_attr(study_id, "k", 1),
            lambda: storage.get_study_attrs(study_id),
        ):
            with pytest.raises(StudyNotFoundError):
                call()
        with pytest.raises(TrialNotFoundError):
            storage.get_trial(trial.trial_id)
        with pytest.raises(TrialNotFoundError):
            storage.update_trial(trial.trial_id, TrialUpdate(reason="x"))
        with pytest.raises(TrialNotFoundError):
            storage.record_heartbeat(trial.trial_id)

    def test_delete_study_removes_everything(self, storage: Storage) -> None:
        trial = self._trial(storage, "a")
        study_id = storage.get_study("a").study_id
        storage.set_study_attr(study_id, "k", [1])
        storage.update_trial(
            trial.trial_id, TrialUpdate(params={"x": (Float(0, 1), 0.5)}, intermediate={0: 1.0})
        )
        other = self._trial(storage, "b")
        storage.delete_study("a")
        again = storage.create_study("a", _MIN)
        assert storage.get_trials(again.study_id) == []
        assert storage.get_study_attrs(again.study_id) == {}
        assert storage.create_trial(again.study_id, TrialTemplate()).number == 0
        assert storage.get_trial(other.trial_id) == other

    def test_study_attrs_round_trip_and_overwrite(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        storage.set_study_attr(study_id, "payload", _PAYLOAD)
        storage.set_study_attr(study_id, "n", 1)
        storage.set_study_attr(study_id, "n", True)
        storage.set_study_attr(study_id, "N", None)
        attrs = storage.get_study_attrs(study_id)
        assert _same(attrs["payload"], _PAYLOAD)
        assert _same(attrs["n"], True) and attrs["N"] is None and len(attrs) == 3

    # -- creating trials --------------------------------------------------------------------

    def test_create_trial_keeps_the_template(self, storage: Storage) -> None:
        trial = self._trial(
            storage, state=TrialState.RUNNING, budget=9.0, parent=0, fixed_params={"x": 1}
        )
        waiting = self._trial(storage, state=TrialState.WAITING, user_attrs={"u": [1]})
        for returned in (trial, waiting):
            assert storage.get_trial(returned.trial_id) == returned
        assert (trial.number, trial.state, trial.budget, trial.parent) == (
            0,
            TrialState.RUNNING,
            9.0,
            0,
        )
        assert _same(dict(trial.fixed_params), {"x": 1})
        assert trial.started_at is not None and waiting.started_at is None
        assert waiting.state is TrialState.WAITING and _same(dict(waiting.user_attrs), {"u": [1]})
        assert trial.values is None and trial.finished_at is None and trial.params == {}

    def test_trial_numbers_are_dense_per_study(self, storage: Storage) -> None:
        a = storage.create_study("a", _MIN).study_id
        b = storage.create_study("b", _MIN).study_id
        numbers: dict[int, list[int]] = {a: [], b: []}
        for study_id in (a, b, a, a, b, a):
            numbers[study_id].append(storage.create_trial(study_id, _WAITING).number)
        assert numbers == {a: [0, 1, 2, 3], b: [0, 1]}

    def test_trial_numbers_are_dense_and_unique_under_threads(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        made: list[FrozenTrial] = []

        def work(_: int) -> None:
            for _ in range(25):
                made.append(storage.create_trial(study_id, TrialTemplate()))

        _threads(4, work)
        assert sorted(t.number for t in made) == list(range(100))
        assert len({t.trial_id for t in made}) == 100
        assert [t.number for t in storage.get_trials(study_id)] == list(range(100))

    @pytest.mark.slow  # four new interpreters
    def test_numbers_and_claims_hold_across_processes(self, storage: Storage) -> None:
        if not self.shared_between_processes:
            pytest.skip("the storage is not shared between processes")
        study_id = storage.create_study("a", _MIN).study_id
        waiting = {storage.create_trial(study_id, _WAITING).trial_id for _ in range(20)}
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            results = pool.starmap(_claim_then_create, [(storage, study_id, 20)] * 4)
        claimed = [trial_id for ids, _ in results for trial_id in ids]
        assert sorted(claimed) == sorted(waiting)
        numbers = sorted(number for _, made in results for number in made)
        assert numbers == list(range(20, 100))
        assert storage.count_trials(study_id) == 100
        # Claiming or else creating in one call: each waiting trial goes to one worker.
        waiting = {storage.create_trial(study_id, _WAITING).trial_id for _ in range(20)}
        with multiprocessing.get_context("spawn").Pool(4) as pool:
            rows = pool.starmap(_claim_or_create, [(storage, study_id, 10)] * 4)
        started = [row for made in rows for row in made]
        assert {state for _, _, state in started} == {"RUNNING"}
        assert {trial_id for trial_id, _, _ in started} >= waiting
        assert len({trial_id for trial_id, _, _ in started}) == 40
        assert sorted(n for _, n, _ in started if n >= 120) == list(range(120, 140))
        assert storage.count_trials(study_id) == 140
        assert storage.count_trials(study_id, [TrialState.WAITING]) == 0

    # -- claiming ---------------------------------------------------------------------------

    def test_claim_waiting_trial_takes_the_oldest(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        assert storage.claim_waiting_trial(study_id) is None
        storage.create_trial(study_id, TrialTemplate())
        first = storage.create_trial(
            study_id, TrialTemplate(state=TrialState.WAITING, fixed_params={"x": 0.5})
        )
        second = storage.create_trial(study_id, _WAITING)
        claimed = storage.claim_waiting_trial(study_id)
        assert claimed is not None and claimed.trial_id == first.trial_id
        assert claimed.state is TrialState.RUNNING and claimed.started_at is not None
        assert _same(dict(claimed.fixed_params), {"x": 0.5})
        assert storage.get_trial(first.trial_id) == claimed
        again = storage.claim_waiting_trial(study_id)
        assert again is not None and again.trial_id == second.trial_id
        assert storage.claim_waiting_trial(study_id) is None

    def test_claim_or_create_claims_the_oldest_then_creates(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        first = storage.create_trial(
            study_id, TrialTemplate(state=TrialState.WAITING, fixed_params={"x": 0.5})
        )
        second = storage.create_trial(study_id, _WAITING)
        template = TrialTemplate(budget=3, parent=1, user_attrs={"k": [1, "a"]})
        claimed = storage.claim_or_create_trial(study_id, template)
        assert claimed.trial_id == first.trial_id and claimed.state is TrialState.RUNNING
        assert _same(dict(claimed.fixed_params), {"x": 0.5}) and claimed.started_at is not None
        assert storage.get_trial(first.trial_id) == claimed
        again = storage.claim_or_create_trial(study_id, template)
        assert again.trial_id == second.trial_id and again.budget is None
        made = storage.claim_or_create_trial(study_id, template)
        assert made.number == 2 and made.state is TrialState.RUNNING
        assert made.budget == 3.0 and made.parent == 1
        assert _same(dict(made.user_attrs), {"k": [1, "a"]}) and made.started_at is not None
        assert storage.get_trial(made.trial_id) == made
        with pytest.raises(StudyNotFoundError):
            storage.claim_or_create_trial(study_id + 1000, template)

    def test_claim_waiting_trial_is_atomic_under_threads(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        waiting = {storage.create_trial(study_id, _WAITING).trial_id for _ in range(40)}
        claimed: list[int] = []

        def work(_: int) -> None:
            while (trial := storage.claim_waiting_trial(study_id)) is not None:
                claimed.append(trial.trial_id)

        _threads(4, work)
        assert sorted(claimed) == sorted(waiting)
        states = {t.state for t in storage.get_trials(study_id)}
        assert states == {TrialState.RUNNING}

    # -- heartbeats, reaping and the budget ---------------------------------------------------

    def test_heartbeats_keep_a_trial_alive_while_a_stale_one_is_reaped(
        self, storage: Storage
    ) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        other = storage.create_study("b", _MIN).study_id
        beating = storage.create_trial(study_id, TrialTemplate())
        silent = storage.create_trial(study_id, TrialTemplate())
        waiting = storage.create_trial(study_id, _WAITING)
        requeued = storage.create_trial(study_id, _WAITING)
        done = storage.create_trial(study_id, TrialTemplate())
        storage.update_trial(done.trial_id, TrialUpdate(state=TrialState.COMPLETE, values=[1]))
        elsewhere = storage.create_trial(other, TrialTemplate())
        storage.record_heartbeat(requeued.trial_id)  # allowed, and forgotten once claimed
        # The stale trial is silent for the sleep at least; the live ones for a few calls at
        # most, which a loaded machine may stretch to a good part of a second.
        time.sleep(0.5)
        claimed = storage.claim_waiting_trial(study_id)  # takes `waiting`: the oldest
        assert claimed is not None and claimed.trial_id == waiting.trial_id
        fresh = storage.create_trial(study_id, TrialTemplate())  # never beat, started just now
        storage.record_heartbeat(beating.trial_id)
        reaped = storage.fail_stale_trials(study_id, grace_s=0.45)
        assert [t.number for t in reaped] == [silent.number], [t.error for t in reaped]
        dead = reaped[0]
        assert dead.state is TrialState.FAILED and dead.finished_at is not None
        match = _STALE_ERROR.fullmatch(dead.error or "")
        assert match is not None and float(match.group(1)) >= 0.45, dead.error
        assert storage.get_trial(silent.trial_id) == dead
        assert dead.started_at == silent.started_at and dead.params == silent.params
        # No retries by default, and nothing else changed.
        assert storage.count_trials(study_id) == 6 and storage.count_budget(study_id) == 6
        states = {t.trial_id: t.state for t in storage.get_trials(study_id)}
        assert states == {
            beating.trial_id: TrialState.RUNNING,
            silent.trial_id: TrialState.FAILED,
            waiting.trial_id: TrialState.RUNNING,
            requeued.trial_id: TrialState.WAITING,
            done.trial_id: TrialState.COMPLETE,
            fresh.trial_id: TrialState.RUNNING,
        }
        assert storage.get_trial(elsewhere.trial_id) == elsewhere
        # A claim restarts the clock, whatever an old heartbeat says.
        storage.claim_waiting_trial(study_id)
        assert storage.fail_stale_trials(study_id, grace_s=0.45) == []
        for finished in (dead, done):
            with pytest.raises(TrialFinishedError):
                storage.record_heartbeat(finished.trial_id)
        assert storage.get_trial(done.trial_id).state is TrialState.COMPLETE

    def test_a_retry_carries_the_launch_and_its_chain_is_capped(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        template = TrialTemplate(
            fixed_params={"x": 0.0, "k": "a"}, budget=9, parent=3, user_attrs={"note": [1]}
        )
        trial = storage.create_trial(study_id, template)
        storage.update_trial(
            trial.trial_id, TrialUpdate(params={"x": (Float(0, 1), 0.5), "n": (Int(0, 9), 3)})
        )
        for k in (1, 2):
            time.sleep(0.05)
            dead = storage.fail_stale_trials(study_id, grace_s=0.01, retry_failed=2)
            assert [t.trial_id for t in dead] == [trial.trial_id]
            retry = storage.claim_waiting_trial(study_id)
            assert retry is not None and retry.number == dead[0].number + 1
            assert _same(dict(retry.fixed_params), {"x": 0.5, "k": "a", "n": 3})
            assert retry.budget == 9.0 and retry.parent == 3 and retry.params == {}
            attrs = {"note": [1], "retry_of": dead[0].number, "retry": k}
            assert _same(dict(retry.user_attrs), attrs)
            trial = retry
        time.sleep(0.05)
        dead = storage.fail_stale_trials(study_id, grace_s=0.01, retry_failed=2)
        assert [t.trial_id for t in dead] == [trial.trial_id]  # the 2nd retry: not retried
        assert storage.count_trials(study_id, [TrialState.WAITING]) == 0
        assert storage.count_trials(study_id) == 3 and storage.count_budget(study_id) == 1
        # Reaping twice does nothing the second time.
        assert storage.fail_stale_trials(study_id, grace_s=0.01, retry_failed=2) == []
        assert storage.count_trials(study_id) == 3

    def test_reaping_and_budget_arguments_are_checked(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        for grace_s in (0, -1.0, math.nan, math.inf, True, "1", None):
            with pytest.raises(InvalidValueError, match="grace_s must be a number > 0"):
                storage.fail_stale_trials(study_id, grace_s)  # type: ignore[arg-type]
        for retry_failed in (-1, 1.5, True, "1", None):
            with pytest.raises(InvalidValueError, match="retry_failed must be an int >= 0"):
                storage.fail_stale_trials(study_id, 1.0, retry_failed)  # type: ignore[arg-type]
        for max_trials in (-1, 2.0, True, "3"):
            with pytest.raises(InvalidValueError, match="max_trials must be an int >= 0"):
                storage.create_trial(study_id, TrialTemplate(), max_trials)  # type: ignore[arg-type]
            with pytest.raises(InvalidValueError, match="max_trials must be an int >= 0"):
                storage.claim_or_create_trial(study_id, TrialTemplate(), max_trials)  # type: ignore[arg-type]
        assert storage.count_trials(study_id) == 0

    def test_concurrent_reapers_fail_and_retry_each_stale_trial_once(
        self, storage: Storage
    ) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        stale = {storage.create_trial(study_id, TrialTemplate()).number for _ in range(20)}
        time.sleep(0.05)
        reaped: list[FrozenTrial] = []
        barrier = threading.Barrier(4)

        def work(_: int) -> None:
            barrier.wait(timeout=30)
            reaped.extend(storage.fail_stale_trials(study_id, grace_s=0.01, retry_failed=1))

        _threads(4, work)
        assert sorted(t.number for t in reaped) == sorted(stale)
        retries = storage.get_trials(study_id, [TrialState.WAITING])
        assert sorted(t.user_attrs["retry_of"] for t in retries) == sorted(stale)
        assert [t.number for t in retries] == list(range(20, 40))
        assert storage.count_trials(study_id, [TrialState.FAILED]) == 20
        assert storage.count_budget(study_id) == 20

    def test_the_budget_holds_under_threads(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        enqueued = {storage.create_trial(study_id, _WAITING).trial_id for _ in range(5)}
        made: list[FrozenTrial] = []
        barrier = threading.Barrier(4)

        def work(i: int) -> None:
            barrier.wait(timeout=30)
            while True:
                if i % 2:  # creates only, never claims
                    trial = storage.create_trial(study_id, TrialTemplate(), max_trials=20)
                else:
                    trial = storage.claim_or_create_trial(study_id, TrialTemplate(), 20)
                if trial is None:
                    return
                made.append(trial)

        _threads(4, work)
        assert sorted(t.number for t in made) == list(range(20))
        assert enqueued <= {t.trial_id for t in made}
        assert {t.state for t in made} == {TrialState.RUNNING}
        assert storage.count_trials(study_id) == 20 and storage.count_budget(study_id) == 20
        assert storage.create_trial(study_id, TrialTemplate(), max_trials=20) is None
        assert storage.claim_or_create_trial(study_id, TrialTemplate(), max_trials=20) is None
        # An enqueued trial is claimed beyond the budget; it counts like any other.
        late = storage.create_trial(study_id, _WAITING)
        claimed = storage.claim_or_create_trial(study_id, TrialTemplate(), max_trials=20)
        assert claimed is not None and claimed.trial_id == late.trial_id
        assert claimed.state is TrialState.RUNNING
        assert storage.claim_or_create_trial(study_id, TrialTemplate(), max_trials=20) is None
        assert storage.count_budget(study_id) == 21
        more = storage.create_trial(study_id, _WAITING, max_trials=22)
        assert more is not None and more.number == 21 and more.state is TrialState.WAITING
        assert storage.create_trial(study_id, TrialTemplate(), max_trials=0) is None
        assert storage.count_trials(study_id) == 22

    def test_retries_do_not_consume_the_budget(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        template = TrialTemplate()
        first = [storage.claim_or_create_trial(study_id, template, 4) for _ in range(4)]
        assert all(t is not None for t in first)
        assert storage.claim_or_create_trial(study_id, template, 4) is None
        time.sleep(0.05)
        assert len(storage.fail_stale_trials(study_id, grace_s=0.01, retry_failed=1)) == 4
        assert storage.count_trials(study_id) == 8 and storage.count_budget(study_id) == 4
        retried = [storage.claim_or_create_trial(study_id, template, 4) for _ in range(4)]
        assert [t.user_attrs["retry"] for t in retried if t is not None] == [1, 1, 1, 1]
        assert storage.claim_or_create_trial(study_id, template, 4) is None
        # A trial that failed for good still counts: the budget is spent.
        time.sleep(0.05)
        assert len(storage.fail_stale_trials(study_id, grace_s=0.01, retry_failed=1)) == 4
        assert storage.claim_or_create_trial(study_id, template, 4) is None
        assert storage.count_budget(study_id) == 4
        assert storage.claim_or_create_trial(study_id, template, 5) is not None

    @pytest.mark.slow  # three new interpreters
    def test_reaping_and_the_budget_hold_across_processes(self, storage: Storage) -> None:
        if not self.shared_between_processes:
            pytest.skip("the storage is not shared between processes")
        study_id = storage.create_study("a", _MIN).study_id
        stale = {storage.create_trial(study_id, TrialTemplate()).trial_id for _ in range(12)}
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(3)
        with context.Pool(3, initializer=_set_barrier, initargs=(barrier,)) as pool:
            results = pool.starmap(
                _reap_then_claim_or_create, [(storage, study_id, 20)] * 3, chunksize=1
            )
        reaped = [trial_id for ids, _ in results for trial_id in ids]
        assert sorted(reaped) == sorted(stale)  # each failed once, by one worker
        made = [trial_id for _, ids in results for trial_id in ids]
        trials = {t.trial_id: t for t in storage.get_trials(study_id)}
        assert len(made) == len(set(made)) == 20  # 12 retries claimed, 8 trials created
        assert sum("retry_of" in trials[trial_id].user_attrs for trial_id in made) == 12
        assert storage.count_trials(study_id) == 32 and storage.count_budget(study_id) == 20
        assert storage.count_trials(study_id, [TrialState.RUNNING]) == 20

    # -- updating trials --------------------------------------------------------------------

    @pytest.mark.parametrize("finished", _FINISHED, ids=lambda s: s.name)
    def test_any_write_to_a_finished_trial_raises(
        self, storage: Storage, finished: TrialState
    ) -> None:
        trial = self._trial(storage)
        values = [1.0] if finished is TrialState.COMPLETE else None
        storage.update_trial(trial.trial_id, TrialUpdate(state=finished, values=values))
        before = storage.get_trial(trial.trial_id)
        writes = [
            TrialUpdate(state=TrialState.RUNNING),
            TrialUpdate(state=TrialState.COMPLETE),
            TrialUpdate(state=finished),
            TrialUpdate(values=[2.0]),
            TrialUpdate(params={"x": (Float(0, 1), 0.5)}),
            TrialUpdate(intermediate={1: 1.0}),
            TrialUpdate(user_attrs={"k": 1}),
            TrialUpdate(sampler_meta={"k": 1}),
            TrialUpdate(reason="r"),
            TrialUpdate(error="e"),
            TrialUpdate(params={"y": (Int(0, 3), 1)}, reason="r"),
            TrialUpdate(intermediate={3: 3.0}, state=TrialState.PRUNED),
            TrialUpdate(params={"y": (Int(0, 3), 1)}, intermediate={2: 2.0}, reason="r"),
        ]
        for write in writes:
            with pytest.raises(TrialFinishedError):
                storage.update_trial(trial.trial_id, write)
        assert storage.get_trial(trial.trial_id) == before

    def test_params_keep_type_and_order(self, storage: Storage) -> None:
        dist = Categorical([1, True, "1", None, 1.5])
        for choice in dist.choices:
            trial = self._trial(storage)
            storage.update_trial(trial.trial_id, TrialUpdate(params={"c": (dist, choice)}))
            stored = storage.get_trial(trial.trial_id)
            assert _same(stored.params["c"], choice)
            assert _same(stored.distributions["c"].choices, dist.choices)  # type: ignore[union-attr]
        trial = self._trial(storage)
        names = ["z", "a", "m", "B", "b"]
        for name in names:
            value = (Int(0, 9), len(name))
            storage.update_trial(trial.trial_id, TrialUpdate(params={name: value}))
        storage.update_trial(trial.trial_id, TrialUpdate(params={"a": (Int(0, 9), 7)}))
        stored = storage.get_trial(trial.trial_id)
        assert list(stored.params) == names and stored.params["a"] == 7

    def test_distributions_round_trip(self, storage: Storage) -> None:
        trial = self._trial(storage)
        storage.update_trial(trial.trial_id, TrialUpdate(params=_DISTRIBUTIONS))
        stored = storage.get_trial(trial.trial_id)
        for name, (dist, value) in _DISTRIBUTIONS.items():
            assert stored.distributions[name] == dist and type(stored.distributions[name]) is type(
                dist
            )
            assert _same(stored.distributions[name].default, dist.default)
            assert _same(stored.params[name], value)

    def test_json_payloads_round_trip(self, storage: Storage) -> None:
        trial = self._trial(storage, fixed_params={"i": 1, "b": True, "s": "1", "n": None})
        storage.update_trial(
            trial.trial_id, TrialUpdate(user_attrs=_PAYLOAD, sampler_meta={"state": _PAYLOAD})
        )
        stored = storage.get_trial(trial.trial_id)
        assert _same(dict(stored.user_attrs), _PAYLOAD)
        assert _same(dict(stored.sampler_meta), {"state": _PAYLOAD})
        assert _same(dict(stored.fixed_params), {"i": 1, "b": True, "s": "1", "n": None})

    def test_user_attrs_and_sampler_meta_merge(self, storage: Storage) -> None:
        trial = self._trial(storage, user_attrs={"a": 1, "b": 2})
        storage.update_trial(trial.trial_id, TrialUpdate(user_attrs={"b": 3, "c": [4]}))
        storage.update_trial(trial.trial_id, TrialUpdate(sampler_meta={"x": 1}))
        storage.update_trial(trial.trial_id, TrialUpdate(sampler_meta={"y": {"z": 2}}))
        stored = storage.get_trial(trial.trial_id)
        assert _same(dict(stored.user_attrs), {"a": 1, "b": 3, "c": [4]})
        assert _same(dict(stored.sampler_meta), {"x": 1, "y": {"z": 2}})

    def test_intermediate_values_overwrite_per_step(self, storage: Storage) -> None:
        trial = self._trial(storage)
        storage.update_trial(trial.trial_id, TrialUpdate(intermediate={0: 1.0, 1: 0.5}))
        storage.update_trial(trial.trial_id, TrialUpdate(intermediate={1: 0.25, 2: math.inf}))
        storage.update_trial(trial.trial_id, TrialUpdate(intermediate={10**12: 1e-300}))
        storage.update_trial(trial.trial_id, TrialUpdate(intermediate={3: math.nan}))
        stored = dict(storage.get_trial(trial.trial_id).intermediate)
        assert math.isnan(stored.pop(3))
        assert _same(stored, {0: 1.0, 1: 0.25, 2: math.inf, 10**12: 1e-300})

    def test_launch_fields_are_set_on_a_running_trial(self, storage: Storage) -> None:
        trial = self._trial(storage, fixed_params={"a": 1})
        update = TrialUpdate(
            budget=9, parent=3, fixed_params={"lr": 0.1, "k": "x"}, user_attrs={"rung": 1}
        )
        storage.update_trial(trial.trial_id, update)
        got = storage.get_trial(trial.trial_id)
        assert got.budget == 9.0 and isinstance(got.budget, float) and got.parent == 3
        assert _same(dict(got.fixed_params), {"a": 1, "lr": 0.1, "k": "x"})
        assert _same(dict(got.user_attrs), {"rung": 1})
        storage.update_trial(trial.trial_id, TrialUpdate(budget=27.5))
        assert storage.get_trial(trial.trial_id).budget == 27.5

    def test_intermediate_vectors_round_trip(self, storage: Storage) -> None:
        study_id = storage.create_study("mo", [Direction.MINIMIZE, Direction.MAXIMIZE]).study_id
        trial = storage.create_trial(study_id, TrialTemplate())
        vectors = {0: (0.1, 2.0), 3: (1 / 3, -1e-300), 7: (5e300, 0.0)}
        storage.update_trial(trial.trial_id, TrialUpdate(intermediate=vectors))
        got = storage.get_trial(trial.trial_id).intermediate
        assert dict(got) == vectors
        assert all(type(v) is tuple and all(type(x) is float for x in v) for v in got.values())
        assert storage.get_trials(study_id, min_number=0)[0].intermediate == got

    def test_values_reason_and_error(self, storage: Storage) -> None:
        trial = self._trial(storage)
        storage.update_trial(trial.trial_id, TrialUpdate(reason="first"))
        storage.update_trial(trial.trial_id, TrialUpdate(reason="second", error="boom\nline 2"))
        param = {"x": (Float(0, 1), 0.5)}
        storage.update_trial(trial.trial_id, TrialUpdate(params=param, reason="third"))
        storage.update_trial(
            trial.trial_id,
            TrialUpdate(intermediate={0: 0.5}, state=TrialState.COMPLETE, values=[1, 2]),
        )
        stored = storage.get_trial(trial.trial_id)
        assert _same(stored.values, (1.0, 2.0)) and stored.finished_at is not None
        assert (stored.reason, stored.error) == ("third", "boom\nline 2")
        assert stored.params == {"x": 0.5} and stored.intermediate == {0: 0.5}

    def test_timestamps_are_utc(self, storage: Storage) -> None:
        trial = self._trial(storage, state=TrialState.WAITING)
        assert trial.started_at is None
        storage.update_trial(trial.trial_id, TrialUpdate(state=TrialState.RUNNING))
        running = storage.get_trial(trial.trial_id)
        assert running.started_at is not None and running.finished_at is None
        storage.update_trial(trial.trial_id, TrialUpdate(state=TrialState.PRUNED))
        done = storage.get_trial(trial.trial_id)
        assert done.started_at == running.started_at
        assert done.finished_at is not None and done.duration_s is not None
        for stamp in (done.started_at, done.finished_at):
            assert stamp.utcoffset() == timedelta(0) and stamp.tzinfo is not None
            assert stamp.astimezone(timezone.utc) == stamp
        assert done.finished_at >= done.started_at

    # -- reading trials ---------------------------------------------------------------------

    def test_get_trials_filters_and_orders(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        states = [
            TrialState.COMPLETE,
            TrialState.RUNNING,
            TrialState.PRUNED,
            TrialState.WAITING,
            TrialState.FAILED,
            TrialState.COMPLETE,
        ]
        for i, state in enumerate(states):
            trial = storage.create_trial(study_id, TrialTemplate())
            storage.update_trial(trial.trial_id, TrialUpdate(params={"i": (Int(0, 9), i)}))
            if state is TrialState.WAITING:
                continue
            values = [float(i)] if state is TrialState.COMPLETE else None
            storage.update_trial(trial.trial_id, TrialUpdate(state=state, values=values))
        storage.create_trial(study_id, _WAITING)
        everything = storage.get_trials(study_id)
        assert [t.number for t in everything] == list(range(7))
        done = storage.get_trials(study_id, states=[TrialState.COMPLETE])
        assert [t.number for t in done] == [0, 5] and [t.params["i"] for t in done] == [0, 5]
        both = storage.get_trials(study_id, states=(TrialState.PRUNED, TrialState.FAILED))
        assert [t.number for t in both] == [2, 4]
        assert [t.number for t in storage.get_trials(study_id, min_number=4)] == [4, 5, 6]
        later = storage.get_trials(study_id, states=[TrialState.COMPLETE], min_number=1)
        assert [t.number for t in later] == [5]
        assert storage.get_trials(study_id, min_number=7) == []
        assert storage.get_trials(study_id, states=[]) == []
        assert all(storage.get_trial(t.trial_id) == t for t in everything)

    def test_reads_from_a_number_match_a_full_read(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        for i in range(6):
            trial = storage.create_trial(study_id, TrialTemplate(user_attrs={"i": i}))
            params = {f"p{j}": (Int(0, 9), (i + j) % 10) for j in range(i % 4)}
            steps = {step: float(i * step) for step in range(i % 3)}
            storage.update_trial(trial.trial_id, TrialUpdate(params=params, reason=f"r{i}"))
            if steps:
                storage.update_trial(trial.trial_id, TrialUpdate(intermediate=steps))
            if i % 2:
                storage.update_trial(
                    trial.trial_id, TrialUpdate(state=TrialState.COMPLETE, values=[float(i)])
                )
        everything = storage.get_trials(study_id)
        assert [len(t.params) for t in everything] == [0, 1, 2, 3, 0, 1]
        assert [len(t.intermediate) for t in everything] == [0, 1, 2, 0, 1, 2]
        for k in range(7):
            assert storage.get_trials(study_id, min_number=k) == everything[k:]
        assert [storage.get_trial(t.trial_id) for t in everything] == everything
        assert [list(t.params) for t in everything][3] == ["p0", "p1", "p2"]

    def test_count_trials(self, storage: Storage) -> None:
        study_id = storage.create_study("a", _MIN).study_id
        assert storage.count_trials(study_id) == 0
        for _ in range(3):
            storage.create_trial(study_id, TrialTemplate())
        storage.create_trial(study_id, _WAITING)
        assert storage.count_trials(study_id) == 4
        assert storage.count_trials(study_id, [TrialState.WAITING]) == 1
        assert storage.count_trials(study_id, [TrialState.RUNNING, TrialState.WAITING]) == 4
        assert storage.count_trials(study_id, [TrialState.COMPLETE]) == 0

    def test_snapshots_are_not_aliased(self, storage: Storage) -> None:
        attrs: dict[str, Any] = {"list": [1]}
        trial = self._trial(storage, user_attrs=attrs)
        attrs["list"].append(2)
        attrs["new"] = 1
        update_attrs: dict[str, Any] = {"nested": {"a": 1}}
        storage.update_trial(
            trial.trial_id,
            TrialUpdate(params={"x": (Float(0, 1), 0.5)}, user_attrs=update_attrs),
        )
        update_attrs["nested"]["a"] = 2
        snapshot = storage.get_trial(trial.trial_id)
        for mapping in (snapshot.params, snapshot.user_attrs, snapshot.distributions):
            try:
                mapping["x"] = 0.7  # type: ignore[index]
            except TypeError:
                pass
        stored = storage.get_trial(trial.trial_id)
        assert _same(dict(stored.user_attrs), {"list": [1], "nested": {"a": 1}})
        assert stored.params == {"x": 0.5}
        storage.update_trial(trial.trial_id, TrialUpdate(reason="later"))
        assert snapshot.reason == "" and storage.get_trial(trial.trial_id).reason == "later"
        study_id = storage.get_study("s").study_id
        storage.set_study_attr(study_id, "k", {"a": [1]})
        storage.get_study_attrs(study_id)["k"]["a"].append(2)
        storage.list_studies().clear()
        assert storage.get_study_attrs(study_id) == {"k": {"a": [1]}}
        assert len(storage.list_studies()) == 1

    def test_pickle_round_trip(self, storage: Storage) -> None:
        trial = self._trial(storage, fixed_params={"x": 1})
        storage.update_trial(trial.trial_id, TrialUpdate(params={"x": (Int(0, 3), 1)}))
        clone = pickle.loads(pickle.dumps(storage))
        try:
            study = clone.get_study("s")
            assert study == storage.get_study("s")
            assert clone.get_trials(study.study_id) == storage.get_trials(study.study_id)
            more = clone.create_trial(study.study_id, TrialTemplate())
            assert more.number == 1
        finally:
            clone.close()
