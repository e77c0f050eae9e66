"""Stop XGBoost trainings that fall behind: a callback reporting every boosting round.

Works with ``xgboost.train``, ``xgboost.cv`` and the scikit-learn estimators
(``XGBClassifier(callbacks=[...])``). Needs ``pip install 'hyperdial[xgboost]'``, which installs
the CPU build ``xgboost-cpu`` (the plain ``xgboost`` wheel also pulls a large CUDA library).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from hyperdial.exceptions import InvalidValueError, missing
from hyperdial.integrations._boosting import RoundReporter
from hyperdial.trial import FixedTrial, Trial

if TYPE_CHECKING:
    from xgboost.callback import TrainingCallback as _Callback
else:
    try:
        from xgboost.callback import TrainingCallback as _Callback
    except ImportError:  # the module still imports; building the callback names the extra
        _Callback = object

__all__ = ["PruningCallback"]

_OWNER = "xgboost.PruningCallback"

# XGBoost's metrics for which higher is better (ranking, AUC, interval accuracy), and the usual
# names of custom ones; "ndcg@5" and "map-" are matched by what comes before "@" and "-".
_SCORES = frozenset(
    {
        "auc",
        "aucpr",
        "map",
        "ndcg",
        "pre",
        "interval-regression-accuracy",
        "accuracy",
        "average_precision",
        "balanced_accuracy",
        "f1",
        "precision",
        "r2",
        "recall",
    }
)


class PruningCallback(RoundReporter, _Callback):
    """Report an XGBoost validation metric to a trial each round; stop the trial when pruned.

    After boosting round ``step`` (1, 2, ...; a model continued from ``xgb_model`` counts the
    rounds it already had) the latest value of ``metric`` on the validation set is passed to
    ``trial.report(value, step)``, so it equals ``evals_result[valid_name][metric][step - 1]``
    for a model trained from scratch. Then, when ``trial.should_prune()`` says so, the callback
    raises :class:`hyperdial.TrialPruned`: it leaves ``xgboost.train`` or ``fit`` and the
    study records the trial PRUNED.

    The raw value is reported whether lower (``rmse``, ``logloss``) or higher (``auc``) is
    better; the study's direction must match the metric. Under ``xgboost.cv`` the mean over
    the folds is reported.

    When the data set named ``train_name`` is evaluated too, the metric on both is kept as
    user attributes, to tell underfitting from overfitting: ``train_score`` and
    ``validation_score`` when higher is better, ``train_loss`` and ``validation_loss``
    otherwise. XGBoost does not say which, so the metric's name decides: ``auc``, ``aucpr``,
    ``map``, ``ndcg``, ``pre`` (also with ``@k`` or a trailing ``-``),
    ``interval-regression-accuracy`` and the custom names ``accuracy``,
    ``average_precision``, ``balanced_accuracy``, ``f1``, ``precision``, ``r2`` and ``recall``
    are scores; any other name is a loss. They hold the values of the latest reported round;
    :func:`hyperdial.analysis.diagnose` reads them.

    The scikit-learn estimators clone their parameters (``sklearn.base.clone``, e.g. in
    ``cross_val_score``): a copy of this callback reports to the same trial.

    Args:
        trial: The trial to report to (a :class:`~hyperdial.FixedTrial` never prunes).
        metric: A metric name as XGBoost prints it, e.g. ``"rmse"``, ``"logloss"``,
            ``"error@0.3"``, ``"ndcg@5"``.
        valid_name: The evaluated data set to report: a name from ``evals``
            (``xgboost.train``), ``"validation_1"`` for the second item of ``eval_set``
            (``fit``), ``"test"`` under ``cv``. ``None`` takes the last one, as XGBoost's
            early stopping does.
        train_name: The name of the training data among the evaluated sets: ``"train"``
            (``xgboost.train`` by custom, and ``cv``), ``"validation_0"`` when ``fit`` gets
            ``eval_set=[(X_train, y_train), (X_valid, y_valid)]``.
        report_every: Report (and ask whether to prune) every this many rounds only.

    Raises:
        MissingDependencyError: XGBoost is not installed.

    Example:
        >>> import numpy as np
        >>> import xgboost as xgb
        >>> import hyperdial
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3))
        >>> y = X[:, 0] + 0.1 * rng.normal(size=200)
        >>> train, valid = xgb.DMatrix(X[:150], y[:150]), xgb.DMatrix(X[150:], y[150:])
        >>> def objective(trial):
        ...     params = {"eta": trial.suggest_float("eta", 0.05, 0.5), "nthread": 1}
        ...     log = {}
        ...     xgb.train(params, train, num_boost_round=10, evals=[(train, "train"),
        ...               (valid, "valid")], evals_result=log, verbose_eval=False,
        ...               callbacks=[PruningCallback(trial, "rmse")])
        ...     return log["valid"]["rmse"][-1]
        >>> study = hyperdial.create_study(direction="minimize", seed=0)
        >>> study.optimize(objective, n_trials=2)
        >>> trial = study.trials[0]
        >>> sorted(trial.intermediate)[-1], trial.intermediate[10] == trial.value
        (10, True)
        >>> sorted(trial.user_attrs)  # "train" is among the evals
        ['train_loss', 'validation_loss']
    """

    _owner = _OWNER

    def __init__(
        self,
        trial: Trial | FixedTrial,
        metric: str,
        *,
        valid_name: str | None = None,
        train_name: str | None = "train",
        report_every: int = 1,
    ) -> None:
        if _Callback is object:
            raise missing("xgboost", _OWNER, "XGBoost (the xgboost-cpu package)")
        super().__init__(trial, metric, valid_name, train_name, report_every)

    def __deepcopy__(self, memo: dict[int, object]) -> PruningCallback:
        # A trial handle is not a value: a copy (sklearn's clone) reports to the same trial.
        copied = PruningCallback(
            self.trial,
            self.metric,
            valid_name=self.valid_name,
            train_name=self.train_name,
            report_every=self.report_every,
        )
        memo[id(self)] = copied
        return copied

    def after_iteration(
        self,
        model: object,
        epoch: int,
        evals_log: Mapping[str, Mapping[str, Sequence[float | tuple[float, float]]]],
    ) -> bool:
        """Report this round's value; raise :class:`~hyperdial.TrialPruned` to stop.

        Returns:
            ``False``: training goes on unless the trial is pruned.

        Raises:
            InvalidValueError: nothing is evaluated, or ``valid_name`` or ``metric`` is not
                among the evaluation results (the message lists those that are).
            TrialPruned: the study's scheduler stops the trial.
        """
        rounds = getattr(model, "num_boosted_rounds", None)
        step = int(rounds()) if callable(rounds) else epoch + 1
        if step % self.report_every:
            return False
        valid = self._valid_set(list(evals_log))
        value = self._value(evals_log, valid)
        train = self.train_name
        train_value = None
        if train is not None and train in evals_log and train != valid:
            train_value = self._value(evals_log, train)
        self._report_round(step, valid, value, train_value, _is_score(self.metric))
        return False

    def _valid_set(self, evaluated: Sequence[str]) -> str:
        if not evaluated:
            raise InvalidValueError(
                f"{_OWNER}: XGBoost evaluated no data set; pass evals to xgboost.train "
                f"(eval_set to fit)."
            )
        if self.valid_name is None:
            return evaluated[-1]
        if self.valid_name not in evaluated:
            raise InvalidValueError(
                f"{_OWNER}: valid_name must be one of the evaluated data sets "
                f"{list(evaluated)}; got {self.valid_name!r}."
            )
        return self.valid_name

    def _value(
        self,
        evals_log: Mapping[str, Mapping[str, Sequence[float | tuple[float, float]]]],
        data_set: str,
    ) -> float:
        history = evals_log[data_set]
        if self.metric not in history:
            raise InvalidValueError(
                f"{_OWNER}: metric must be one of the metrics evaluated on {data_set!r} "
                f"{list(history)}; got {self.metric!r}."
            )
        latest = history[self.metric][-1]
        # cv() logs (mean, standard deviation) over the folds.
        return float(latest[0] if isinstance(latest, tuple) else latest)


def _is_score(metric: str) -> bool:
    """Return whether higher is better for the metric named ``metric``."""
    return metric.split("@", 1)[0].rstrip("-") in _SCORES
