"""Turn what users pass as ``storage=`` into a :class:`Storage`."""

from __future__ import annotations

from pathlib import Path

from hyperdial.storage.base import Storage
from hyperdial.storage.memory import MemoryStorage

__all__ = ["get_storage", "sqlite_file"]


def sqlite_file(url: str) -> Path | None:
    """Return the file a ``sqlite:///`` URL names, or ``None`` (another database, or memory).

    Example:
        >>> sqlite_file("sqlite:///studies/hd.db?timeout=5")
        PosixPath('studies/hd.db')
        >>> sqlite_file("sqlite:///file:/tmp/hd.db?mode=ro&uri=true")
        PosixPath('/tmp/hd.db')
        >>> sqlite_file("postgresql+psycopg://db/hd") is None
        True
    """
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///") :].split("?", 1)[0]
    if path.startswith("file:"):  # SQLite's URI form (``?uri=true``)
        path = path[len("file:") :]
    return None if path in ("", ":memory:") else Path(path)


def get_storage(storage: Storage | str | None) -> Storage:
    """Return the storage that ``storage`` names.

    Args:
        storage: ``None`` for a new in-memory storage, a database URL such as
            ``"sqlite:///hyperdial.db"`` for a :class:`~hyperdial.storage.SQLStorage`, or a
            :class:`Storage`, returned as is.

    Raises:
        TypeError: ``storage`` is none of these.
        StorageError: ``storage`` is a string but not a database URL.

    Example:
        >>> type(get_storage(None)).__name__
        'MemoryStorage'
        >>> get_storage("sqlite:///hyperdial.db")
        SQLStorage('sqlite:///hyperdial.db')
    """
    if storage is None:
        return MemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, str):
        from hyperdial.storage.sql import SQLStorage

        return SQLStorage(storage)
    raise TypeError(
        "storage must be a Storage, a database URL (str) or None; "
        f"got {type(storage).__name__}: {storage!r}."
    )
