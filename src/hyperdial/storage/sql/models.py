"""Table definitions that the SQL storage queries (SQLAlchemy Core).

The schema itself is created and evolved by the Alembic migrations in ``migrations/versions``;
these tables describe the current head revision and are used to build queries only. Keep them in
step with the newest migration (a test compares the two).

Design notes:

* JSON payloads are TEXT holding ``json.dumps`` of the Python value, so ``1``, ``True``, ``1.0``
  and ``"1"`` stay distinct and every backend round-trips them exactly.
* Timestamps are integer microseconds since the Unix epoch (UTC): exact, portable and cheap.
* Intermediate values are ``repr(float)`` text because MySQL cannot store NaN or infinity in a
  DOUBLE and SQLite turns NaN into NULL, while a diverging objective may well report NaN.
* ``studies.next_number`` is the per-study counter that makes trial numbers dense and unique:
  :meth:`SQLStorage.create_trial` increments it under a row lock in the same transaction that
  inserts the trial.
* ``studies.retries`` counts the retries :meth:`SQLStorage.fail_stale_trials` created, so
  ``next_number - retries`` is the study's budget count, checked by the same row-locked
  ``UPDATE`` that issues a number (``create_trial(..., max_trials=...)``).
* ``trials.heartbeat_at`` is the latest :meth:`SQLStorage.record_heartbeat` of a trial (NULL:
  none yet). It is not part of :class:`~hyperdial.trial.FrozenTrial`; only the reaper reads it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

__all__ = [
    "SCHEMA_HEAD",
    "metadata",
    "studies",
    "study_attrs",
    "trial_intermediate",
    "trial_params",
    "trials",
]

SCHEMA_HEAD = "0003"
"""The newest Alembic revision this code knows; the database must be at this revision."""

NAME_LENGTH = 255
"""The longest study name, parameter name or attribute key (characters)."""

_Name = sa.String(NAME_LENGTH)
# MySQL's TEXT holds only 64 KiB; reproducibility records and tracebacks can be larger.
_Text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")

metadata = sa.MetaData()

studies = sa.Table(
    "hyperdial_studies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", _Name, nullable=False, unique=True),
    sa.Column("directions_json", _Text, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("next_number", sa.Integer, nullable=False),
    sa.Column("retries", sa.Integer, nullable=False, server_default=sa.text("0")),
)

study_attrs = sa.Table(
    "hyperdial_study_attrs",
    metadata,
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("hyperdial_studies.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("key", _Name, primary_key=True),
    sa.Column("value_json", _Text, nullable=False),
)

trials = sa.Table(
    "hyperdial_trials",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("hyperdial_studies.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("values_json", _Text),
    sa.Column("budget", sa.Double),
    sa.Column("parent", sa.Integer),
    sa.Column("reason", _Text, nullable=False),
    sa.Column("error", _Text),
    sa.Column("fixed_params_json", _Text, nullable=False),
    sa.Column("user_attrs_json", _Text, nullable=False),
    sa.Column("sampler_meta_json", _Text, nullable=False),
    sa.Column("started_at", sa.BigInteger),
    sa.Column("finished_at", sa.BigInteger),
    sa.Column("heartbeat_at", sa.BigInteger),
    sa.UniqueConstraint("study_id", "number", name="uq_hyperdial_trials_study_number"),
    sa.Index("ix_hyperdial_trials_study_state_number", "study_id", "state", "number"),
)

trial_params = sa.Table(
    "hyperdial_trial_params",
    metadata,
    # A surrogate key keeps the order in which parameters were first set.
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("hyperdial_trials.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("name", _Name, nullable=False),
    sa.Column("distribution_json", _Text, nullable=False),
    sa.Column("value_json", _Text, nullable=False),
    sa.UniqueConstraint("trial_id", "name", name="uq_hyperdial_trial_params_trial_name"),
)

trial_intermediate = sa.Table(
    "hyperdial_trial_intermediate",
    metadata,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("hyperdial_trials.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("step", sa.BigInteger, primary_key=True, autoincrement=False),
    # repr() of a float, or a JSON list of floats when a study has several objectives
    sa.Column("value", _Text, nullable=False),
)
