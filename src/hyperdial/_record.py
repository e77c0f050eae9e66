"""What a study needs to be reproduced: environment, invocation and data fingerprints.

``create_study`` stores :func:`study_record` with every new study (study attribute
``"record"``); integrations that see the training data store :func:`data_fingerprint` under
``"data_fingerprint"`` through :func:`record_data`. Reports read both back.

Example:
    >>> import numpy as np
    >>> from hyperdial._record import data_fingerprint
    >>> first = data_fingerprint(np.arange(6).reshape(3, 2), np.array([0, 1, 0]))
    >>> first["shapes"]
    [[3, 2], [3]]
    >>> first == data_fingerprint(np.arange(6).reshape(3, 2), np.array([0, 1, 0]))
    True
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any, Protocol

import numpy as np

from hyperdial._types import JSON

RECORD_ATTR = "record"
DATA_ATTR = "data_fingerprint"

# Distribution names whose versions change results; the first installed name of each group
# is reported under the group's import name.
_PACKAGES: dict[str, tuple[str, ...]] = {
    "hyperdial": ("hyperdial",),
    "numpy": ("numpy",),
    "scipy": ("scipy",),
    "sqlalchemy": ("sqlalchemy", "SQLAlchemy"),
    "scikit-learn": ("scikit-learn",),
    "pandas": ("pandas",),
    "torch": ("torch",),
    "lightning": ("lightning", "pytorch-lightning"),
    "lightgbm": ("lightgbm",),
    "xgboost": ("xgboost", "xgboost-cpu"),
    "plotly": ("plotly",),
    "distributed": ("distributed",),
}


class _HasAttrs(Protocol):
    def set_user_attr(self, key: str, value: JSON) -> None: ...


def package_versions() -> dict[str, str]:
    """Return the installed versions of the packages that shape a study's results."""
    found: dict[str, str] = {}
    for label, names in _PACKAGES.items():
        for name in names:
            try:
                found[label] = metadata.version(name)
                break
            except metadata.PackageNotFoundError:
                continue
    return found


def _memory_bytes() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX
        return None


def environment() -> dict[str, JSON]:
    """Return Python, platform, hardware and package versions of this process."""
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpu_count": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "packages": dict(package_versions()),
    }


def _file_sha256(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def invocation() -> dict[str, JSON]:
    """Return how this process was started: its command line and the script's fingerprint."""
    argv = [str(a) for a in sys.argv]
    script = argv[0] if argv and os.path.isfile(argv[0]) else None
    return {
        "argv": list(argv),
        "cwd": os.getcwd(),
        "script": None if script is None else os.path.abspath(script),
        "script_sha256": None if script is None else _file_sha256(script),
    }


def study_record(settings: Mapping[str, JSON]) -> dict[str, JSON]:
    """Return the record kept with a new study: ``settings`` plus environment and invocation.

    Args:
        settings: What the study was created with (seed, sampler, scheduler, directions).
    """
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return {
        **dict(settings),
        "created_at": created,
        "environment": environment(),
        "invocation": invocation(),
    }


def _array_bytes(array: Any) -> tuple[bytes, list[int], str]:
    """Return the bytes, shape and dtype that identify one array-like (dense or sparse)."""
    if hasattr(array, "indptr") and hasattr(array, "indices") and hasattr(array, "data"):
        parts = [np.ascontiguousarray(getattr(array, k)).tobytes() for k in ("data", "indices")]
        parts.append(np.ascontiguousarray(array.indptr).tobytes())
        return b"".join(parts), [int(n) for n in array.shape], f"sparse:{array.dtype}"
    values = np.asarray(array)
    if values.dtype == object:
        text = "\x1f".join(repr(v) for v in values.ravel().tolist())
        return text.encode(), [int(n) for n in values.shape], "object"
    shape = [int(n) for n in values.shape]
    return np.ascontiguousarray(values).tobytes(), shape, str(values.dtype)


def data_fingerprint(*arrays: Any) -> dict[str, JSON]:
    """Return a SHA-256 fingerprint, shapes and dtypes of the given arrays (``X``, ``y``...).

    Dense arrays, pandas objects and SciPy sparse matrices are accepted; equal data gives an
    equal fingerprint, any changed value another.
    """
    digest = hashlib.sha256()
    shapes: list[JSON] = []
    dtypes: list[JSON] = []
    for array in arrays:
        if array is None:
            shapes.append(None)
            dtypes.append(None)
            digest.update(b"\x00none")
            continue
        raw, shape, dtype = _array_bytes(array)
        digest.update(f"{shape}|{dtype}|".encode())
        digest.update(raw)
        shapes.append(list(shape))
        dtypes.append(dtype)
    return {"sha256": digest.hexdigest(), "shapes": shapes, "dtypes": dtypes}


def record_data(study: _HasAttrs, *arrays: Any, source: str) -> dict[str, JSON]:
    """Store the fingerprint of ``arrays`` with ``study`` and return it.

    Args:
        study: The study the data was tuned on.
        *arrays: The training data (``X``, ``y``, groups...).
        source: Who saw the data, e.g. ``"HyperdialSearchCV.fit"``.
    """
    fingerprint = {**data_fingerprint(*arrays), "source": source}
    study.set_user_attr(DATA_ATTR, fingerprint)
    return fingerprint


OBJECTIVE_ATTR = "objective"


def objective_reference(objective: object) -> dict[str, JSON] | None:
    """Return where ``objective`` can be imported from again, or ``None`` if unknown.

    A function defined inside another (a closure) or a lambda is kept with ``importable``
    false: reproducing its study then needs the objective passed by hand.

    Example:
        >>> import math
        >>> objective_reference(math.fabs)["qualname"]
        'fabs'
    """
    target = getattr(objective, "__func__", objective)
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        target = type(objective)  # a callable object: its class, if it can be rebuilt
        module, qualname = target.__module__, target.__qualname__
        importable = False
    else:
        importable = "<locals>" not in qualname and "<lambda>" not in qualname
    source = sys.modules.get(module)
    path = getattr(source, "__file__", None)
    return {
        "module": module,
        "qualname": qualname,
        "file": None if path is None else os.path.abspath(path),
        "importable": importable,
    }
