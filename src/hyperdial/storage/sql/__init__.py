"""Storage in SQL databases: SQLite, PostgreSQL and MySQL/MariaDB through SQLAlchemy."""

from __future__ import annotations

from hyperdial.storage.sql.storage import SQLStorage

__all__ = ["SQLStorage"]
