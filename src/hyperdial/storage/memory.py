"""In-process storage: the fast twin of the SQL storage, used by default and in tests."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import overload

from hyperdial._types import JSON, Direction
from hyperdial.exceptions import (
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialFinishedError,
    TrialNotFoundError,
)
from hyperdial.storage.base import (
    Storage,
    StudyInfo,
    TrialTemplate,
    TrialUpdate,
    apply_update,
    evolve_trial,
)
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["MemoryStorage"]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _copy_json(mapping: Mapping[str, JSON]) -> dict[str, JSON]:
    return copy.deepcopy(dict(mapping)) if mapping else {}


def _is_nested(mapping: Mapping[str, JSON]) -> bool:
    return any(isinstance(v, (list, dict)) for v in mapping.values())


def _detach(trial: FrozenTrial) -> FrozenTrial:
    """Return ``trial`` with private copies of nested JSON values, so callers cannot alias them.

    Top-level mappings are read-only already; only lists and dicts inside attributes need a
    copy, and most trials have none, so this is usually free.
    """
    if not (_is_nested(trial.user_attrs) or _is_nested(trial.sampler_meta)):
        return trial
    return evolve_trial(
        trial,
        {
            "user_attrs": copy.deepcopy(dict(trial.user_attrs)),
            "sampler_meta": copy.deepcopy(dict(trial.sampler_meta)),
        },
    )


class MemoryStorage(Storage):
    """Keep studies in this process's memory (lost when it ends).

    Thread-safe. Trials are stored as frozen records whose mappings are private copies, so
    returning them needs no copy; a process that unpickles it gets an independent copy.

    Example:
        >>> from hyperdial import Direction
        >>> storage = MemoryStorage()
        >>> storage.create_study("demo", [Direction.MINIMIZE]).name
        'demo'
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[str, StudyInfo] = {}
        self._attrs: dict[int, dict[str, JSON]] = {}
        self._trials: dict[int, list[FrozenTrial]] = {}
        self._trial_index: dict[int, tuple[int, int]] = {}  # trial_id -> (study_id, number)
        self._waiting: dict[int, list[int]] = {}  # study_id -> WAITING numbers, ascending
        self._retries: dict[int, int] = {}  # study_id -> retries fail_stale_trials created
        self._heartbeats: dict[int, datetime] = {}  # trial_id -> latest heartbeat
        self._next_study_id = 0
        self._next_trial_id = 0

    def __getstate__(self) -> dict[str, object]:
        with self._lock:
            state = self.__dict__.copy()
            del state["_lock"]
            return copy.deepcopy(state)

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def create_study(self, name: str, directions: Sequence[Direction]) -> StudyInfo:
        with self._lock:
            if name in self._studies:
                raise DuplicatedStudyError(f"A study named {name!r} already exists.")
            info = StudyInfo(self._next_study_id, name, tuple(directions), _now())
            self._next_study_id += 1
            self._studies[name] = info
            self._attrs[info.study_id] = {}
            self._trials[info.study_id] = []
            self._waiting[info.study_id] = []
            self._retries[info.study_id] = 0
            return info

    def get_study(self, name: str) -> StudyInfo:
        with self._lock:
            try:
                return self._studies[name]
            except KeyError:
                raise StudyNotFoundError(f"No study named {name!r} in this storage.") from None

    def list_studies(self) -> list[StudyInfo]:
        with self._lock:
            return sorted(self._studies.values(), key=lambda s: s.study_id)

    def delete_study(self, name: str) -> None:
        with self._lock:
            info = self.get_study(name)
            del self._studies[name]
            del self._attrs[info.study_id]
            del self._waiting[info.study_id]
            del self._retries[info.study_id]
            for t in self._trials.pop(info.study_id):
                del self._trial_index[t.trial_id]
                self._heartbeats.pop(t.trial_id, None)

    def _study_trials(self, study_id: int) -> list[FrozenTrial]:
        try:
            return self._trials[study_id]
        except KeyError:
            raise StudyNotFoundError(f"No study with id {study_id} in this storage.") from None

    @overload
    def create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: None = None
    ) -> FrozenTrial: ...

    @overload
    def create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: int | None
    ) -> FrozenTrial | None: ...

    def create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: int | None = None
    ) -> FrozenTrial | None:
        self._check_max_trials(max_trials)
        with self._lock:
            trials = self._study_trials(study_id)
            if max_trials is not None and len(trials) - self._retries[study_id] >= max_trials:
                return None
            running = template.state is TrialState.RUNNING
            trial = FrozenTrial(
                trial_id=self._next_trial_id,
                number=len(trials),
                state=template.state,
                fixed_params=_copy_json(template.fixed_params),
                budget=None if template.budget is None else float(template.budget),
                parent=template.parent,
                user_attrs=_copy_json(template.user_attrs),
                started_at=_now() if running else None,
            )
            self._next_trial_id += 1
            trials.append(trial)
            if template.state is TrialState.WAITING:
                self._waiting[study_id].append(trial.number)
            self._trial_index[trial.trial_id] = (study_id, trial.number)
            return trial

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        with self._lock:
            trials = self._study_trials(study_id)
            waiting = self._waiting[study_id]
            while waiting:
                number = waiting.pop(0)
                if trials[number].state is TrialState.WAITING:
                    claimed = replace(trials[number], state=TrialState.RUNNING, started_at=_now())
                    trials[number] = claimed
                    return claimed
            return None

    def count_budget(self, study_id: int) -> int:
        with self._lock:
            return len(self._study_trials(study_id)) - self._retries[study_id]

    def record_heartbeat(self, trial_id: int) -> None:
        with self._lock:
            study_id, number = self._locate(trial_id)
            self._raise_if_finished(self._trials[study_id][number])
            self._heartbeats[trial_id] = _now()

    def fail_stale_trials(
        self, study_id: int, grace_s: float, retry_failed: int = 0
    ) -> list[FrozenTrial]:
        self._check_reaping(grace_s, retry_failed)
        with self._lock:
            trials = self._study_trials(study_id)
            now = _now()
            cutoff = now - timedelta(seconds=grace_s)
            failed: list[FrozenTrial] = []
            for trial in list(trials):  # retries are appended as we go
                if trial.state is not TrialState.RUNNING:
                    continue
                beat = self._heartbeats.get(trial.trial_id)
                times = [t for t in (trial.started_at, beat) if t is not None]
                last = max(times) if times else None
                if last is not None and last >= cutoff:
                    continue
                silent_s = grace_s if last is None else (now - last).total_seconds()
                dead = evolve_trial(
                    trial,
                    {
                        "state": TrialState.FAILED,
                        "error": self._stale_error(silent_s),
                        "finished_at": now,
                    },
                )
                trials[trial.number] = dead
                failed.append(_detach(dead))
                retry = self._retry_template(dead, retry_failed)
                if retry is not None:
                    self.create_trial(study_id, retry)
                    self._retries[study_id] += 1
            return failed

    def _locate(self, trial_id: int) -> tuple[int, int]:
        try:
            return self._trial_index[trial_id]
        except KeyError:
            raise TrialNotFoundError(f"No trial with id {trial_id} in this storage.") from None

    @staticmethod
    def _raise_if_finished(trial: FrozenTrial) -> None:
        if trial.state.is_finished():
            raise TrialFinishedError(
                f"Trial {trial.number} is already finished ({trial.state.name}); "
                "finished trials cannot change."
            )

    def update_trial(self, trial_id: int, update: TrialUpdate) -> None:
        with self._lock:
            study_id, number = self._locate(trial_id)
            old = self._trials[study_id][number]
            self._raise_if_finished(old)
            self._trials[study_id][number] = apply_update(old, update, _now())

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            study_id, number = self._locate(trial_id)
            return _detach(self._trials[study_id][number])

    def get_trials(
        self,
        study_id: int,
        states: Sequence[TrialState] | None = None,
        min_number: int = 0,
    ) -> list[FrozenTrial]:
        with self._lock:
            trials = self._study_trials(study_id)[max(min_number, 0) :]
            if states is not None:
                wanted = set(states)
                trials = [t for t in trials if t.state in wanted]
            return [_detach(t) for t in trials]

    def set_study_attr(self, study_id: int, key: str, value: JSON) -> None:
        with self._lock:
            self._study_trials(study_id)
            self._attrs[study_id][key] = copy.deepcopy(value)

    def get_study_attrs(self, study_id: int) -> dict[str, JSON]:
        with self._lock:
            self._study_trials(study_id)
            return copy.deepcopy(self._attrs[study_id])
