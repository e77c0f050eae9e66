"""BOHB: Hyperband whose new configurations come from a model fitted at one fidelity."""

from __future__ import annotations

import dataclasses

from hyperdial._types import JSON
from hyperdial.history import History
from hyperdial.schedulers.base import value_at
from hyperdial.schedulers.hyperband import Hyperband
from hyperdial.trial import TrialState

__all__ = ["BOHB"]


class BOHB(Hyperband):
    """Hyperband with model-based configurations (Falkner, Klein and Hutter 2018, "BOHB:
    Robust and Efficient Hyperparameter Optimization at Scale", ICML, arXiv:1807.01774).

    Brackets and early stopping are :class:`Hyperband`'s (prune mode by default). What BOHB
    adds is the history the study's sampler learns from (:meth:`model_history`): every trial
    that reached the **largest resource level with enough observations** is shown with its
    value *at that level*, as if it had been trained to it and stopped; trials that stopped
    below it are left out. The sampler (TPE as in the paper, or a GP) then compares like with
    like: early on it learns from many cheap observations, later from fewer, more faithful
    ones. Pair it with a model-based sampler; with random search it is plain Hyperband. A
    sampler that models the resource itself (:class:`~hyperdial.samplers.gp.GPSampler`, and
    so the default :class:`~hyperdial.samplers.AutoSampler` when it runs its GP; see
    :meth:`~hyperdial.samplers.Sampler.models_resource`) learns from every trial at the
    resource it reached, and the study hands it the history unchanged instead.

    "Enough" is ``min_points`` observations, by default the number of parameters plus one
    (the paper's ``N_min = d + 1``), and at least ``reduction_factor``.

    Args:
        min_resource: The smallest resource (epochs, samples, seconds) a trial is judged at.
        max_resource: The resource a trial trains to.
        reduction_factor: ``eta``; a third survives each rung with the default 3.
        promote: Run the synchronous, lineage form of Hyperband instead of pruning.
        min_points: Observations a level needs to be modelled (default ``d + 1``).
        rank_by: ``"value"`` or ``"model"``: how a rung ranks its trials (see
            :class:`~hyperdial.schedulers.ASHA`).

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import TPESampler
        >>> study = hyperdial.create_study(
        ...     sampler=TPESampler(seed=0), scheduler=BOHB(min_resource=1, max_resource=9)
        ... )
        >>> def objective(trial):
        ...     x = trial.suggest_float("x", -2, 2)
        ...     for epoch in range(1, 10):
        ...         trial.report((x - 1) ** 2 + 1 / epoch, epoch)
        ...         if trial.should_prune():
        ...             raise hyperdial.TrialPruned()
        ...     return (x - 1) ** 2 + 1 / 9
        >>> study.optimize(objective, n_trials=30)
        >>> study.best_value < 0.5
        True
    """

    def __init__(
        self,
        *,
        min_resource: float = 1,
        max_resource: float = 81,
        reduction_factor: int = 3,
        promote: bool = False,
        min_points: int | None = None,
        rank_by: str = "value",
    ) -> None:
        super().__init__(
            min_resource=min_resource,
            max_resource=max_resource,
            reduction_factor=reduction_factor,
            promote=promote,
            rank_by=rank_by,
        )
        if min_points is not None and (
            isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 1
        ):
            from hyperdial.exceptions import InvalidValueError

            raise InvalidValueError(
                f"BOHB: min_points must be an int >= 1 or None; got {min_points!r}."
            )
        self.min_points = min_points
        levels = {r for b in self.brackets for _, r in b.rungs}
        #: The resource levels a model may be fitted at, largest first.
        self.levels: tuple[float, ...] = tuple(sorted(levels, reverse=True))

    def _needed(self, history: History) -> int:
        if self.min_points is not None:
            return self.min_points
        dims = max((len(t.distributions) for t in history.trials), default=0)
        return max(dims + 1, self.reduction_factor)

    def model_level(self, history: History) -> float | None:
        """Return the largest level with enough observations, or ``None`` if none has."""
        needed = self._needed(history)
        for level in self.levels:
            seen = 0
            for t in history.trials:
                if t.state is not TrialState.FAILED and value_at(t, level) is not None:
                    seen += 1
                    if seen >= needed:
                        return level
        return None

    def model_history(self, history: History) -> History:
        """Return the history at :meth:`model_level` (see the class docstring)."""
        level = self.model_level(history)
        if level is None:
            return history
        shown = []
        for t in history.trials:
            if not t.state.is_finished():
                shown.append(t)  # running trials stay pending points; waiting ones too
                continue
            if t.state is TrialState.FAILED:
                continue
            value = value_at(t, level)
            if value is None:
                continue
            values = value if isinstance(value, tuple) else (value,)
            shown.append(dataclasses.replace(t, state=TrialState.COMPLETE, values=values))
        return History(history.directions, shown)

    def settings(self) -> dict[str, JSON]:
        """Return the class name and constructor arguments."""
        return {**super().settings(), "min_points": self.min_points}
