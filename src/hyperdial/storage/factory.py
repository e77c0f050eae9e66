"""Turn what users pass as ``storage=`` into a :class:`Storage`."""

from __future__ import annotations

from hyperdial.storage.base import Storage
from hyperdial.storage.memory import MemoryStorage

__all__ = ["get_storage"]


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
