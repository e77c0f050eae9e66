"""Create the initial schema: studies, study attributes, trials, params, intermediate values.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def _table_options() -> dict[str, Any]:
    """Return MySQL/MariaDB table options; other backends need none.

    Names and keys must compare exactly as Python strings do ("a" != "A" != "a "), so MySQL gets
    a binary collation without trailing-space padding where the server has one.
    """
    dialect = op.get_bind().dialect
    if dialect.name != "mysql":
        return {}
    if getattr(dialect, "is_mariadb", False):
        collation = "utf8mb4_nopad_bin"
    elif (dialect.server_version_info or (0,)) >= (8, 0):
        collation = "utf8mb4_0900_bin"
    else:
        collation = "utf8mb4_bin"
    return {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": collation}


def upgrade() -> None:
    """Create every table."""
    options = _table_options()
    op.create_table(
        "hyperdial_studies",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("directions_json", _Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("next_number", sa.Integer, nullable=False),
        sa.UniqueConstraint("name", name="uq_hyperdial_studies_name"),
        **options,
    )
    op.create_table(
        "hyperdial_study_attrs",
        sa.Column(
            "study_id",
            sa.Integer,
            sa.ForeignKey(
                "hyperdial_studies.id", ondelete="CASCADE", name="fk_hyperdial_study_attrs_study"
            ),
            primary_key=True,
        ),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("value_json", _Text, nullable=False),
        **options,
    )
    op.create_table(
        "hyperdial_trials",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "study_id",
            sa.Integer,
            sa.ForeignKey(
                "hyperdial_studies.id", ondelete="CASCADE", name="fk_hyperdial_trials_study"
            ),
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
        sa.UniqueConstraint("study_id", "number", name="uq_hyperdial_trials_study_number"),
        **options,
    )
    op.create_index(
        "ix_hyperdial_trials_study_state_number",
        "hyperdial_trials",
        ["study_id", "state", "number"],
    )
    op.create_table(
        "hyperdial_trial_params",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "trial_id",
            sa.Integer,
            sa.ForeignKey(
                "hyperdial_trials.id", ondelete="CASCADE", name="fk_hyperdial_trial_params_trial"
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("distribution_json", _Text, nullable=False),
        sa.Column("value_json", _Text, nullable=False),
        sa.UniqueConstraint("trial_id", "name", name="uq_hyperdial_trial_params_trial_name"),
        **options,
    )
    op.create_table(
        "hyperdial_trial_intermediate",
        sa.Column(
            "trial_id",
            sa.Integer,
            sa.ForeignKey(
                "hyperdial_trials.id",
                ondelete="CASCADE",
                name="fk_hyperdial_trial_intermediate_trial",
            ),
            primary_key=True,
        ),
        sa.Column("step", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("value", sa.String(32), nullable=False),
        **options,
    )


def downgrade() -> None:
    """Drop every table."""
    for table in (
        "hyperdial_trial_intermediate",
        "hyperdial_trial_params",
        "hyperdial_trials",
        "hyperdial_study_attrs",
        "hyperdial_studies",
    ):
        op.drop_table(table)
