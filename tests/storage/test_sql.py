from __future__ import annotations

import pytest

from hyperdial.testing.storage import StorageConformance


class TestSQLiteStorage(StorageConformance):
    @pytest.fixture
    def make_storage(self, make_sqlite_storage):
        return make_sqlite_storage


@pytest.mark.server
class TestPostgreSQLStorage(StorageConformance):
    @pytest.fixture
    def make_storage(self, make_postgresql_storage):
        return make_postgresql_storage


@pytest.mark.server
class TestMariaDBStorage(StorageConformance):
    @pytest.fixture
    def make_storage(self, make_mysql_storage):
        return make_mysql_storage
