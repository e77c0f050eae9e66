"""Test problems for the sampler benchmark, written once for hyperdial and Optuna trials.

Every :class:`Problem` draws its parameters with ``suggest_float``, ``suggest_int`` and
``suggest_categorical`` only (the names and keywords both libraries share), so the same
``define(trial)`` runs under either. The expert-prior problems also pass a ``default=`` to
hyperdial, which Optuna does not know; for any other trial they fall back to the plain call.

Each problem records its optimum ``f_star`` (exact for the synthetic functions, the best value
ever found for the scikit-learn tuning problems) and a reference value ``f_ref``: the median
objective of uniformly random configurations, computed once with :func:`calibrate` and fixed
here. Normalised regret is ``(best_so_far - f_star) / (f_ref - f_star)`` clipped to ``[0, 1]``,
so 1 means "no better than a typical random configuration" and 0 means "found the optimum".

Recompute the constants (a few minutes; the real problems dominate)::

    OMP_NUM_THREADS=1 python benchmarks/problems.py --calibrate
"""

from __future__ import annotations

import argparse
import functools
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hyperdial import Categorical, FixedTrial, Float, Int, Trial
from hyperdial.space import Distribution, from_unit

Params = dict[str, Any]
TrialLike = Any  # a hyperdial Trial/FixedTrial, an Optuna Trial or a UniformTrial


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: a search space, a noise-free objective and its constants.

    Attributes:
        name: Short identifier used on the command line and in tables.
        suggest: Draws the parameters from a trial (define-by-run) and returns them.
        evaluate: The noise-free objective of a parameter dict (to minimise).
        f_star: The known minimum (best-known value for real tuning problems).
        f_ref: The median objective of uniformly random configurations.
        optimum: Parameters reaching ``f_star`` (a minimiser, or the best-known setting).
        kind: ``"synthetic"`` or ``"real"``.
        tags: What the problem exercises (``"categorical"``, ``"conditional"``, ...).
        noise_sd: Standard deviation of the Gaussian noise added to the observed value.
        max_trials: Cap on the trials of one run, for problems too slow for the full budget.
        description: One line for the report.
    """

    name: str
    suggest: Callable[[TrialLike], Params]
    evaluate: Callable[[Mapping[str, Any]], float]
    f_star: float
    f_ref: float
    optimum: Mapping[str, Any]
    kind: str = "synthetic"
    tags: frozenset[str] = field(default_factory=frozenset)
    noise_sd: float = 0.0
    max_trials: int | None = None
    description: str = ""

    def define(self, trial: TrialLike) -> float:
        """Run the objective on ``trial``: suggest, evaluate and (if noisy) add noise.

        A noisy problem stores the noise-free value as the user attribute ``true_value``. The
        noise depends on the trial number only, so every sampler sees the same noise sequence.
        """
        value, _ = self.observe(trial, self.suggest(trial))
        return value

    def observe(self, trial: TrialLike, params: Mapping[str, Any]) -> tuple[float, float]:
        """Return ``(observed, noise_free)`` for ``params`` drawn from ``trial``."""
        true = float(self.evaluate(params))
        if not self.noise_sd:
            return true, true
        trial.set_user_attr("true_value", true)
        noise = np.random.default_rng([20241204, int(trial.number)]).normal()
        return true + self.noise_sd * float(noise), true

    def regret(self, value: float) -> float:
        """Return the normalised regret of a noise-free ``value``, clipped to ``[0, 1]``."""
        r = (value - self.f_star) / (self.f_ref - self.f_star)
        return float(min(max(r, 0.0), 1.0))


class UniformTrial:
    """A stand-in trial drawing every parameter uniformly (log-uniformly where asked).

    It maps one uniform number per parameter through :func:`hyperdial.space.from_unit`, the map
    hyperdial's random search uses, so :func:`calibrate` measures what random search sees.
    """

    def __init__(self, rng: np.random.Generator, number: int = 0) -> None:
        self.rng = rng
        self.number = number
        self.params: Params = {}
        self.user_attrs: Params = {}

    def _draw(self, name: str, dist: Distribution) -> Any:
        value = from_unit(dist, float(self.rng.random()))
        self.params[name] = value
        return value

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """Draw a float."""
        return float(self._draw(name, Float(low, high, log=log, step=step)))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """Draw an integer."""
        return int(self._draw(name, Int(low, high, log=log, step=step)))

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """Draw one of ``choices``."""
        return self._draw(name, Categorical(list(choices)))

    def set_user_attr(self, key: str, value: Any) -> None:
        """Record a user attribute."""
        self.user_attrs[key] = value


# ----------------------------------------------------------------------------- helpers
def _is_hyperdial(trial: TrialLike) -> bool:
    return isinstance(trial, (Trial, FixedTrial))


def _float(
    trial: TrialLike, name: str, low: float, high: float, *, log: bool = False, default: Any = None
) -> float:
    """Suggest a float, passing the expert's ``default`` to hyperdial trials only."""
    if default is not None and _is_hyperdial(trial):
        return float(trial.suggest(name, Float(low, high, log=log, default=default)))
    return float(trial.suggest_float(name, low, high, log=log))


def _int(
    trial: TrialLike, name: str, low: int, high: int, *, log: bool = False, default: Any = None
) -> int:
    """Suggest an integer, passing the expert's ``default`` to hyperdial trials only."""
    if default is not None and _is_hyperdial(trial):
        return int(trial.suggest(name, Int(low, high, log=log, default=default)))
    return int(trial.suggest_int(name, low, high, log=log))


def _categorical(trial: TrialLike, name: str, choices: Sequence[Any], *, default: Any = None):
    """Suggest a choice, passing the expert's ``default`` to hyperdial trials only."""
    if default is not None and _is_hyperdial(trial):
        return trial.suggest(name, Categorical(list(choices), default=default))
    return trial.suggest_categorical(name, list(choices))


def _box(dim: int, low: float, high: float, prefix: str = "x") -> Callable[[TrialLike], Params]:
    """Return a ``suggest`` drawing ``dim`` floats ``x0 .. x{dim-1}`` in ``[low, high]``."""
    names = [f"{prefix}{i}" for i in range(dim)]

    def suggest(trial: TrialLike) -> Params:
        return {n: trial.suggest_float(n, low, high) for n in names}

    return suggest


def _vector(params: Mapping[str, Any], dim: int, prefix: str = "x") -> np.ndarray:
    return np.array([params[f"{prefix}{i}"] for i in range(dim)], dtype=float)


def _point(x: Sequence[float], prefix: str = "x") -> dict[str, float]:
    return {f"{prefix}{i}": float(v) for i, v in enumerate(x)}


# ------------------------------------------------------------------ synthetic functions
def branin(x: np.ndarray) -> float:
    """Branin-Hoo on ``[-5, 10] x [0, 15]``; minimum 0.397887 at three points."""
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return float(a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * math.cos(x[0]) + s)


_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
H6_MIN = -3.322368011391339
H6_ARGMIN = (0.20168952, 0.15001069, 0.47687398, 0.27533243, 0.31165162, 0.65730054)


def hartmann6(x: np.ndarray) -> float:
    """Hartmann-6 on ``[0, 1]^6``; minimum -3.32237."""
    inner = np.sum(_H6_A * (x[None, :] - _H6_P) ** 2, axis=1)
    return float(-np.sum(_H6_ALPHA * np.exp(-inner)))


def ackley(x: np.ndarray) -> float:
    """Ackley (a=20, b=0.2, c=2 pi); minimum 0 at the origin."""
    d = len(x)
    s1 = np.sqrt(np.sum(x**2) / d)
    s2 = np.sum(np.cos(2 * math.pi * x)) / d
    return float(-20 * np.exp(-0.2 * s1) - np.exp(s2) + 20 + math.e)


def rosenbrock(x: np.ndarray) -> float:
    """Rosenbrock; minimum 0 at ``(1, ..., 1)``."""
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def levy(x: np.ndarray) -> float:
    """Levy; minimum 0 at ``(1, ..., 1)``."""
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    mid = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + mid + tail)


ST_ARGMIN = -2.903534027771178
ST_MIN_PER_DIM = -39.16616570377142


def styblinski_tang(x: np.ndarray) -> float:
    """Styblinski-Tang; minimum ``-39.166166 * d`` at ``x_i = -2.903534``."""
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def _synthetic(
    name: str,
    fn: Callable[[np.ndarray], float],
    *,
    dim: int,
    bounds: tuple[float, float],
    f_star: float,
    f_ref: float,
    argmin: Sequence[float],
    **extra: Any,
) -> Problem:
    return Problem(
        name=name,
        suggest=_box(dim, *bounds),
        evaluate=lambda p: fn(_vector(p, dim)),
        f_star=f_star,
        f_ref=f_ref,
        optimum=_point(argmin),
        **extra,
    )


# --------------------------------------------------------------- 100-D, two scales
_S100_RNG = np.random.default_rng(100)
_S100_LOG_CENTRE = _S100_RNG.uniform(-3.0, 1.0, size=50)  # log10 of the optimum in [1e-4, 1e2]
_S100_LIN_CENTRE = _S100_RNG.uniform(-4.0, 4.0, size=50)  # optimum in [-5, 5]


def _sphere100_suggest(trial: TrialLike) -> Params:
    params: Params = {}
    for i in range(50):
        params[f"p{i}"] = trial.suggest_float(f"p{i}", 1e-4, 1e2, log=True)
    for i in range(50):
        params[f"q{i}"] = trial.suggest_float(f"q{i}", -5.0, 5.0)
    return params


def _sphere100(p: Mapping[str, Any]) -> float:
    logs = np.log10([p[f"p{i}"] for i in range(50)])
    lins = np.array([p[f"q{i}"] for i in range(50)])
    # Each coordinate measured in units of its range, so both halves weigh the same.
    return float(
        np.sum(((logs - _S100_LOG_CENTRE) / 6) ** 2)
        + np.sum(((lins - _S100_LIN_CENTRE) / 10) ** 2)
    )


_SPHERE100_ARGMIN = {
    **{f"p{i}": float(10**c) for i, c in enumerate(_S100_LOG_CENTRE)},
    **{f"q{i}": float(c) for i, c in enumerate(_S100_LIN_CENTRE)},
}


# ------------------------------------------------------------- mixed integer/categorical
_ACTIVATION_COST = {"relu": 0.3, "tanh": 0.6, "sigmoid": 1.0, "gelu": 0.0}
_OPTIMIZER_COST = {"sgd": 0.5, "adam": 0.0, "rmsprop": 0.2}


def _mixed_suggest(trial: TrialLike) -> Params:
    return {
        "x": trial.suggest_float("x", -5.0, 5.0),
        "y": trial.suggest_float("y", -5.0, 5.0),
        "n": trial.suggest_int("n", 1, 20),
        "m": trial.suggest_int("m", 1, 1024, log=True),
        "activation": trial.suggest_categorical("activation", list(_ACTIVATION_COST)),
        "optimizer": trial.suggest_categorical("optimizer", list(_OPTIMIZER_COST)),
    }


def _mixed(p: Mapping[str, Any]) -> float:
    dx, dy = p["x"] - 1.0, p["y"] + 2.0
    quad = (dx**2 + dy**2 + dx * dy) / 10  # positive definite, correlated
    ints = ((p["n"] - 7) / 5) ** 2 + ((math.log2(p["m"]) - 5) / 3) ** 2
    return float(quad + ints + _ACTIVATION_COST[p["activation"]] + _OPTIMIZER_COST[p["optimizer"]])


_MIXED_ARGMIN = {"x": 1.0, "y": -2.0, "n": 7, "m": 32, "activation": "gelu", "optimizer": "adam"}


# ------------------------------------------------------------------------ conditional
def _conditional_suggest(trial: TrialLike) -> Params:
    model = trial.suggest_categorical("model", ["linear", "tree", "kernel"])
    p: Params = {"model": model}
    if model == "linear":
        p["linear_alpha"] = trial.suggest_float("linear_alpha", 1e-6, 1.0, log=True)
        p["linear_l1_ratio"] = trial.suggest_float("linear_l1_ratio", 0.0, 1.0)
    elif model == "tree":
        p["tree_depth"] = trial.suggest_int("tree_depth", 1, 12)
        p["tree_lr"] = trial.suggest_float("tree_lr", 1e-3, 1.0, log=True)
        if p["tree_depth"] > 6:  # a second level of conditioning
            p["tree_min_leaf"] = trial.suggest_int("tree_min_leaf", 1, 64, log=True)
    else:
        p["kernel_gamma"] = trial.suggest_float("kernel_gamma", 1e-4, 10.0, log=True)
        p["kernel_c"] = trial.suggest_float("kernel_c", 1e-2, 1e3, log=True)
    return p


def _conditional(p: Mapping[str, Any]) -> float:
    if p["model"] == "linear":  # a mediocre branch, minimum 0.6
        a = (math.log10(p["linear_alpha"]) + 3) / 3
        return 0.6 + a**2 + (p["linear_l1_ratio"] - 0.5) ** 2
    if p["model"] == "tree":  # a decent branch, minimum 0.3
        leaf = ((math.log2(p["tree_min_leaf"]) - 3) / 3) ** 2 if "tree_min_leaf" in p else 0.2
        lr = (math.log10(p["tree_lr"]) + 1) / 2
        return 0.3 + ((p["tree_depth"] - 9) / 6) ** 2 + lr**2 + leaf
    g = math.log10(p["kernel_gamma"]) + 2  # the best branch, minimum 0, narrow
    c = math.log10(p["kernel_c"]) - 1
    return g**2 + c**2 + 0.5 * g * c


_CONDITIONAL_ARGMIN = {"model": "kernel", "kernel_gamma": 0.01, "kernel_c": 10.0}


# ---------------------------------------------------------------------- expert priors
_PRIOR_OPTIMUM = {
    "lr": 3e-3,
    "weight_decay": 1e-4,
    "dropout": 0.2,
    "batch_size": 64,
    "n_layers": 3,
    "optimizer": "adam",
}
_PRIOR_GOOD_DEFAULT = {
    "lr": 1e-3,
    "weight_decay": 3e-5,
    "dropout": 0.1,
    "batch_size": 32,
    "n_layers": 2,
    "optimizer": "adam",
}
_PRIOR_BAD_DEFAULT = {
    "lr": 0.3,
    "weight_decay": 1e-2,
    "dropout": 0.6,
    "batch_size": 512,
    "n_layers": 7,
    "optimizer": "sgd",
}
_PRIOR_OPTIMIZER_COST = {"sgd": 0.3, "adam": 0.0, "rmsprop": 0.1}


def _prior_suggest(defaults: Mapping[str, Any]) -> Callable[[TrialLike], Params]:
    d = defaults

    def suggest(trial: TrialLike) -> Params:
        return {
            "lr": _float(trial, "lr", 1e-5, 1.0, log=True, default=d["lr"]),
            "weight_decay": _float(
                trial, "weight_decay", 1e-7, 1e-1, log=True, default=d["weight_decay"]
            ),
            "dropout": _float(trial, "dropout", 0.0, 0.8, default=d["dropout"]),
            "batch_size": _int(trial, "batch_size", 8, 1024, log=True, default=d["batch_size"]),
            "n_layers": _int(trial, "n_layers", 1, 8, default=d["n_layers"]),
            "optimizer": _categorical(
                trial, "optimizer", list(_PRIOR_OPTIMIZER_COST), default=d["optimizer"]
            ),
        }

    return suggest


def _prior_distance(p: Mapping[str, Any], centre: Mapping[str, Any]) -> float:
    """Squared distance in units of each range, with the lr/batch-size coupling of SGD."""
    u_bs = math.log2(p["batch_size"] / centre["batch_size"]) / 7
    u_lr = math.log10(p["lr"] / centre["lr"]) / 5 - 0.3 * u_bs
    u_wd = math.log10(p["weight_decay"] / centre["weight_decay"]) / 6
    u_do = (p["dropout"] - centre["dropout"]) / 0.8
    u_nl = (p["n_layers"] - centre["n_layers"]) / 7
    return 10 * (u_lr**2 + u_wd**2 + u_do**2 + u_bs**2 + u_nl**2)


def _prior_good(p: Mapping[str, Any]) -> float:
    return _prior_distance(p, _PRIOR_OPTIMUM) + _PRIOR_OPTIMIZER_COST[p["optimizer"]]


def _prior_misleading(p: Mapping[str, Any]) -> float:
    # The misleading default sits in a local basin (value 1.0): plausible-looking, but a trap.
    trap = 1.0 + _prior_distance(p, _PRIOR_BAD_DEFAULT) + (p["optimizer"] != "sgd") * 0.3
    return min(_prior_good(p), trap)


# -------------------------------------------------------------- scikit-learn tuning
@functools.cache
def _dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    if name == "breast_cancer":
        return datasets.load_breast_cancer(return_X_y=True)
    if name == "digits":
        X, y = datasets.load_digits(return_X_y=True)
        return X[:600] / 16.0, y[:600]  # a fixed subset and the pixel scale: cheap fits
    if name == "diabetes":
        return datasets.load_diabetes(return_X_y=True)
    raise KeyError(name)


def _cv_score(model: Any, dataset: str, scoring: str, classify: bool) -> float:
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    X, y = _dataset(dataset)
    splitter = StratifiedKFold if classify else KFold
    cv = splitter(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(model, X, y, cv=cv, scoring=scoring, error_score=np.nan)
    return float(np.mean(scores))


def _hgb_suggest(trial: TrialLike) -> Params:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-3, 1.0, log=True),
        "max_iter": trial.suggest_int("max_iter", 5, 50),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 2, 32, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 64, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
    }


def _hgb_breast_cancer(p: Mapping[str, Any]) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(early_stopping=False, random_state=0, **p)
    return 1.0 - _cv_score(model, "breast_cancer", "accuracy", classify=True)


def _svc_suggest(trial: TrialLike) -> Params:
    p: Params = {
        "C": trial.suggest_float("C", 1e-2, 1e4, log=True),
        "gamma": trial.suggest_float("gamma", 1e-5, 1.0, log=True),
        "kernel": trial.suggest_categorical("kernel", ["rbf", "poly", "sigmoid"]),
    }
    if p["kernel"] == "poly":
        p["degree"] = trial.suggest_int("degree", 2, 5)
    return p


def _svc_digits(p: Mapping[str, Any]) -> float:
    from sklearn.svm import SVC

    error = 1.0 - _cv_score(SVC(**p), "digits", "accuracy", classify=True)
    return error if math.isfinite(error) else 1.0


_KR_CAP = 30000.0  # cap on the MSE of numerically broken fits (the variance of y is ~5,900)


def _kernel_ridge_suggest(trial: TrialLike) -> Params:
    p: Params = {
        "kernel": trial.suggest_categorical("kernel", ["rbf", "laplacian", "poly"]),
        "alpha": trial.suggest_float("alpha", 1e-6, 10.0, log=True),
        "gamma": trial.suggest_float("gamma", 1e-3, 100.0, log=True),
    }
    if p["kernel"] == "poly":
        p["degree"] = trial.suggest_int("degree", 2, 4)
    return p


def _kernel_ridge_diabetes(p: Mapping[str, Any]) -> float:
    from sklearn.kernel_ridge import KernelRidge

    mse = -_cv_score(KernelRidge(**p), "diabetes", "neg_mean_squared_error", classify=False)
    return min(mse, _KR_CAP) if math.isfinite(mse) else _KR_CAP


# Best-known settings (see calibrate): the best of 1,000 random configurations and 1,000
# trials of Optuna's multivariate TPE.
_HGB_BEST = {
    "learning_rate": 0.7444907361023931,
    "max_iter": 20,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 26,
    "l2_regularization": 0.08473673036885244,
}
_SVC_BEST = {"C": 2343.346145186109, "gamma": 0.20048052173751832, "kernel": "rbf"}
_KR_BEST = {
    "kernel": "poly",
    "alpha": 1.7181862134310792e-06,
    "gamma": 0.019411640219860686,
    "degree": 2,
}


# ------------------------------------------------------------------------ the catalogue
PROBLEMS: tuple[Problem, ...] = (
    _synthetic(
        "branin",
        branin,
        dim=2,
        bounds=(-5.0, 10.0),
        f_star=0.39788735772973816,
        f_ref=31.86,
        argmin=(math.pi, 2.275),
        description="Branin-Hoo, 2-D, three global minima",
    ),
    _synthetic(
        "hartmann6",
        hartmann6,
        dim=6,
        bounds=(0.0, 1.0),
        f_star=H6_MIN,
        f_ref=-0.1031,
        argmin=H6_ARGMIN,
        description="Hartmann-6, 6-D, multimodal",
    ),
    _synthetic(
        "ackley10",
        ackley,
        dim=10,
        bounds=(-32.768, 32.768),
        f_star=0.0,
        f_ref=21.21,
        argmin=[0.0] * 10,
        description="Ackley, 10-D, many local minima",
    ),
    _synthetic(
        "rosenbrock4",
        rosenbrock,
        dim=4,
        bounds=(-5.0, 10.0),
        f_star=0.0,
        f_ref=2.603e5,
        argmin=[1.0] * 4,
        description="Rosenbrock, 4-D, a curved valley",
    ),
    _synthetic(
        "levy10",
        levy,
        dim=10,
        bounds=(-10.0, 10.0),
        f_star=0.0,
        f_ref=114.7,
        argmin=[1.0] * 10,
        description="Levy, 10-D",
    ),
    _synthetic(
        "styblinski_tang20",
        styblinski_tang,
        dim=20,
        bounds=(-5.0, 5.0),
        f_star=20 * ST_MIN_PER_DIM,
        f_ref=-95.48,
        argmin=[ST_ARGMIN] * 20,
        description="Styblinski-Tang, 20-D, separable",
    ),
    Problem(
        name="sphere100",
        suggest=_sphere100_suggest,
        evaluate=_sphere100,
        f_star=0.0,
        f_ref=12.25,
        optimum=_SPHERE100_ARGMIN,
        tags=frozenset({"high-dim", "log"}),
        max_trials=50,
        description="shifted sphere, 100-D: 50 log-scale and 50 linear parameters",
    ),
    Problem(
        name="mixed",
        suggest=_mixed_suggest,
        evaluate=_mixed,
        f_star=0.0,
        f_ref=5.173,
        optimum=_MIXED_ARGMIN,
        tags=frozenset({"integer", "categorical", "log"}),
        description="2 floats, 2 integers (one log), 2 categoricals",
    ),
    Problem(
        name="conditional",
        suggest=_conditional_suggest,
        evaluate=_conditional,
        f_star=0.0,
        f_ref=1.352,
        optimum=_CONDITIONAL_ARGMIN,
        tags=frozenset({"conditional", "categorical", "integer", "log"}),
        description="three model branches, one nested condition (define-by-run)",
    ),
    Problem(
        name="hartmann6_noisy",
        suggest=_box(6, 0.0, 1.0),
        evaluate=lambda p: hartmann6(_vector(p, 6)),
        f_star=H6_MIN,
        f_ref=-0.1031,
        optimum=_point(H6_ARGMIN),
        tags=frozenset({"noisy"}),
        noise_sd=0.3,
        description="Hartmann-6 plus Gaussian noise (sd 0.3); regret on the noise-free value",
    ),
    Problem(
        name="prior_good",
        suggest=_prior_suggest(_PRIOR_GOOD_DEFAULT),
        evaluate=_prior_good,
        f_star=0.0,
        f_ref=5.417,
        optimum=_PRIOR_OPTIMUM,
        tags=frozenset({"prior", "integer", "categorical", "log"}),
        description="6 training knobs; the expert default is close to the optimum",
    ),
    Problem(
        name="prior_misleading",
        suggest=_prior_suggest(_PRIOR_BAD_DEFAULT),
        evaluate=_prior_misleading,
        f_star=0.0,
        f_ref=4.884,
        optimum=_PRIOR_OPTIMUM,
        tags=frozenset({"prior", "integer", "categorical", "log"}),
        description="the same knobs; the default sits in a local basin far from the optimum",
    ),
    Problem(
        name="hgb_breast_cancer",
        suggest=_hgb_suggest,
        evaluate=_hgb_breast_cancer,
        f_star=0.026352919335375424,
        f_ref=0.07733,
        optimum=_HGB_BEST,
        kind="real",
        tags=frozenset({"integer", "log"}),
        max_trials=50,
        description="HistGradientBoostingClassifier, breast_cancer, 3-fold CV error",
    ),
    Problem(
        name="svc_digits",
        suggest=_svc_suggest,
        evaluate=_svc_digits,
        f_star=0.008333333333333304,
        f_ref=0.3917,
        optimum=_SVC_BEST,
        kind="real",
        tags=frozenset({"categorical", "conditional", "log"}),
        description="SVC, 600 digits, 3-fold CV error",
    ),
    Problem(
        name="kernel_ridge_diabetes",
        suggest=_kernel_ridge_suggest,
        evaluate=_kernel_ridge_diabetes,
        f_star=2890.6772626400866,
        f_ref=3694.0,
        optimum=_KR_BEST,
        kind="real",
        tags=frozenset({"categorical", "conditional", "log"}),
        description="KernelRidge, diabetes, 3-fold CV mean squared error",
    ),
)

BY_NAME: dict[str, Problem] = {p.name: p for p in PROBLEMS}


def get_problem(name: str) -> Problem:
    """Return the problem called ``name``.

    Raises:
        KeyError: no problem has that name (the message lists them).
    """
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; choose from {sorted(BY_NAME)}") from None


# ------------------------------------------------------------------------ calibration
def random_values(problem: Problem, n: int, seed: int = 0) -> tuple[np.ndarray, list[Params]]:
    """Return the noise-free values and parameters of ``n`` uniformly random configurations."""
    values, configs = [], []
    for i in range(n):
        trial = UniformTrial(np.random.default_rng([seed, i]), number=i)
        params = problem.suggest(trial)
        values.append(problem.evaluate(params))
        configs.append(params)
    return np.asarray(values, dtype=float), configs


def calibrate(problem: Problem, n_random: int, n_tpe: int = 0, seed: int = 0) -> Params:
    """Return ``f_ref`` (median of random search) and the best value and parameters seen.

    The best value combines the ``n_random`` random configurations and, if ``n_tpe`` > 0, an
    Optuna TPE run (used to pin down the best-known value of the real tuning problems).
    """
    values, configs = random_values(problem, n_random, seed)
    best_i = int(np.argmin(values))
    best, best_params = float(values[best_i]), configs[best_i]
    if n_tpe:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=50)
        study = optuna.create_study(sampler=sampler)
        study.optimize(lambda t: problem.evaluate(problem.suggest(t)), n_trials=n_tpe)
        if study.best_value < best:
            best, best_params = study.best_value, dict(study.best_params)
    return {"f_ref": float(np.median(values)), "best": best, "best_params": best_params}


def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calibrate", action="store_true", help="recompute f_ref and f_best")
    parser.add_argument("--problems", default="", help="comma-separated names (default: all)")
    parser.add_argument("--n-random", type=int, default=10000, help="random configs, synthetic")
    parser.add_argument("--n-random-real", type=int, default=1000, help="random configs, real")
    parser.add_argument("--n-tpe-real", type=int, default=1000, help="TPE trials, real")
    args = parser.parse_args(argv)
    names = [n for n in args.problems.split(",") if n] or [p.name for p in PROBLEMS]
    if not args.calibrate:
        for name in names:
            p = get_problem(name)
            print(f"{p.name:24s} f*={p.f_star:<12.6g} f_ref={p.f_ref:<10.4g} {p.description}")
        return
    for name in names:
        p = get_problem(name)
        start = time.perf_counter()
        real = p.kind == "real"
        n_random = args.n_random_real if real else args.n_random
        out = calibrate(p, n_random, args.n_tpe_real if real else 0)
        took = time.perf_counter() - start
        print(
            f"{p.name}: f_ref={out['f_ref']:.6g} best={out['best']:.10g} "
            f"params={out['best_params']} ({took:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    _main()
