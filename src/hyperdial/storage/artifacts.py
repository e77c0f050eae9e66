"""Where trials keep large objects: checkpoints for promotions, exploits and resumed trials.

The database holds records; checkpoints (model weights, optimiser state) go to an
:class:`ArtifactStore`. The default, :class:`LocalArtifactStore`, writes one file per object under
a directory; workers on several machines share one by pointing it at a shared file system.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from hyperdial.exceptions import InvalidValueError, StorageError

__all__ = ["ArtifactStore", "LocalArtifactStore"]


class ArtifactStore(ABC):
    """Saves and loads Python objects by key (``"<study>/<trial number>/checkpoint"``).

    Implementations must make :meth:`save` atomic: a reader sees the old object or the new
    one, never a partial write, even when the writer dies.
    """

    @abstractmethod
    def save(self, key: str, obj: Any) -> None:
        """Store ``obj`` under ``key``, replacing what was there."""

    @abstractmethod
    def load(self, key: str) -> Any:
        """Return the object stored under ``key``; raise ``KeyError`` if there is none."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Return whether ``key`` holds an object."""

    def delete(self, key: str) -> None:  # noqa: B027 - optional
        """Remove ``key`` if present."""


class LocalArtifactStore(ArtifactStore):
    """Keep artifacts as pickle files under ``root`` (created on first save).

    Loading unpickles, which can run code: point it only at directories you trust.

    Args:
        root: The directory.

    Example:
        >>> import tempfile
        >>> store = LocalArtifactStore(tempfile.mkdtemp())
        >>> store.save("demo/0/checkpoint", {"epoch": 3})
        >>> store.load("demo/0/checkpoint"), store.exists("demo/1/checkpoint")
        ({'epoch': 3}, False)
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        if not isinstance(root, (str, os.PathLike)) or not str(root):
            raise InvalidValueError(
                f"LocalArtifactStore: root must be a directory path; got {root!r}."
            )
        self.root = Path(root).expanduser().resolve()
        if self.root.exists() and not self.root.is_dir():
            raise InvalidValueError(
                f"LocalArtifactStore: root must be a directory; {str(self.root)!r} is a file."
            )

    def __repr__(self) -> str:
        return f"LocalArtifactStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise InvalidValueError(f"LocalArtifactStore: invalid key {key!r}.")
        return self.root.joinpath(*parts).with_suffix(".pkl")

    def save(self, key: str, obj: Any) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pkl")
            try:
                with os.fdopen(fd, "wb") as handle:
                    pickle.dump(obj, handle, protocol=pickle.HIGHEST_PROTOCOL)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"LocalArtifactStore: cannot write {path}: {exc}") from exc

    def load(self, key: str) -> Any:
        path = self._path(key)
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)  # noqa: S301 - the user's own checkpoints
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)
