from __future__ import annotations

import pytest

from hyperdial.storage import MemoryStorage
from hyperdial.testing.storage import StorageConformance


class TestMemoryStorage(StorageConformance):
    @pytest.fixture
    def make_storage(self):
        return MemoryStorage
