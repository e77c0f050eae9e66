"""Alembic environment of the SQL storage.

:class:`~hyperdial.storage.sql.SQLStorage` runs the migrations programmatically and hands over
an open connection in ``config.attributes["connection"]``. Run by hand (``alembic -x`` is not
needed), set ``sqlalchemy.url`` in the Alembic config instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection, target_metadata=None, version_table="hyperdial_version"
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError(
            "hyperdial migrations: set sqlalchemy.url in the Alembic config or pass a "
            "connection in config.attributes['connection']."
        )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


# Alembic runs this file inside a migration; a plain import (doctest collection) does nothing.
if hasattr(context, "config"):
    if context.is_offline_mode():
        raise RuntimeError("hyperdial migrations run online only; --sql mode is unsupported.")
    _main()
