from __future__ import annotations

import pytest

from hyperdial.samplers import RandomSampler
from hyperdial.testing import SamplerConformance


class TestRandomConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: RandomSampler(seed=seed)
