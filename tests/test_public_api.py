from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "hyperdial",
    "hyperdial.samplers",
    "hyperdial.schedulers",
    "hyperdial.storage",
    "hyperdial.presets",
    "hyperdial.testing",
    "hyperdial.analysis",
    "hyperdial.plot",
    "hyperdial.report",
    "hyperdial.integrations",
    "hyperdial.reproduce",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_every_name_exists(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    for item in exported:
        assert getattr(module, item) is not None


def test_errors_share_one_base():
    import hyperdial.exceptions as exc

    for name in dir(exc):
        obj = getattr(exc, name)
        if isinstance(obj, type) and issubclass(obj, Exception) and obj.__module__ == exc.__name__:
            if obj.__name__ not in ("TrialPruned", "HyperdialWarning"):
                assert issubclass(obj, exc.HyperdialError), obj
