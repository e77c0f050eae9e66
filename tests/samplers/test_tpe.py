from __future__ import annotations

import pytest

from hyperdial.samplers.tpe import TPESampler
from hyperdial.testing import SamplerConformance


class TestTPEConformance(SamplerConformance):
    @pytest.fixture
    def make_sampler(self):
        return lambda seed=None: TPESampler(seed=seed, n_startup_trials=3)
