"""Engines for the SQL storage: URL handling, backend setup, schema checks and error mapping.

Backend facts this module encodes (measured, see ``ENVIRONMENT.md``):

* SQLite ignores ``SELECT ... FOR UPDATE``. Concurrent writers stay correct only with WAL, a
  long ``busy_timeout``, the sqlite3 module's own transaction handling off and every write
  transaction opened with ``BEGIN IMMEDIATE`` (reads use a plain deferred ``BEGIN``).
* PostgreSQL and MySQL serialise writers with row locks; deadlocks and serialisation failures
  are retried by the caller (:func:`is_retryable`).
* MySQL runs at READ COMMITTED to avoid InnoDB gap locks, and talks utf8mb4.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.pool import StaticPool

from hyperdial.exceptions import SchemaVersionError, StorageError, missing
from hyperdial.storage.sql.models import SCHEMA_HEAD

__all__ = [
    "BEGIN_OPTION",
    "cannot_connect",
    "create_engine",
    "ensure_schema",
    "is_outage",
    "is_retryable",
    "parse_url",
    "shown_url",
    "wrap_error",
]

_logger = logging.getLogger(__name__)

BEGIN_OPTION = "hyperdial_sqlite_begin"
"""Connection execution option naming how SQLite opens a transaction (default IMMEDIATE)."""

_MIGRATIONS = Path(__file__).with_name("migrations")
_OUR_TABLES = (
    "hyperdial_studies",
    "hyperdial_study_attrs",
    "hyperdial_trials",
    "hyperdial_trial_params",
    "hyperdial_trial_intermediate",
)
_PG_LOCK_KEY = 7_326_541_099  # an arbitrary constant naming hyperdial's migration lock
_MYSQL_LOCK_NAME = "hyperdial_schema_migration"
_DEFAULT_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
_EXTRAS = {"psycopg": "postgresql", "pymysql": "mysql"}
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock
_RETRY_MYSQL_CODES = frozenset({1205, 1213})  # lock wait timeout, deadlock


def parse_url(url: object) -> sa.URL:
    """Return ``url`` parsed, with hyperdial's default drivers filled in.

    ``postgresql://`` means ``postgresql+psycopg://`` and ``mysql://`` means
    ``mysql+pymysql://``: those are the drivers hyperdial's extras install.

    Raises:
        TypeError: ``url`` is not a string.
        StorageError: ``url`` is not a database URL.
    """
    if isinstance(url, sa.URL):
        parsed = url
    elif isinstance(url, str):
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError):
            raise StorageError(
                "SQLStorage: url must be a database URL such as 'sqlite:///hyperdial.db' or "
                f"'postgresql+psycopg://user@host/db'; got {url!r}."
            ) from None
    else:
        raise TypeError(
            f"SQLStorage: url must be a str (a database URL); got {type(url).__name__}."
        )
    backend = parsed.get_backend_name()
    if "+" not in parsed.drivername and backend in _DEFAULT_DRIVERS:
        parsed = parsed.set(drivername=f"{backend}+{_DEFAULT_DRIVERS[backend]}")
    return parsed


def shown_url(url: sa.URL) -> str:
    """Return ``url`` as text with its password masked, for messages."""
    return url.render_as_string(hide_password=True)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__).rstrip(".")


def cannot_connect(exc: BaseException, shown: str) -> StorageError:
    """Return the one-line error for a database that cannot be reached."""
    return StorageError(f"SQLStorage: cannot connect to {shown}: {_first_line(exc)}.")


def wrap_error(exc: sa.exc.DBAPIError, shown: str) -> StorageError:
    """Return a :class:`StorageError` for a database error hyperdial does not handle."""
    return StorageError(f"SQLStorage ({shown}): {_first_line(exc)}.")


def is_retryable(exc: sa.exc.DBAPIError) -> bool:
    """Return whether the failed transaction was rolled back and may simply run again."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _RETRY_SQLSTATES:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _RETRY_MYSQL_CODES:
        return True
    return "database is locked" in str(orig)


_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})  # admin/crash shutdown, starting up
_OUTAGE_TEXT = ("not currently accepting connections", "the database system is")


def is_outage(exc: BaseException) -> bool:
    """Return whether ``exc`` says the server is restarting rather than unreachable for good.

    Used when a storage first opens its database: a wrong host or port still fails at once,
    while a server that is shutting down, starting up or refusing connections for a moment
    is waited for.
    """
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in _OUTAGE_SQLSTATES:
        return True
    text = str(orig or exc)
    return any(fragment in text for fragment in _OUTAGE_TEXT)


def _use_wal(cursor: Any, wait_s: float = 30.0) -> None:
    """Switch a SQLite database to write-ahead logging, waiting out other processes.

    The switch needs the database to itself and SQLite reports a busy database at once
    instead of calling its busy handler, so processes opening a new database together retry
    here; the mode persists, so once one has switched the others only read it.
    """
    deadline = time.monotonic() + wait_s
    delay = 0.01
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as exc:  # sqlite3.OperationalError; the driver is not imported here
            if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _on_sqlite_connect(memory: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: object) -> None:
        # The sqlite3 module would otherwise open and commit transactions on its own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 30000")
            if not memory:
                _use_wal(cursor)
                # In WAL mode NORMAL is safe against application crashes and saves an fsync
                # per commit; a power cut may lose the last commits but never corrupts.
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    return on_connect


def _on_sqlite_begin(connection: sa.Connection) -> None:
    mode = connection.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


_IDLE_PING_S = 10.0
_LAST_USED = "hyperdial_last_used"


def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info[_LAST_USED] = time.monotonic()


def _on_checkout(dbapi_connection: Any, record: Any, _proxy: object) -> None:
    # A connection idle for a while (say, while a trial trained for an hour) may have been
    # dropped by the server or a firewall. Ping it before use so the pool replaces it, rather
    # than letting an autocommitted write fail at an unknown point.
    last = record.info.get(_LAST_USED)
    if last is None or time.monotonic() - last < _IDLE_PING_S:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:  # noqa: BLE001 - any failure means the connection is gone
        raise sa.exc.DisconnectionError(str(exc)) from exc


def create_engine(url: sa.URL, engine_kwargs: dict[str, Any]) -> sa.Engine:
    """Return an engine for ``url`` set up for hyperdial; no connection is opened.

    Args:
        url: A URL from :func:`parse_url`.
        engine_kwargs: Extra ``sqlalchemy.create_engine`` arguments; they win over defaults
            (``connect_args`` are merged).

    Raises:
        MissingDependencyError: the database driver is not installed.
    """
    backend = url.get_backend_name()
    kwargs: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    memory = False
    if backend == "sqlite":
        memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
        if memory:
            # One shared connection, or every connection would see its own empty database.
            kwargs["poolclass"] = StaticPool
            connect_args["check_same_thread"] = False
    elif backend in ("postgresql", "mysql", "mariadb"):
        if "connect_timeout" not in url.query:
            connect_args["connect_timeout"] = 10
        if backend != "postgresql":
            if "charset" not in url.query:
                url = url.update_query_dict({"charset": "utf8mb4"})
            kwargs["isolation_level"] = "READ COMMITTED"
            kwargs["pool_recycle"] = 3600  # the server drops idle connections after 8 h
    user = dict(engine_kwargs)
    connect_args.update(user.pop("connect_args", {}))
    kwargs.update(user)
    if connect_args:
        kwargs["connect_args"] = connect_args
    try:
        engine = sa.create_engine(url, **kwargs)
    except sa.exc.NoSuchModuleError as exc:
        raise StorageError(
            f"SQLStorage: {shown_url(url)} names a database SQLAlchemy does not know "
            f"({url.drivername!r}); use sqlite:///, postgresql+psycopg:// or mysql+pymysql://."
        ) from exc
    except ImportError as exc:
        driver = url.get_driver_name()
        if driver in _EXTRAS:
            raise missing(_EXTRAS[driver], "SQLStorage", driver) from exc
        raise StorageError(
            f"SQLStorage: the driver {driver!r} for {shown_url(url)} is not installed ({exc}); "
            "install it with pip."
        ) from exc
    if backend == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect(memory))
        event.listen(engine, "begin", _on_sqlite_begin)
    else:
        event.listen(engine, "checkin", _on_checkin)
        event.listen(engine, "checkout", _on_checkout)
    return engine


def _read_version(connection: sa.Connection) -> str | None:
    """Return the database's Alembic revision, or ``None`` for a database without one."""
    if not sa.inspect(connection).has_table("hyperdial_version"):
        return None
    rows = connection.exec_driver_sql("SELECT version_num FROM hyperdial_version").scalars().all()
    if len(rows) > 1:
        raise StorageError(
            f"SQLStorage: the database has several schema revisions {sorted(rows)!r}; "
            "hyperdial expects one."
        )
    return rows[0] if rows else None


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def _known_revisions(config: Any) -> set[str]:
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}


def ensure_schema(engine: sa.Engine, shown: str) -> None:
    """Bring the database to the schema this code expects, or raise without changing it.

    An empty database is migrated to the newest revision, an older one upgraded. Several
    processes may open a new database at once: the migration runs under a database lock and
    re-reads the revision first, and a lost race is detected and re-checked.

    Raises:
        SchemaVersionError: the database was written by a newer hyperdial.
        StorageError: the database cannot be reached or holds foreign tables.
    """
    try:
        with engine.connect() as connection:
            connection.execution_options(**{BEGIN_OPTION: "DEFERRED"})
            version = _read_version(connection)
            connection.rollback()
    except sa.exc.DBAPIError as exc:
        raise cannot_connect(exc, shown) from exc
    if version == SCHEMA_HEAD:
        return
    try:
        _migrate(engine, shown)
    except sa.exc.DBAPIError as exc:
        # Another process may have created the schema between our check and our lock.
        try:
            with engine.connect() as connection:
                if _read_version(connection) == SCHEMA_HEAD:
                    return
        except sa.exc.DBAPIError:
            pass
        raise StorageError(
            f"SQLStorage: could not create the hyperdial schema in {shown}: {_first_line(exc)}."
        ) from exc


def _migrate(engine: sa.Engine, shown: str) -> None:
    config = _alembic_config()
    known = _known_revisions(config)
    mysql = engine.dialect.name == "mysql"
    with engine.connect() as connection:
        if mysql:
            # MySQL commits DDL at once and has no transaction-scoped lock: hold a named lock
            # around the whole migration and release it only after the version row is committed.
            got = connection.exec_driver_sql(f"SELECT GET_LOCK('{_MYSQL_LOCK_NAME}', 60)").scalar()
            connection.commit()
            if got != 1:
                raise StorageError(
                    f"SQLStorage: timed out waiting for another process to create the schema "
                    f"in {shown}."
                )
        try:
            with connection.begin():
                if engine.dialect.name == "postgresql":  # released at commit
                    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
                _upgrade_locked(connection, config, known, shown)
        finally:
            if mysql:
                connection.exec_driver_sql(f"SELECT RELEASE_LOCK('{_MYSQL_LOCK_NAME}')")
                connection.commit()


def _upgrade_locked(connection: sa.Connection, config: Any, known: set[str], shown: str) -> None:
    """Re-read the revision under the migration lock and upgrade to the head if needed."""
    from alembic import command

    version = _read_version(connection)
    if version == SCHEMA_HEAD:
        return
    if version is not None and version not in known:
        raise SchemaVersionError(
            f"SQLStorage: the database {shown} has schema revision {version!r}, which "
            f"this hyperdial does not know (it knows up to {SCHEMA_HEAD!r}); it was "
            "written by a newer hyperdial (or it is not a hyperdial database). Upgrade with: "
            "pip install -U hyperdial. The database was left unchanged."
        )
    if version is None:
        present = [t for t in _OUR_TABLES if sa.inspect(connection).has_table(t)]
        if present:
            raise StorageError(
                f"SQLStorage: the database {shown} has tables {present!r} but no "
                "hyperdial schema revision; point hyperdial at an empty database."
            )
    _logger.info("Upgrading the hyperdial schema of %s from %s", shown, version)
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
