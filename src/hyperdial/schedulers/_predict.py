"""Rank the trials at a rung by their predicted final values instead of their values there.

The rung rule of successive halving judges a trial by its value at the rung. Where learning
curves cross, that value says little about the final one: slow learners (a small learning rate,
strong regularisation) look poor after a few epochs and are stopped before they overtake. In
the breast-cancer MLP of ``benchmarks/fidelity.py`` the validation loss after one epoch has a
Spearman correlation of about 0.05 with the loss after 27, on random configurations.

Here a Gaussian-process regression predicts a trial's final value (its value at the top
resource) from its configuration and its values at the rungs it passed, fitted on the trials
that reached the top. This is the idea of learning-curve prediction for early stopping
(Domhan, Springenberg and Hutter 2015, IJCAI; Klein et al. 2017, "Learning curve prediction
with Bayesian neural networks", ICLR), kept small enough to run at every rung decision: an
isotropic squared-exponential kernel on the unit-scaled inputs, its length scale and noise
chosen on a grid by the closed-form leave-one-out predictive likelihood (Rasmussen and
Williams 2006, section 5.4.2), targets and rung values taken as ranks (robust to a diverged
training's huge loss).

The model is used only where it has earned it: with at least :data:`MIN_TRAIN` trials at the
top, and when its leave-one-out predictions rank those trials better (Spearman correlation with
their final values) than their values at the rung do. Otherwise the rung keeps the plain rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata, spearmanr

from hyperdial.distributions import to_unit
from hyperdial.history import History
from hyperdial.schedulers.base import value_at
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["MIN_TRAIN", "RungModel", "predict_at_rung"]

MIN_TRAIN = 8
"""Trials that reached the top resource needed before the model may rank a rung."""

MAX_TRAIN = 200
"""At most this many of them (the latest) are fitted: the fit is cubic in their number."""

_LENGTH_SCALES = (0.25, 0.5, 1.0, 2.0, 4.0)
_NOISES = (0.05, 0.2, 0.5, 1.0)
_ABSENT = -0.5  # a parameter a trial does not have (conditional spaces): outside [0, 1]


@dataclass(frozen=True)
class RungModel:
    """What the model says at one rung.

    Attributes:
        used: Whether the rung ranks by the predictions (else by the values at the rung).
        n_train: Trials that reached the top resource with values at every rung so far.
        rho_model: Leave-one-out Spearman correlation of the predictions with their finals.
        rho_value: Spearman correlation of their values at the rung with their finals.
        scores: Per trial number, the score to rank by (lower is better): the predicted
            final value as a standardised rank, or for a trial that reached the top already,
            its own final value on the same scale.
    """

    used: bool
    n_train: int
    rho_model: float
    rho_value: float
    scores: dict[int, float]

    def describe(self, top: float) -> str:
        """Return the ranking used and the model's record, in words."""
        verdict = "predicted final value" if self.used else "value at the rung"
        return (
            f"by {verdict} (model of {self.n_train} trials that reached resource {top:g}: "
            f"leave-one-out Spearman {self.rho_model:.2f} against {self.rho_value:.2f} for the "
            f"values at the rung)"
        )


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    rho = float(spearmanr(a, b)[0])
    return rho if math.isfinite(rho) else 0.0


def _unit_rank(column: np.ndarray) -> np.ndarray:
    """Return ``column``'s ranks scaled into ``(0, 1)`` (NaN counts as the worst)."""
    filled = np.where(np.isnan(column), np.inf, column)
    return (rankdata(filled) - 0.5) / len(filled)


def _params_matrix(trials: Sequence[FrozenTrial]) -> np.ndarray:
    names = sorted({name for t in trials for name in t.distributions})
    out = np.full((len(trials), len(names)), _ABSENT)
    for i, t in enumerate(trials):
        for j, name in enumerate(names):
            dist = t.distributions.get(name)
            if dist is not None and name in t.params:
                try:
                    out[i, j] = to_unit(dist, t.params[name])
                except (ValueError, TypeError):
                    pass  # a value its distribution does not hold: leave it absent
    return out


def _fit_predict(
    x_train: np.ndarray, y: np.ndarray, x_new: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the GP's leave-one-out means on the training rows and its means at ``x_new``."""
    d2 = ((x_train[:, None, :] - x_train[None, :, :]) ** 2).sum(axis=-1)
    d2_new = ((x_new[:, None, :] - x_train[None, :, :]) ** 2).sum(axis=-1)
    best: tuple[float, float, np.ndarray, np.ndarray] | None = None
    eye = np.eye(len(y))
    for ls in _LENGTH_SCALES:
        base = np.exp(-0.5 * d2 / ls**2)
        for noise in _NOISES:
            inv = np.linalg.inv(base + noise * eye)
            alpha = inv @ y
            var = 1.0 / np.diag(inv)
            loo = y - alpha * var
            score = -0.5 * float(np.sum(np.log(var) + (y - loo) ** 2 / var))
            if best is None or score > best[0]:
                best = (score, ls, alpha, loo)
    assert best is not None
    _, ls, alpha, loo = best
    return loo, np.exp(-0.5 * d2_new / ls**2) @ alpha


def predict_at_rung(
    history: History,
    numbers: Sequence[int],
    resources: Sequence[float],
    top: float,
    sign: float,
) -> RungModel | None:
    """Score the trials ``numbers`` at the rung ``resources[-1]`` by predicted final value.

    Args:
        history: The study's trials (one objective).
        numbers: The trials at the rung (each has a value at every resource of ``resources``).
        resources: The rungs up to and including this one, ascending: the curve features.
        top: The resource whose value counts as final.
        sign: +1 to minimise, -1 to maximise.

    Returns:
        The model's verdict, or ``None`` with fewer than :data:`MIN_TRAIN` trials at ``top``.
    """
    by_number = {t.number: t for t in history.trials}
    train: list[FrozenTrial] = []
    finals: list[float] = []
    for t in history.trials:
        if t.state is TrialState.WAITING:
            continue
        final = value_at(t, top)
        if isinstance(final, tuple) or final is None:
            continue
        if any(value_at(t, r) is None for r in resources):
            continue
        train.append(t)
        finals.append(sign * float(final))
    if len(train) < MIN_TRAIN:
        return None
    train, finals = train[-MAX_TRAIN:], finals[-MAX_TRAIN:]
    known = {t.number for t in train}
    new = [by_number[n] for n in numbers if n not in known]
    rows = train + new
    curve = np.array(
        [[sign * float(value_at(t, r)) for r in resources] for t in rows],  # type: ignore[arg-type]
        dtype=float,
    )
    columns = [_unit_rank(curve[:, k]) for k in range(curve.shape[1])]
    x = np.column_stack([_params_matrix(rows), *columns])
    n = len(train)
    y = _unit_rank(np.asarray(finals, dtype=float))  # a NaN final counts as the worst
    if np.ptp(y) == 0:
        return RungModel(False, n, 0.0, 0.0, {})  # equal finals: nothing to learn
    y = (y - y.mean()) / y.std()
    loo, predicted = _fit_predict(x[:n], y, x[n:])
    rho_model = _spearman(loo, y)
    rho_value = _spearman(_unit_rank(curve[:n, -1]), y)
    scores = {t.number: float(v) for t, v in zip(train, y)}
    scores.update({t.number: float(v) for t, v in zip(new, predicted)})
    return RungModel(rho_model > rho_value, n, rho_model, rho_value, scores)
