"""PED-ANOVA: importance as the Pearson divergence of the top trials' marginal densities.

Watanabe, Bansal & Hutter (2023), "PED-ANOVA: Efficiently Quantifying Hyperparameter
Importance in Arbitrary Subspaces", IJCAI, arXiv:2304.10255. The variance a parameter explains
within the top-``gamma`` set is proportional to the Pearson divergence between the parameter's
density among the top trials and its density among all trials, ``int p_top^2 / p_all - 1``.
Densities are one-dimensional Parzen estimators on the unit interval (Gaussian kernels with
Scott's bandwidth and one uniform prior observation; counts for categoricals), evaluated on the
parameter's cells, so no model is fitted and the cost is linear in the number of trials. A
conditional parameter is compared among the trials that have it, weighted by the share of the
top trials that have it.
"""

from __future__ import annotations

import math

import numpy as np

from hyperdial.analysis._data import ABSENT, Data
from hyperdial.distributions import Categorical, Distribution, Int

TOP_QUANTILE = 0.1
"""Share of trials forming the top set (at least two trials)."""

_GRID = 128  # cells of a continuous parameter
_MAX_CELLS = 256  # discrete parameters with more values are handled as continuous
_MIN_BANDWIDTH = 0.01


def _cells(dist: Distribution) -> tuple[np.ndarray, np.ndarray]:
    """Return the cell centres and widths of ``dist`` in the unit interval."""
    n = dist.n_grid
    if isinstance(dist, Int) and dist.log and dist.n_grid <= _MAX_CELLS:
        lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
        edges = (np.log(np.arange(dist.low, dist.high + 2) - 0.5) - lo) / (hi - lo)
        return (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    if n is None or n > _MAX_CELLS:
        n = _GRID
    return (np.arange(n) + 0.5) / n, np.full(n, 1.0 / n)


def _density(
    dist: Distribution, u: np.ndarray, centres: np.ndarray, widths: np.ndarray
) -> np.ndarray:
    """Return the probability of each cell given samples ``u`` (one uniform prior sample)."""
    k = len(u)
    if isinstance(dist, Categorical):
        cell = np.minimum((u * len(centres)).astype(int), len(centres) - 1)
        counts = np.bincount(cell, minlength=len(centres))
        return np.asarray((counts + widths) / (k + 1))
    if k == 0:
        return widths.copy()
    sd = float(np.std(u)) if k > 1 else 0.0
    h = max(1.06 * sd * k ** (-0.2), _MIN_BANDWIDTH, float(widths.max()) / 2)
    kernel = np.exp(-0.5 * ((centres[None, :] - u[:, None]) / h) ** 2) * widths[None, :]
    kernel /= kernel.sum(axis=1, keepdims=True)  # each kernel truncated to the unit interval
    return np.asarray((kernel.sum(axis=0) + widths) / (k + 1))


def divergences(data: Data, columns: list[int]) -> np.ndarray:
    """Return the Pearson divergence of the top set from all trials for each column."""
    loss = data.sign * data.y
    n = len(loss)
    n_top = min(n, max(2, math.ceil(TOP_QUANTILE * n)))
    top = np.argsort(loss, kind="stable")[:n_top]
    out = np.zeros(len(columns))
    for i, j in enumerate(columns):
        dist = data.dists[j]
        present = data.x[:, j] != ABSENT
        in_top = present[top]
        if not in_top.any():
            continue
        centres, widths = _cells(dist)
        p_all = _density(dist, data.x[present, j], centres, widths)
        p_top = _density(dist, data.x[top[in_top], j], centres, widths)
        divergence = max(float(np.sum(p_top**2 / p_all)) - 1.0, 0.0)
        # Whether a conditional parameter exists is decided by another parameter, which gets
        # the credit for it; its own values count in the share of the top trials using it.
        out[i] = float(in_top.mean()) * divergence
    return out
