"""The explore step of population-based training: perturb or resample a configuration.

Numeric parameters are multiplied by a factor, as in the PBT paper (Jaderberg et al., 2017,
arXiv:1711.09846, section 4.1: "randomly perturbed by a factor of 0.8 or 1.2"), then clipped to
their distribution and made legal. Multiplying the value (not its position in the unit cube)
respects log scales by itself: ``x * 1.2`` is the same step ``log(1.2)`` wherever ``x`` lies on a
log axis, whereas a factor applied in the unit cube would depend on the range's bounds.

Example:
    >>> from hyperdial.distributions import Float, Int
    >>> perturb("lr", Float(1e-4, 1e-1, log=True), 0.01, 1.2)
    0.012
    >>> perturb("layers", Int(1, 8), 2, 1.2)  # 2.4 rounds back to 2, so one step up
    3
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.distributions import Categorical, Distribution, Float, Int, cast_param, from_unit

__all__ = ["explore", "perturb"]


def perturb(name: str, dist: Float | Int, value: ParamValue, factor: float) -> ParamValue:
    """Return ``value * factor`` clipped to ``dist`` and made legal.

    On a grid (integers, stepped floats) the product snaps to the nearest legal value; when that
    is the value itself although the product moved, the result moves one grid step the
    product's way, so that small integers (``2 * 1.2 = 2.4``) still change. A value at a bound
    stays there when the factor pushes it out, and a value of 0 is left as it is by any factor
    (only resampling moves it).

    Args:
        name: The parameter's name, for errors.
        dist: Its distribution.
        value: A legal value of ``dist``.
        factor: The multiplier.

    Raises:
        InvalidValueError: ``value`` is not a number of ``dist``.
    """
    x = float(cast_param(name, dist, value))  # type: ignore[arg-type]
    y = min(max(x * factor, dist.low), dist.high)
    if isinstance(dist, Int) or dist.step is not None:
        step = float(dist.step)  # type: ignore[arg-type]
        n_grid = dist.n_grid
        assert n_grid is not None  # a stepped Float has a grid
        k_old = round((x - dist.low) / step)
        k = round((y - dist.low) / step)
        if k == k_old and y != x:
            k += 1 if y > x else -1
        y = dist.low + min(max(k, 0), n_grid - 1) * step
    return cast_param(name, dist, y)


def explore(
    params: Mapping[str, ParamValue],
    distributions: Mapping[str, Distribution],
    rng: np.random.Generator,
    *,
    factors: Sequence[float],
    resample_probability: float,
    names: Collection[str] | None = None,
) -> tuple[dict[str, ParamValue], list[str]]:
    """Return an explored copy of ``params`` and a description of each change.

    Each parameter in ``names`` (all when ``None``) that has a distribution is, with
    probability ``resample_probability``, drawn afresh from its distribution (uniformly in its
    unit cube, so log-uniformly on a log scale); otherwise a numeric one is multiplied by a
    factor drawn uniformly from ``factors`` (see :func:`perturb`) and a categorical one is
    kept. The others are copied. Draws happen in the order of the sorted names, so the result
    depends on ``rng`` alone, not on the order in which a storage returns the parameters.

    Args:
        params: The donor's parameters.
        distributions: Their distributions.
        rng: The generator to draw from.
        factors: The multipliers to choose from.
        resample_probability: The chance of resampling a parameter.
        names: The parameters to explore; ``None`` for all of them.

    Example:
        >>> from hyperdial.distributions import Categorical, Float
        >>> new, changes = explore(
        ...     {"lr": 0.01, "optimizer": "sgd"},
        ...     {"lr": Float(1e-4, 1e-1, log=True), "optimizer": Categorical(["sgd", "adam"])},
        ...     np.random.default_rng(0), factors=(0.8, 1.2), resample_probability=0.0,
        ... )
        >>> new["optimizer"], changes
        ('sgd', ['lr x1.2 (0.01 -> 0.012)'])
    """
    out = dict(params)
    changes: list[str] = []
    for name in sorted(out):
        dist = distributions.get(name)
        if dist is None or (names is not None and name not in names):
            continue
        old = out[name]
        if rng.random() < resample_probability:
            new = cast_param(name, dist, from_unit(dist, float(rng.random())))
            changes.append(f"{name} resampled ({_show(old)} -> {_show(new)})")
        elif isinstance(dist, Categorical):
            continue
        else:
            factor = float(factors[int(rng.integers(len(factors)))])
            new = perturb(name, dist, old, factor)
            changes.append(f"{name} x{factor:g} ({_show(old)} -> {_show(new)})")
        out[name] = new
    return out, changes


def _show(value: ParamValue) -> str:
    """Return ``value`` short enough for a reason."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)
