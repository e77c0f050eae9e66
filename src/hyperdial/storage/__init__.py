"""Storages: where studies and trials live (memory, SQLite, PostgreSQL, MySQL/MariaDB)."""

from __future__ import annotations

from hyperdial.storage.base import Storage, StudyInfo, TrialTemplate, TrialUpdate
from hyperdial.storage.memory import MemoryStorage

__all__ = ["MemoryStorage", "Storage", "StudyInfo", "TrialTemplate", "TrialUpdate"]
