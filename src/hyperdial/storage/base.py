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
  silent (no heartbeat, or none since it started) for longer than ``grace_s`` and enqueues its
  retry, if any. However many callers race, each stale trial is failed, and retried, once.
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

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from hyperdial._types import JSON, Direction, ParamValue
from hyperdial.space import Distribution
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["Storage", "StudyInfo", "TrialTemplate", "TrialUpdate"]


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

    @abstractmethod
    def create_trial(self, study_id: int, template: TrialTemplate) -> FrozenTrial:
        """Create a trial with the next number and return it."""

    @abstractmethod
    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING and return it, or ``None``."""

    def claim_or_create_trial(self, study_id: int, template: TrialTemplate) -> FrozenTrial:
        """Claim the oldest WAITING trial as :meth:`claim_waiting_trial` does, or else create
        a trial from ``template`` as :meth:`create_trial` does; return it."""
        claimed = self.claim_waiting_trial(study_id)
        return claimed if claimed is not None else self.create_trial(study_id, template)

    @abstractmethod
    def update_trial(self, trial_id: int, update: TrialUpdate) -> None:
        """Apply ``update`` atomically; raise ``TrialFinishedError`` if the trial is finished."""

    def finish_trial(self, trial_id: int, update: TrialUpdate) -> FrozenTrial:
        """Apply ``update`` (which finishes the trial) and return the final record."""
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

    def default_artifact_root(self) -> str | None:
        """Return where checkpoints go by default for this storage (``None``: no opinion)."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the storage may be used again afterwards."""
