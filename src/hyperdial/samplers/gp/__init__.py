"""Gaussian-process Bayesian optimisation: :class:`GPSampler`."""

from __future__ import annotations

from hyperdial.samplers.gp.sampler import GPSampler

__all__ = ["GPSampler"]
