"""Find readable regions of the space where a verdict concentrates ("depth >= 8: 9 of 10")."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from hyperdial.analysis._data import ABSENT, Data
from hyperdial.distributions import Categorical, Int

_MAX_CUTS = 16  # thresholds tried per numeric parameter
_MIN_SUPPORT = 3  # trials a region must hold
_KEEP = 5  # best rules per parameter tried in conjunctions


@dataclass(frozen=True, eq=False)
class Rule:
    """A condition on one parameter and the trials that satisfy it."""

    param: str
    text: str
    mask: np.ndarray


def nice_between(a: float, b: float) -> float:
    """Return the number with the fewest significant digits in ``(a, b]``.

    Example:
        >>> nice_between(0.2487, 0.2531), nice_between(4, 7)
        (0.25, 5.0)
    """
    top = max(abs(a), abs(b))
    if top == 0 or a >= b:
        return float(b)
    for digits in range(1, 16):
        scale = 10.0 ** (math.floor(math.log10(top)) - digits + 1)
        x = (math.floor(a / scale) + 1) * scale
        if a < x <= b:
            return float(round(x, 12))
    return float(b)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _rules(data: Data, j: int, values: Sequence[object]) -> list[Rule]:
    name, dist = data.names[j], data.dists[j]
    present = data.x[:, j] != ABSENT
    out = []
    if isinstance(dist, Categorical):
        codes = np.where(present, np.floor(data.x[:, j] * len(dist.choices)), -1)
        seen = sorted({int(c) for c in codes if c >= 0})
        for c in seen:
            choice = _fmt(dist.choices[c])
            out.append(Rule(name, f"{name} == {choice}", codes == c))
            if len(seen) > 2:
                out.append(Rule(name, f"{name} != {choice}", present & (codes != c)))
        return out
    v = np.array([float(x) if p else np.nan for x, p in zip(values, present)])  # type: ignore[arg-type]
    distinct = np.unique(v[present])
    if distinct.size < 2:
        return out
    picks = np.unique(
        np.linspace(1, distinct.size - 1, min(_MAX_CUTS, distinct.size - 1)).astype(int)
    )
    for i in picks:
        below, above = distinct[i - 1], distinct[i]
        cut = float(above) if isinstance(dist, Int) else nice_between(float(below), float(above))
        shown = str(int(cut)) if isinstance(dist, Int) else _fmt(cut)
        with np.errstate(invalid="ignore"):
            out.append(Rule(name, f"{name} < {shown}", present & (v < cut)))
            out.append(Rule(name, f"{name} >= {shown}", present & (v >= cut)))
    return out


def _wilson(k: int, n: int) -> float:
    """Return the Wilson lower bound (one standard error) of the rate ``k / n``."""
    p = k / n
    z2 = 1.0
    centre = p + z2 / (2 * n)
    spread = math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - spread) / (1 + z2 / n)


def find_regions(
    data: Data, target: np.ndarray, params: list[str], label: str, limit: int = 3
) -> list[str]:
    """Return up to ``limit`` sentences naming regions rich in ``target`` trials.

    Rules are one-sided thresholds (or choices) on ``params`` and conjunctions of two of
    them, ranked by the Wilson lower bound of the share of ``target`` trials they hold; a rule
    must hold at least three trials, two of them targets, and beat the base rate.
    """
    n_target = int(target.sum())
    if n_target < 2:
        return []
    base = n_target / len(target)

    def score(mask: np.ndarray) -> float:
        n, k = int(mask.sum()), int((mask & target).sum())
        if n < _MIN_SUPPORT or k < 2:
            return -1.0
        return _wilson(k, n)

    best: dict[str, list[tuple[float, Rule]]] = {}
    for name in params:
        j = data.names.index(name)
        values = [t.params.get(name) for t in data.trials]
        scored = sorted(((score(r.mask), r) for r in _rules(data, j, values)), key=lambda s: -s[0])
        kept = [(s, r) for s, r in scored if s > base][:_KEEP]
        if kept:
            best[name] = kept
    found: list[tuple[float, str, np.ndarray]] = [
        (rules[0][0], rules[0][1].text, rules[0][1].mask) for rules in best.values()
    ]
    for a, b in combinations(best, 2):
        for sa, ra in best[a]:
            for sb, rb in best[b]:
                mask = ra.mask & rb.mask
                s = score(mask)
                if s > max(sa, sb):
                    found.append((s, f"{ra.text} and {rb.text}", mask))
    found.sort(key=lambda f: -f[0])
    out: list[str] = []
    used: list[np.ndarray] = []
    for _, text, mask in found:
        if any(np.array_equal(mask, m) for m in used):
            continue
        used.append(mask)
        k, n = int((mask & target).sum()), int(mask.sum())
        out.append(f"{text}: {k} of {n} trials {label}")
        if len(out) == limit:
            break
    return out
