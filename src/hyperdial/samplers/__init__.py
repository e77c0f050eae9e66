"""Samplers: algorithms that propose parameters from the history of a study.

The model-based samplers (``AutoSampler``, ``CmaEsSampler``, ``GPSampler``, ``TPESampler``)
are imported on first use, so ``import hyperdial`` stays quick.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from hyperdial.samplers.base import Sampler, Suggestion, intersection_space
from hyperdial.samplers.grid import GridSampler
from hyperdial.samplers.qmc import QMCSampler
from hyperdial.samplers.random import RandomSampler
from hyperdial.samplers.sequential import SequentialSampler

if TYPE_CHECKING:
    from hyperdial.samplers.auto import AutoSampler
    from hyperdial.samplers.cmaes import CmaEsSampler
    from hyperdial.samplers.gp import GPSampler
    from hyperdial.samplers.tpe import TPEConfig, TPESampler

__all__ = [
    "AutoSampler",
    "CmaEsSampler",
    "GPSampler",
    "GridSampler",
    "QMCSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Suggestion",
    "TPEConfig",
    "TPESampler",
    "intersection_space",
]

_LAZY = {
    "AutoSampler": "hyperdial.samplers.auto",
    "CmaEsSampler": "hyperdial.samplers.cmaes",
    "GPSampler": "hyperdial.samplers.gp",
    "TPEConfig": "hyperdial.samplers.tpe",
    "TPESampler": "hyperdial.samplers.tpe",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hyperdial.samplers' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
