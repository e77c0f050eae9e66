"""Fixtures for the storage tests: storages on fresh SQLite files and on emptied server databases.

The servers, their session databases and ``fresh_url`` are in ``tests/conftest.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from hyperdial.storage.sql import SQLStorage

TABLES = (
    "hyperdial_trial_intermediate",
    "hyperdial_trial_params",
    "hyperdial_trials",
    "hyperdial_study_attrs",
    "hyperdial_studies",
)
_counter = itertools.count()


def _wipe(url: str) -> None:
    """Delete every row (fast, unlike recreating the database) so a test starts empty."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            present = set(sa.inspect(connection).get_table_names())
            for table in TABLES:
                if table in present:
                    connection.exec_driver_sql(f"DELETE FROM {table}")
    finally:
        engine.dispose()


def _factory(url: Callable[[], str], wipe: bool) -> Iterator[Callable[[], SQLStorage]]:
    made: list[SQLStorage] = []

    def make() -> SQLStorage:
        target = url()
        if wipe:
            _wipe(target)
        storage = SQLStorage(target)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()


@pytest.fixture
def make_sqlite_storage(tmp_path) -> Iterator[Callable[[], SQLStorage]]:
    """Return a factory of storages, each on a new SQLite file."""
    yield from _factory(lambda: f"sqlite:///{tmp_path}/hyperdial{next(_counter)}.db", False)


@pytest.fixture
def make_postgresql_storage(postgresql_url: str) -> Iterator[Callable[[], SQLStorage]]:
    """Return a factory of storages on this session's (emptied) PostgreSQL database."""
    yield from _factory(lambda: postgresql_url, True)


@pytest.fixture
def make_mysql_storage(mysql_url: str) -> Iterator[Callable[[], SQLStorage]]:
    """Return a factory of storages on this session's (emptied) MariaDB database."""
    yield from _factory(lambda: mysql_url, True)


@pytest.fixture
def make_any_storage(request, backend) -> Callable[[], SQLStorage]:
    """Return a storage factory on each backend in turn."""
    return request.getfixturevalue(f"make_{backend}_storage")  # type: ignore[no-any-return]
