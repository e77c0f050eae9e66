"""Public conformance suites every sampler, scheduler and storage (ours, plugins') must pass.

Subclass a suite in a pytest module and provide its factory fixture::

    class TestMySampler(SamplerConformance):
        @pytest.fixture
        def make_sampler(self):
            return lambda seed=None: MySampler(seed=seed)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hyperdial.testing.sampler import SamplerConformance
    from hyperdial.testing.scheduler import SchedulerConformance
    from hyperdial.testing.storage import StorageConformance

__all__ = ["SamplerConformance", "SchedulerConformance", "StorageConformance"]


def __getattr__(name: str) -> object:
    # Imported lazily: the suites import pytest, which users only have when they test.
    if name == "SamplerConformance":
        from hyperdial.testing.sampler import SamplerConformance

        return SamplerConformance
    if name == "SchedulerConformance":
        from hyperdial.testing.scheduler import SchedulerConformance

        return SchedulerConformance
    if name == "StorageConformance":
        from hyperdial.testing.storage import StorageConformance

        return StorageConformance
    raise AttributeError(name)
