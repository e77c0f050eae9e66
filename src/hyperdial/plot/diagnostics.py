"""Over- and underfitting: training against validation scores per trial."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyperdial.history import History
from hyperdial.plot import _common as c
from hyperdial.plot import _figures

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from hyperdial.study import Study

__all__ = ["plot_diagnostics"]


def plot_diagnostics(
    study: Study | History, *, max_points: int = 2000, **options: Any
) -> go.Figure:
    """Plot each trial's validation score against its training score, coloured by verdict.

    The scores and verdicts come from :func:`hyperdial.analysis.diagnose`, which reads the
    training and validation scores trials stored as user attributes. Trials far from the
    dashed ``train = validation`` line generalise poorly.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        max_points: Most trials drawn (an evenly spread sample beyond).
        **options: Passed to :func:`hyperdial.analysis.diagnose`.

    Returns:
        A plotly figure with one ``Scatter`` trace per verdict and the diagonal.

    Raises:
        InvalidValueError: no trial has training and validation scores (from the analysis).

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study(direction="maximize", sampler=RandomSampler(seed=0))
        >>> def objective(trial):
        ...     depth = trial.suggest_int("depth", 1, 12)
        ...     trial.set_user_attr("train_score", min(1.0, 0.6 + 0.04 * depth))
        ...     trial.set_user_attr("validation_score", 0.8 - abs(depth - 5) * 0.03)
        ...     return 0.8 - abs(depth - 5) * 0.03
        >>> study.optimize(objective, n_trials=12)
        >>> plot_diagnostics(study).data[-1].name
        'train = validation'
    """
    from hyperdial import analysis

    history = c.as_history(study, "plot_diagnostics")
    diagnosis = analysis.diagnose(history, **options)
    return _figures.diagnostics_figure(diagnosis, max_points)
