"""Base of the LightGBM and XGBoost pruning callbacks: options, reports (private)."""

from __future__ import annotations

import numbers
from typing import ClassVar

from hyperdial.exceptions import InvalidValueError, TrialPruned
from hyperdial.trial import FixedTrial, Trial


class RoundReporter:
    """Check and keep a boosting callback's options; report its rounds to the trial.

    The frameworks differ in how a callback reads a round's evaluation results; once it has
    the values, reporting them is the same. A subclass names itself in ``_owner`` for error
    messages, calls ``super().__init__`` with its arguments (which also runs the framework
    base's ``__init__``, when it comes next), and hands each reported round to
    :meth:`_report_round`. Nothing here imports a framework.

    Args:
        trial: The trial to report to.
        metric: The name of the metric to report.
        valid_name: The name of the validation set, or ``None``.
        train_name: The name of the training set, or ``None``.
        report_every: Rounds between reports.

    Raises:
        TypeError: ``trial`` is not a :class:`~hyperdial.Trial` or
            :class:`~hyperdial.FixedTrial`.
        InvalidValueError: Another argument is invalid.

    Example:
        >>> import hyperdial
        >>> class Callback(RoundReporter):
        ...     _owner = "Callback"
        >>> callback = Callback(hyperdial.FixedTrial({}), "auc", None, "train", 1)
        >>> callback._report_round(3, "valid", 0.8, 0.9, True)
        >>> dict(callback.trial.intermediate), callback.trial.user_attrs
        ({3: 0.8}, {'train_score': 0.9, 'validation_score': 0.8})
        >>> Callback(hyperdial.FixedTrial({}), "auc", None, "train", 0)
        Traceback (most recent call last):
        ...
        hyperdial.exceptions.InvalidValueError: Callback: report_every must be an int >= 1; got 0.
    """

    _owner: ClassVar[str]  # the callback as errors name it, e.g. "lightgbm.PruningCallback"

    def __init__(
        self,
        trial: Trial | FixedTrial,
        metric: str,
        valid_name: str | None,
        train_name: str | None,
        report_every: int,
    ) -> None:
        super().__init__()
        owner = self._owner
        if not isinstance(trial, (Trial, FixedTrial)):
            raise TypeError(
                f"{owner}: trial must be a hyperdial Trial or FixedTrial; "
                f"got {type(trial).__name__}."
            )
        if not isinstance(metric, str) or not metric:
            raise InvalidValueError(f"{owner}: metric must be a non-empty str; got {metric!r}.")
        for name, value in (("valid_name", valid_name), ("train_name", train_name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidValueError(
                    f"{owner}: {name} must be a non-empty str or None; got {value!r}."
                )
        _check_report_every(owner, report_every)
        self.trial = trial
        self.metric = metric
        self.valid_name = valid_name
        self.train_name = train_name
        self.report_every = int(report_every)

    def _report_round(
        self,
        step: int,
        valid: str,
        value: float,
        train_value: float | None,
        higher_is_better: bool,
    ) -> None:
        """Report a boosting round's validation value; raise TrialPruned to stop.

        When the training set was evaluated too, its value and the validation value are kept
        as the user attributes ``train_score`` and ``validation_score`` (higher is better) or
        ``train_loss`` and ``validation_loss``, which :func:`hyperdial.analysis.diagnose` reads.

        Args:
            step: The boosting round, counted from 1.
            valid: The name of the validation set, for the message of the error.
            value: The metric on the validation set.
            train_value: The metric on the training set, or ``None`` when it was not evaluated.
            higher_is_better: Whether the metric is a score rather than a loss.

        Raises:
            TrialPruned: The study's scheduler stops the trial.
        """
        self.trial.report(value, step)
        if train_value is not None:
            kind = "score" if higher_is_better else "loss"
            self.trial.set_user_attr(f"train_{kind}", train_value)
            self.trial.set_user_attr(f"validation_{kind}", value)
        if self.trial.should_prune():
            raise TrialPruned(
                f"pruned after boosting round {step} ({self.metric} on {valid!r}: {value:.6g})"
            )


def _check_report_every(owner: str, value: object) -> None:
    """Raise ``InvalidValueError`` unless ``value`` (``report_every``) is an int >= 1.

    The value is typed ``object`` because to mypy an ``int`` is no ``numbers.Integral``: in
    ``__init__`` the check would make the code after it unreachable.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise InvalidValueError(f"{owner}: report_every must be an int >= 1; got {value!r}.")
