"""Bias-variance diagnostics: which trials over-fit or under-fit, and which parameters drive it."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from hyperdial.analysis._data import MIN_TRIALS, as_history, from_trials
from hyperdial.analysis._fanova import main_shares
from hyperdial.analysis._forest import fitted
from hyperdial.analysis._regions import find_regions
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.study import Study
from hyperdial.trial import FrozenTrial

__all__ = ["Diagnosis", "TrialDiagnosis", "diagnose"]

_PAIRS = (("train_score", "validation_score", True), ("train_loss", "validation_loss", False))
_FLOOR = 0.02  # smallest gap called over-fitting, relative to the metric's typical size
_DRIVER_MIN = 0.05  # drivers with a smaller share are not searched for regions


@dataclass(frozen=True)
class TrialDiagnosis:
    """The verdict on one trial.

    Attributes:
        number: The trial's number.
        train: Its training score or loss.
        validation: Its validation score or loss.
        gap: How much worse validation is than training (positive: worse).
        verdict: ``"overfit"``, ``"underfit"`` or ``"ok"``.

    Example:
        >>> TrialDiagnosis(3, 1.0, 0.7, 0.3, "overfit").verdict
        'overfit'
    """

    number: int
    train: float
    validation: float
    gap: float
    verdict: str


@dataclass(frozen=True)
class Diagnosis:
    """Bias-variance diagnostics of a study.

    Attributes:
        trials: One :class:`TrialDiagnosis` per trial that recorded both metrics, by number.
        drivers: Each parameter's share of the variance of the gap (fANOVA), largest first.
        regions: Sentences naming regions of the space where trials over- or under-fit.
        summary: A short account in plain words.
        threshold: The gap above which a trial over-fits.
        higher_is_better: ``True`` for scores, ``False`` for losses.

    Example:
        >>> Diagnosis([], {}, [], "nothing recorded").summary
        'nothing recorded'
    """

    trials: list[TrialDiagnosis]
    drivers: dict[str, float]
    regions: list[str]
    summary: str
    threshold: float = 0.0
    higher_is_better: bool = True


def _metric(trial: FrozenTrial, key: str) -> float | None:
    value = trial.user_attrs.get(key)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _recorded(done: tuple[FrozenTrial, ...]) -> tuple[list[tuple[FrozenTrial, float, float]], int]:
    """Return the trials with the best-covered pair of metrics, and that pair's index."""
    found: list[list[tuple[FrozenTrial, float, float]]] = []
    for train_key, valid_key, _ in _PAIRS:
        rows = []
        for t in done:
            train, valid = _metric(t, train_key), _metric(t, valid_key)
            if train is not None and valid is not None:
                rows.append((t, train, valid))
        found.append(rows)
    pick = 0 if len(found[0]) >= len(found[1]) else 1
    return found[pick], pick


def _threshold(gap: np.ndarray, train: np.ndarray, valid: np.ndarray) -> float:
    median = float(np.median(gap))
    mad = float(np.median(np.abs(gap - median)))
    scale = max(abs(float(np.median(train))), abs(float(np.median(valid))))
    floor = _FLOOR * scale if scale > 0 else 1e-12
    return max(floor, median + 2.0 * mad)


def diagnose(
    study: Study | History,
    *,
    gap_threshold: float | None = None,
    underfit_quantile: float = 0.25,
) -> Diagnosis:
    """Return which trials over-fit or under-fit, and the parameters that drive the gap.

    Each trial records its training and validation performance as user attributes, either
    ``train_score`` and ``validation_score`` (higher is better, scikit-learn's convention) or
    ``train_loss`` and ``validation_loss`` (lower is better). The gap is how much worse
    validation is than training. A trial over-fits when its gap exceeds ``gap_threshold``,
    by default ``median + 2 * MAD`` of the study's gaps (the trials whose gap stands out) and at
    least 2% of the metric's typical magnitude (when most trials over-fit alike, nothing stands
    out: pass a threshold in the metric's units); it under-fits when both its training and its
    validation performance are among the worst ``underfit_quantile`` of the trials.

    The drivers are the fANOVA importance (Hutter, Hoos & Leyton-Brown, 2014, ICML) of the
    parameters for the gap; the regions are one- and two-condition rules on the strongest
    drivers where over-fitting trials concentrate (and on any parameter for under-fitting).

    Args:
        study: A :class:`~hyperdial.Study` or a :class:`~hyperdial.History`.
        gap_threshold: The gap above which a trial over-fits (in the metric's units).
        underfit_quantile: Share of the worst trials in which both metrics must lie.

    Raises:
        InvalidValueError: no COMPLETE trial recorded the metrics, or an invalid argument.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import diagnose
        >>> from hyperdial.samplers import RandomSampler
        >>> def objective(t):
        ...     depth = t.suggest_int("depth", 1, 12)
        ...     valid = 0.9 - 0.05 * max(depth - 8, 0)
        ...     t.set_user_attr("train_score", 1.0)
        ...     t.set_user_attr("validation_score", valid)
        ...     return valid
        >>> study = hyperdial.create_study(direction="maximize", sampler=RandomSampler(), seed=0)
        >>> study.optimize(objective, n_trials=30)
        >>> found = diagnose(study)
        >>> list(found.drivers)[0], found.regions[0].startswith("depth >= ")
        ('depth', True)
    """
    owner = "diagnose"
    if gap_threshold is not None and (
        isinstance(gap_threshold, bool)
        or not isinstance(gap_threshold, numbers.Real)
        or not math.isfinite(gap_threshold)
    ):
        raise InvalidValueError(
            f"{owner}: gap_threshold must be a finite number or None; got {gap_threshold!r}."
        )
    if (
        isinstance(underfit_quantile, bool)
        or not isinstance(underfit_quantile, numbers.Real)
        or not 0 < underfit_quantile < 1
    ):
        raise InvalidValueError(
            f"{owner}: underfit_quantile must be a number in (0, 1); got {underfit_quantile!r}."
        )
    history = as_history(owner, study)
    rows, pick = _recorded(history.completed)
    if not rows:
        raise InvalidValueError(
            f"{owner}: no COMPLETE trial recorded its training and validation performance; "
            "record them in the objective with trial.set_user_attr('train_score', ...) and "
            "trial.set_user_attr('validation_score', ...) (higher is better), or "
            "'train_loss' and 'validation_loss' (lower is better)."
        )
    train_key, valid_key, higher = _PAIRS[pick]
    rows.sort(key=lambda r: r[0].number)
    trials = [r[0] for r in rows]
    train = np.array([r[1] for r in rows])
    valid = np.array([r[2] for r in rows])
    gap = train - valid if higher else valid - train
    threshold = (
        float(gap_threshold) if gap_threshold is not None else _threshold(gap, train, valid)
    )
    q = float(underfit_quantile)
    if higher:
        under = (train <= np.quantile(train, q)) & (valid <= np.quantile(valid, q))
    else:
        under = (train >= np.quantile(train, 1 - q)) & (valid >= np.quantile(valid, 1 - q))
    over = gap > threshold
    under &= ~over
    verdicts = np.where(over, "overfit", np.where(under, "underfit", "ok"))
    out = [
        TrialDiagnosis(t.number, float(a), float(b), float(g), str(v))
        for t, a, b, g, v in zip(trials, train, valid, gap, verdicts)
    ]
    drivers: dict[str, float] = {}
    regions: list[str] = []
    data = from_trials(trials, gap)
    if len(trials) >= MIN_TRIALS and data.names:
        forest = fitted(owner, data, 0)
        share, _ = main_shares(forest, list(range(len(data.names))))
        ranked = sorted(zip(data.names, share), key=lambda p: (-p[1], p[0]))
        drivers = {name: float(s) for name, s in ranked}
        strong = [name for name, s in ranked if s >= _DRIVER_MIN][:3]
        regions = find_regions(data, over, strong, "over-fit")
        regions += find_regions(data, under, list(data.names), "under-fit", limit=1)
    summary = _summary(out, drivers, threshold, train_key, valid_key)
    return Diagnosis(out, drivers, regions, summary, threshold, higher)


def _summary(
    trials: list[TrialDiagnosis],
    drivers: dict[str, float],
    threshold: float,
    train_key: str,
    valid_key: str,
) -> str:
    n = len(trials)
    n_over = sum(t.verdict == "overfit" for t in trials)
    n_under = sum(t.verdict == "underfit" for t in trials)
    text = (
        f"{n_over} of {n} trials over-fit (the gap between {train_key} and {valid_key} "
        f"exceeds {threshold:.3g}), {n_under} under-fit and {n - n_over - n_under} look fine."
    )
    if drivers:
        name, share = next(iter(drivers.items()))
        if share > 0:
            text += f" The gap depends most on {name} ({share:.0%} of its explained variance)."
    return text
