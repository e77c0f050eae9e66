"""Stop LightGBM trainings that fall behind: a callback reporting every boosting round.

Works with ``lightgbm.train``, ``lightgbm.cv`` and the scikit-learn estimators
(``LGBMRegressor().fit(..., callbacks=[...])``). Needs ``pip install 'hyperdial[lightgbm]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hyperdial.exceptions import InvalidValueError, missing
from hyperdial.integrations._boosting import RoundReporter
from hyperdial.trial import FixedTrial, Trial

if TYPE_CHECKING:
    from lightgbm.callback import CallbackEnv

__all__ = ["PruningCallback"]

_OWNER = "lightgbm.PruningCallback"


class PruningCallback(RoundReporter):
    """Report a LightGBM validation metric to a trial each round; stop the trial when pruned.

    After boosting round ``step`` (1, 2, ...; a model continued from ``init_model`` counts the
    rounds it already had) the value of ``metric`` on the validation set is passed to
    ``trial.report(value, step)``, so it equals ``evals_result[valid_name][metric][step - 1]``
    of :func:`lightgbm.record_evaluation` for a model trained from scratch. Then, when
    ``trial.should_prune()`` says so, the callback raises :class:`hyperdial.TrialPruned`: it
    leaves ``lightgbm.train`` or ``fit`` and the study records the trial PRUNED.

    The raw value is reported whether lower (``l2``, ``binary_logloss``) or higher (``auc``,
    ``ndcg@5``) is better; the study's direction must match the metric. Under ``lightgbm.cv``
    the mean over the folds is reported.

    When the training data is among the evaluated sets (``valid_sets=[train, valid]``, the
    arrays given to ``fit`` also in its evaluation sets, ``eval_train_metric=True`` under
    ``cv``; see ``train_name``), the metric on both is kept as user attributes, to tell
    underfitting from overfitting: ``train_score`` and ``validation_score`` when LightGBM marks
    the metric higher-is-better (``auc``, ``average_precision``, ``map``, ``ndcg``, a custom
    metric returning ``True`` as its third item), ``train_loss`` and ``validation_loss``
    otherwise. They hold the values of the latest reported round;
    :func:`hyperdial.analysis.diagnose` reads them.

    The callback runs after :func:`lightgbm.log_evaluation` and
    :func:`lightgbm.record_evaluation` (so they see the round at which a trial is pruned) and
    before :func:`lightgbm.early_stopping`.

    Args:
        trial: The trial to report to (a :class:`~hyperdial.FixedTrial` never prunes).
        metric: A metric name as LightGBM prints it, e.g. ``"l2"`` (not its alias
            ``"mse"``), ``"auc"``, ``"ndcg@5"``.
        valid_name: The evaluated data set to report (``"valid_0"``, a name given in
            ``valid_names`` or ``eval_names``; ``"valid"`` under ``cv``). ``None`` takes the
            only one that is not the training data.
        train_name: The name of the training data among the evaluated sets. ``None`` asks
            LightGBM, which knows it when ``lightgbm.train`` gets the training ``Dataset``
            itself in ``valid_sets``; name it when it does not (e.g. LightGBM 4.7's
            ``LGBMClassifier`` given the training arrays in ``eval_X``, which it names
            ``"valid_0"``).
        report_every: Report (and ask whether to prune) every this many rounds only.

    Raises:
        MissingDependencyError: LightGBM is not installed.

    Example:
        >>> import lightgbm as lgb
        >>> import numpy as np
        >>> import hyperdial
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(200, 3))
        >>> y = X[:, 0] + 0.1 * rng.normal(size=200)
        >>> def objective(trial):
        ...     params = {"learning_rate": trial.suggest_float("learning_rate", 0.05, 0.5),
        ...               "verbose": -1, "num_threads": 1}
        ...     train = lgb.Dataset(X[:150], y[:150])
        ...     valid = lgb.Dataset(X[150:], y[150:], reference=train)
        ...     booster = lgb.train(params, train, num_boost_round=10, valid_sets=[train, valid],
        ...                         callbacks=[PruningCallback(trial, "l2")])
        ...     return booster.best_score["valid_1"]["l2"]
        >>> study = hyperdial.create_study(direction="minimize", seed=0)
        >>> study.optimize(objective, n_trials=2)
        >>> trial = study.trials[0]
        >>> sorted(trial.intermediate)[-1], trial.intermediate[10] == trial.value
        (10, True)
        >>> sorted(trial.user_attrs)  # the training data is among valid_sets
        ['train_loss', 'validation_loss']
    """

    _owner = _OWNER

    def __init__(
        self,
        trial: Trial | FixedTrial,
        metric: str,
        *,
        valid_name: str | None = None,
        train_name: str | None = None,
        report_every: int = 1,
    ) -> None:
        try:
            import lightgbm  # noqa: F401
        except ImportError as exc:
            raise missing("lightgbm", _OWNER, "LightGBM") from exc
        super().__init__(trial, metric, valid_name, train_name, report_every)
        # LightGBM runs callbacks by increasing ``order`` (logging 10, recording 20, early
        # stopping 30) and writes a default into the instance's __dict__ when it finds none
        # there, so these must be instance attributes.
        self.order = 25
        self.before_iteration = False

    def __call__(self, env: CallbackEnv) -> None:
        """Report this round's value; raise :class:`~hyperdial.TrialPruned` to stop.

        Raises:
            InvalidValueError: nothing is evaluated, or ``valid_name`` or ``metric`` is not
                among the evaluation results (the message lists those that are).
            TrialPruned: the study's scheduler stops the trial.
        """
        step = env.iteration + 1
        if step % self.report_every:
            return
        # Items are (data set, metric, value, higher is better[, std]): named tuples since
        # LightGBM 4.7, plain tuples before.
        results = env.evaluation_result_list or []
        train = self.train_name or _training_name(env.model)
        valid = self._valid_set([r[0] for r in results], train)
        value, higher_is_better = self._value(results, valid)
        train_value = None
        if train is not None and train != valid and any(r[0] == train for r in results):
            train_value, _ = self._value(results, train)
        self._report_round(step, valid, value, train_value, higher_is_better)

    def _valid_set(self, names: Sequence[str], train: str | None) -> str:
        evaluated = list(dict.fromkeys(names))
        if not evaluated:
            raise InvalidValueError(
                f"{_OWNER}: LightGBM evaluated no data set; pass valid_sets to lightgbm.train "
                f"(eval_X and eval_y, or eval_set, to fit) and keep a metric."
            )
        if self.valid_name is not None:
            if self.valid_name not in evaluated:
                raise InvalidValueError(
                    f"{_OWNER}: valid_name must be one of the evaluated data sets "
                    f"{evaluated}; got {self.valid_name!r}."
                )
            return self.valid_name
        candidates = [name for name in evaluated if name != train]
        if len(candidates) != 1:
            reason = "several are evaluated" if candidates else "only the training data is"
            raise InvalidValueError(
                f"{_OWNER}: valid_name must name the validation set to report when "
                f"{reason} ({evaluated}, training data {train!r}); got None."
            )
        return candidates[0]

    def _value(self, results: Sequence[Sequence[object]], data_set: str) -> tuple[float, bool]:
        metrics = []
        for result in results:
            if result[0] == data_set:
                if result[1] == self.metric:
                    return float(result[2]), bool(result[3])  # type: ignore[arg-type]
                metrics.append(result[1])
        raise InvalidValueError(
            f"{_OWNER}: metric must be one of the metrics evaluated on {data_set!r} "
            f"{metrics}; got {self.metric!r}."
        )


def _training_name(model: object) -> str | None:
    """Return the name LightGBM gives the training data among the evaluated sets, if known."""
    import lightgbm

    if isinstance(model, lightgbm.CVBooster):
        return "train"  # cv(eval_train_metric=True)
    if isinstance(model, lightgbm.Booster):
        # train() names it "training" unless valid_names renames it; no public accessor.
        return str(getattr(model, "_train_data_name", "training"))
    return None
