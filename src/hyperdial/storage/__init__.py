"""Storages: where studies and trials live (memory, SQLite, PostgreSQL, MySQL/MariaDB)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperdial.storage.artifacts import ArtifactStore, LocalArtifactStore
from hyperdial.storage.base import Storage, StudyInfo, TrialTemplate, TrialUpdate
from hyperdial.storage.factory import get_storage
from hyperdial.storage.memory import MemoryStorage

if TYPE_CHECKING:
    from hyperdial.storage.sql import SQLStorage

__all__ = [
    "ArtifactStore",
    "LocalArtifactStore",
    "MemoryStorage",
    "SQLStorage",
    "Storage",
    "StudyInfo",
    "TrialTemplate",
    "TrialUpdate",
    "get_storage",
]


def __getattr__(name: str) -> object:
    # Imported lazily: SQLAlchemy takes a while to import and many runs never touch a database.
    if name == "SQLStorage":
        from hyperdial.storage.sql import SQLStorage

        return SQLStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
