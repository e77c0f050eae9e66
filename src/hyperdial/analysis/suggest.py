"""A narrower search space from what a study learned, for the next round of tuning."""

from __future__ import annotations

import json
import math

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.analysis._data import load
from hyperdial.distributions import Categorical, Distribution, Float, Int, from_unit, to_unit
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.space import SearchSpace
from hyperdial.study import Study

__all__ = ["suggest_space"]

_PAD = 0.15  # share of the top trials' range added on each side (unit cube)
_MIN_PAD = 0.05  # and at least this much of the original range


def _round_out(x: float, up: bool, digits: int = 3) -> float:
    """Return ``x`` rounded to ``digits`` significant digits, away from the inside."""
    if x == 0 or not math.isfinite(x):
        return x
    scale = 10.0 ** (math.floor(math.log10(abs(x))) - digits + 1)
    k = x / scale
    k = math.ceil(k - 1e-9) if up else math.floor(k + 1e-9)
    return float(round(k * scale, 12))


def _numeric(dist: Float | Int, values: list[float]) -> Float | Int:
    us = [to_unit(dist, v) for v in values]
    width = max(us) - min(us)
    pad = max(_PAD * width, _MIN_PAD)
    lo_u, hi_u = max(min(us) - pad, 0.0), min(max(us) + pad, 1.0)
    low, high = from_unit(dist, lo_u), from_unit(dist, hi_u)
    if isinstance(dist, Int):
        new: Float | Int = Int(int(low), int(high), log=dist.log, step=dist.step)  # type: ignore[arg-type]
    elif dist.step is not None:
        new = Float(float(low), float(high), step=dist.step)  # type: ignore[arg-type]
    else:
        lo = max(_round_out(float(low), up=False), dist.low)  # type: ignore[arg-type]
        hi = min(_round_out(float(high), up=True), dist.high)  # type: ignore[arg-type]
        lo, hi = min(lo, min(values)), max(hi, max(values))
        new = Float(lo, hi, log=dist.log)
    if dist.default is not None and new.contains(dist.default):
        return type(new)(new.low, new.high, log=new.log, step=new.step, default=dist.default)  # type: ignore[arg-type]
    return new


def _narrow(dist: Distribution, values: list[ParamValue]) -> Distribution:
    if isinstance(dist, Categorical):
        seen = {dist.index(v) for v in values}
        choices = [c for i, c in enumerate(dist.choices) if i in seen]
        kept = dist.default is not None and dist.index(dist.default) in seen
        return Categorical(choices, default=dist.default if kept else None)
    return _numeric(dist, [float(v) for v in values])  # type: ignore[arg-type]


def _hull(dists: list[Distribution]) -> list[Distribution]:
    """Return ``dists`` widened to one shared range, as an ordering constraint needs."""
    first = dists[0]
    if isinstance(first, Categorical):
        keep = {json.dumps(c) for d in dists for c in d.choices}  # type: ignore[union-attr]
        return [Categorical([c for c in first.choices if json.dumps(c) in keep])] * len(dists)
    numeric = [d for d in dists if not isinstance(d, Categorical)]
    low = min(d.low for d in numeric)
    high = max(d.high for d in numeric)
    out: list[Distribution] = []
    for d in numeric:
        default = d.default if d.default is not None and low <= d.default <= high else None
        if isinstance(d, Int):
            kept = None if default is None else int(default)
            out.append(Int(int(low), int(high), log=d.log, step=d.step, default=kept))
        else:
            out.append(Float(low, high, log=d.log, step=d.step, default=default))
    return out


def suggest_space(
    study: Study | History,
    *,
    objective: int = 0,
    quantile: float = 0.2,
    space: SearchSpace | None = None,
) -> SearchSpace:
    """Return a narrower search space around the best trials, for a follow-up study.

    For each numeric parameter, the range its values cover among the best ``quantile`` of
    the completed trials, padded by 15% of that range (at least 5% of the original) on each
    side in the unit cube (so on the log scale for log parameters), kept inside the original
    range, on its step grid and with its type; continuous bounds are rounded outward to three
    significant digits. Categoricals keep the choices seen among those trials. Defaults are kept
    when they still fall inside. A parameter no top trial used keeps its distribution.

    The original space's conditions and ordering constraints are kept when ``space`` is
    given; otherwise a parameter that only some trials have gets a condition inferred from
    the trials (``kernel == rbf``, ``n_layers >= 3``) when one earlier parameter explains it.

    Args:
        study: A :class:`~hyperdial.Study` or a :class:`~hyperdial.History`.
        objective: Index of the objective in a study with several.
        quantile: Share of the completed trials counted as best (at least two trials).
        space: The space the study searched, if known (its order, conditions and
            constraints are kept).

    Raises:
        InvalidValueError: an argument is invalid.
        NoCompletedTrialsError: fewer than 5 completed trials.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import suggest_space
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
        >>> study.optimize(lambda t: (t.suggest_float("x", 0, 10) - 2) ** 2, n_trials=50)
        >>> narrow = suggest_space(study)["x"]
        >>> 0 <= narrow.low < 2 < narrow.high < 5
        True
    """
    owner = "suggest_space"
    if (
        isinstance(quantile, bool)
        or not isinstance(quantile, (int, float))
        or not 0 < quantile <= 1
    ):
        raise InvalidValueError(f"{owner}: quantile must be a number in (0, 1]; got {quantile!r}.")
    if space is not None and not isinstance(space, SearchSpace):
        raise InvalidValueError(
            f"{owner}: space must be a SearchSpace or None; got {type(space).__name__}."
        )
    data = load(owner, study, objective)
    order = np.lexsort((np.arange(len(data.y)), data.sign * data.y))
    n_top = min(len(order), max(2, math.ceil(quantile * len(order))))
    top = [data.trials[i] for i in order[:n_top]]
    dists = dict(space) if space is not None else dict(zip(data.names, data.dists))
    params: dict[str, Distribution] = {}
    for name, dist in dists.items():
        values = [t.params[name] for t in top if name in t.params]
        values = [v for v in values if dist.contains(v)]
        params[name] = _narrow(dist, values) if values else dist
    if space is None:
        return SearchSpace(params, data.conditions)
    for constraint in space.constraints:
        names = list(constraint.names)
        for name, dist in zip(names, _hull([params[n] for n in names])):
            params[name] = dist
    return SearchSpace(params, dict(space.conditions), space.constraints)
