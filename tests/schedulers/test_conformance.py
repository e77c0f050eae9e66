"""Every scheduler passes the public conformance suite."""

from __future__ import annotations

import pytest

from hyperdial.schedulers import NoScheduler
from hyperdial.testing import SchedulerConformance


class TestNoScheduler(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return NoScheduler
