from __future__ import annotations

import json
import re
import sqlite3
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from hyperdial import Direction
from hyperdial.exceptions import (
    InvalidValueError,
    MissingDependencyError,
    SchemaVersionError,
    StorageError,
)
from hyperdial.space import Float, Int
from hyperdial.storage import MemoryStorage, SQLStorage, TrialTemplate, TrialUpdate, get_storage
from hyperdial.storage.sql import _engine as sql_engine
from hyperdial.storage.sql import models
from hyperdial.storage.sql import storage as sql_storage
from hyperdial.testing.storage import StorageConformance
from hyperdial.trial import TrialState


class TestSQLiteStorage(StorageConformance):
    shared_between_processes = True

    @pytest.fixture
    def make_storage(self, make_sqlite_storage):
        return make_sqlite_storage


@pytest.mark.server
class TestPostgreSQLStorage(StorageConformance):
    shared_between_processes = True

    @pytest.fixture
    def make_storage(self, make_postgresql_storage):
        return make_postgresql_storage


@pytest.mark.server
class TestMariaDBStorage(StorageConformance):
    shared_between_processes = True

    @pytest.fixture
    def make_storage(self, make_mysql_storage):
        return make_mysql_storage


MIN = (Direction.MINIMIZE,)


def _raw(url: str):
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _version(url: str) -> str:
    engine = _raw(url)
    try:
        with engine.connect() as connection:
            return connection.exec_driver_sql("SELECT version_num FROM hyperdial_version").scalar()
    finally:
        engine.dispose()


# -- schema -------------------------------------------------------------------------------


def test_schema_head_is_the_newest_migration():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(Path(models.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == models.SCHEMA_HEAD


def test_schema_is_created_on_first_use_and_matches_the_models(fresh_url):
    storage = SQLStorage(fresh_url)
    assert storage.list_studies() == []
    storage.close()
    assert _version(fresh_url) == models.SCHEMA_HEAD
    engine = _raw(fresh_url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            for table in models.metadata.sorted_tables:
                columns = inspector.get_columns(table.name)
                assert [c["name"] for c in columns] == [c.name for c in table.columns]
                nullable = {c["name"]: c["nullable"] for c in columns}
                for column in table.columns:
                    assert nullable[column.name] == (column.nullable and not column.primary_key)
    finally:
        engine.dispose()


def test_a_database_of_the_first_schema_is_upgraded_with_its_data(fresh_url):
    from alembic import command

    engine = _raw(fresh_url)
    try:
        with engine.begin() as connection:
            config = sql_engine._alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO hyperdial_studies (name, directions_json, created_at, next_number) "
                "VALUES ('old', '[\"minimize\"]', 0, 1)"
            )
            study_id = connection.exec_driver_sql("SELECT id FROM hyperdial_studies").scalar()
            connection.exec_driver_sql(
                "INSERT INTO hyperdial_trials (study_id, number, state, reason, "
                "fixed_params_json, user_attrs_json, sampler_meta_json) "
                f"VALUES ({study_id}, 0, 'RUNNING', '', '{{}}', '{{}}', '{{}}')"
            )
            trial_id = connection.exec_driver_sql("SELECT id FROM hyperdial_trials").scalar()
            connection.exec_driver_sql(
                "INSERT INTO hyperdial_trial_intermediate (trial_id, step, value) "
                f"VALUES ({trial_id}, 1, '0.25')"
            )
        assert _version(fresh_url) == "0001"
    finally:
        engine.dispose()
    storage = SQLStorage(fresh_url)
    old = storage.get_trials(storage.get_study("old").study_id)
    assert dict(old[0].intermediate) == {1: 0.25}
    storage.update_trial(trial_id, TrialUpdate(intermediate={2: (0.1234567890123, -1e300)}))
    assert dict(storage.get_trial(trial_id).intermediate) == {
        1: 0.25,
        2: (0.1234567890123, -1e300),
    }
    storage.close()
    assert _version(fresh_url) == models.SCHEMA_HEAD


def test_a_database_of_the_second_schema_is_upgraded_with_its_data(fresh_url):
    """0003 adds heartbeats and the retry count: old trials can be reaped, their count kept."""
    from alembic import command

    engine = _raw(fresh_url)
    try:
        with engine.begin() as connection:
            config = sql_engine._alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO hyperdial_studies (name, directions_json, created_at, next_number) "
                "VALUES ('old', '[\"minimize\"]', 0, 3)"
            )
            study_id = connection.exec_driver_sql("SELECT id FROM hyperdial_studies").scalar()
            insert = sa.text(
                "INSERT INTO hyperdial_trials (study_id, number, state, reason, "
                "fixed_params_json, user_attrs_json, sampler_meta_json, started_at) "
                "VALUES (:study, :number, :state, '', '{}', '{\"u\": 1}', '{}', :started)"
            )
            for number, state, started in [
                (0, "COMPLETE", 0),
                (1, "RUNNING", 0),
                (2, "WAITING", None),
            ]:
                connection.execute(
                    insert,
                    {"study": study_id, "number": number, "state": state, "started": started},
                )
            running = connection.exec_driver_sql(
                "SELECT id FROM hyperdial_trials WHERE number = 1"
            ).scalar()
            connection.execute(
                sa.text(
                    "INSERT INTO hyperdial_trial_params (trial_id, name, distribution_json, "
                    "value_json) VALUES (:trial, 'x', :dist, '0.5')"
                ),
                {"trial": running, "dist": json.dumps(Float(0, 1).to_json())},
            )
        assert _version(fresh_url) == "0002"
    finally:
        engine.dispose()
    storage = SQLStorage(fresh_url)
    study_id = storage.get_study("old").study_id
    assert storage.count_budget(study_id) == 3
    (dead,) = storage.fail_stale_trials(study_id, grace_s=60, retry_failed=1)
    assert dead.trial_id == running and dead.state is TrialState.FAILED
    assert re.fullmatch(r"no heartbeat for \d+\.\d s: its worker stopped", dead.error or "")
    assert storage.count_budget(study_id) == 3  # the retry (number 3) replaces trial 1
    template = TrialTemplate()
    old_waiting = storage.claim_or_create_trial(study_id, template, max_trials=3)
    retry = storage.claim_or_create_trial(study_id, template, max_trials=3)
    assert old_waiting is not None and old_waiting.number == 2
    assert retry is not None and retry.number == 3 and retry.fixed_params == {"x": 0.5}
    assert retry.user_attrs == {"u": 1, "retry_of": 1, "retry": 1}
    assert storage.claim_or_create_trial(study_id, template, max_trials=3) is None
    storage.record_heartbeat(retry.trial_id)
    assert storage.fail_stale_trials(study_id, grace_s=60) == []
    storage.close()
    assert _version(fresh_url) == models.SCHEMA_HEAD


def test_a_newer_schema_raises_and_is_left_untouched(fresh_url):
    storage = SQLStorage(fresh_url)
    study_id = storage.create_study("kept", MIN).study_id
    storage.create_trial(study_id, TrialTemplate())
    storage.close()
    engine = _raw(fresh_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE hyperdial_version SET version_num = '9999_future'")
        with pytest.raises(SchemaVersionError) as info:
            SQLStorage(fresh_url).list_studies()
        message = str(info.value)
        assert "'9999_future'" in message and "pip install -U hyperdial" in message
        assert "\n" not in message
        assert _version(fresh_url) == "9999_future"
        with engine.begin() as connection:
            assert (
                connection.exec_driver_sql("SELECT COUNT(*) FROM hyperdial_trials").scalar() == 1
            )
            connection.exec_driver_sql(
                f"UPDATE hyperdial_version SET version_num = '{models.SCHEMA_HEAD}'"
            )
    finally:
        engine.dispose()
    again = SQLStorage(fresh_url)
    assert again.count_trials(again.get_study("kept").study_id) == 1
    again.close()


def test_foreign_tables_are_not_taken_over(tmp_path):
    url = f"sqlite:///{tmp_path}/foreign.db"
    engine = _raw(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE hyperdial_studies (study_id INTEGER PRIMARY KEY)")
    engine.dispose()
    with pytest.raises(StorageError, match="no hyperdial schema revision"):
        SQLStorage(url).list_studies()


def test_sqlite_runs_in_wal_mode(tmp_path):
    path = tmp_path / "wal.db"
    storage = SQLStorage(f"sqlite:///{path}")
    storage.create_study("a", MIN)
    storage.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://postgres:s3cret@127.0.0.1:1/x", id="postgresql"),
        pytest.param("mysql+pymysql://root:s3cret@127.0.0.1:1/x", id="mysql"),
    ],
)
def test_an_unreachable_database_raises_one_clear_line(url):
    start = time.monotonic()
    with pytest.raises(StorageError) as info:
        SQLStorage(url).list_studies()
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert "\n" not in message and "127.0.0.1:1" in message and "cannot connect" in message
    assert "s3cret" not in message and "***" in message


def test_an_unopenable_sqlite_file_raises_storage_error(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/dir/x.db"
    with pytest.raises(StorageError, match="cannot connect"):
        SQLStorage(url).list_studies()


@pytest.mark.parametrize(
    ("module", "url", "extra"),
    [
        pytest.param("psycopg", "postgresql://u@127.0.0.1:1/x", "postgresql", id="psycopg"),
        pytest.param("pymysql", "mysql://u@127.0.0.1:1/x", "mysql", id="pymysql"),
    ],
)
def test_a_missing_driver_names_the_extra(monkeypatch, module, url, extra):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=rf"pip install 'hyperdial\[{extra}\]'"):
        SQLStorage(url).list_studies()


def test_bad_arguments_are_rejected():
    with pytest.raises(TypeError, match="url must be a str"):
        SQLStorage(3)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="url must be a database URL"):
        SQLStorage("not a url")
    with pytest.raises(TypeError, match="engine_kwargs must be a mapping"):
        SQLStorage("sqlite://", engine_kwargs=[1])  # type: ignore[arg-type]


def test_repr_masks_the_password():
    storage = SQLStorage("postgresql://user:pw@db.example/hd")
    assert repr(storage) == "SQLStorage('postgresql+psycopg://user:***@db.example/hd')"


def test_long_names_and_non_json_values_are_rejected(make_sqlite_storage):
    storage = make_sqlite_storage()
    long = "x" * (models.NAME_LENGTH + 1)
    with pytest.raises(InvalidValueError, match="at most 255 characters"):
        storage.create_study(long, MIN)
    study_id = storage.create_study("x" * models.NAME_LENGTH, MIN).study_id
    trial = storage.create_trial(study_id, TrialTemplate())
    with pytest.raises(InvalidValueError, match="at most 255 characters"):
        storage.update_trial(trial.trial_id, TrialUpdate(params={long: (Float(0, 1), 0.5)}))
    with pytest.raises(InvalidValueError, match="at most 255 characters"):
        storage.set_study_attr(study_id, long, 1)
    with pytest.raises(InvalidValueError, match="JSON-serialisable"):
        storage.update_trial(trial.trial_id, TrialUpdate(user_attrs={"x": object()}))
    storage.update_trial(trial.trial_id, TrialUpdate(user_attrs={"np": np.float64(0.5)}))
    assert type(storage.get_trial(trial.trial_id).user_attrs["np"]) is float


def test_deadlocks_are_retried_and_other_errors_wrapped(make_sqlite_storage):
    storage = make_sqlite_storage()
    calls = []

    class Orig(Exception):
        sqlstate = "40P01"

    def flaky(connection):
        calls.append(1)
        if len(calls) < 3:
            raise sa.exc.OperationalError("SELECT 1", {}, Orig("deadlock detected"))
        return "done"

    assert storage._run(flaky) == "done" and len(calls) == 3

    def broken(connection):
        raise sa.exc.ProgrammingError("SELECT 1", {}, Exception("syntax error\ndetails"))

    with pytest.raises(StorageError, match=r"^SQLStorage \(sqlite:///.*\): syntax error\.$"):
        storage._run(broken)


# -- behaviour beyond the contract --------------------------------------------------------


def test_many_trials_load_in_bulk(make_any_storage, monkeypatch):
    monkeypatch.setattr(sql_storage, "_IN_LIST_MAX", 3)
    storage = make_any_storage()
    study_id = storage.create_study("bulk", MIN).study_id
    other = storage.create_study("other", MIN).study_id
    for i in range(10):
        for sid in (study_id, other):
            trial = storage.create_trial(sid, TrialTemplate())
            storage.update_trial(
                trial.trial_id,
                TrialUpdate(params={"i": (Int(0, 9), i), "j": (Int(0, 9), 9 - i)}),
            )
            storage.update_trial(trial.trial_id, TrialUpdate(intermediate={0: i, 1: -i}))
            if i % 2:
                storage.update_trial(
                    trial.trial_id, TrialUpdate(state=TrialState.COMPLETE, values=[i])
                )
    loaded = storage.get_trials(study_id)
    assert [t.params["i"] for t in loaded] == list(range(10))
    assert loaded == [storage.get_trial(t.trial_id) for t in loaded]
    done = storage.get_trials(study_id, states=[TrialState.COMPLETE], min_number=2)
    assert [t.params["j"] for t in done] == [6, 4, 2, 0]
    assert [dict(t.intermediate) for t in done] == [{0: i, 1: -i} for i in (3, 5, 7, 9)]


def test_in_memory_sqlite_is_shared_by_threads():
    storage = SQLStorage("sqlite://")
    study_id = storage.create_study("a", MIN).study_id

    def work():
        for _ in range(10):
            storage.create_trial(study_id, TrialTemplate())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [t.number for t in storage.get_trials(study_id)] == list(range(40))


def test_a_closed_storage_reconnects(make_any_storage):
    storage = make_any_storage()
    study_id = storage.create_study("a", MIN).study_id
    storage.close()
    assert storage.create_trial(study_id, TrialTemplate()).number == 0


@pytest.mark.server
@pytest.mark.parametrize("backend", ["postgresql", "mysql"])
def test_connections_dropped_by_the_server_are_replaced(request, monkeypatch, backend):
    storage = request.getfixturevalue(f"make_{backend}_storage")()
    study_id = storage.create_study("a", MIN).study_id
    monkeypatch.setattr(sql_engine, "_IDLE_PING_S", 0.0)  # every pooled connection is "idle"
    engine = _raw(request.getfixturevalue(f"{backend}_url"))
    with engine.connect() as connection:
        if backend == "postgresql":
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        else:
            ids = connection.exec_driver_sql(
                "SELECT id FROM information_schema.processlist "
                "WHERE db = DATABASE() AND id <> CONNECTION_ID()"
            ).scalars()
            for thread_id in ids:
                connection.exec_driver_sql(f"KILL {thread_id}")
    engine.dispose()
    trial = storage.create_trial(study_id, TrialTemplate())  # one autocommitted statement
    storage.update_trial(trial.trial_id, TrialUpdate(params={"x": (Float(0, 1), 0.5)}))
    assert storage.get_trial(trial.trial_id).params == {"x": 0.5}


# -- get_storage and exports ----------------------------------------------------------------


def test_get_storage(tmp_path):
    assert isinstance(get_storage(None), MemoryStorage)
    assert get_storage(None) is not get_storage(None)
    memory = MemoryStorage()
    assert get_storage(memory) is memory
    sql = get_storage(f"sqlite:///{tmp_path}/g.db")
    assert isinstance(sql, SQLStorage) and sql.list_studies() == []
    with pytest.raises(TypeError, match="got int: 3"):
        get_storage(3)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="url must be a database URL"):
        get_storage("hyperdial.db")


def test_storage_package_exports():
    import hyperdial.storage as package

    assert package.__all__ == sorted(package.__all__)
    assert package.SQLStorage is SQLStorage and package.get_storage is get_storage


def test_a_database_shared_with_other_tables_is_left_alone(tmp_path):
    """Tables are prefixed, so a database holding another tool's tables can hold ours too."""
    import sqlalchemy as sa

    import hyperdial

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE studies (id INTEGER PRIMARY KEY, x TEXT)")
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num TEXT)")
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('v9_other_tool')")
    study = hyperdial.create_study("mine", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == (
            "v9_other_tool"
        )
    engine.dispose()
    assert len(hyperdial.load_study("mine", storage=url).trials) == 2


def test_a_sqlite_file_deleted_while_in_use_stops_the_study(tmp_path):
    import os

    import hyperdial

    url = f"sqlite:///{tmp_path / 'gone.db'}"
    study = hyperdial.create_study("gone", storage=url)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number == 3:
            for path in tmp_path.glob("gone.db*"):
                os.remove(path)
        return x

    with pytest.raises(StorageError, match=r"gone.db is gone \(deleted or moved while in use\)"):
        study.optimize(objective, n_trials=6)
    assert list(tmp_path.iterdir()) == []  # not silently recreated either
