"""Acquisition functions for minimisation: log expected improvement and a confidence bound.

``log_ei`` is the numerically stable logarithm of expected improvement of Ament, Daulton,
Eriksson, Balandat and Bakshy (2023, "Unexpected Improvements to Expected Improvement for
Bayesian Optimization", arXiv:2310.20708, eq. 9): naive EI underflows to exactly zero a few
standard deviations away from the incumbent, which leaves the optimiser of the acquisition
without a gradient over most of the space; the log form stays finite and smooth for any ``z``.

All functions are pure functions of NumPy arrays, vectorised over candidates.

Example:
    >>> import numpy as np
    >>> value, _, _ = log_ei(np.array([0.0, 40.0]), np.array([1.0, 1.0]), 0.0)
    >>> bool(np.all(np.isfinite(value))), bool(value[0] > value[1])
    (True, True)
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import erfcx, log_ndtr, ndtr

__all__ = ["log_ei", "log_h", "lower_confidence_bound", "naive_ei"]

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
_INV_SQRT_EPS = 1.0 / math.sqrt(np.finfo(float).eps)


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """Return ``log(1 - exp(x))`` for ``x < 0`` accurately (Maechler, 2012)."""
    return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_h(z: np.ndarray) -> np.ndarray:
    """Return ``log(phi(z) + z Phi(z))``, the log of EI at unit standard deviation."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    big = z > -1.0
    zb = z[big]
    out[big] = np.log(np.exp(-0.5 * zb * zb - _C1) + zb * ndtr(zb))
    zs = z[~big]
    mid = zs > -_INV_SQRT_EPS
    res = np.empty_like(zs)
    zm = zs[mid]
    res[mid] = -0.5 * zm * zm - _C1 + _log1mexp(np.log(erfcx(-zm / math.sqrt(2.0)) * -zm) + _C2)
    zt = zs[~mid]
    res[~mid] = -0.5 * zt * zt - _C1 - 2.0 * np.log(-zt)
    out[~big] = res
    return out


def log_ei(
    mean: np.ndarray, std: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``log E[max(best - f, 0)]`` for ``f ~ N(mean, std^2)`` and its derivatives.

    Returns:
        ``(value, d value / d mean, d value / d std)``, each shaped like ``mean``.
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    z = (best - mean) / std
    lh = log_h(z)
    # d log h / dz = Phi(z) / h(z), formed in log space so that it stays finite.
    ratio = np.exp(log_ndtr(z) - lh)
    value = lh + np.log(std)
    d_mean = -ratio / std
    d_std = (1.0 - z * ratio) / std
    return value, d_mean, d_std


def naive_ei(mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
    """Return EI by the textbook formula (underflows far from the incumbent; for tests)."""
    z = (best - np.asarray(mean, dtype=float)) / std
    return std * (np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) + z * ndtr(z))


def lower_confidence_bound(
    mean: np.ndarray, std: np.ndarray, kappa: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``-(mean - kappa std)`` (to maximise) and its derivatives in mean and std.

    The GP-UCB rule of Srinivas, Krause, Kakade and Seeger (2010, "Gaussian Process
    Optimization in the Bandit Setting", arXiv:0912.3995), written for minimisation.
    """
    mean = np.asarray(mean, dtype=float)
    std = np.asarray(std, dtype=float)
    return -(mean - kappa * std), -np.ones_like(mean), kappa * np.ones_like(std)
