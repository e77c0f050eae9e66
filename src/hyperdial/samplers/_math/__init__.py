"""Numerical kernels of the samplers: pure functions on NumPy arrays, each with unit tests."""
