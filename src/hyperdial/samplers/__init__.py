"""Samplers: algorithms that propose parameters from the history of a study."""

from __future__ import annotations

from hyperdial.samplers.base import Sampler, Suggestion, intersection_space

__all__ = ["Sampler", "Suggestion", "intersection_space"]
