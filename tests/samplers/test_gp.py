from __future__ import annotations

import pytest

from hyperdial.samplers.gp import GPSampler
from hyperdial.testing import SamplerConformance


class TestGPSampler(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: GPSampler(seed=seed, n_startup_trials=3)
