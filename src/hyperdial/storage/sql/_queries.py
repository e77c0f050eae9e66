"""The statements of the SQL storage, built once per dialect.

Building SQLAlchemy expressions costs more than running them on SQLite, so every statement is
built here once with named bind parameters (``b_*``) and reused. PostgreSQL also gets
single-statement forms of the hot writes (creating a trial, adding parameters or intermediate
values): run in autocommit they take one round trip instead of four.

A study's budget (``create_trial(..., max_trials=...)``) is a condition of the row-locked
``UPDATE`` of its counter: ``next_number - retries < max_trials``. The counter row serialises
every writer, so the check and the count are one atomic step in any number of processes.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hyperdial.storage.sql.models import (
    studies,
    study_attrs,
    trial_intermediate,
    trial_params,
    trials,
)

__all__ = ["TRIAL_COLUMNS", "UNFINISHED", "Queries"]

UNFINISHED = ("WAITING", "RUNNING")

TRIAL_COLUMNS = (
    trials.c.id,
    trials.c.number,
    trials.c.state,
    trials.c.values_json,
    trials.c.budget,
    trials.c.parent,
    trials.c.reason,
    trials.c.error,
    trials.c.fixed_params_json,
    trials.c.user_attrs_json,
    trials.c.sampler_meta_json,
    trials.c.started_at,
    trials.c.finished_at,
)

# Bump the study's counter (when ``{guard}`` holds and the budget allows: a NULL
# ``max_trials`` means none) and insert a trial with the old value.
_PG_BUMP = """bump AS (
    UPDATE hyperdial_studies SET next_number = next_number + 1
    WHERE id = :study_id{guard} AND (CAST(:max_trials AS BIGINT) IS NULL
        OR next_number - retries < CAST(:max_trials AS BIGINT))
    RETURNING next_number - 1 AS number
)"""
_PG_INSERT = """INSERT INTO hyperdial_trials (study_id, number, state, budget, parent, reason,
    fixed_params_json, user_attrs_json, sampler_meta_json, started_at)
SELECT CAST(:study_id AS INTEGER), bump.number, CAST(:state AS VARCHAR),
       CAST(:budget AS DOUBLE PRECISION), CAST(:parent AS INTEGER), CAST(:reason AS TEXT),
       CAST(:fixed_params_json AS TEXT), CAST(:user_attrs_json AS TEXT),
       CAST(:sampler_meta_json AS TEXT), CAST(:started_at AS BIGINT)
FROM bump
RETURNING id, number"""

# A row of kind 2 tells a spent budget from an unknown study (no row at all).
_PG_NONE_CREATED = """SELECT NULL, NULL, 2 FROM hyperdial_studies
WHERE id = :study_id AND NOT EXISTS (SELECT 1 FROM created)"""

# Create a trial (row of kind 0) or find the budget spent (kind 2): one round trip.
_PG_CREATE_TRIAL = f"""WITH {_PG_BUMP.format(guard="")}, created AS (
{_PG_INSERT}
)
SELECT id, number, 0 FROM created
UNION ALL
{_PG_NONE_CREATED}"""

# Claim the oldest WAITING trial (kind 1) or else create one (kind 0) or find the budget spent
# (kind 2): one round trip.
_PG_CLAIM_OR_CREATE = f"""WITH waiting AS (
    SELECT id FROM hyperdial_trials
    WHERE study_id = :study_id AND state = 'WAITING'
    ORDER BY number LIMIT 1 FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE hyperdial_trials SET state = 'RUNNING', started_at = CAST(:started_at AS BIGINT)
    WHERE id IN (SELECT id FROM waiting) AND state = 'WAITING'
    RETURNING id, number
), {_PG_BUMP.format(guard=" AND NOT EXISTS (SELECT 1 FROM claimed)")}, created AS (
{_PG_INSERT}
)
SELECT id, number, 1 FROM claimed
UNION ALL
SELECT id, number, 0 FROM created
UNION ALL
{_PG_NONE_CREATED} AND NOT EXISTS (SELECT 1 FROM claimed)"""

# The SQL types of the trial columns a one-statement write may also set.
_PG_CHANGE_TYPES = {
    "state": "VARCHAR",
    "values_json": "TEXT",
    "reason": "TEXT",
    "error": "TEXT",
    "finished_at": "BIGINT",
    "budget": "DOUBLE PRECISION",
    "parent": "INTEGER",
}


def _pg_locked(changes: tuple[str, ...]) -> str:
    """Return a CTE ``locked`` holding the trial's id if it is unfinished, under a row lock.

    With ``changes``, the CTE also sets those columns from the binds ``c_<column>``.
    """
    unfinished = "id = :b_trial AND state IN ('WAITING', 'RUNNING')"
    if not changes:
        return f"WITH locked AS (SELECT id FROM hyperdial_trials WHERE {unfinished} FOR UPDATE) "
    sets = ", ".join(f"{c} = CAST(:c_{c} AS {_PG_CHANGE_TYPES[c]})" for c in changes)
    return f"WITH locked AS (UPDATE hyperdial_trials SET {sets} WHERE {unfinished} RETURNING id) "


def _pg_add_params(changes: tuple[str, ...], n: int) -> sa.TextClause:
    rows = ", ".join(
        f"(CAST(:n{i} AS VARCHAR), CAST(:d{i} AS TEXT), CAST(:v{i} AS TEXT), {i})"
        for i in range(n)
    )
    return sa.text(
        _pg_locked(changes)
        + "INSERT INTO hyperdial_trial_params (trial_id, name, distribution_json, value_json) "
        "SELECT locked.id, v.name, v.dist, v.val FROM locked "
        f"CROSS JOIN (VALUES {rows}) AS v (name, dist, val, pos) ORDER BY v.pos "
        "ON CONFLICT (trial_id, name) DO UPDATE SET "
        "distribution_json = EXCLUDED.distribution_json, value_json = EXCLUDED.value_json"
    )


def _pg_add_steps(changes: tuple[str, ...], n: int) -> sa.TextClause:
    rows = ", ".join(f"(CAST(:s{i} AS BIGINT), CAST(:v{i} AS VARCHAR))" for i in range(n))
    return sa.text(
        _pg_locked(changes) + "INSERT INTO hyperdial_trial_intermediate (trial_id, step, value) "
        f"SELECT locked.id, v.step, v.val FROM locked CROSS JOIN (VALUES {rows}) AS v (step, val) "
        "ON CONFLICT (trial_id, step) DO UPDATE SET value = EXCLUDED.value"
    )


def _upsert(dialect: str, table: sa.Table, keys: list[str], columns: list[str]) -> Any:
    """Return an INSERT that overwrites ``columns`` of an existing row with the same ``keys``."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        pg = pg_insert(table)
        return pg.on_conflict_do_update(
            index_elements=keys, set_={c: pg.excluded[c] for c in columns}
        )
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        lite = sqlite_insert(table)
        return lite.on_conflict_do_update(
            index_elements=keys, set_={c: lite.excluded[c] for c in columns}
        )
    if dialect == "mysql":
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        my = mysql_insert(table)
        return my.on_duplicate_key_update({c: my.inserted[c] for c in columns})
    raise NotImplementedError(
        f"SQLStorage supports SQLite, PostgreSQL and MySQL; got {dialect!r}."
    )


def _children(where_params: Any, where_steps: Any) -> sa.CompoundSelect[Any]:
    """Return params (kind 0, in insertion order) and intermediate values (kind 1) in one query."""
    return sa.union_all(
        sa.select(
            trial_params.c.trial_id,
            sa.literal_column("0").label("kind"),
            trial_params.c.id.label("pos"),
            trial_params.c.name,
            trial_params.c.distribution_json,
            trial_params.c.value_json.label("value"),
        ).where(where_params),
        sa.select(
            trial_intermediate.c.trial_id,
            sa.literal_column("1"),
            trial_intermediate.c.step,
            sa.null(),
            sa.null(),
            trial_intermediate.c.value,
        ).where(where_steps),
    ).order_by("kind", "pos")


class Queries:
    """Every statement :class:`~hyperdial.storage.sql.SQLStorage` runs, for one dialect."""

    def __init__(self, dialect: sa.Dialect) -> None:
        b = sa.bindparam
        study: sa.BindParameter[int] = b("b_study")
        trial: sa.BindParameter[int] = b("b_trial")
        self.dialect = dialect.name
        self.update_returning = bool(dialect.update_returning)
        self.postgresql = dialect.name == "postgresql"
        self._pg_statements: dict[tuple[tuple[str, ...], bool, int], sa.TextClause] = {}

        # Studies.
        info = (studies.c.id, studies.c.name, studies.c.directions_json, studies.c.created_at)
        self.study_by_name = sa.select(*info).where(studies.c.name == b("b_name"))
        self.list_studies = sa.select(*info).order_by(studies.c.id)
        self.insert_study = studies.insert()
        self.lock_study_by_name = (
            sa.select(studies.c.id).where(studies.c.name == b("b_name")).with_for_update()
        )
        ids_of_study = sa.select(trials.c.id).where(trials.c.study_id == study)
        self.delete_study = (
            trial_intermediate.delete().where(trial_intermediate.c.trial_id.in_(ids_of_study)),
            trial_params.delete().where(trial_params.c.trial_id.in_(ids_of_study)),
            trials.delete().where(trials.c.study_id == study),
            study_attrs.delete().where(study_attrs.c.study_id == study),
            studies.delete().where(studies.c.id == study),
        )
        self.study_exists = sa.select(studies.c.id).where(studies.c.id == study)
        self.upsert_attr = _upsert(self.dialect, study_attrs, ["study_id", "key"], ["value_json"])
        self.study_attrs = (
            sa.select(studies.c.id, study_attrs.c.key, study_attrs.c.value_json)
            .select_from(studies.outerjoin(study_attrs))
            .where(studies.c.id == study)
            .order_by(study_attrs.c.key)
        )

        # Creating and claiming trials.
        self.bump_counter = (
            studies.update()
            .where(studies.c.id == study)
            .values(next_number=studies.c.next_number + 1)
            .returning(studies.c.next_number)
        )
        # The same, only while the study counts fewer than ``b_max`` trials.
        self.bump_counter_within = self.bump_counter.where(
            studies.c.next_number - studies.c.retries < b("b_max")
        )
        self.lock_counter = (
            sa.select(studies.c.next_number, studies.c.retries)
            .where(studies.c.id == study)
            .with_for_update()
        )
        self.set_counter = (
            studies.update().where(studies.c.id == study).values(next_number=b("b_next"))
        )
        # Issue ``b_n`` numbers to retries of stale trials, which the budget does not count.
        n: sa.BindParameter[int] = b("b_n")
        self.bump_counter_for_retries = (
            studies.update()
            .where(studies.c.id == study)
            .values(next_number=studies.c.next_number + n, retries=studies.c.retries + n)
            .returning(studies.c.next_number)
        )
        self.set_counter_for_retries = (
            studies.update()
            .where(studies.c.id == study)
            .values(next_number=b("b_next"), retries=studies.c.retries + n)
        )
        self.count_budget = sa.select(studies.c.next_number - studies.c.retries).where(
            studies.c.id == study
        )
        self.insert_trial = trials.insert()
        self.pg_create_trial = sa.text(_PG_CREATE_TRIAL)
        self.pg_claim_or_create = sa.text(_PG_CLAIM_OR_CREATE)
        oldest_waiting = (
            sa.select(trials.c.id)
            .where(trials.c.study_id == study, trials.c.state == "WAITING")
            .order_by(trials.c.number)
            .limit(1)
        )
        self.peek_waiting = sa.select(
            studies.c.id,
            oldest_waiting.where(trials.c.study_id == studies.c.id).scalar_subquery(),
        ).where(studies.c.id == study)
        # SQLite leaves FOR UPDATE out; its BEGIN IMMEDIATE already serialises writers.
        self.lock_waiting = oldest_waiting.with_for_update(skip_locked=True)
        self.claim = (
            trials.update()
            .where(trials.c.id == trial, trials.c.state == "WAITING")
            .values(state="RUNNING", started_at=b("b_now"))
        )

        # Heartbeats and reaping. A trial is stale when both its start and its latest heartbeat
        # (each if any) are older than ``b_cutoff``.
        self.heartbeat = (
            trials.update()
            .where(trials.c.id == trial, trials.c.state.in_(UNFINISHED))
            .values(heartbeat_at=b("b_now"))
        )
        cutoff: sa.BindParameter[int] = b("b_cutoff")
        stale = sa.and_(
            trials.c.study_id == study,
            trials.c.state == "RUNNING",
            sa.or_(trials.c.started_at.is_(None), trials.c.started_at < cutoff),
            sa.or_(trials.c.heartbeat_at.is_(None), trials.c.heartbeat_at < cutoff),
        )
        self.peek_stale = sa.select(
            studies.c.id,
            sa.select(trials.c.id).where(stale).limit(1).scalar_subquery(),
        ).where(studies.c.id == study)
        # A row another transaction holds (a reaper, or a worker beating or finishing it) is
        # skipped: each stale trial is handled once, and never while its worker writes.
        self.lock_stale = (
            sa.select(*TRIAL_COLUMNS, trials.c.heartbeat_at)
            .where(stale)
            .order_by(trials.c.number)
            .with_for_update(skip_locked=True)
        )

        # Updating trials.
        self.lock_trial = (
            sa.select(
                trials.c.number,
                trials.c.state,
                trials.c.user_attrs_json,
                trials.c.sampler_meta_json,
                trials.c.started_at,
                trials.c.fixed_params_json,
            )
            .where(trials.c.id == trial)
            .with_for_update()
        )
        self.trial_state = sa.select(trials.c.number, trials.c.state).where(trials.c.id == trial)
        # The SET clause comes from the keys of the parameters passed at execution.
        self.update_trial = trials.update().where(trials.c.id == trial)
        self.update_unfinished = trials.update().where(
            trials.c.id == trial, trials.c.state.in_(UNFINISHED)
        )
        self.upsert_params = _upsert(
            self.dialect,
            trial_params,
            ["trial_id", "name"],
            ["distribution_json", "value_json"],
        )
        self.upsert_steps = _upsert(
            self.dialect, trial_intermediate, ["trial_id", "step"], ["value"]
        )

        # Reading trials.
        on = sa.and_(trials.c.study_id == studies.c.id, trials.c.number >= b("b_min"))
        in_states = trials.c.state.in_(b("b_states", expanding=True))
        # The outer join tells an unknown study (no row) from one without trials (a NULL row).
        self.trials_of_study = (
            sa.select(studies.c.id, *TRIAL_COLUMNS)
            .select_from(studies.outerjoin(trials, on))
            .where(studies.c.id == study)
            .order_by(trials.c.number)
        )
        self.trials_of_study_in_states = (
            sa.select(studies.c.id, *TRIAL_COLUMNS)
            .select_from(studies.outerjoin(trials, sa.and_(on, in_states)))
            .where(studies.c.id == study)
            .order_by(trials.c.number)
        )
        ids: sa.BindParameter[list[int]] = b("b_ids", expanding=True)
        self.children_by_ids = _children(
            trial_params.c.trial_id.in_(ids), trial_intermediate.c.trial_id.in_(ids)
        )
        scope = sa.select(trials.c.id).where(
            trials.c.study_id == study, trials.c.number.between(b("b_low"), b("b_high"))
        )
        self.children_by_scope = _children(
            trial_params.c.trial_id.in_(scope), trial_intermediate.c.trial_id.in_(scope)
        )
        # One round trip for a few trials: each trial row carries one child (or NULLs).
        one = _children(trial_params.c.trial_id == trial, trial_intermediate.c.trial_id == trial)
        self.trial_with_children = self._joined(
            sa.select(*TRIAL_COLUMNS).where(trials.c.id == trial), one, trials
        )
        recent = sa.select(trials.c.id).where(
            trials.c.study_id == study, trials.c.number >= b("b_min")
        )
        many = _children(
            trial_params.c.trial_id.in_(recent), trial_intermediate.c.trial_id.in_(recent)
        )
        self.recent_trials_with_children = self._joined(
            sa.select(studies.c.id, *TRIAL_COLUMNS)
            .select_from(studies.outerjoin(trials, on))
            .where(studies.c.id == study),
            many,
            trials,
        )
        count_on = trials.c.study_id == studies.c.id
        self.count_trials = (
            sa.select(studies.c.id, sa.func.count(trials.c.id))
            .select_from(studies.outerjoin(trials, count_on))
            .where(studies.c.id == study)
            .group_by(studies.c.id)
        )
        self.count_trials_in_states = (
            sa.select(studies.c.id, sa.func.count(trials.c.id))
            .select_from(studies.outerjoin(trials, sa.and_(count_on, in_states)))
            .where(studies.c.id == study)
            .group_by(studies.c.id)
        )

    @staticmethod
    def _joined(
        parents: sa.Select[Any], children: sa.CompoundSelect[Any], table: sa.Table
    ) -> sa.Select[Any]:
        """Return ``parents`` with ``CHILD_COLUMNS`` appended by an outer join on trial id."""
        sub = children.order_by(None).subquery("c")
        return (
            parents.add_columns(*(sub.c[i] for i in range(len(sub.c))))
            .outerjoin_from(table, sub, sub.c[0] == table.c.id)
            .order_by(table.c.number, sub.c[1], sub.c[2])
        )

    def pg_add_children(
        self,
        trial_id: int,
        changes: dict[str, object],
        params: list[tuple[str, str, str]],
        steps: list[tuple[int, str]],
    ) -> tuple[sa.TextClause, dict[str, object]]:
        """Return PostgreSQL's one-statement write to an unfinished trial, with its binds.

        The statement writes ``params`` (``(name, distribution_json, value_json)`` rows) or
        else ``steps`` (``(step, value)`` rows), and sets the trial columns in ``changes``.
        Its row count is 0 when the trial is missing or finished, and nothing was written.
        """
        columns = tuple(sorted(changes))
        binds: dict[str, object] = {"b_trial": trial_id}
        binds.update({f"c_{c}": changes[c] for c in columns})
        key = (columns, bool(params), len(params) or len(steps))
        statement = self._pg_statements.get(key)
        if statement is None:
            make = _pg_add_params if params else _pg_add_steps
            statement = self._pg_statements[key] = make(columns, key[2])
        for i, (name, dist, value) in enumerate(params):
            binds.update({f"n{i}": name, f"d{i}": dist, f"v{i}": value})
        for i, (step, text) in enumerate(steps if not params else ()):
            binds.update({f"s{i}": step, f"v{i}": text})
        return statement, binds
