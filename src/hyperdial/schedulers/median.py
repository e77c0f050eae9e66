"""Stop a trial that falls behind a percentile of its peers at the same step."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from hyperdial._types import JSON
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers.base import Decision, Scheduler, sign, value_at
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["MedianPruner", "PercentilePruner"]


def _check_int(owner: str, name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidValueError(f"{owner}: {name} must be an int >= {low}; got {value!r}.")
    return int(value)


class PercentilePruner(Scheduler):
    """Prune a trial worse than a percentile of its peers at the same step.

    After a report at ``step`` the trial's value is compared with the values the other
    trials had once they had used ``step`` (:func:`~hyperdial.schedulers.value_at`: their
    first report at a step ``>= step``). Peers are every other trial that got that far,
    running or finished (COMPLETE, PRUNED or FAILED); peers whose value there is NaN are left
    out. The trial is pruned when its value is worse than the ``percentile``-th best of the
    peers' values (for minimisation, above ``numpy.percentile(peers, percentile)``), or when
    its value is NaN. ``percentile=25`` keeps about the best quarter at each step; 50 is the
    median rule of Google Vizier (Golovin et al. 2017, KDD, "Google Vizier: A Service for
    Black-Box Optimization").

    Nothing is pruned while fewer than ``n_startup_trials`` trials are COMPLETE, at steps
    below ``n_warmup_steps``, or when fewer than ``n_min_trials`` peers reached the step.
    With ``interval_steps > 1`` the trial is judged only at its first report in each run of
    ``interval_steps`` steps counted from ``n_warmup_steps``.

    One objective only: with several, :meth:`on_report` raises.

    Args:
        percentile: Between 0 and 100; a lower one prunes more.
        n_startup_trials: COMPLETE trials needed before anything is pruned.
        n_warmup_steps: Steps below this are never judged.
        interval_steps: Judge once per this many steps (>= 1).
        n_min_trials: Peers needed at a step to judge it (>= 1).

    Example:
        >>> from hyperdial import Direction
        >>> from hyperdial.history import History
        >>> from hyperdial.trial import FrozenTrial, TrialState
        >>> done = [
        ...     FrozenTrial(trial_id=i, number=i, state=TrialState.COMPLETE,
        ...                 intermediate={1: v}, values=(v,))
        ...     for i, v in enumerate([0.2, 0.4, 0.6])
        ... ]
        >>> bad = FrozenTrial(trial_id=3, number=3, state=TrialState.RUNNING,
        ...                   intermediate={1: 0.5})
        >>> history = History((Direction.MINIMIZE,), (*done, bad))
        >>> PercentilePruner(25.0, n_startup_trials=3).on_report(history, bad, 1, 0.5).prune
        True
    """

    _owner = "PercentilePruner"

    def __init__(
        self,
        percentile: float,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
    ) -> None:
        if (
            isinstance(percentile, bool)
            or not isinstance(percentile, numbers.Real)
            or not 0.0 <= float(percentile) <= 100.0
        ):
            raise InvalidValueError(
                f"{self._owner}: percentile must be a number in [0, 100]; got {percentile!r}."
            )
        self.percentile = float(percentile)
        self.n_startup_trials = _check_int(self._owner, "n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = _check_int(self._owner, "n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = _check_int(self._owner, "interval_steps", interval_steps, 1)
        self.n_min_trials = _check_int(self._owner, "n_min_trials", n_min_trials, 1)

    def on_report(
        self,
        history: History,
        trial: FrozenTrial,
        step: int,
        value: float | Sequence[float],
    ) -> Decision:
        """Return whether ``trial`` is worse than the percentile of its peers at ``step``.

        Raises:
            InvalidValueError: the study has more than one objective.
        """
        if history.n_objectives > 1:
            raise InvalidValueError(
                f"{self._owner} supports one objective; this study has "
                f"{history.n_objectives}. Use ASHA or Hyperband, which rank by Pareto front."
            )
        if step < self.n_warmup_steps:
            return Decision(False, f"step {step} is in the warm-up (< {self.n_warmup_steps})")
        if not self._first_in_interval(trial, step):
            return Decision(
                False, f"step {step} is not the first report of its {self.interval_steps} steps"
            )
        n_complete = len(history.completed)
        if n_complete < self.n_startup_trials:
            return Decision(
                False, f"{n_complete} of {self.n_startup_trials} startup trials complete"
            )
        own = value if isinstance(value, numbers.Real) else value_at(trial, step)
        if own is None or not isinstance(own, numbers.Real):
            return Decision(False, f"no value at step {step}")
        if math.isnan(own):
            return Decision.stop(f"pruned at step {step}: the value is NaN")
        s = sign(history.directions[0])
        peers = []
        for other in history.trials:
            if other.number == trial.number or other.state is TrialState.WAITING:
                continue
            v = value_at(other, step)
            if isinstance(v, numbers.Real) and not math.isnan(v):
                peers.append(s * float(v))
        if len(peers) < self.n_min_trials:
            return Decision(
                False,
                f"{len(peers)} other trials reached step {step}; {self.n_min_trials} needed",
            )
        threshold = float(np.percentile(peers, self.percentile))
        what = f"{self._name()} of {len(peers)} trials at step {step} is {s * threshold:.6g}"
        if s * float(own) > threshold:
            return Decision.stop(f"pruned at step {step}: {float(own):.6g} is worse; {what}")
        return Decision(False, f"continues at step {step}: {float(own):.6g}; {what}")

    def _name(self) -> str:
        return f"the {self.percentile:g}th percentile"

    def _first_in_interval(self, trial: FrozenTrial, step: int) -> bool:
        if self.interval_steps == 1:
            return True
        start = step - (step - self.n_warmup_steps) % self.interval_steps
        return not any(start <= s < step for s in trial.intermediate)

    def settings(self) -> dict[str, JSON]:
        """Return the class name and constructor arguments."""
        return {
            "class": type(self).__name__,
            "percentile": self.percentile,
            "n_startup_trials": self.n_startup_trials,
            "n_warmup_steps": self.n_warmup_steps,
            "interval_steps": self.interval_steps,
            "n_min_trials": self.n_min_trials,
        }


class MedianPruner(PercentilePruner):
    """Prune a trial worse than the median of its peers at the same step.

    :class:`PercentilePruner` with ``percentile=50``, the median stopping rule of Google
    Vizier (Golovin et al. 2017, KDD).

    Args:
        n_startup_trials: COMPLETE trials needed before anything is pruned.
        n_warmup_steps: Steps below this are never judged.
        interval_steps: Judge once per this many steps (>= 1).
        n_min_trials: Peers needed at a step to judge it (>= 1).

    Example:
        >>> MedianPruner(n_warmup_steps=2).settings()["percentile"]
        50.0
    """

    _owner = "MedianPruner"

    def __init__(
        self,
        *,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
    ) -> None:
        super().__init__(
            50.0,
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
            n_min_trials=n_min_trials,
        )

    def _name(self) -> str:
        return "the median"
