"""hyperdial: hyperparameter tuning that finds good settings in few trials and explains them.

Example:
    >>> import hyperdial
    >>> def objective(trial):
    ...     lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
    ...     depth = trial.suggest_int("depth", 2, 8)
    ...     return (lr - 0.01) ** 2 + 0.001 * depth
    >>> study = hyperdial.create_study(direction="minimize", seed=0)
    >>> study.optimize(objective, n_trials=10)
    >>> sorted(study.best_params)
    ['depth', 'learning_rate']
"""

from __future__ import annotations

from hyperdial._types import Direction
from hyperdial.exceptions import (
    HyperdialError,
    HyperdialWarning,
    TrialPruned,
)
from hyperdial.history import History
from hyperdial.space import Categorical, Condition, Float, Int, Monotonic, SearchSpace
from hyperdial.study import Study, create_study, delete_study, list_studies, load_study
from hyperdial.trial import FixedTrial, FrozenTrial, Trial, TrialState

__version__ = "0.1.0"

__all__ = [
    "Categorical",
    "Condition",
    "Direction",
    "FixedTrial",
    "Float",
    "FrozenTrial",
    "History",
    "HyperdialError",
    "HyperdialWarning",
    "Int",
    "Monotonic",
    "SearchSpace",
    "Study",
    "Trial",
    "TrialPruned",
    "TrialState",
    "__version__",
    "create_study",
    "delete_study",
    "list_studies",
    "load_study",
]
