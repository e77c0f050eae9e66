"""Fixtures shared by the tests: the database servers, and a new empty database on each backend.

PostgreSQL and MariaDB run on the local servers (see ENVIRONMENT.md); override them with
``HYPERDIAL_TEST_POSTGRESQL`` / ``HYPERDIAL_TEST_MYSQL`` (server URLs without a database). Each
test session creates and drops its own database, ``hyperdial_test_<pid>``. A server that cannot
be reached skips its tests, and fails them when ``CI=true``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

_counter = itertools.count()

POSTGRESQL = os.environ.get(
    "HYPERDIAL_TEST_POSTGRESQL", "postgresql+psycopg://postgres@127.0.0.1:5432"
)
MYSQL = os.environ.get("HYPERDIAL_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306")


def _unavailable(what: str, exc: BaseException) -> None:
    message = f"{what} is not reachable: {str(exc).splitlines()[0]}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


class Server:
    """A database server on which tests create and drop databases."""

    def __init__(self, base: str, admin_db: str) -> None:
        self.base = base
        self.engine = sa.create_engine(
            f"{base}/{admin_db}",
            isolation_level="AUTOCOMMIT",
            connect_args={"connect_timeout": 5},
            poolclass=sa.pool.NullPool,
        )
        self.postgresql = base.startswith("postgresql")

    def url(self, database: str) -> str:
        return f"{self.base}/{database}"

    def create(self, database: str) -> str:
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}")
            connection.exec_driver_sql(f"CREATE DATABASE {database}")
        return self.url(database)

    def drop(self, database: str) -> None:
        force = " WITH (FORCE)" if self.postgresql else ""
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {database}{force}")


def _server(base: str, admin_db: str, what: str) -> Server:
    server = Server(base, admin_db)
    try:
        with server.engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        _unavailable(what, exc)
    return server


@pytest.fixture(scope="session")
def postgresql_server() -> Server:
    """Return the PostgreSQL server (skips, or fails under CI, when unreachable)."""
    return _server(POSTGRESQL, "postgres", "PostgreSQL")


@pytest.fixture(scope="session")
def mysql_server() -> Server:
    """Return the MariaDB/MySQL server (skips, or fails under CI, when unreachable)."""
    return _server(MYSQL, "mysql", "MariaDB")


def _session_database(server: Server) -> Iterator[str]:
    name = f"hyperdial_test_{os.getpid()}"
    url = server.create(name)
    try:
        yield url
    finally:
        server.drop(name)


@pytest.fixture(scope="session")
def postgresql_url(postgresql_server: Server) -> Iterator[str]:
    """Return the URL of this session's PostgreSQL database."""
    yield from _session_database(postgresql_server)


@pytest.fixture(scope="session")
def mysql_url(mysql_server: Server) -> Iterator[str]:
    """Return the URL of this session's MariaDB database."""
    yield from _session_database(mysql_server)


BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.server),
    pytest.param("mysql", marks=pytest.mark.server),
]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    """Return each backend's name in turn: ``sqlite``, ``postgresql``, ``mysql``."""
    return str(request.param)


@pytest.fixture
def fresh_url(request, backend, tmp_path) -> Iterator[str]:
    """Return the URL of a brand-new, empty database on each backend.

    On PostgreSQL it is a new schema of the session's database (creating and dropping whole
    databases takes a second there); on MariaDB a new database.
    """
    name = f"hyperdial_fresh{next(_counter)}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path}/{name}.db"
    elif backend == "postgresql":
        base = request.getfixturevalue("postgresql_url")
        engine = sa.create_engine(base, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {name}")
        try:
            yield f"{base}?options=-csearch_path%3D{name}"
        finally:
            with engine.connect() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
            engine.dispose()
    else:
        server = request.getfixturevalue("mysql_server")
        url = server.create(name)
        try:
            yield url
        finally:
            server.drop(name)
