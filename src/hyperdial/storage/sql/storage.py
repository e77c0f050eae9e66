"""Storage in a SQL database (SQLite, PostgreSQL, MySQL/MariaDB) through SQLAlchemy Core."""

from __future__ import annotations

import json
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar, overload

import sqlalchemy as sa

from hyperdial._types import JSON, Direction
from hyperdial.exceptions import (
    DuplicatedStudyError,
    InvalidValueError,
    StorageError,
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
)
from hyperdial.storage.sql import _engine
from hyperdial.storage.sql._codec import (
    Decoder,
    check_name,
    dumps,
    dumps_step,
    now_us,
    to_datetime,
)
from hyperdial.storage.sql._queries import UNFINISHED, Queries
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["SQLStorage"]

_T = TypeVar("_T")
_MAX_RETRIES = 8
_IN_LIST_MAX = 256  # up to this many trials, params are fetched by trial id
# How _run opens its transaction: writes, reads, or one self-contained statement (which
# PostgreSQL runs in autocommit, saving the BEGIN and COMMIT round trips).
_WRITE, _READ, _SINGLE = "write", "read", "single"
_INSTANCES: weakref.WeakSet[SQLStorage] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # Connections inherited from the parent must never be used (nor closed) by the child.
    for storage in list(_INSTANCES):
        storage._forget_connections()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _pause(delay: float, longest: float) -> float:
    """Sleep about ``delay`` seconds (with jitter) and return the next, doubled, delay."""
    time.sleep(delay * (1.0 + random.random()))
    return min(delay * 2.0, longest)


def _study_not_found(study_id: int) -> StudyNotFoundError:
    return StudyNotFoundError(f"No study with id {study_id} in this storage.")


class SQLStorage(Storage):
    """Keep studies in a SQL database shared by threads, processes and machines.

    SQLite needs nothing installed; PostgreSQL needs ``hyperdial[postgresql]`` (psycopg) and
    MySQL/MariaDB ``hyperdial[mysql]`` (PyMySQL). ``postgresql://`` and ``mysql://`` URLs use
    those drivers. The schema is created on first use and upgraded by the bundled Alembic
    migrations; a database written by a newer hyperdial raises
    :class:`~hyperdial.exceptions.SchemaVersionError` and is left alone.

    The constructor does no I/O; the database is opened on first use. Every method is one
    transaction. Instances are picklable (the copy reconnects) and safe to use after ``fork``.

    Args:
        url: A SQLAlchemy database URL, e.g. ``"sqlite:///hyperdial.db"`` or
            ``"postgresql+psycopg://user@host/db"``.
        engine_kwargs: Extra arguments for :func:`sqlalchemy.create_engine` (e.g.
            ``{"pool_size": 20}``); ``connect_args`` are merged with hyperdial's.
        reconnect_s: How long a call keeps retrying when the database goes away after it was
            first reached (a server restart, a fail-over, a dropped connection) before it
            raises. A write whose acknowledgement was lost is retried so that it is applied
            once: finishing a trial twice is recognised as done, not as an error.

    Raises:
        TypeError: ``url`` is not a string.
        StorageError: ``url`` is not a database URL; on first use, the database cannot be
            reached.

    Example:
        >>> from hyperdial import Direction
        >>> storage = SQLStorage("sqlite://")
        >>> storage.create_study("demo", [Direction.MINIMIZE]).name
        'demo'
    """

    write_behind_s = 0.05

    def __init__(
        self,
        url: str,
        *,
        engine_kwargs: Mapping[str, Any] | None = None,
        reconnect_s: float = 60.0,
    ) -> None:
        if engine_kwargs is not None and not isinstance(engine_kwargs, Mapping):
            raise TypeError(
                "SQLStorage: engine_kwargs must be a mapping or None; "
                f"got {type(engine_kwargs).__name__}."
            )
        if (
            isinstance(reconnect_s, bool)
            or not isinstance(reconnect_s, (int, float))
            or not reconnect_s >= 0
        ):
            raise InvalidValueError(
                f"SQLStorage: reconnect_s must be a number >= 0; got {reconnect_s!r}."
            )
        self._reconnect_s = float(reconnect_s)
        self._retry = threading.local()  # .lost: this thread retries a write that may be done
        self._url = url
        self._engine_kwargs = dict(engine_kwargs or {})
        self._parsed = _engine.parse_url(url)
        self._shown = _engine.shown_url(self._parsed)
        self._lock = threading.Lock()
        self._engine: sa.Engine | None = None
        self._autocommit: sa.Engine | None = None
        self._q: Queries = None  # type: ignore[assignment]  # set with the engine
        self._serial: Any = None  # a lock when all threads share one SQLite connection
        self._file: str | None = None  # the SQLite file, once opened: checked before each call
        self._decoder = Decoder()
        _INSTANCES.add(self)

    def __repr__(self) -> str:
        return f"SQLStorage({self._shown!r})"

    def __getstate__(self) -> dict[str, object]:
        return {
            "url": self._url,
            "engine_kwargs": self._engine_kwargs,
            "reconnect_s": self._reconnect_s,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            state["url"],
            engine_kwargs=state["engine_kwargs"],
            reconnect_s=state.get("reconnect_s", 60.0),
        )

    @property
    def shared_between_processes(self) -> bool:
        """Return ``False`` for an in-memory SQLite database, ``True`` otherwise."""
        url = self._parsed
        if url.get_backend_name() != "sqlite":
            return True
        memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
        return not memory

    def default_artifact_root(self) -> str | None:
        """Return ``<database file>.artifacts`` beside a SQLite file; ``None`` otherwise."""
        url = self._parsed
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        if url.query.get("mode") == "memory" or str(url.database).startswith("file:"):
            return None
        return str(Path(url.database).expanduser().resolve()) + ".artifacts"

    def _sqlite_file(self) -> str | None:
        """Return the absolute path of the SQLite file in use, or ``None``."""
        url = self._parsed
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        if url.query.get("mode") == "memory":
            return None
        path = str(url.database)
        path = path[len("file:") :] if path.startswith("file:") else path
        return os.path.abspath(os.path.expanduser(path))

    def has_schema(self) -> bool:
        """Return whether the database holds hyperdial's tables, without creating them.

        (Connecting to a SQLite file that does not exist still creates the empty file.)

        Raises:
            StorageError: the database cannot be reached.
        """
        if self._engine is not None:
            return True  # opened: the schema was checked or created then
        engine = _engine.create_engine(self._parsed, self._engine_kwargs)
        try:
            with engine.connect() as connection:
                return sa.inspect(connection).has_table("hyperdial_studies")
        except sa.exc.DBAPIError as exc:
            raise _engine.cannot_connect(exc, self._shown) from exc
        finally:
            engine.dispose()

    def close(self) -> None:
        """Close pooled connections; the storage reconnects when used again."""
        if self._engine is not None:
            self._engine.dispose()

    def _forget_connections(self) -> None:
        self._lock = threading.Lock()
        if self._serial is not None:
            self._serial = threading.Lock()
        if self._engine is not None:
            self._engine.dispose(close=False)

    # -- plumbing ---------------------------------------------------------------------------

    def _open(self) -> sa.Engine:
        engine = self._engine
        if engine is not None:
            return engine
        with self._lock:
            if self._engine is None:
                engine = _engine.create_engine(self._parsed, self._engine_kwargs)
                try:
                    self._ensure_schema(engine)
                except BaseException:
                    engine.dispose()
                    raise
                if isinstance(engine.pool, sa.pool.StaticPool):
                    self._serial = threading.Lock()
                self._file = self._sqlite_file()
                if engine.dialect.name == "postgresql":
                    # Shares the pool; setting autocommit costs psycopg no round trip.
                    self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
                self._q = Queries(engine.dialect)
                self._engine = engine
            return self._engine

    def _ensure_schema(self, engine: sa.Engine) -> None:
        """Check or create the schema, waiting ``reconnect_s`` for a restarting server."""
        delay, deadline = 0.05, time.monotonic() + self._reconnect_s
        while True:
            try:
                _engine.ensure_schema(engine, self._shown)
                return
            except StorageError as exc:
                cause = exc.__cause__
                if cause is None or not _engine.is_outage(cause):
                    raise
                if time.monotonic() >= deadline:
                    raise
                delay = _pause(delay, 1.0)

    def _run(self, body: Callable[[sa.Connection], _T], mode: str = _WRITE) -> _T:
        """Run ``body`` in one transaction, retrying deadlocks and lost connections.

        A connection lost while the database restarts is retried for ``reconnect_s``. When
        the write may already have been applied (the connection went during a commit, or
        during a statement that commits on its own), the retry runs with ``_retry.lost`` set
        so that ``body`` can recognise its own work (see :meth:`_raise_unwritable`).
        """
        engine = self._open()
        if self._file is not None and not os.path.exists(self._file):
            # SQLite would go on writing to the unlinked file, and every result would be lost.
            raise StorageError(
                f"SQLStorage: the database file {self._file} is gone (deleted or moved while "
                "in use); nothing more is written."
            )
        autocommit = mode != _WRITE and self._autocommit is not None
        if autocommit:
            engine = self._autocommit  # type: ignore[assignment]
        delay, attempts, deadline = 0.005, 0, None
        try:
            while True:
                done = False
                try:
                    with self._serial or nullcontext():
                        try:
                            connection = engine.connect()
                        except sa.exc.DBAPIError as exc:
                            deadline = deadline or time.monotonic() + self._reconnect_s
                            if time.monotonic() >= deadline:
                                raise _engine.cannot_connect(exc, self._shown) from exc
                            delay = _pause(delay, 1.0)
                            continue
                        with connection:
                            if mode == _READ:
                                connection.execution_options(**{_engine.BEGIN_OPTION: "DEFERRED"})
                            with connection.begin():
                                result = body(connection)
                                done = True
                            return result
                except sa.exc.DBAPIError as exc:
                    if exc.connection_invalidated:
                        deadline = deadline or time.monotonic() + self._reconnect_s
                        if time.monotonic() < deadline:
                            # The write may be in: done (lost in COMMIT) or autocommitted.
                            if mode != _READ and (done or autocommit):
                                self._retry.lost = True
                            delay = _pause(delay, 1.0)
                            continue
                    elif not done and attempts < _MAX_RETRIES and _engine.is_retryable(exc):
                        attempts += 1
                        delay = _pause(delay, 0.5)
                        continue
                    raise _engine.wrap_error(exc, self._shown) from exc
        finally:
            self._retry.lost = False

    def _queries(self) -> Queries:
        if self._engine is None:
            self._open()
        return self._q

    # -- studies ----------------------------------------------------------------------------

    @staticmethod
    def _study_info(row: Any) -> StudyInfo:
        study_id, name, directions, created_at = row
        dirs = tuple(Direction(d) for d in json.loads(directions))
        return StudyInfo(study_id, name, dirs, to_datetime(created_at))

    def create_study(self, name: str, directions: Sequence[Direction]) -> StudyInfo:
        check_name("study names", name)
        dirs = tuple(Direction.parse(d) for d in directions)
        created = now_us()
        row = {
            "name": name,
            "directions_json": json.dumps([d.value for d in dirs]),
            "created_at": created,
            "next_number": 0,
        }

        def body(connection: sa.Connection) -> StudyInfo:
            try:
                result = connection.execute(self._q.insert_study, row)
            except sa.exc.IntegrityError:
                if getattr(self._retry, "lost", False):  # perhaps our own, acknowledged late
                    found = connection.execute(self._q.study_by_name, {"b_name": name}).first()
                    if found is not None and found[3] == created:
                        return self._study_info(found)
                raise DuplicatedStudyError(f"A study named {name!r} already exists.") from None
            study_id = result.inserted_primary_key[0]  # type: ignore[index]
            return StudyInfo(study_id, name, dirs, to_datetime(created))

        return self._run(body, _SINGLE)

    def get_study(self, name: str) -> StudyInfo:
        def body(connection: sa.Connection) -> StudyInfo:
            row = connection.execute(self._q.study_by_name, {"b_name": name}).first()
            if row is None:
                raise StudyNotFoundError(f"No study named {name!r} in this storage.")
            return self._study_info(row)

        return self._run(body, _READ)

    def list_studies(self) -> list[StudyInfo]:
        def body(connection: sa.Connection) -> list[StudyInfo]:
            return [self._study_info(row) for row in connection.execute(self._q.list_studies)]

        return self._run(body, _READ)

    def delete_study(self, name: str) -> None:
        def body(connection: sa.Connection) -> None:
            study_id = connection.execute(self._q.lock_study_by_name, {"b_name": name}).scalar()
            if study_id is None:
                raise StudyNotFoundError(f"No study named {name!r} in this storage.")
            for statement in self._q.delete_study:
                connection.execute(statement, {"b_study": study_id})

        self._run(body)

    def _require_study(self, connection: sa.Connection, study_id: int) -> None:
        if connection.execute(self._q.study_exists, {"b_study": study_id}).first() is None:
            raise _study_not_found(study_id)

    def set_study_attr(self, study_id: int, key: str, value: JSON) -> None:
        check_name("study attribute keys", key)
        row = {"study_id": study_id, "key": key, "value_json": dumps(f"attr {key!r}", value)}

        def body(connection: sa.Connection) -> None:
            self._require_study(connection, study_id)
            connection.execute(self._q.upsert_attr, row)

        self._run(body)

    def get_study_attrs(self, study_id: int) -> dict[str, JSON]:
        def body(connection: sa.Connection) -> dict[str, JSON]:
            rows = connection.execute(self._q.study_attrs, {"b_study": study_id}).all()
            if not rows:
                raise _study_not_found(study_id)
            return {key: json.loads(text) for _, key, text in rows if key is not None}

        return self._run(body, _READ)

    # -- trials: writes ---------------------------------------------------------------------

    def _next_number(
        self, connection: sa.Connection, study_id: int, max_trials: int | None
    ) -> int | None:
        """Increment the study's trial counter under a row lock; return the number to use.

        With ``max_trials``, only while the study counts fewer trials; else return ``None``.
        """
        where = {"b_study": study_id}
        if self._q.update_returning:
            if max_trials is None:
                counter = connection.execute(self._q.bump_counter, where).scalar()
            else:
                binds = {**where, "b_max": max_trials}
                counter = connection.execute(self._q.bump_counter_within, binds).scalar()
            if counter is None:
                self._require_study(connection, study_id)
                return None  # the budget is spent
            return int(counter) - 1
        row = connection.execute(self._q.lock_counter, where).first()
        if row is None:
            raise _study_not_found(study_id)
        number, retries = row
        if max_trials is not None and number - retries >= max_trials:
            return None
        connection.execute(self._q.set_counter, {**where, "b_next": number + 1})
        return int(number)

    def _next_numbers_for_retries(self, connection: sa.Connection, study_id: int, n: int) -> int:
        """Issue ``n`` numbers for retries, which the budget does not count; return the first."""
        binds = {"b_study": study_id, "b_n": n}
        if self._q.update_returning:
            counter = connection.execute(self._q.bump_counter_for_retries, binds).scalar()
            return int(counter) - n  # type: ignore[arg-type]  # the study row is locked
        number = connection.execute(self._q.lock_counter, binds).first()[0]  # type: ignore[index]
        connection.execute(self._q.set_counter_for_retries, {**binds, "b_next": number + n})
        return int(number)

    @staticmethod
    def _trial_row(study_id: int, template: TrialTemplate) -> dict[str, Any]:
        running = template.state is TrialState.RUNNING
        return {
            "study_id": study_id,
            "state": template.state.value,
            "budget": None if template.budget is None else float(template.budget),
            "parent": template.parent,
            "reason": "",
            "fixed_params_json": dumps("fixed_params", dict(template.fixed_params)),
            "user_attrs_json": dumps("user_attrs", dict(template.user_attrs)),
            "sampler_meta_json": "{}",
            "started_at": now_us() if running else None,
        }

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
        row = self._trial_row(study_id, template)

        def body(connection: sa.Connection) -> tuple[int, int] | None:
            if self._q.postgresql:  # one statement bumps the counter and inserts
                binds = {**row, "max_trials": max_trials}
                created = connection.execute(self._q.pg_create_trial, binds).first()
                if created is None:
                    raise _study_not_found(study_id)
                return None if created[2] == 2 else (created[0], created[1])
            number = self._next_number(connection, study_id, max_trials)
            if number is None:
                return None
            result = connection.execute(self._q.insert_trial, {**row, "number": number})
            return result.inserted_primary_key[0], number  # type: ignore[index]

        created = self._run(body, _SINGLE if self._queries().postgresql else _WRITE)
        if created is None:
            return None
        return self._created(created[0], created[1], template, row)

    @staticmethod
    def _created(
        trial_id: int, number: int, template: TrialTemplate, row: dict[str, Any]
    ) -> FrozenTrial:
        return FrozenTrial(
            trial_id=trial_id,
            number=number,
            state=template.state,
            fixed_params=json.loads(row["fixed_params_json"]),
            budget=row["budget"],
            parent=template.parent,
            user_attrs=json.loads(row["user_attrs_json"]),
            started_at=to_datetime(row["started_at"]),
        )

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
        if not self._queries().postgresql or template.state is not TrialState.RUNNING:
            return super().claim_or_create_trial(study_id, template, max_trials)
        self._check_max_trials(max_trials)
        row = self._trial_row(study_id, template)
        binds = {**row, "max_trials": max_trials}

        def body(connection: sa.Connection) -> FrozenTrial | None:
            found = connection.execute(self._q.pg_claim_or_create, binds).first()
            if found is None:
                raise _study_not_found(study_id)
            trial_id, number, kind = found
            if kind == 2:
                return None  # nothing waiting and the budget is spent
            if kind == 0:
                return self._created(trial_id, number, template, row)
            trial = self._load_one(connection, trial_id)
            assert trial is not None  # claimed under a row lock a moment ago
            return trial

        # The claim or the insert commits on its own; the read after it needs no transaction.
        return self._run(body, _SINGLE)

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        def peek(connection: sa.Connection) -> int | None:
            row = connection.execute(self._q.peek_waiting, {"b_study": study_id}).first()
            if row is None:
                raise _study_not_found(study_id)
            return row[1]  # type: ignore[no-any-return]

        def claim(connection: sa.Connection) -> FrozenTrial | None:
            for _ in range(_MAX_RETRIES):
                trial_id = connection.execute(self._q.lock_waiting, {"b_study": study_id}).scalar()
                if trial_id is None:
                    return None
                claimed = connection.execute(
                    self._q.claim, {"b_trial": trial_id, "b_now": now_us()}
                )
                if claimed.rowcount == 1:
                    return self._load_one(connection, trial_id)
            return None

        # Most calls find nothing waiting: a cheap read settles them without locking.
        if self._run(peek, _READ) is None:
            return None
        return self._run(claim)

    def count_budget(self, study_id: int) -> int:
        def body(connection: sa.Connection) -> int:
            counted = connection.execute(self._q.count_budget, {"b_study": study_id}).scalar()
            if counted is None:
                raise _study_not_found(study_id)
            return int(counted)

        return self._run(body, _READ)

    def record_heartbeat(self, trial_id: int) -> None:
        binds = {"b_trial": trial_id, "b_now": now_us()}

        def body(connection: sa.Connection) -> None:
            if connection.execute(self._q.heartbeat, binds).rowcount != 1:
                self._raise_unwritable(connection, trial_id)

        self._run(body, _SINGLE)

    def fail_stale_trials(
        self, study_id: int, grace_s: float, retry_failed: int = 0
    ) -> list[FrozenTrial]:
        self._check_reaping(grace_s, retry_failed)
        grace_us = round(grace_s * 1e6)

        def peek(connection: sa.Connection) -> bool:
            binds = {"b_study": study_id, "b_cutoff": now_us() - grace_us}
            row = connection.execute(self._q.peek_stale, binds).first()
            if row is None:
                raise _study_not_found(study_id)
            return row[1] is not None

        def reap(connection: sa.Connection) -> list[FrozenTrial]:
            now = now_us()
            binds = {"b_study": study_id, "b_cutoff": now - grace_us}
            # Locked rows are skipped, so concurrent callers each get their own stale trials.
            rows = connection.execute(self._q.lock_stale, binds).all()
            if not rows:
                return []
            scope = {"b_study": study_id, "b_low": rows[0][1], "b_high": rows[-1][1]}
            stale = self._load(connection, [row[:-1] for row in rows], scope)
            failed: list[FrozenTrial] = []
            changes: list[dict[str, Any]] = []
            retries: list[TrialTemplate] = []
            for trial, row in zip(stale, rows):
                started_at, heartbeat_at = row[-3], row[-1]
                times = [t for t in (started_at, heartbeat_at) if t is not None]
                silent_s = (now - max(times)) / 1e6 if times else grace_s
                error = self._stale_error(silent_s)
                changes.append(
                    {
                        "b_trial": trial.trial_id,
                        "state": TrialState.FAILED.value,
                        "error": error,
                        "finished_at": now,
                    }
                )
                dead = replace(
                    trial, state=TrialState.FAILED, error=error, finished_at=to_datetime(now)
                )
                failed.append(dead)
                retry = self._retry_template(dead, retry_failed)
                if retry is not None:
                    retries.append(retry)
            connection.execute(self._q.update_trial, changes)
            if retries:
                first = self._next_numbers_for_retries(connection, study_id, len(retries))
                new = [
                    {**self._trial_row(study_id, retry), "number": first + i}
                    for i, retry in enumerate(retries)
                ]
                connection.execute(self._q.insert_trial, new)
            return failed

        # Most calls find every trial alive: a cheap read settles them without locking.
        if not self._run(peek, _READ):
            return []
        return self._run(reap)

    def _raise_unwritable(
        self, connection: sa.Connection, trial_id: int, wanted: str | None = None
    ) -> None:
        """Raise why a trial cannot be written, unless a retried write finds its work done.

        Returns only when this call retries a write whose acknowledgement was lost and the
        trial already holds the finished state ``wanted`` that the write set.
        """
        row = connection.execute(self._q.trial_state, {"b_trial": trial_id}).first()
        if row is None:
            raise TrialNotFoundError(f"No trial with id {trial_id} in this storage.")
        if row[1] not in UNFINISHED:
            if wanted is not None and row[1] == wanted and getattr(self._retry, "lost", False):
                return
            raise TrialFinishedError(
                f"Trial {row[0]} is already finished ({row[1]}); finished trials cannot change."
            )

    def finish_trial(
        self, trial_id: int, update: TrialUpdate, known: FrozenTrial | None = None
    ) -> FrozenTrial:
        """Finish the trial; with ``known``, build the final record without reading it back."""
        if known is None:
            return super().finish_trial(trial_id, update)
        stamp = now_us()
        self._update(trial_id, update, stamp)
        final = apply_update(known, update, to_datetime(stamp))  # type: ignore[arg-type]
        # What a read would return: JSON attributes as they come back from the database.
        return replace(
            final,
            user_attrs=json.loads(dumps("user_attrs", dict(final.user_attrs))),
            sampler_meta=json.loads(dumps("sampler_meta", dict(final.sampler_meta))),
            fixed_params=json.loads(dumps("fixed_params", dict(final.fixed_params))),
        )

    def update_trial(self, trial_id: int, update: TrialUpdate) -> None:
        self._update(trial_id, update, now_us())

    def _update(self, trial_id: int, update: TrialUpdate, stamp: int) -> None:
        changes: dict[str, Any] = {}
        if update.state is not None:
            changes["state"] = update.state.value
            if update.state.is_finished():
                changes["finished_at"] = stamp
        if update.values is not None:
            changes["values_json"] = json.dumps([float(v) for v in update.values])
        if update.reason is not None:
            changes["reason"] = update.reason
        if update.error is not None:
            changes["error"] = update.error
        if update.budget is not None:
            changes["budget"] = float(update.budget)
        if update.parent is not None:
            changes["parent"] = int(update.parent)
        params = []
        for name, (dist, value) in update.params.items():
            check_name("parameter names", name)
            params.append((name, json.dumps(dist.to_json()), dumps(f"param {name!r}", value)))
        steps = [(int(step), dumps_step(value)) for step, value in update.intermediate.items()]
        attrs = dumps("user_attrs", dict(update.user_attrs)) if update.user_attrs else None
        meta = dumps("sampler_meta", dict(update.sampler_meta)) if update.sampler_meta else None
        fixed = dumps("fixed_params", dict(update.fixed_params)) if update.fixed_params else None
        locked = (
            attrs is not None
            or meta is not None
            or fixed is not None
            or update.state is TrialState.RUNNING
        )
        q = self._queries()

        if q.postgresql and not locked and bool(params) != bool(steps):
            # One statement locks the trial, checks it is unfinished and writes everything.
            statement, binds = q.pg_add_children(trial_id, changes, params, steps)

            def write_children(connection: sa.Connection) -> None:
                if connection.execute(statement, binds).rowcount == 0:
                    self._raise_unwritable(connection, trial_id)

            self._run(write_children, _SINGLE)
            return

        def body(connection: sa.Connection) -> None:
            this = {"b_trial": trial_id}
            if locked:
                row = connection.execute(q.lock_trial, this).first()
                if row is None or row[1] not in UNFINISHED:
                    self._raise_unwritable(connection, trial_id, changes.get("state"))
                    return  # written by the attempt whose acknowledgement was lost
                _, _, old_attrs, old_meta, started_at, old_fixed = row  # type: ignore[misc]
                merged = dict(changes)
                if fixed is not None:
                    merged["fixed_params_json"] = json.dumps(
                        {**json.loads(old_fixed), **json.loads(fixed)}
                    )
                if attrs is not None:
                    merged["user_attrs_json"] = json.dumps(
                        {**json.loads(old_attrs), **json.loads(attrs)}
                    )
                if meta is not None:
                    merged["sampler_meta_json"] = json.dumps(
                        {**json.loads(old_meta), **json.loads(meta)}
                    )
                if update.state is TrialState.RUNNING and started_at is None:
                    merged["started_at"] = now_us()
                connection.execute(q.update_trial, {**this, **merged})
            elif changes:
                if connection.execute(q.update_unfinished, {**this, **changes}).rowcount != 1:
                    self._raise_unwritable(connection, trial_id, changes.get("state"))
                    return
            else:
                row = connection.execute(q.lock_trial, this).first()
                if row is None or row[1] not in UNFINISHED:
                    self._raise_unwritable(connection, trial_id)
            if params:
                rows = [
                    {"trial_id": trial_id, "name": n, "distribution_json": d, "value_json": v}
                    for n, d, v in params
                ]
                connection.execute(q.upsert_params, rows[0] if len(rows) == 1 else rows)
            if steps:
                rows = [{"trial_id": trial_id, "step": s, "value": v} for s, v in steps]
                connection.execute(q.upsert_steps, rows[0] if len(rows) == 1 else rows)

        # A lone UPDATE is atomic by itself; anything more needs a transaction.
        alone = changes and not params and not steps and not locked
        self._run(body, _SINGLE if alone else _WRITE)

    # -- trials: reads ----------------------------------------------------------------------

    def _load(
        self, connection: sa.Connection, rows: Sequence[Any], scope: Any
    ) -> list[FrozenTrial]:
        """Return the trials of ``rows`` (``TRIAL_COLUMNS``) with params and intermediate values.

        Few trials are completed by id; many by ``scope``, the bind parameters of
        ``children_by_scope`` (a number range that may hold more trials; those are ignored).
        """
        if not rows:
            return []
        if len(rows) <= _IN_LIST_MAX:
            ids = {"b_ids": [row[0] for row in rows]}
            children = connection.execute(self._q.children_by_ids, ids).all()
        else:
            children = connection.execute(self._q.children_by_scope, scope).all()
        params, steps = self._decoder.children(children)
        return [self._decoder.trial(row, params, steps) for row in rows]

    def _load_one(self, connection: sa.Connection, trial_id: int) -> FrozenTrial | None:
        rows = connection.execute(self._q.trial_with_children, {"b_trial": trial_id}).all()
        found = self._decoder.joined(rows, 0)
        return found[0] if found else None

    def get_trial(self, trial_id: int) -> FrozenTrial:
        def body(connection: sa.Connection) -> FrozenTrial:
            found = self._load_one(connection, trial_id)
            if found is None:
                raise TrialNotFoundError(f"No trial with id {trial_id} in this storage.")
            return found

        return self._run(body, _READ)

    def get_trials(
        self,
        study_id: int,
        states: Sequence[TrialState] | None = None,
        min_number: int = 0,
    ) -> list[FrozenTrial]:
        binds: dict[str, Any] = {"b_study": study_id, "b_min": min_number}
        if states is not None:
            binds["b_states"] = [TrialState(s).value for s in states]

        def recent(connection: sa.Connection) -> list[FrozenTrial]:
            rows = connection.execute(self._q.recent_trials_with_children, binds).all()
            if not rows:
                raise _study_not_found(study_id)
            return self._decoder.joined(rows, 1)

        if states is None and min_number > 0:
            # Reading what is new since a cached prefix: usually a few trials, one round trip.
            return self._run(recent, _READ)

        def body(connection: sa.Connection) -> list[FrozenTrial]:
            query = (
                self._q.trials_of_study if states is None else self._q.trials_of_study_in_states
            )
            rows = connection.execute(query, binds).all()
            if not rows:
                raise _study_not_found(study_id)
            found = [row[1:] for row in rows if row[1] is not None]
            if not found:
                return []
            # By number range, not state: a trial may change state between the two queries.
            scope = {"b_study": study_id, "b_low": found[0][1], "b_high": found[-1][1]}
            return self._load(connection, found, scope)

        return self._run(body, _READ)

    def count_trials(self, study_id: int, states: Sequence[TrialState] | None = None) -> int:
        binds: dict[str, Any] = {"b_study": study_id}
        if states is not None:
            binds["b_states"] = [TrialState(s).value for s in states]

        def body(connection: sa.Connection) -> int:
            query = self._q.count_trials if states is None else self._q.count_trials_in_states
            row = connection.execute(query, binds).first()
            if row is None:
                raise _study_not_found(study_id)
            return int(row[1])

        return self._run(body, _READ)
