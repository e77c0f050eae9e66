"""A rank-preserving output warp for the GP sampler: robust scaling plus Yeo-Johnson."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

__all__ = ["OutputWarp"]

_LAMBDA_BOUNDS = (0.5, 2.0)


@dataclass(frozen=True)
class OutputWarp:
    """A rank-preserving map of objective values to roughly standard normal ones.

    Values are centred on their median and scaled by their interquartile range (robust to
    outliers), passed through the Yeo-Johnson power transform with the maximum-likelihood
    exponent (Yeo and Johnson, 2000, Biometrika 87(4)), then standardised. Heavy tails, such as
    a few diverged runs or a loss spanning orders of magnitude, are pulled in, so they neither
    flatten the rest of the surface nor inflate the fitted noise; small exponents act like a
    log. The map is strictly increasing, so the order of trials is kept and the incumbent is
    the same trial before and after.

    Example:
        >>> import numpy as np
        >>> y = np.array([0.1, 0.2, 0.3, 50.0])
        >>> warp = OutputWarp.fit(y)
        >>> bool(np.allclose(warp.inverse(warp.transform(y)), y))
        True
    """

    center: float
    scale: float
    lam: float
    mean: float
    std: float

    @classmethod
    def fit(cls, y: np.ndarray, *, power: bool = True) -> OutputWarp:
        """Fit the warp to ``y`` (without ``power``, only standardise)."""
        y = np.asarray(y, dtype=float)
        center = float(np.median(y)) if len(y) else 0.0
        q75, q25 = np.percentile(y, [75, 25]) if len(y) else (1.0, 0.0)
        scale = float(q75 - q25) / 1.349
        if not scale > 1e-12 * max(1.0, abs(center)):
            scale = float(np.std(y)) if len(y) else 1.0
        if not scale > 1e-12 * max(1.0, abs(center)):
            scale = 1.0
        z = (y - center) / scale
        lam = 1.0
        if power and len(y) >= 3 and np.ptp(z) > 0:
            lam = _yeo_johnson_lambda(z)
        t = _yeo_johnson(z, lam)
        mean = float(np.mean(t)) if len(t) else 0.0
        std = float(np.std(t)) if len(t) else 1.0
        return cls(center, scale, lam, mean, std if std > 1e-12 else 1.0)

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Map objective values to the model's scale."""
        z = (np.asarray(y, dtype=float) - self.center) / self.scale
        return (_yeo_johnson(z, self.lam) - self.mean) / self.std

    def inverse(self, t: np.ndarray) -> np.ndarray:
        """Map model-scale values back to objective values."""
        z = _yeo_johnson_inverse(np.asarray(t, dtype=float) * self.std + self.mean, self.lam)
        return z * self.scale + self.center


def _yeo_johnson(z: np.ndarray, lam: float) -> np.ndarray:
    out = np.empty_like(z)
    pos = z >= 0
    if abs(lam) < 1e-8:
        out[pos] = np.log1p(z[pos])
    else:
        out[pos] = np.expm1(lam * np.log1p(z[pos])) / lam
    if abs(lam - 2.0) < 1e-8:
        out[~pos] = -np.log1p(-z[~pos])
    else:
        out[~pos] = -np.expm1((2.0 - lam) * np.log1p(-z[~pos])) / (2.0 - lam)
    return out


def _yeo_johnson_inverse(t: np.ndarray, lam: float) -> np.ndarray:
    out = np.empty_like(t)
    pos = t >= 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if abs(lam) < 1e-8:
            out[pos] = np.expm1(t[pos])
        else:
            base = np.maximum(1.0 + lam * t[pos], 1e-300)
            out[pos] = np.expm1(np.log(base) / lam)
        if abs(lam - 2.0) < 1e-8:
            out[~pos] = -np.expm1(-t[~pos])
        else:
            base = np.maximum(1.0 - (2.0 - lam) * t[~pos], 1e-300)
            out[~pos] = -np.expm1(np.log(base) / (2.0 - lam))
    return np.nan_to_num(out, nan=0.0, posinf=1e300, neginf=-1e300)


def _yeo_johnson_lambda(z: np.ndarray) -> float:
    """Return the maximum-likelihood Yeo-Johnson exponent in ``[0.5, 2]``.

    The bounds keep the warp from stretching either tail by more than a power of 1.5 or
    squashing it by more than a log: a stronger stretch of the good tail makes the best point
    look like a deep isolated well and the search sticks to it.
    """
    n = len(z)
    slog = float(np.sum(np.sign(z) * np.log1p(np.abs(z))))

    def nll(lam: float) -> float:
        t = _yeo_johnson(z, lam)
        var = float(np.var(t))
        if not var > 0 or not math.isfinite(var):
            return math.inf
        return 0.5 * n * math.log(var) - (lam - 1.0) * slog

    result = scipy.optimize.minimize_scalar(nll, bounds=_LAMBDA_BOUNDS, method="bounded")
    lam = float(result.x)
    return lam if math.isfinite(lam) and nll(lam) <= nll(1.0) else 1.0
