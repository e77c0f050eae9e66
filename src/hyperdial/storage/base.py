"""The storage contract: the single source of truth of every study.

Every implementation must hold these, checked by
:class:`hyperdial.testing.StorageConformance`:

* Thread- and process-safe (for SQL backends, across machines): trial numbers are dense,
  0-based and unique per study, assigned at :meth:`Storage.create_trial`.
* Methods return snapshots (:class:`FrozenTrial`, :class:`StudyInfo`) that never alias internal
  state; mutating a returned mapping changes nothing stored.
* Finished trials (COMPLETE, PRUNED, FAILED) never change: any write raises
  :class:`~hyperdial.exceptions.TrialFinishedError`.
* JSON payloads (params, user attrs, sampler meta, study attrs) round-trip exactly; nested
  lists and dicts in returned records are copies. The order of study attribute keys is
  unspecified. ``budget`` comes back as a float.
* :meth:`Storage.claim_waiting_trial` hands each WAITING trial to exactly one caller.
* Liveness: the worker running a trial calls :meth:`Storage.record_heartbeat` now and then;
  any process may call :meth:`Storage.fail_stale_trials`, which marks FAILED each RUNNING trial
  whose last sign of life (its latest heartbeat, or its start if that is later) is older than
  ``grace_s`` and enqueues its retry, if any. However many callers race, each stale trial is
  failed, and retried, exactly once. Times are the callers' clocks: machines sharing a study
  need clocks that agree to well within ``grace_s``.
* A study-wide budget: the *counted trials* of a study are the trial numbers issued minus the
  retries :meth:`Storage.fail_stale_trials` created (a retry stands in for its failed trial).
  Given ``max_trials``, :meth:`Storage.create_trial` and :meth:`Storage.claim_or_create_trial`
  create a trial only while fewer than ``max_trials`` are counted, checked and counted in one
  atomic step, so processes and machines sharing the study never create one too many; a
  WAITING trial is counted already and is claimed whatever the budget.
* Unknown names, and unknown study ids in the id-based methods (``create_trial``,
  ``claim_waiting_trial``, ``fail_stale_trials``, ``count_budget``, ``get_trials``, the
  attribute methods), raise :class:`~hyperdial.exceptions.StudyNotFoundError`; duplicate names
  :class:`~hyperdial.exceptions.DuplicatedStudyError`; unknown trial ids
  :class:`~hyperdial.exceptions.TrialNotFoundError`.
* Instances are picklable (SQL storages reconnect in the child process).
"""

from __future__ import annotations

import copy
import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import overload

from hyperdial._types import JSON, Direction, FrozenDict, ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.space import Distribution
from hyperdial.trial import FrozenTrial, TrialState

__all__ = [
    "Storage",
    "StudyInfo",
    "TrialTemplate",
    "TrialUpdate",
    "apply_update",
    "evolve_trial",
]


@dataclass(frozen=True)
class StudyInfo:
    """A study's identity: id, unique name, directions, creation time."""

    study_id: int
    name: str
    directions: tuple[Direction, ...]
    created_at: datetime | None = None


@dataclass(frozen=True)
class TrialTemplate:
    """What :meth:`Storage.create_trial` needs to create a trial.

    ``state`` is RUNNING for a trial started now (``started_at`` set) or WAITING for an enqueued
    one; ``fixed_params`` are the values decided in advance.
    """

    state: TrialState = TrialState.RUNNING
    fixed_params: Mapping[str, ParamValue] = field(default_factory=dict)
    budget: float | None = None
    parent: int | None = None
    user_attrs: Mapping[str, JSON] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialUpdate:
    """An atomic change to an unfinished trial; ``None`` or empty fields are left alone.

    ``params`` adds parameters (name to ``(distribution, value)``); ``intermediate`` adds or
    overwrites steps (a float, or a tuple of floats when the study has several objectives);
    ``user_attrs``, ``sampler_meta`` and ``fixed_params`` are merged; ``reason``, ``budget``
    and ``parent`` replace. Setting a finished ``state`` stamps ``finished_at``.
    """

    state: TrialState | None = None
    values: Sequence[float] | None = None
    params: Mapping[str, tuple[Distribution, ParamValue]] = field(default_factory=dict)
    intermediate: Mapping[int, float | tuple[float, ...]] = field(default_factory=dict)
    user_attrs: Mapping[str, JSON] = field(default_factory=dict)
    reason: str | None = None
    sampler_meta: Mapping[str, JSON] = field(default_factory=dict)
    error: str | None = None
    budget: float | None = None
    parent: int | None = None
    fixed_params: Mapping[str, ParamValue] = field(default_factory=dict)


def apply_update(trial: FrozenTrial, update: TrialUpdate, now: datetime) -> FrozenTrial:
    """Return ``trial`` as ``update`` leaves it, with ``now`` as its start or finish time.

    The one definition of what a :class:`TrialUpdate` does to a record, for storages that
    keep records in memory and for callers that know a trial's record already.
    """
    changes: dict[str, object] = {}
    if update.params:
        params = dict(trial.params)
        dists = dict(trial.distributions)
        for name, (dist, value) in update.params.items():
            params[name] = value
            dists[name] = dist
        changes["params"] = params
        changes["distributions"] = dists
    if update.intermediate:
        changes["intermediate"] = {**trial.intermediate, **update.intermediate}
    for name in ("user_attrs", "sampler_meta", "fixed_params"):
        added = getattr(update, name)
        if added:
            changes[name] = {**getattr(trial, name), **copy.deepcopy(dict(added))}
    if update.budget is not None:
        changes["budget"] = float(update.budget)
    if update.parent is not None:
        changes["parent"] = int(update.parent)
    if update.reason is not None:
        changes["reason"] = update.reason
    if update.error is not None:
        changes["error"] = update.error
    if update.values is not None:
        changes["values"] = tuple(float(v) for v in update.values)
    if update.state is not None:
        changes["state"] = update.state
        if update.state is TrialState.RUNNING and trial.started_at is None:
            changes["started_at"] = now
        if update.state.is_finished():
            changes["finished_at"] = now
    return evolve_trial(trial, changes)


def evolve_trial(trial: FrozenTrial, changes: Mapping[str, object]) -> FrozenTrial:
    """Return ``trial`` with ``changes``: ``dataclasses.replace`` without re-validation.

    For storages that built the changed values themselves; plain dicts are wrapped read-only.
    """
    new = object.__new__(FrozenTrial)
    new.__dict__.update(trial.__dict__)
    for name, value in changes.items():
        if isinstance(value, dict) and not isinstance(value, FrozenDict):
            value = FrozenDict(value)
        object.__setattr__(new, name, value)
    return new


class Storage(ABC):
    """Where studies and trials live. See the module docstring for the contract.

    Attributes:
        write_behind_s: How long a study may hold the parameters a running trial suggests
            before writing them (they also go with the trial's next write, whichever comes
            first); 0 writes each at once. Databases batch them: every write is a round trip
            and a commit.
    """

    write_behind_s: float = 0.0

    @property
    def shared_between_processes(self) -> bool:
        """Return whether other processes (and machines) reach the same studies."""
        return False

    @abstractmethod
    def create_study(self, name: str, directions: Sequence[Direction]) -> StudyInfo:
        """Create a study; raise ``DuplicatedStudyError`` if the name exists."""

    @abstractmethod
    def get_study(self, name: str) -> StudyInfo:
        """Return the study named ``name``; raise ``StudyNotFoundError`` if none."""

    @abstractmethod
    def list_studies(self) -> list[StudyInfo]:
        """Return every study, oldest first."""

    @abstractmethod
    def delete_study(self, name: str) -> None:
        """Delete a study with its trials and attributes; raise ``StudyNotFoundError`` if none."""

    @overload
    def create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: None = None
    ) -> FrozenTrial: ...

    @overload
    def create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: int | None
    ) -> FrozenTrial | None: ...

    @abstractmethod
    def create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: int | None = None
    ) -> FrozenTrial | None:
        """Create a trial with the next number and return it.

        With ``max_trials``, create it only if the study counts fewer trials (see
        :meth:`count_budget`), in the same atomic step that issues the number; return ``None``
        when the budget is spent. Implementations validate ``max_trials`` with
        :meth:`_check_max_trials`.
        """

    @abstractmethod
    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING and return it, or ``None``."""

    @overload
    def claim_or_create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: None = None
    ) -> FrozenTrial: ...

    @overload
    def claim_or_create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: int | None
    ) -> FrozenTrial | None: ...

    def claim_or_create_trial(
        self, study_id: int, template: TrialTemplate, max_trials: int | None = None
    ) -> FrozenTrial | None:
        """Claim the oldest WAITING trial as :meth:`claim_waiting_trial` does, or else create
        a trial from ``template`` as :meth:`create_trial` does; return it.

        A WAITING trial is claimed whatever ``max_trials`` (it is counted already); a new one
        is created only within the budget, else ``None`` is returned.
        """
        self._check_max_trials(max_trials)
        claimed = self.claim_waiting_trial(study_id)
        if claimed is not None:
            return claimed
        return self.create_trial(study_id, template, max_trials)

    @abstractmethod
    def count_budget(self, study_id: int) -> int:
        """Return the study's counted trials: numbers issued minus retries of stale trials."""

    @abstractmethod
    def record_heartbeat(self, trial_id: int) -> None:
        """Stamp an unfinished trial with the current time: its worker is alive.

        Called by the worker running the trial, every fraction of the ``grace_s`` that
        :meth:`fail_stale_trials` callers use; it must be cheap (one statement on SQL). A
        WAITING trial takes the stamp too, harmlessly: only RUNNING trials are reaped, and a
        claim restarts the clock.

        Raises:
            TrialFinishedError: the trial is finished (for instance, it was reaped: its worker
                should give it up).
            TrialNotFoundError: no trial has this id.
        """

    @abstractmethod
    def fail_stale_trials(
        self, study_id: int, grace_s: float, retry_failed: int = 0
    ) -> list[FrozenTrial]:
        """Mark FAILED the study's RUNNING trials silent for longer than ``grace_s``.

        A trial is silent since its latest heartbeat, or since it started if that is later
        (or if it never beat); a RUNNING trial with neither time is stale. Each gets the error
        ``"no heartbeat for <seconds> s: its worker stopped"`` and ``finished_at``, and, unless
        it is the ``retry_failed``-th retry of its chain already, a retry: a new WAITING trial
        fixing the failed trial's ``params`` merged over its ``fixed_params``, with its
        ``budget``, ``parent`` and user attributes plus ``retry_of`` (the failed trial's
        number) and ``retry`` (1 for the first retry of a chain, then 2, ...). A retry replaces
        its failed trial in :meth:`count_budget`. Any process may call this, as often as it
        likes: concurrent callers fail, and retry, each stale trial once.

        Args:
            study_id: The study whose trials to check; other studies are left alone.
            grace_s: How long a trial may stay silent, in seconds (> 0).
            retry_failed: How many retries a chain of trials gets (>= 0; 0: none).

        Returns:
            The trials this call marked FAILED, by number, as they are now stored.

        Raises:
            InvalidValueError: ``grace_s`` is not a number > 0, or ``retry_failed`` not an
                int >= 0.
            StudyNotFoundError: no study has this id.
        """

    @abstractmethod
    def update_trial(self, trial_id: int, update: TrialUpdate) -> None:
        """Apply ``update`` atomically; raise ``TrialFinishedError`` if the trial is finished."""

    def finish_trial(
        self, trial_id: int, update: TrialUpdate, known: FrozenTrial | None = None
    ) -> FrozenTrial:
        """Apply ``update`` (which finishes the trial) and return the final record.

        ``known`` is the caller's copy of the trial as it stands before ``update`` (the
        study keeps one for the trials it runs); a storage may build the final record from
        it instead of reading the trial back. The default reads it back.
        """
        self.update_trial(trial_id, update)
        return self.get_trial(trial_id)

    @abstractmethod
    def get_trial(self, trial_id: int) -> FrozenTrial:
        """Return one trial; raise ``TrialNotFoundError`` if none."""

    @abstractmethod
    def get_trials(
        self,
        study_id: int,
        states: Sequence[TrialState] | None = None,
        min_number: int = 0,
    ) -> list[FrozenTrial]:
        """Return the study's trials with ``number >= min_number``, ordered by number."""

    def count_trials(self, study_id: int, states: Sequence[TrialState] | None = None) -> int:
        """Return how many trials the study has (in ``states`` if given)."""
        return len(self.get_trials(study_id, states))

    @abstractmethod
    def set_study_attr(self, study_id: int, key: str, value: JSON) -> None:
        """Store a JSON study attribute (notes, seed, reproducibility record, audit log)."""

    @abstractmethod
    def get_study_attrs(self, study_id: int) -> dict[str, JSON]:
        """Return a copy of the study's attributes."""

    # -- helpers for implementations -------------------------------------------------------

    def _check_max_trials(self, max_trials: object) -> None:
        """Raise ``InvalidValueError`` unless ``max_trials`` is ``None`` or an int >= 0."""
        if max_trials is None:
            return
        if (
            isinstance(max_trials, bool)
            or not isinstance(max_trials, numbers.Integral)
            or max_trials < 0
        ):
            raise InvalidValueError(
                f"{type(self).__name__}: max_trials must be an int >= 0 or None; "
                f"got {max_trials!r}."
            )

    def _check_reaping(self, grace_s: object, retry_failed: object) -> None:
        """Raise ``InvalidValueError`` for bad :meth:`fail_stale_trials` arguments."""
        owner = f"{type(self).__name__}.fail_stale_trials"
        if (
            isinstance(grace_s, bool)
            or not isinstance(grace_s, numbers.Real)
            or not math.isfinite(grace_s)
            or grace_s <= 0
        ):
            raise InvalidValueError(f"{owner}: grace_s must be a number > 0; got {grace_s!r}.")
        if (
            isinstance(retry_failed, bool)
            or not isinstance(retry_failed, numbers.Integral)
            or retry_failed < 0
        ):
            raise InvalidValueError(
                f"{owner}: retry_failed must be an int >= 0; got {retry_failed!r}."
            )

    @staticmethod
    def _stale_error(silent_s: float) -> str:
        """Return the error recorded on a trial silent for ``silent_s`` seconds."""
        return f"no heartbeat for {silent_s:.1f} s: its worker stopped"

    @staticmethod
    def _retry_template(failed: FrozenTrial, retry_failed: int) -> TrialTemplate | None:
        """Return the WAITING trial that retries ``failed``, or ``None`` if its chain is done.

        The retry fixes the failed trial's ``params`` merged over its ``fixed_params``, keeps
        its ``budget``, ``parent`` and user attributes, and adds ``retry_of`` (the failed
        trial's number) and ``retry`` (1 for the first retry of a chain, then 2, ...).
        """
        attrs = failed.user_attrs
        previous = attrs.get("retry", 0)
        if "retry_of" not in attrs or isinstance(previous, bool) or not isinstance(previous, int):
            previous = 0  # the first of its chain (a user's own "retry" attribute aside)
        if previous >= retry_failed:
            return None
        return TrialTemplate(
            state=TrialState.WAITING,
            fixed_params={**failed.fixed_params, **failed.params},
            budget=failed.budget,
            parent=failed.parent,
            user_attrs={**attrs, "retry_of": failed.number, "retry": previous + 1},
        )

    def default_artifact_root(self) -> str | None:
        """Return where checkpoints go by default for this storage (``None``: no opinion)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the storage may be used again afterwards."""
