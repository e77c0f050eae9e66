"""Samplers: algorithms that propose parameters from the history of a study."""

from __future__ import annotations

from hyperdial.samplers.base import Sampler, Suggestion, intersection_space
from hyperdial.samplers.grid import GridSampler
from hyperdial.samplers.qmc import QMCSampler
from hyperdial.samplers.random import RandomSampler
from hyperdial.samplers.sequential import SequentialSampler

__all__ = [
    "GridSampler",
    "QMCSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Suggestion",
    "intersection_space",
]
