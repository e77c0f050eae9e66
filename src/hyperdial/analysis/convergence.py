"""Is the study still improving? Advice on whether more trials are worth running."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hyperdial.analysis._data import MIN_TRIALS, load
from hyperdial.history import History
from hyperdial.study import Study

__all__ = ["ConvergenceAdvice", "convergence"]

_MORE = 0.25  # the advice looks this share of the trials run so far ahead
_TOLERANCE = 0.01  # gains below this share of the median-to-best spread are not worth it


@dataclass(frozen=True)
class ConvergenceAdvice:
    """Whether a study is still improving and whether to run more trials.

    Attributes:
        n_trials: Completed trials with a finite value.
        best_value: The best value so far, in the objective's units.
        trials_since_best: Completed trials run after the best one.
        improving: Whether the best value improved noticeably over the last quarter of trials.
        expected_gain: The improvement of the best value expected from 25% more trials
            (``>= 0``, in the objective's units, whatever its direction).
        advice: ``"continue"`` or ``"stop"``.
        reason: The numbers behind the advice, in a sentence or two.

    Example:
        >>> ConvergenceAdvice(40, 0.1, 30, False, 0.0, "stop", "No gain.").advice
        'stop'
    """

    n_trials: int
    best_value: float
    trials_since_best: int
    improving: bool
    expected_gain: float
    advice: str
    reason: str


def convergence(study: Study | History, *, objective: int = 0) -> ConvergenceAdvice:
    """Return whether the study still improves and whether 25% more trials are worth it.

    The estimate extrapolates the tail of the best-so-far curve (completed trials in order).
    With ``n`` trials and ``m = ceil(n / 4)``, let ``g1`` and ``g2`` be how much the best value
    improved over the ``m`` trials before the last ``m`` and over the last ``m``. Assuming the
    improvements per window shrink geometrically, the next ``m`` trials should gain
    ``g2 * min(1, g2 / g1)`` (``g2`` when ``g1 = 0``: the study just started improving again).
    The advice is to continue when that expected gain exceeds 1% of the spread between the
    median and the best value, the scale on which the study's values differ.

    Args:
        study: A :class:`~hyperdial.Study` or a :class:`~hyperdial.History`.
        objective: Index of the objective in a study with several.

    Raises:
        InvalidValueError: ``objective`` is not an objective index.
        NoCompletedTrialsError: fewer than 5 completed trials.

    Example:
        >>> import hyperdial
        >>> from hyperdial import Direction, FrozenTrial, History, TrialState
        >>> from hyperdial.analysis import convergence
        >>> flat = [0.5, 0.2, 0.9, 0.7] + [0.6] * 36
        >>> history = History((Direction.MINIMIZE,), tuple(
        ...     FrozenTrial(i, i, TrialState.COMPLETE, values=(v,)) for i, v in enumerate(flat)
        ... ))
        >>> advice = convergence(history)
        >>> advice.advice, advice.trials_since_best
        ('stop', 38)
    """
    data = load("convergence", study, objective, need=MIN_TRIALS)
    loss = data.sign * data.y  # lower is better, in completed order (by number)
    n = len(loss)
    curve = np.minimum.accumulate(loss)
    m = max(1, math.ceil(_MORE * n))
    best_at = int(np.argmin(loss))  # the first trial reaching the best value
    best = float(curve[-1])
    before = float(curve[n - 1 - m])
    earlier = float(curve[max(n - 1 - 2 * m, 0)])
    g2, g1 = before - best, earlier - before
    expected = g2 * min(1.0, g2 / g1) if g1 > 0 else g2
    spread = abs(float(np.median(loss)) - best)
    tolerance = _TOLERANCE * (spread if spread > 0 else max(abs(best), 1e-12))
    improving = g2 > tolerance
    advice = "continue" if expected > tolerance else "stop"
    since = n - 1 - best_at
    sign = data.sign
    shown = (sign * before, sign * best)
    if g2 > 0:
        recent = (
            f"The best value improved by {g2:.3g} over the last {m} trials "
            f"(from {shown[0]:.4g} to {shown[1]:.4g})"
        )
    else:
        recent = f"The best value ({shown[1]:.4g}) has not improved in the last {m} trials"
    worth = "above" if advice == "continue" else "not above"
    when = "is the latest" if since == 0 else f"came {since} trial{'s' if since > 1 else ''} ago"
    reason = (
        f"{recent}; the best trial {when}. At that pace another {m} trials "
        f"would improve it by about {expected:.3g}, {worth} the {tolerance:.3g} worth running "
        f"them for (1% of the spread between the median and the best value)."
    )
    return ConvergenceAdvice(
        n_trials=n,
        best_value=float(sign * best),
        trials_since_best=since,
        improving=bool(improving),
        expected_gain=float(expected),
        advice=advice,
        reason=reason,
    )
