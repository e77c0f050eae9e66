"""Plain-language accounts of one trial and of what made the best trial best."""

from __future__ import annotations

import numpy as np

from hyperdial._types import Direction, ParamValue
from hyperdial.analysis._data import ABSENT, MIN_TRIALS, as_history, load
from hyperdial.analysis.effects import partial_dependence
from hyperdial.analysis.importance import importance_details
from hyperdial.distributions import to_unit
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.study import Study
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["explain_best", "explain_trial"]

_TOP_PARAMS = 3  # parameters explained by explain_best
_MIN_SHARE = 0.05  # ... when they explain at least this share
_GOOD = 0.25  # the good region: within this share of the curve's range from its best


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value) if isinstance(value, str) else str(value)


def _values(history: History, trial: FrozenTrial) -> str:
    assert trial.values is not None
    parts = [f"{_fmt(v)} ({d.value})" for v, d in zip(trial.values, history.directions)]
    if len(parts) == 1:
        text = f"value {parts[0]}"
        done = [t for t in history.completed if t.values is not None]
        sign = -1.0 if history.directions[0] is Direction.MAXIMIZE else 1.0
        rank = 1 + sum(sign * t.values[0] < sign * trial.values[0] for t in done)  # type: ignore[index]
        best = history.best
        text += f", ranked {rank} of {len(done)} completed trials"
        if best is not None and best.number != trial.number:
            text += f" (the best is {_fmt(best.values[0])}, trial {best.number})"  # type: ignore[index]
        return text
    return "values " + ", ".join(parts)


def _lineage(history: History, trial: FrozenTrial) -> str:
    steps = []
    seen = {trial.number}
    parent = trial.parent
    while parent is not None and parent not in seen:
        seen.add(parent)
        try:
            p = history.by_number(parent)
        except KeyError:
            steps.append(f"trial {parent}")
            break
        budget = f" (budget {_fmt(p.budget)})" if p.budget is not None else ""
        steps.append(f"trial {p.number}{budget}")
        parent = p.parent
    text = f"It ran with budget {_fmt(trial.budget)}" if trial.budget is not None else "It"
    if steps:
        text += (
            (" and" if trial.budget is not None else "") + " continued " + ", from ".join(steps)
        )
    return text + "." if text != "It" else ""


def _last_line(error: str) -> str:
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    return lines[-1] if lines else error


def explain_trial(study: Study | History, number: int) -> str:
    """Return what is known about one trial, in sentences a domain expert can check.

    Names its state and values (with its rank for one objective), its parameters, the
    sampler's reason for them, its budget and the trials it continued (promotions, PBT), a
    retry's origin, and for a PRUNED or FAILED trial the recorded reason or error.

    Raises:
        InvalidValueError: no trial has that number.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import explain_trial
        >>> study = hyperdial.create_study(seed=0)
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        >>> print(explain_trial(study, 0).splitlines()[0])
        Trial 0 is COMPLETE with value ...
    """
    owner = "explain_trial"
    history = as_history(owner, study)
    try:
        trial = history.by_number(number)
    except (KeyError, TypeError):
        raise InvalidValueError(
            f"{owner}: number must be the number of a trial of the study (0 to "
            f"{len(history.trials) - 1}); got {number!r}."
        ) from None
    lines = [f"Trial {trial.number} is {trial.state.name}"]
    if trial.state is TrialState.COMPLETE and trial.values is not None:
        lines[0] += f" with {_values(history, trial)}."
    elif trial.values is not None:
        shown = ", ".join(_fmt(v) for v in trial.values)
        lines[0] += f" with last reported value{'s' if len(trial.values) > 1 else ''} {shown}."
    else:
        lines[0] += "."
    if trial.params:
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in trial.params.items())
        lines.append(f"Parameters: {shown}.")
    if trial.reason:
        lines.append(f"Why these parameters: {trial.reason}")
    else:
        lines.append("The sampler recorded no reason for these parameters.")
    lineage = _lineage(history, trial)
    if lineage:
        lines.append(lineage)
    if "retry_of" in trial.user_attrs:
        lines.append(
            f"It retries trial {trial.user_attrs['retry_of']} "
            f"(attempt {trial.user_attrs.get('retry', '?')})."
        )
    if trial.state is TrialState.PRUNED:
        if trial.error:
            lines.append(f"It was stopped early: {trial.error.rstrip('.')}.")
        else:
            step = f" after step {trial.last_step}" if trial.last_step is not None else ""
            lines.append(f"It was stopped early{step}; no reason was recorded.")
    elif trial.state is TrialState.FAILED:
        error = trial.error or "no error was recorded"
        more = " (the full traceback is in the trial's error)" if "\n" in error.strip() else ""
        lines.append(f"It failed: {_last_line(error)}{more}.")
    if trial.duration_s is not None:
        lines.append(f"It ran for {trial.duration_s:.3g} s.")
    return "\n".join(lines)


def _region(
    values: list[ParamValue], loss: np.ndarray, is_good: np.ndarray, categorical: bool
) -> str:
    """Describe the good part of a partial-dependence curve."""
    if categorical:
        good = [_fmt(v) for v, g in zip(values, is_good) if g]
        return f"= {good[0]}" if len(good) == 1 else "in {" + ", ".join(good) + "}"
    i = lo = hi = int(np.argmin(loss))
    while lo > 0 and is_good[lo - 1]:
        lo -= 1
    while hi < len(values) - 1 and is_good[hi + 1]:
        hi += 1
    if lo == hi:
        return f"near {_fmt(values[i])}"
    return f"between {_fmt(values[lo])} and {_fmt(values[hi])}"


def explain_best(study: Study | History, *, objective: int = 0) -> str:
    """Return what made the best trial best, in sentences a domain expert can check.

    Compares the best value with the median and the runner-up, then, for the (up to three)
    parameters that explain at least 5% of the variance (fANOVA, see
    :func:`~hyperdial.analysis.importance`), says whether the best trial's value lies in the
    parameter's good region: where its partial dependence is within a quarter of the
    curve's range from its best.

    Raises:
        InvalidValueError: ``objective`` is not an objective index.
        NoCompletedTrialsError: fewer than 2 completed trials.

    Example:
        >>> import hyperdial
        >>> from hyperdial.analysis import explain_best
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(sampler=RandomSampler(), seed=0)
        >>> study.optimize(lambda t: (t.suggest_float("x", 0, 4) - 1) ** 2, n_trials=30)
        >>> print(explain_best(study).splitlines()[1])
        x = ... lies in its good region (...): the predicted value is best for x between ...
    """
    owner = "explain_best"
    history = as_history(owner, study)  # one snapshot for every step below
    data = load(owner, history, objective, need=2)
    loss = data.sign * data.y
    order = np.lexsort((np.arange(len(loss)), loss))
    best, runner = data.trials[order[0]], data.trials[order[1]]
    direction = data.direction.value
    if len(history.directions) > 1:
        direction = f"objective {objective}, {direction}"
    lines = [
        f"Trial {best.number} is the best of {len(loss)} completed trials with "
        f"{_fmt(float(data.y[order[0]]))} ({direction}); the median is "
        f"{_fmt(float(np.median(data.y)))} and the runner-up, trial {runner.number}, reached "
        f"{_fmt(float(data.y[order[1]]))}."
    ]
    if len(loss) < MIN_TRIALS or not data.names:
        lines.append(
            f"With fewer than {MIN_TRIALS} completed trials the parameters are not analysed."
        )
        return "\n".join(lines)
    ranked = importance_details(history, objective=objective)
    for item in ranked[:_TOP_PARAMS]:
        if item.share < _MIN_SHARE:
            break
        j = data.names.index(item.param)
        share = f"{item.share:.0%} of the explained variance"
        if data.x[order[0], j] == ABSENT:
            lines.append(f"{item.param} ({share}) is not used by this trial.")
            continue
        pd = partial_dependence(history, item.param, objective=objective, n_points=25)
        curve = data.sign * np.array(pd.mean)
        span = float(curve.max() - curve.min())
        is_good = curve <= curve.min() + _GOOD * span
        value = best.params[item.param]
        dist = data.dists[j]
        units = np.array([to_unit(dist, v) for v in pd.values])
        nearest = int(np.argmin(np.abs(units - to_unit(dist, value))))
        region = _region(pd.values, curve, is_good, pd.categorical)
        where = "lies in" if is_good[nearest] else "lies outside"
        best_pred = float(np.array(pd.mean)[int(np.argmin(curve))])
        lines.append(
            f"{item.param} = {_fmt(value)} {where} its good region ({share}): the "
            f"predicted value is best for {item.param} {region} ({_fmt(best_pred)} there, "
            f"{_fmt(pd.mean[nearest])} at {_fmt(value)})."
        )
    return "\n".join(lines)
