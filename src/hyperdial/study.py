"""The study: the only class that wires samplers, storage and trials together."""

from __future__ import annotations

import atexit
import dataclasses
import inspect
import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import numpy as np

from hyperdial import _writebehind
from hyperdial._heartbeat import Beats, HeartbeatSettings
from hyperdial._record import OBJECTIVE_ATTR, RECORD_ATTR, objective_reference, study_record
from hyperdial._types import JSON, Direction, FrozenDict, ParamValue
from hyperdial.exceptions import (
    DuplicatedStudyError,
    HyperdialWarning,
    InvalidValueError,
    NoCompletedTrialsError,
    StudyNotFoundError,
    TrialFinishedError,
)
from hyperdial.history import History, TrialSequence
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.schedulers.base import Launch, Scheduler
from hyperdial.space import Distribution, SearchSpace, cast_param
from hyperdial.storage.artifacts import ArtifactStore, LocalArtifactStore
from hyperdial.storage.base import (
    Storage,
    StudyInfo,
    TrialTemplate,
    TrialUpdate,
    apply_update,
)
from hyperdial.storage.factory import sqlite_file
from hyperdial.trial import FrozenTrial, Trial, TrialState, check_values

if TYPE_CHECKING:
    import pandas

    from hyperdial.execution import Executor

__all__ = [
    "Study",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
]

_logger = logging.getLogger(__name__)

Objective = Callable[[Trial], object]
Callback = Callable[["Study", FrozenTrial], None]

#: Trial states that can hold parameters with their distributions (all but WAITING).
_HOLD_PARAMS = (TrialState.RUNNING, TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED)
_SEED_ATTR = "seed"
_ARTIFACTS_ATTR = "artifact_root"
_SCHEDULER_ATTR = "scheduler"
_HEARTBEAT_ATTR = "heartbeat"
_METHODS_ATTR = "methods"


def _resolve_storage(storage: Storage | str | None) -> Storage:
    if isinstance(storage, Storage):
        return storage
    if storage is None:
        from hyperdial.storage.memory import MemoryStorage

        return MemoryStorage()
    from hyperdial.storage.factory import get_storage

    return get_storage(storage)


def _default_scheduler() -> Scheduler:
    from hyperdial.schedulers.auto import AutoScheduler

    return AutoScheduler()


def _default_sampler() -> Sampler:
    from hyperdial.samplers.auto import AutoSampler

    return AutoSampler()


def _check_json(owner: str, what: str, value: object) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"{owner}: {what} must be JSON-serialisable; got {value!r}."
        ) from None


class _TrialContext:
    """Per-trial state the study keeps while an objective runs (never shared across trials)."""

    __slots__ = (
        "rng",
        "joint",
        "joint_space",
        "sources",
        "meta_written",
        "enqueued",
        "history",
        "reason",
        "pending",
        "write_lock",
        "launch_reason",
        "prune_reason",
        "enqueued_by",
        "known",
    )

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.history: History | None = None  # the snapshot the joint proposal was made on
        self.joint: Suggestion | None = None
        self.joint_space: SearchSpace | None = None
        self.sources: dict[str, str] = {}  # param -> "fixed" | "joint" | "independent"
        self.meta_written: Suggestion | None = None  # the proposal whose meta is stored
        self.enqueued = False
        self.reason = ""  # the reason last written
        self.pending: TrialUpdate | None = None  # buffered writes (see _writebehind)
        self.write_lock = threading.Lock()
        self.launch_reason = ""  # why the scheduler started the trial as it did
        # the trial as this process has written it, so finishing it needs no read back
        self.known: FrozenTrial | None = None
        self.prune_reason = ""  # why the scheduler stopped it
        self.enqueued_by = "enqueued by user"  # or a retry of a trial whose worker stopped


def _remember(context: _TrialContext, update: TrialUpdate) -> None:
    """Apply a written ``update`` to the context's copy of its trial."""
    if context.known is not None:
        context.known = apply_update(context.known, update, datetime.now(timezone.utc))


def _merge(first: TrialUpdate | None, then: TrialUpdate) -> TrialUpdate:
    """Return one update doing ``first`` and then ``then`` (mappings merge, later values win)."""
    if first is None:
        return then
    merged: dict[str, object] = {}
    for f in dataclasses.fields(TrialUpdate):
        a, b = getattr(first, f.name), getattr(then, f.name)
        if isinstance(b, Mapping):
            merged[f.name] = {**a, **b}
        else:
            merged[f.name] = b if b is not None else a
    return TrialUpdate(**merged)  # type: ignore[arg-type]


class Study:
    """A named optimisation problem: its directions, trials, sampler and storage.

    Create one with :func:`create_study` or :func:`load_study`, not directly.

    Example:
        >>> import hyperdial
        >>> study = hyperdial.create_study(direction="minimize", seed=0)
        >>> study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=20)
        >>> round(study.best_value, 2) < 0.2
        True
    """

    def __init__(
        self,
        info: StudyInfo,
        storage: Storage,
        sampler: Sampler,
        seed: int,
        scheduler: Scheduler | None = None,
        artifacts: ArtifactStore | None = None,
        heartbeat: HeartbeatSettings | None = None,
    ) -> None:
        self._info = info
        self._beats = None if heartbeat is None else Beats(storage, info.study_id, heartbeat)
        self._storage = storage
        self._sampler = sampler
        self._scheduler = scheduler if scheduler is not None else _default_scheduler()
        kind = type(self._scheduler)
        self._launches = self._scheduler.launches_trials()
        self._prunes = kind.on_report is not Scheduler.on_report
        self._models_by_fidelity = kind.model_history is not Scheduler.model_history
        self._artifacts = artifacts
        self._explained: str | None = None  # what the study record last said of the scheduler
        self._window: int | None = None  # reproducible parallel runs: trials a proposal ignores
        self._seed = seed
        self._lock = threading.RLock()
        self._cache: list[FrozenTrial] = []  # finished trials 0..k-1, never change again
        self._known: tuple[int, dict[str, Distribution]] = (0, {})  # of the cache's first k
        self._stop_flag = threading.Event()
        self._buffered: dict[int, Trial] = {}  # trials with writes not yet made, by number
        # joint proposals of this process's running trials, by number (see _propose)
        self._proposals: dict[int, tuple[SearchSpace, Mapping[str, ParamValue]]] = {}
        self._propose_lock = threading.Lock()
        self._objective_recorded = False

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        for key in (
            "_lock",
            "_stop_flag",
            "_cache",
            "_known",
            "_buffered",
            "_proposals",
            "_propose_lock",
        ):
            del state[key]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()
        self._cache = []
        self._known = (0, {})
        self._stop_flag = threading.Event()
        self._buffered = {}
        self._proposals = {}
        self._propose_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Study(name={self.study_name!r}, directions={[d.value for d in self.directions]})"

    # ----------------------------------------------------------------- properties
    @property
    def study_name(self) -> str:
        """Return the study's unique name."""
        return self._info.name

    @property
    def study_id(self) -> int:
        """Return the storage's id of the study."""
        return self._info.study_id

    @property
    def directions(self) -> tuple[Direction, ...]:
        """Return the direction of each objective."""
        return self._info.directions

    @property
    def storage(self) -> Storage:
        """Return the storage holding the study."""
        return self._storage

    @property
    def sampler(self) -> Sampler:
        """Return the sampler proposing parameters."""
        return self._sampler

    @property
    def scheduler(self) -> Scheduler:
        """Return the scheduler that stops trials early and launches promotions."""
        return self._scheduler

    @property
    def seed(self) -> int:
        """Return the seed from which every trial's random generator derives."""
        return self._seed

    @property
    def user_attrs(self) -> dict[str, JSON]:
        """Return the study's stored attributes (a copy)."""
        return self._storage.get_study_attrs(self.study_id)

    def set_user_attr(self, key: str, value: JSON) -> None:
        """Store a JSON attribute on the study (e.g. a note on the data used)."""
        _check_json("Study.set_user_attr", f"the value of {key!r}", value)
        self._storage.set_study_attr(self.study_id, key, value)

    # -------------------------------------------------------------------- history
    def _extend_cache(self, fresh: Sequence[FrozenTrial]) -> int:
        """Append the finished trials that continue the cache's run of numbers (``fresh``:
        trials numbered from the cache's length on, ordered by number); return its length."""
        for trial in fresh:
            if trial.number == len(self._cache) and trial.state.is_finished():
                self._cache.append(trial)
            else:
                break
        return len(self._cache)

    def history(self) -> History:
        """Return an immutable snapshot of the study's trials for samplers and analysis."""
        with self._lock:
            fresh = self._storage.get_trials(self.study_id, min_number=len(self._cache))
            done = self._extend_cache(fresh)
            rest = [t for t in fresh if t.number >= done]
            return History(self.directions, TrialSequence(self._cache, rest))

    @property
    def trials(self) -> list[FrozenTrial]:
        """Return every trial, ordered by number."""
        return list(self.history().trials)

    def get_trials(self, states: Iterable[TrialState] | None = None) -> list[FrozenTrial]:
        """Return the trials in ``states`` (all if ``None``), ordered by number."""
        trials = self.history().trials
        if states is None:
            return list(trials)
        wanted = set(states)
        return [t for t in trials if t.state in wanted]

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """Return the Pareto-optimal completed trials (the best one for one objective)."""
        return list(self.history().pareto)

    @property
    def best_trial(self) -> FrozenTrial:
        """Return the best completed trial of a single-objective study.

        Raises:
            InvalidValueError: the study has several objectives (use ``best_trials``).
            NoCompletedTrialsError: no trial has completed yet.
        """
        if len(self.directions) != 1:
            raise InvalidValueError(
                f"Study {self.study_name!r} has {len(self.directions)} objectives; "
                "best_trial needs one. Use best_trials for the Pareto set."
            )
        best = self.history().best
        if best is None:
            raise NoCompletedTrialsError(
                f"Study {self.study_name!r} has no completed trial yet; run optimize() first."
            )
        return best

    @property
    def best_params(self) -> dict[str, ParamValue]:
        """Return the parameters of :attr:`best_trial`."""
        return dict(self.best_trial.params)

    @property
    def best_value(self) -> float:
        """Return the objective value of :attr:`best_trial`."""
        value = self.best_trial.value
        assert value is not None  # a COMPLETE trial has values
        return value

    # ------------------------------------------------------------------ ask / tell
    def _rng(self, number: int) -> np.random.Generator:
        return np.random.default_rng([self._seed, number])

    def ask(self, fixed: Mapping[str, ParamValue] | None = None) -> Trial:
        """Start a trial and return its handle; an enqueued trial is claimed first.

        Args:
            fixed: Values to fix for this trial (a new trial is created for them).

        Example:
            >>> import hyperdial
            >>> study = hyperdial.create_study(seed=0)
            >>> trial = study.ask({"x": 0.5})
            >>> trial.suggest_float("x", 0, 1)
            0.5
        """
        trial = self._start(fixed, None)
        assert trial is not None  # without a budget a trial is always started
        return trial

    def _start(
        self, fixed: Mapping[str, ParamValue] | None, max_trials: int | None
    ) -> Trial | None:
        """Start a trial (``None`` when the study already holds ``max_trials`` trials)."""
        if self._beats is not None:
            self._beats.reap()
        if fixed is None:
            started = self._storage.claim_or_create_trial(
                self.study_id, TrialTemplate(), max_trials=max_trials
            )
        else:
            _check_json("Study.ask", "fixed", dict(fixed))
            template = TrialTemplate(fixed_params=dict(fixed))
            started = self._storage.create_trial(self.study_id, template, max_trials=max_trials)
        if started is None:
            return None
        frozen = started
        if self._beats is not None:
            self._beats.start(frozen.trial_id)
        context = _TrialContext(self._rng(frozen.number))
        context.enqueued = fixed is None and bool(frozen.fixed_params)
        retry_of = frozen.user_attrs.get("retry_of")
        if fixed is None and isinstance(retry_of, int):  # a retry of a trial whose worker died
            context.launch_reason = f"retry {frozen.user_attrs.get('retry')} of trial {retry_of}"
            context.enqueued_by = "kept"
        if fixed is None and not context.enqueued and self._launches:
            frozen, context.launch_reason = self._launch(frozen)
        trial = Trial(self, frozen)
        context.known = frozen
        trial._context = context  # per-trial state rides on the handle: no lookup, no lock
        return trial

    def _launch(self, frozen: FrozenTrial) -> tuple[FrozenTrial, str]:
        """Apply the scheduler's :class:`~hyperdial.schedulers.Launch` to a new trial."""
        history = self.history()
        before = History(self.directions, [t for t in history.trials if t.number != frozen.number])
        rng = np.random.default_rng([self._seed, frozen.number, 1])  # not the sampler's stream
        launch = self._scheduler.next_launch(before, frozen.number, rng)
        self._record_scheduler(before)
        if not isinstance(launch, Launch):
            raise TypeError(
                f"{type(self._scheduler).__name__}.next_launch must return a Launch; "
                f"got {type(launch).__name__}."
            )
        if not (launch.params or launch.user_attrs) and launch.budget is None:
            if launch.parent is None:
                return frozen, launch.reason
        _check_json("Launch", "params", dict(launch.params))
        _check_json("Launch", "user_attrs", dict(launch.user_attrs))
        update = TrialUpdate(
            budget=launch.budget,
            parent=launch.parent,
            fixed_params=dict(launch.params),
            user_attrs=dict(launch.user_attrs),
        )
        self._storage.update_trial(frozen.trial_id, update)  # at once: other workers look
        launched = dataclasses.replace(
            frozen,
            budget=frozen.budget if launch.budget is None else float(launch.budget),
            parent=frozen.parent if launch.parent is None else int(launch.parent),
            fixed_params=FrozenDict({**frozen.fixed_params, **launch.params}),
            user_attrs={**frozen.user_attrs, **launch.user_attrs},
        )
        return launched, launch.reason

    def _context(self, trial: Trial) -> _TrialContext:
        context = trial._context
        if context is None:  # a handle built outside ask(), e.g. after unpickling
            context = trial._context = _TrialContext(self._rng(trial.number))
        return context  # type: ignore[no-any-return]

    def _draw(
        self, trial: Trial, name: str, dist: Distribution, space: SearchSpace | None
    ) -> ParamValue:
        context = self._context(trial)
        if name in trial.fixed_params:
            try:
                value = cast_param(name, dist, trial.fixed_params[name])
            except InvalidValueError as exc:
                raise InvalidValueError(
                    f"Trial {trial.number}: the enqueued value does not fit: {exc}"
                ) from None
            context.sources[name] = "fixed"
            return value
        declared_late = (
            space is not None
            and context.joint is not None
            and context.joint_space is not space
            and name not in context.joint.params
        )
        if context.joint is None or declared_late:
            # A declared space met after define-by-run suggestions gets its own joint proposal.
            if self._window is not None:  # reproducible: the view is fixed, nothing to share
                self._propose(trial, context, space)
            else:
                # One proposal at a time in this process, each seeing the others' proposals
                # for its running trials as their parameters (even before they are written):
                # parallel workers then spread out instead of piling onto one point.
                with self._propose_lock:
                    self._propose(trial, context, space)
        joint, joint_space = context.joint, context.joint_space
        assert joint is not None and joint_space is not None
        if name in joint.params and joint_space.get(name) == dist:
            context.sources[name] = "joint"
            return cast_param(name, dist, joint.params[name])
        history = context.history
        assert history is not None
        current = history.by_number(trial.number)
        value = self._sampler.sample_one(history, current, name, dist, context.rng)
        context.sources[name] = "independent"
        return cast_param(name, dist, value)

    def _propose(self, trial: Trial, context: _TrialContext, space: SearchSpace | None) -> None:
        if self._sampler.uses_history or self._window is not None:
            history = self._model_history(trial.number)
        else:  # random search needs no database read to propose
            history = History(self.directions, [trial._frozen])
        if self._proposals and self._window is None:
            history = self._with_proposals(history, trial.number)
        context.history = history
        joint_space = space if space is not None else self._sampler.infer_space(history)
        current = history.by_number(trial.number)
        context.joint = self._sampler.sample(history, current, joint_space, context.rng)
        context.joint_space = joint_space
        if context.joint.params:
            with self._lock:
                self._proposals[trial.number] = (joint_space, context.joint.params)

    def _with_proposals(self, history: History, number: int) -> History:
        """Show this process's running trials with their proposed parameters."""
        with self._lock:
            proposals = dict(self._proposals)
        shown = []
        for t in history.trials:
            proposal = proposals.get(t.number)
            if proposal is None or t.number == number or t.state is not TrialState.RUNNING:
                shown.append(t)
                continue
            space, params = proposal
            missing = {k: v for k, v in params.items() if k not in t.params and k in space}
            if not missing:
                shown.append(t)
                continue
            shown.append(
                dataclasses.replace(
                    t,
                    params=FrozenDict({**missing, **t.params}),
                    distributions=FrozenDict(
                        {**{k: space[k] for k in missing}, **t.distributions}
                    ),
                )
            )
        return History(history.directions, shown)

    def _reason(self, context: _TrialContext) -> str:
        by_source: dict[str, list[str]] = {}
        for name, source in context.sources.items():
            by_source.setdefault(source, []).append(name)
        parts = []
        if context.launch_reason:
            parts.append(context.launch_reason)
        if "fixed" in by_source:
            who = context.enqueued_by if context.enqueued else "fixed"
            if context.launch_reason and not context.enqueued:
                who = "from the scheduler"
            parts.append(f"{who}: {', '.join(by_source['fixed'])}")
        joint_reason = context.joint.reason if context.joint is not None else ""
        if "joint" in by_source and joint_reason:
            parts.append(joint_reason)
        if "independent" in by_source:
            if "joint" in by_source or not joint_reason:
                names = ", ".join(by_source["independent"])
                label = joint_reason or type(self._sampler).__name__
                parts.append(f"independent draws ({label}): {names}")
            else:
                parts.append(joint_reason)
        return "; ".join(parts)

    def _record(self, trial: Trial, values: Mapping[str, tuple[Distribution, ParamValue]]) -> None:
        context = self._context(trial)
        meta: Mapping[str, JSON] = {}
        joint = context.joint
        if joint is not None and joint.meta and context.meta_written is not joint:
            meta = joint.meta
            context.meta_written = joint
        reason = self._reason(context)
        if reason == context.reason:
            update = TrialUpdate(params=values, sampler_meta=meta)
        else:
            context.reason = reason
            update = TrialUpdate(params=values, reason=reason, sampler_meta=meta)
        delay = self._storage.write_behind_s
        if delay <= 0:
            with context.write_lock:
                self._storage.update_trial(trial.trial_id, update)
                _remember(context, update)
            return
        with context.write_lock:
            first = context.pending is None
            context.pending = _merge(context.pending, update)
            if first:
                with self._lock:
                    self._buffered[trial.number] = trial
        if first:
            _writebehind.schedule(delay, lambda: self._write(trial, None))

    def _write(
        self, trial: Trial, update: TrialUpdate | None, *, finish: bool = False
    ) -> FrozenTrial | None:
        """Write ``update`` with the trial's buffered writes in one storage call.

        With ``finish``, ``update`` finishes the trial and the final record is returned.
        """
        context = trial._context
        with context.write_lock if context is not None else nullcontext():
            pending = None
            if context is not None:
                pending, context.pending = context.pending, None
                if pending is not None:
                    with self._lock:
                        self._buffered.pop(trial.number, None)
            if update is None and pending is None:
                return None
            merged = update if pending is None else _merge(pending, update or TrialUpdate())
            assert merged is not None
            try:
                if finish:
                    known = None if context is None else context.known
                    return self._storage.finish_trial(trial.trial_id, merged, known)
                self._storage.update_trial(trial.trial_id, merged)
                if context is not None:
                    _remember(context, merged)
            except Exception:
                if update is None and context is not None:  # a deferred write: keep its data
                    context.pending = pending
                    with self._lock:
                        self._buffered[trial.number] = trial
                raise
        return None

    def _report(self, trial: Trial, value: float | tuple[float, ...], step: int) -> None:
        n = len(self.directions)
        if (n == 1) == isinstance(value, tuple) or (n > 1 and len(value) != n):  # type: ignore[arg-type]
            expected = "one number" if n == 1 else f"a sequence of {n} numbers, one per objective"
            raise InvalidValueError(
                f"Trial.report: this study has {n} objective(s); report {expected}; got {value!r}."
            )
        self._write(trial, TrialUpdate(intermediate={step: value}))

    def _should_prune(self, trial: Trial) -> bool:
        if not self._prunes or not trial.intermediate:
            return False
        step = max(trial.intermediate)
        history = self.history()
        decision = self._scheduler.on_report(
            history, history.by_number(trial.number), step, trial.intermediate[step]
        )
        if decision.prune:
            reason = decision.reason or f"{type(self._scheduler).__name__} at step {step}"
            self._context(trial).prune_reason = reason
        self._record_scheduler(history)
        return bool(decision.prune)

    def _record_scheduler(self, history: History) -> None:
        """Keep the scheduler's settings and current choice, with why, in the study's record."""
        why = self._scheduler.explain(history)
        if why != self._explained:
            self._explained = why
            record = {"settings": self._scheduler.settings(), "now": why}
            self._storage.set_study_attr(self.study_id, _SCHEDULER_ATTR, record)

    def _model_history(self, number: int) -> History:
        """Return what the sampler learns from when it proposes for trial ``number``."""
        history = self.history() if self._window is None else self._window_view(number)
        if self._models_by_fidelity and not self._sampler.models_resource(history):
            return self._scheduler.model_history(history)
        return history

    def _window_view(self, number: int) -> History:
        """Return trials ``0 .. number - window - 1`` (waiting until all have finished) and
        trial ``number``: the same view whatever order parallel workers finish in."""
        assert self._window is not None
        cutoff = number - self._window
        delay = 0.005
        while True:
            history = self.history()
            earlier = [t for t in history.trials if t.number < cutoff]
            if len(earlier) >= cutoff and all(t.state.is_finished() for t in earlier):
                current = [t for t in history.trials if t.number == number]
                return History(self.directions, earlier + current)
            time.sleep(delay)
            delay = min(delay * 1.5, 0.2)

    def _checkpoint_key(self, number: int) -> str:
        return f"{self.study_name}/{number}/checkpoint"

    @property
    def artifacts(self) -> ArtifactStore:
        """Return where the study's checkpoints go (see ``create_study(artifacts=...)``)."""
        store = self._artifacts
        if store is None:
            with self._lock:
                if self._artifacts is None:
                    self._artifacts = _default_artifacts(self._storage, self.study_id)
                store = self._artifacts
        return store

    def _save_checkpoint(self, trial: Trial, obj: object) -> None:
        self.artifacts.save(self._checkpoint_key(trial.number), obj)

    def _load_checkpoint(self, trial: Trial) -> object:
        store = self.artifacts
        for number in (trial.number, trial.parent):
            if number is None:
                continue
            try:
                return store.load(self._checkpoint_key(number))
            except KeyError:
                continue
        return None

    def _set_user_attr(self, trial: Trial, key: str, value: JSON) -> None:
        _check_json("Trial.set_user_attr", f"the value of {key!r}", value)
        self._write(trial, TrialUpdate(user_attrs={key: value}))

    def tell(
        self,
        trial: Trial | int,
        values: float | Sequence[float] | None = None,
        *,
        state: TrialState | None = None,
        error: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial with its objective value(s) or a state; return the final record.

        Values are checked: their count must equal the number of objectives and each must be a
        finite number; otherwise the trial is recorded FAILED with the reason. A PRUNED trial
        keeps its last intermediate value as its value.

        Args:
            trial: The trial handle or its number.
            values: One value per objective (a bare number for one objective).
            state: COMPLETE (the default when values are given), PRUNED or FAILED.
            error: For FAILED, what went wrong.

        Raises:
            TrialFinishedError: the trial was already told.
        """
        handle = trial if isinstance(trial, Trial) else None
        owner = handle._owner if handle is not None else self
        if owner is not self and (
            getattr(owner, "study_name", None) != self.study_name
            or getattr(owner, "study_id", None) != self.study_id
        ):
            raise InvalidValueError(
                f"Study.tell: trial {trial.number} belongs to study "  # type: ignore[union-attr]
                f"{getattr(owner, 'study_name', '?')!r}, not {self.study_name!r}; tell the "
                "study that asked for it."
            )
        if error is not None and not isinstance(error, str):
            raise InvalidValueError(f"Study.tell: error must be a str; got {error!r}.")
        if isinstance(trial, int) and not isinstance(trial, bool):
            handle = self._buffered.get(trial)
        if handle is not None:
            trial_id, number = handle.trial_id, handle.number
        else:
            frozen = self._resolve(trial)
            trial_id, number = frozen.trial_id, frozen.number
        if state is None:
            state = TrialState.COMPLETE if values is not None else TrialState.FAILED
            if values is None and error is None:
                error = "told without values"
        if not isinstance(state, TrialState) or not state.is_finished():
            raise InvalidValueError(
                f"Study.tell: state must be COMPLETE, PRUNED or FAILED; got {state!r}."
            )
        checked: tuple[float, ...] | None = None
        if state is TrialState.COMPLETE:
            try:
                checked = check_values(values, len(self.directions))
            except InvalidValueError as exc:
                state, error = TrialState.FAILED, str(exc)
                _logger.warning("Trial %d failed: %s", number, exc)
        elif state is TrialState.PRUNED:
            if values is not None:
                raise InvalidValueError(
                    "Study.tell: a PRUNED trial takes its last reported value as its value; "
                    f"leave values out (got {values!r})."
                )
            current = self._storage.get_trial(trial_id)
            if current.intermediate:
                last = current.intermediate[max(current.intermediate)]
                checked = last if isinstance(last, tuple) else (last,)
            if error is None and handle is not None:
                error = self._context(handle).prune_reason or None
        elif error is None and values is not None:
            error = f"told FAILED with values {values!r}"
        update = TrialUpdate(state=state, values=checked, error=error)
        try:
            if handle is not None:
                final = self._write(handle, update, finish=True)
            else:
                final = self._storage.finish_trial(trial_id, update)
        except TrialFinishedError:
            current = self._storage.get_trial(trial_id)
            raise TrialFinishedError(
                f"Trial {current.number} is already finished ({current.state.name}); "
                "tell() can be called once per trial."
            ) from None
        assert final is not None
        if self._proposals:
            with self._lock:
                self._proposals.pop(number, None)
        if self._beats is not None:
            self._beats.stop(trial_id)
        if type(self._sampler).on_trial_end is not Sampler.on_trial_end:
            self._sampler.on_trial_end(self.history(), final)
        return final

    def _attach(self, trial_id: int) -> Trial:
        """Return a handle on a RUNNING trial started elsewhere (another process or machine).

        Parameters it already has are kept; the objective's suggestions resolve as usual.
        """
        frozen = self._storage.get_trial(trial_id)
        if frozen.state is not TrialState.RUNNING:
            raise TrialFinishedError(
                f"Trial {frozen.number} is {frozen.state.name}; only a RUNNING trial can be run."
            )
        trial = Trial(self, frozen)
        context = self._context(trial)
        context.enqueued = bool(frozen.fixed_params) and frozen.parent is None
        context.known = frozen
        return trial

    def _resolve(self, trial: Trial | int) -> FrozenTrial:
        if isinstance(trial, Trial):
            return self._storage.get_trial(trial.trial_id)
        if isinstance(trial, int) and not isinstance(trial, bool):
            for t in self._storage.get_trials(self.study_id, min_number=trial):
                if t.number == trial:
                    return t
            raise InvalidValueError(f"Study.tell: no trial number {trial} in {self.study_name!r}.")
        raise TypeError(
            f"Study.tell: trial must be a Trial or an int; got {type(trial).__name__}."
        )

    # ------------------------------------------------------------------ enqueue
    def known_distributions(self) -> dict[str, Distribution]:
        """Return the distribution of every parameter seen in the study's trials.

        A parameter whose range changed during the study has its latest trial's distribution.
        Waiting trials hold no distributions yet and are not read, and finished ones are read
        once: queuing thousands of configurations with :meth:`enqueue` stays linear.
        """
        with self._lock:
            fresh = self._storage.get_trials(
                self.study_id, states=_HOLD_PARAMS, min_number=len(self._cache)
            )
            done = self._extend_cache(fresh)
            seen, known = self._known
            for t in self._cache[seen:]:
                known.update(t.distributions)
            self._known = (done, known)
            out = dict(known)
        for t in fresh:
            if t.number >= done:
                out.update(t.distributions)
        return out

    def enqueue(
        self,
        params: Mapping[str, ParamValue],
        user_attrs: Mapping[str, JSON] | None = None,
    ) -> FrozenTrial:
        """Queue an expert's configuration; the next ``ask`` runs it before sampling.

        A partial configuration gets the rest sampled. Values of parameters the study has seen
        are checked against their distribution now, so a wrong value fails here and not
        mid-study; a name no trial has yet (a typo, or a branch not yet reached) is queued
        with a :class:`~hyperdial.exceptions.HyperdialWarning`.

        Raises:
            InvalidValueError: a value does not fit the known distribution, or is not JSON-able.

        Example:
            >>> import hyperdial
            >>> study = hyperdial.create_study(seed=0)
            >>> _ = study.enqueue({"lr": 0.01})
            >>> study.ask().suggest_float("lr", 1e-4, 1e-1, log=True)
            0.01
        """
        if not isinstance(params, Mapping):
            raise TypeError(
                f"Study.enqueue: params must be a mapping; got {type(params).__name__}."
            )
        _check_json("Study.enqueue", "params", dict(params))
        _check_json("Study.enqueue", "user_attrs", dict(user_attrs or {}))
        bad = [name for name in params if not isinstance(name, str) or not name]
        if bad:
            raise InvalidValueError(
                f"Study.enqueue: parameter names must be non-empty strings; got {bad[0]!r}."
            )
        known = self.known_distributions()
        unseen = sorted(set(params) - set(known))
        if known and unseen:
            warnings.warn(
                f"Study.enqueue: no trial of {self.study_name!r} has {', '.join(unseen)} yet "
                f"(its parameters: {', '.join(sorted(known))}); the value is used only if the "
                "objective suggests that name.",
                HyperdialWarning,
                stacklevel=2,
            )
        checked: dict[str, ParamValue] = {}
        for name, value in params.items():
            if name in known:
                try:
                    value = cast_param(name, known[name], value)
                except InvalidValueError as exc:
                    raise InvalidValueError(f"Study.enqueue: {exc}") from None
            checked[name] = value
        template = TrialTemplate(
            state=TrialState.WAITING, fixed_params=checked, user_attrs=dict(user_attrs or {})
        )
        return self._storage.create_trial(self.study_id, template)

    # ------------------------------------------------------------------ running
    def optimize(
        self,
        objective: Objective,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: Iterable[type[BaseException]] | type[BaseException] = (),
        callbacks: Iterable[Callback] = (),
        show_progress_bar: bool | None = None,
        executor: Executor | None = None,
        reproducible: bool = False,
        max_trials: int | None = None,
    ) -> None:
        """Run ``objective`` on new trials until a budget is spent or :meth:`stop` is called.

        Args:
            objective: ``objective(trial)`` returns the value (or one per objective); raise
                :class:`~hyperdial.TrialPruned` to stop a trial early.
            n_trials: How many trials this call runs (``None``: until timeout or stop).
            timeout: Seconds after which no new trial starts.
            n_jobs: Trials run at once in threads (``-1``: one per CPU).
            catch: Exception types recorded as FAILED without stopping the study; any other
                exception is recorded FAILED and then propagates.
            callbacks: ``callback(study, frozen_trial)`` after each trial.
            show_progress_bar: Draw a progress bar; default: only on a terminal.
            executor: Where trials run instead of this process's threads: a
                :class:`~hyperdial.execution.ProcessExecutor` (a process per trial, with a
                timeout that kills and a memory cap) or a
                :class:`~hyperdial.execution.DaskExecutor` (a Dask cluster); ``n_jobs`` is then
                ignored. Both need a storage other processes reach (a database URL).
            max_trials: A budget for the whole study, shared by every worker on every
                machine: no trial starts once the study holds ``max_trials`` (a retry of a
                trial whose worker stopped replaces it rather than adding one). When it is
                spent this call still waits for other workers' trials when the study has
                heartbeats, running any retry, so n workers with a budget of 100 finish
                exactly 100 trials even if some die.
            reproducible: With several workers, make the suggestions a function of the seed
                and the number of workers alone: trial ``k`` is proposed from trials ``0 ..
                k - workers`` only, waiting for them to finish if needed, and the trials in
                between are ignored rather than seen half-done. Costs idle time when trial
                durations vary a lot; random, grid and quasi-random search are reproducible
                anyway. With threads, BLAS runs on one thread meanwhile, so that the models'
                rounding does not depend on which suggestions overlap.

        Ctrl-C marks the running trial(s) FAILED (interrupted), keeps every finished trial and
        re-raises ``KeyboardInterrupt``; :func:`load_study` resumes the study.
        """
        from hyperdial._loop import run_optimize

        if not isinstance(reproducible, bool):
            raise InvalidValueError(
                f"Study.optimize: reproducible must be a bool; got {reproducible!r}."
            )
        self._record_objective(objective)
        workers = getattr(executor, "max_workers", 1) if executor is not None else n_jobs
        blas: AbstractContextManager[object] = nullcontext()
        if reproducible and isinstance(workers, int) and workers > 1:
            self._window = workers - 1
            if executor is None:
                # Suggestions made in several threads at once: one BLAS thread for the whole
                # run, or the rounding of the models' linear algebra would depend on which
                # threads happen to overlap (suggestions then differ in the last digits).
                from threadpoolctl import threadpool_limits

                blas = threadpool_limits(limits=1, user_api="blas")
        try:
            with blas:
                run_optimize(
                    self,
                    objective,
                    n_trials=n_trials,
                    timeout=timeout,
                    n_jobs=n_jobs,
                    catch=catch,
                    callbacks=callbacks,
                    show_progress_bar=show_progress_bar,
                    executor=executor,
                    max_trials=max_trials,
                )
        finally:
            self._window = None

    def _record_objective(self, objective: object) -> None:
        """Keep where the objective comes from, once per study object, for ``reproduce``."""
        if self._objective_recorded:
            return
        self._objective_recorded = True
        reference = objective_reference(objective)
        if reference is not None and self.user_attrs.get(OBJECTIVE_ATTR) != reference:
            self._storage.set_study_attr(self.study_id, OBJECTIVE_ATTR, reference)

    def stop(self) -> None:
        """Ask a running :meth:`optimize` to start no new trial (running ones finish)."""
        self._stop_flag.set()

    def trials_dataframe(self) -> pandas.DataFrame:
        """Return one row per trial (needs pandas: ``pip install 'hyperdial[pandas]'``)."""
        from hyperdial._dataframe import trials_dataframe

        return trials_dataframe(self)


# ---------------------------------------------------------------------- functions
def _directions(
    direction: Direction | str | None, directions: Sequence[Direction | str] | None
) -> tuple[Direction, ...]:
    if direction is not None and directions is not None:
        raise InvalidValueError("create_study: give direction or directions, not both.")
    if directions is None:
        directions = [direction if direction is not None else Direction.MINIMIZE]
    if isinstance(directions, str) or not isinstance(directions, Sequence) or not directions:
        raise InvalidValueError(
            f"create_study: directions must be a non-empty list of 'minimize'/'maximize'; "
            f"got {directions!r}."
        )
    try:
        return tuple(Direction.parse(d) for d in directions)
    except ValueError as exc:
        raise InvalidValueError(f"create_study: {exc}") from None


def _check_sampler(sampler: Sampler, n_objectives: int) -> None:
    if not isinstance(sampler, Sampler):
        raise TypeError(f"sampler must be a hyperdial Sampler; got {type(sampler).__name__}.")
    if n_objectives > 1 and not sampler.supports_multi_objective:
        raise InvalidValueError(
            f"{type(sampler).__name__} handles one objective; this study has {n_objectives}. "
            "Choose a sampler that supports several objectives (e.g. RandomSampler)."
        )


def _check_scheduler(scheduler: Scheduler | None, n_objectives: int) -> None:
    if scheduler is None:
        return
    if not isinstance(scheduler, Scheduler):
        raise TypeError(
            f"scheduler must be a hyperdial Scheduler; got {type(scheduler).__name__}."
        )
    if n_objectives > 1 and not scheduler.supports_multi_objective:
        raise InvalidValueError(
            f"{type(scheduler).__name__} handles one objective; this study has {n_objectives}. "
            "Choose a scheduler with a Pareto-aware rule (e.g. ASHA or Hyperband)."
        )


def _artifact_store(
    artifacts: ArtifactStore | str | os.PathLike[str] | None,
) -> ArtifactStore | None:
    """Resolve ``artifacts`` (a directory path becomes a :class:`LocalArtifactStore`)."""
    if artifacts is None or isinstance(artifacts, ArtifactStore):
        return artifacts
    if not isinstance(artifacts, (str, os.PathLike)):
        raise TypeError(
            "artifacts must be an ArtifactStore or a directory path; "
            f"got {type(artifacts).__name__}."
        )
    return LocalArtifactStore(artifacts)


def _remember_artifacts(
    given: object, store: ArtifactStore | None, storage: Storage, study_id: int
) -> None:
    """Remember a directory the user gave (``given``) with the study, for the workers."""
    if isinstance(given, (str, os.PathLike)) and isinstance(store, LocalArtifactStore):
        storage.set_study_attr(study_id, _ARTIFACTS_ATTR, str(store.root))


def _default_artifacts(storage: Storage, study_id: int) -> ArtifactStore:
    """The directory remembered with the study, else the storage's default, else a temp dir."""
    root = storage.get_study_attrs(study_id).get(_ARTIFACTS_ATTR)
    if not isinstance(root, str):
        root = storage.default_artifact_root()
    if root is None:  # an in-memory study: checkpoints live as long as the process
        root = os.path.join(tempfile.gettempdir(), f"hyperdial-artifacts-{uuid.uuid4().hex}")
        atexit.register(shutil.rmtree, root, ignore_errors=True)
    return LocalArtifactStore(root)


def _check_seed(seed: object) -> None:
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise InvalidValueError(f"create_study: seed must be an int >= 0; got {seed!r}.")


def _study_seed(
    storage: Storage, info: StudyInfo, seed: int | None, sampler: Sampler, *, write: bool = True
) -> int:
    attrs = storage.get_study_attrs(info.study_id)
    stored = attrs.get(_SEED_ATTR)
    if isinstance(stored, int):
        if seed is not None and seed != stored:
            # The stored seed is what reproduces the trials already run: never rewritten.
            raise InvalidValueError(
                f"create_study: study {info.name!r} exists with seed {stored}; got seed={seed}. "
                "Leave seed out to resume it, or create a study of another name."
            )
        return stored
    if seed is None:
        seed = sampler.seed if sampler.seed is not None else secrets.randbits(63)
    _check_seed(seed)
    if write:
        storage.set_study_attr(info.study_id, _SEED_ATTR, seed)
    return seed


def create_study(
    study_name: str | None = None,
    *,
    storage: Storage | str | None = None,
    direction: Direction | str | None = None,
    directions: Sequence[Direction | str] | None = None,
    sampler: Sampler | None = None,
    scheduler: Scheduler | None = None,
    seed: int | None = None,
    load_if_exists: bool = False,
    artifacts: ArtifactStore | str | os.PathLike[str] | None = None,
    heartbeat_s: float | None = None,
    grace_s: float | None = None,
    retry_failed: int = 0,
) -> Study:
    """Create a study (or load it with ``load_if_exists``) and return it.

    Args:
        study_name: Unique name; a random one if ``None``.
        storage: A :class:`~hyperdial.storage.Storage`, a database URL
            (``sqlite:///hyperdial.db``, ``postgresql+psycopg://...``, ``mysql+pymysql://...``)
            or ``None`` for memory.
        direction: ``"minimize"`` (default) or ``"maximize"`` for one objective.
        directions: One direction per objective, for several.
        sampler: How parameters are proposed (default: :class:`~hyperdial.samplers.AutoSampler`,
            which picks a method per study and says why in each trial's reason).
        scheduler: Stops trials early and launches promotions (see
            :mod:`hyperdial.schedulers`); default:
            :class:`~hyperdial.schedulers.AutoScheduler`, which prunes only objectives that
            report intermediate values and records its choice with the study.
        seed: Fixes the sequence of suggestions; stored with the study.
        load_if_exists: Load a study of the same name instead of failing.
        artifacts: Where checkpoints go: an :class:`~hyperdial.storage.ArtifactStore` or a
            directory (remembered with the study, so workers that load it use it too; on
            several machines, a shared one). Default: beside a SQLite file, else a temporary
            directory.
        heartbeat_s: Running trials say they are alive this often (seconds); stored with the
            study so every worker follows it. Default: no heartbeats.
        grace_s: A RUNNING trial silent this long (default 6 beats) is marked FAILED by the
            first worker that notices, and re-enqueued with the same parameters.
        retry_failed: How many times such a trial is retried (the chain is recorded in the
            retries' ``retry_of`` and ``retry`` user attributes).

    Raises:
        DuplicatedStudyError: the name exists and ``load_if_exists`` is false.

    Example:
        >>> import hyperdial
        >>> study = hyperdial.create_study("demo", direction="maximize", seed=1)
        >>> study.directions
        (<Direction.MAXIMIZE: 'maximize'>,)
    """
    dirs = _directions(direction, directions)
    heartbeat = HeartbeatSettings.parse(heartbeat_s, grace_s, retry_failed)
    # Every argument is checked before the study is written: a mistake leaves nothing behind.
    _check_seed(seed)
    if not isinstance(load_if_exists, bool):
        raise InvalidValueError(
            f"create_study: load_if_exists must be True or False; got {load_if_exists!r}."
        )
    store = _artifact_store(artifacts)
    resolved = _resolve_storage(storage)
    sampler = sampler if sampler is not None else _default_sampler()
    _check_sampler(sampler, len(dirs))
    _check_scheduler(scheduler, len(dirs))
    name = study_name if study_name is not None else f"study-{uuid.uuid4().hex[:12]}"
    if not isinstance(name, str) or not name.strip():
        raise InvalidValueError(f"create_study: study_name must be a non-empty str; got {name!r}.")
    created = True
    try:
        info = resolved.create_study(name, dirs)
    except DuplicatedStudyError:
        created = False
        if not load_if_exists:
            raise
        info = resolved.get_study(name)
        if info.directions != dirs:
            raise InvalidValueError(
                f"create_study: study {name!r} exists with directions "
                f"{[d.value for d in info.directions]}; got {[d.value for d in dirs]}."
            ) from None
    seed = _study_seed(resolved, info, seed, sampler)
    _remember_artifacts(artifacts, store, resolved, info.study_id)
    if created:
        _remember_methods(resolved, info.study_id, sampler, scheduler)
    if heartbeat is not None:
        resolved.set_study_attr(info.study_id, _HEARTBEAT_ATTR, heartbeat.to_json())
    else:
        heartbeat = _stored_heartbeat(resolved, info.study_id)
    study = Study(info, resolved, sampler, seed, scheduler, store, heartbeat)
    if created:
        settings: dict[str, JSON] = {
            "seed": seed,
            "directions": [d.value for d in dirs],
            "sampler": repr(study.sampler),
            "scheduler": study.scheduler.settings(),
            "heartbeat": None if heartbeat is None else heartbeat.to_json(),
        }
        resolved.set_study_attr(info.study_id, RECORD_ATTR, study_record(settings))
    return study


def load_study(
    study_name: str,
    *,
    storage: Storage | str,
    sampler: Sampler | None = None,
    scheduler: Scheduler | None = None,
    artifacts: ArtifactStore | str | os.PathLike[str] | None = None,
) -> Study:
    """Load an existing study to resume or analyse it (arguments as in :func:`create_study`).

    Without ``sampler`` or ``scheduler``, the ones the study was created with are rebuilt (the
    sampler's class with its default options, the scheduler with its settings), so every
    worker that loads a study searches it the same way.

    Raises:
        StudyNotFoundError: no study of that name exists (a SQLite file that does not exist
            is not created).
    """
    path = sqlite_file(storage) if isinstance(storage, str) else None
    if path is not None and not path.exists():
        raise StudyNotFoundError(
            f"No study named {study_name!r}: there is no database at {path} ({storage})."
        )
    resolved = _resolve_storage(storage)
    info = resolved.get_study(study_name)
    if sampler is None or scheduler is None:
        kept_sampler, kept_scheduler = _recalled_methods(resolved, info.study_id)
        sampler = sampler if sampler is not None else kept_sampler
        scheduler = scheduler if scheduler is not None else kept_scheduler
    sampler = sampler if sampler is not None else _default_sampler()
    _check_sampler(sampler, len(info.directions))
    _check_scheduler(scheduler, len(info.directions))
    seed = _study_seed(resolved, info, None, sampler, write=False)
    store = _artifact_store(artifacts)
    _remember_artifacts(artifacts, store, resolved, info.study_id)
    heartbeat = _stored_heartbeat(resolved, info.study_id)
    return Study(info, resolved, sampler, seed, scheduler, store, heartbeat)


def _remember_methods(
    storage: Storage, study_id: int, sampler: Sampler, scheduler: Scheduler | None
) -> None:
    """Keep which sampler and scheduler a new study uses, for workers that load it."""
    ours = type(sampler).__module__.split(".")[0] == "hyperdial"
    methods: dict[str, JSON] = {
        "sampler": type(sampler).__name__ if ours else None,  # a plugin: workers pass it
        "scheduler": None if scheduler is None else scheduler.settings(),
    }
    storage.set_study_attr(study_id, _METHODS_ATTR, methods)


def _recalled_methods(storage: Storage, study_id: int) -> tuple[Sampler | None, Scheduler | None]:
    """Rebuild the sampler (with default options) and scheduler the study was created with."""
    import hyperdial.samplers
    import hyperdial.schedulers

    kept = storage.get_study_attrs(study_id).get(_METHODS_ATTR)
    if not isinstance(kept, Mapping):
        return None, None
    sampler = None
    name = kept.get("sampler")
    if isinstance(name, str) and name in hyperdial.samplers.__all__:
        try:
            sampler = getattr(hyperdial.samplers, name)()
        except Exception:  # noqa: BLE001 - needs arguments: the caller passes one
            _logger.warning("load_study: cannot rebuild %s; pass sampler=...", name)
    scheduler = None
    settings = kept.get("scheduler")
    if isinstance(settings, Mapping) and settings.get("class") in hyperdial.schedulers.__all__:
        cls = getattr(hyperdial.schedulers, str(settings["class"]))
        accepted = inspect.signature(cls).parameters
        args = {k: v for k, v in settings.items() if k in accepted}
        try:
            scheduler = cls(**args)
        except Exception:  # noqa: BLE001 - settings from another version: fall back
            _logger.warning("load_study: cannot rebuild %s; pass scheduler=...", cls.__name__)
    return sampler, scheduler


def _stored_heartbeat(storage: Storage, study_id: int) -> HeartbeatSettings | None:
    return HeartbeatSettings.from_json(storage.get_study_attrs(study_id).get(_HEARTBEAT_ATTR))


def delete_study(study_name: str, *, storage: Storage | str) -> None:
    """Delete a study and all its trials.

    Raises:
        StudyNotFoundError: no study of that name exists.
    """
    _resolve_storage(storage).delete_study(study_name)


def list_studies(storage: Storage | str) -> list[StudyInfo]:
    """Return every study in ``storage``, oldest first."""
    return _resolve_storage(storage).list_studies()
