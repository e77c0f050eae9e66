"""Normal distributions truncated to an interval: log-masses, log-densities and sampling.

Every function is vectorised over broadcastable arrays and works in log space where the plain
formula would underflow, so a kernel far from a cell still gives a finite log-mass.

Example:
    >>> import numpy as np
    >>> float(np.exp(log_mass(np.array(-1.0), np.array(1.0))))  # doctest: +ELLIPSIS
    0.6826...
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["log_mass", "log_pdf", "sample"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
# Below this width (in standard deviations) a cell's mass is its midpoint density times its
# width: the difference of two CDF values would lose every significant digit.
_NARROW = 1e-6
# A CDF difference below this share of the larger CDF value is recomputed in log space.
_MIN_RELATIVE_MASS = 1e-7


def log_mass(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return ``log(Phi(b) - Phi(a))`` for ``a <= b``, the standard normal mass of ``[a, b]``.

    Accurate in both tails and for narrow intervals.

    Args:
        a: Lower ends, in standard deviations.
        b: Upper ends (broadcastable with ``a``).

    Returns:
        The log-masses, ``-inf`` only where ``a == b``.
    """
    from scipy.special import ndtr

    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    # Mirror intervals lying right of zero into the left tail, where the CDF keeps its digits.
    flip = a > 0.0
    lo = np.where(flip, -b, a)
    hi = np.where(flip, -a, b)
    cdf_hi = ndtr(hi)
    mass = cdf_hi - ndtr(lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.array(np.log(mass), dtype=float)
    # The difference keeps about 16 + log10(mass / cdf_hi) digits; redo the doubtful ones.
    slow = ~(mass > _MIN_RELATIVE_MASS * cdf_hi)
    if np.any(slow):
        out[slow] = _log_mass_tail(lo[slow], hi[slow])
    return out


def _log_mass_tail(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Return ``log(Phi(hi) - Phi(lo))`` in log space, for ``lo <= min(hi, 0)``."""
    from scipy.special import log_ndtr

    log_hi = log_ndtr(hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = log_hi + np.log1p(-np.exp(log_ndtr(lo) - log_hi))
    narrow = (hi - lo) < _NARROW
    if np.any(narrow):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore"):
            approx = -0.5 * mid * mid - _LOG_SQRT_2PI + np.log(hi - lo)
        out = np.where(narrow, approx, out)
    return np.asarray(out, dtype=float)


def log_pdf(
    x: np.ndarray, mu: np.ndarray, sigma: np.ndarray, low: float, high: float
) -> np.ndarray:
    """Return the log-density at ``x`` of N(``mu``, ``sigma``) truncated to ``[low, high]``.

    Points outside the interval get ``-inf``.
    """
    z = (x - mu) / sigma
    norm = log_mass((low - mu) / sigma, (high - mu) / sigma)
    out = -0.5 * z * z - _LOG_SQRT_2PI - np.log(sigma) - norm
    return np.where((x >= low) & (x <= high), out, -np.inf)


def sample(
    mu: np.ndarray, sigma: np.ndarray, low: float, high: float, u: np.ndarray
) -> np.ndarray:
    """Map uniforms ``u`` in ``[0, 1)`` to draws of N(``mu``, ``sigma``) truncated to the interval.

    Inverse-CDF sampling; ``mu`` should lie in ``[low, high]`` (kernels centred on
    observations do), which keeps both CDF values away from the tail where they round off.
    The result is clipped to the interval against rounding.
    """
    from scipy.special import ndtr, ndtri

    cdf_lo = ndtr((low - mu) / sigma)
    cdf_hi = ndtr((high - mu) / sigma)
    p = cdf_lo + u * (cdf_hi - cdf_lo)
    with np.errstate(over="ignore", invalid="ignore"):
        x = mu + sigma * ndtri(np.clip(p, 1e-300, 1.0 - 1e-16))
    out: np.ndarray = np.clip(
        np.nan_to_num(np.asarray(x, dtype=float), nan=0.5 * (low + high)), low, high
    )
    return out
