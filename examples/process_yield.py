"""Tune a LightGBM model of a chemical reactor's yield, pruning weak trials as they train.

The situation: a batch reactor runs a catalysed reaction, and each batch record holds its
operating conditions (temperature, pressure, feed rate, catalyst loading, residence time, feed
purity, stirrer speed, coolant temperature) and the yield measured at the end. A model of the
yield lets process engineers look for better settings on the computer before they try them on
the plant. We fit it with LightGBM and tune it with hyperdial; the study is kept in an embedded
SQLite file, so running the script again continues it, and ``hyperdial show process-yield``
reads it.

The data is generated (:func:`generate_batches`) with the shape such processes have: conversion
rises with residence time, catalyst and temperature (Arrhenius), while a side reaction takes
over above an optimum temperature, and higher pressure pushes that optimum up; poor mixing (slow
stirrer, fast feed) costs yield; impure feed dilutes it; the assay adds noise. Replace that
function with your own batch records.

Every trial trains for a fixed number of boosting rounds and reports the validation RMSE every
10 rounds through :class:`hyperdial.integrations.lightgbm.PruningCallback`; the study's
scheduler stops trials that fall behind. Because the training data is evaluated too, each
trial keeps its train and validation RMSE: a large gap means the trees memorise batches, a small
gap with a high RMSE means they are too coarse. The validation set chooses the configuration,
so the best one is finally judged on held-out test batches.

Needs LightGBM: ``pip install 'hyperdial[lightgbm]'``. Runs in about 15 seconds on two cores::

    python examples/process_yield.py                  # 30 trials into ./hyperdial.db
    python examples/process_yield.py --trials 10      # 10 more trials of the same study
    python examples/process_yield.py --trials 5 --fast  # smaller data, fewer rounds
    hyperdial show process-yield
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

import hyperdial

try:
    import lightgbm as lgb
except ImportError as exc:  # a clear message instead of a traceback
    raise SystemExit("This example needs LightGBM: pip install 'hyperdial[lightgbm]'") from exc

from hyperdial.integrations.lightgbm import PruningCallback

STUDY_NAME = "process-yield"
FEATURES = [
    "temperature_c",
    "pressure_bar",
    "feed_rate_kg_h",
    "catalyst_pct",
    "residence_min",
    "feed_purity_pct",
    "stirrer_rpm",
    "coolant_c",  # recorded but irrelevant to the yield: the model has to learn to ignore it
]
REPORT_EVERY = 10  # rounds between reports: each one is a database write and a decision


@dataclass(frozen=True)
class Setup:
    """How much data and training a run uses."""

    n_batches: int
    n_rounds: int


FULL = Setup(n_batches=4000, n_rounds=300)
FAST = Setup(n_batches=1200, n_rounds=60)


def true_yield(X: np.ndarray) -> np.ndarray:
    """Return the noise-free yield (%) of batches run at the conditions in ``X``."""
    t, p, feed, cat, tau, purity, rpm, _ = X.T
    kelvin = t + 273.15
    # Arrhenius rate relative to 200 C (activation energy ~60 kJ/mol), more catalyst helps
    # with diminishing returns, pressure helps a gas-phase reactant dissolve.
    rate = 0.05 * np.exp(-7200.0 * (1.0 / kelvin - 1.0 / 473.15)) * cat**0.6 * (p / 20.0) ** 0.3
    conversion = 1.0 - np.exp(-rate * tau)
    # The side reaction wins above an optimum temperature that pressure pushes up.
    optimum = 195.0 + 0.8 * (p - 20.0)
    selectivity = np.exp(-(((t - optimum) / 28.0) ** 2))
    # Mixing: the stirrer has to keep up with the feed.
    mixing = 1.0 - 0.15 / (1.0 + np.exp((rpm - 2.5 * feed - 100.0) / 60.0))
    return 100.0 * conversion * selectivity * mixing * purity / 100.0


def generate_batches(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``n`` batch records ``X`` (columns :data:`FEATURES`) and their measured yield."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [
            rng.uniform(160.0, 240.0, n),  # temperature_c
            rng.uniform(5.0, 40.0, n),  # pressure_bar
            rng.uniform(50.0, 200.0, n),  # feed_rate_kg_h
            rng.uniform(0.5, 3.0, n),  # catalyst_pct
            rng.uniform(10.0, 90.0, n),  # residence_min
            100.0 - rng.gamma(2.0, 0.6, n).clip(max=5.0),  # feed_purity_pct, mostly > 98
            rng.uniform(200.0, 800.0, n),  # stirrer_rpm
            rng.normal(25.0, 4.0, n),  # coolant_c
        ]
    )
    # The assay repeats to 1.5 points and reports within 0-100%.
    y = (true_yield(X) + rng.normal(0.0, 1.5, n)).clip(0.0, 100.0)
    return X, y


def split(
    X: np.ndarray, y: np.ndarray, seed: int = 0
) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Return (train, validation, test) pairs: 60%, 20% and 20% of the batches."""
    order = np.random.default_rng(seed).permutation(len(y))
    a, b = int(0.6 * len(y)), int(0.8 * len(y))
    return tuple((X[idx], y[idx]) for idx in (order[:a], order[a:b], order[b:]))


def rmse(y: np.ndarray, prediction: np.ndarray) -> float:
    """Return the root mean squared error."""
    return float(np.sqrt(np.mean((y - prediction) ** 2)))


def base_params() -> dict[str, object]:
    """Return the LightGBM parameters that are not tuned."""
    return {
        "objective": "regression",
        "metric": "rmse",
        "bagging_freq": 1,
        "num_threads": 1,  # a few thousand rows: more threads only add overhead
        "verbose": -1,
        "seed": 0,
    }


def make_objective(
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    n_rounds: int,
) -> Callable[[hyperdial.Trial], float]:
    """Return the objective: validation RMSE of one configuration after ``n_rounds`` rounds."""
    # feature_pre_filter=False: the bins are built once for every min_data_in_leaf tried.
    train_set = lgb.Dataset(
        *train, feature_name=FEATURES, free_raw_data=False, params={"feature_pre_filter": False}
    )
    valid_set = lgb.Dataset(*valid, reference=train_set, free_raw_data=False)

    def objective(trial: hyperdial.Trial) -> float:
        params = {
            **base_params(),
            # Step sizes act multiplicatively: search them on a log scale.
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            # Leaves bound how many interactions a tree captures; leaf size how few
            # batches one rule may rest on.
            "num_leaves": trial.suggest_int("num_leaves", 4, 128, log=True),
            "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 5, 100, log=True),
            "feature_fraction": trial.suggest_float("feature_fraction", 0.5, 1.0),
            "bagging_fraction": trial.suggest_float("bagging_fraction", 0.5, 1.0),
            "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
        }
        booster = lgb.train(
            params,
            train_set,
            num_boost_round=n_rounds,
            # The training set among the evaluated ones: the callback keeps train_loss beside
            # validation_loss (the names lgb.train gives them are "training" and "valid_1").
            valid_sets=[train_set, valid_set],
            callbacks=[PruningCallback(trial, "rmse", report_every=REPORT_EVERY)],
        )
        # Without early stopping, the last round's evaluation is the final model's.
        return float(booster.best_score["valid_1"]["rmse"])

    return objective


def main(argv: Sequence[str] | None = None) -> None:
    """Run the study and print the best configuration found so far."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30, help="trials to run (default: 30)")
    parser.add_argument(
        "--storage",
        default="sqlite:///hyperdial.db",
        help="database URL of the study (default: sqlite:///hyperdial.db)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the search (default: 0)")
    parser.add_argument(
        "--fast",
        action="store_true",
        help=f"{FAST.n_batches} batches and {FAST.n_rounds} rounds instead of "
        f"{FULL.n_batches} and {FULL.n_rounds} (a quick check; use another --storage)",
    )
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error(f"--trials must be >= 1; got {args.trials}.")
    setup = FAST if args.fast else FULL

    X, y = generate_batches(setup.n_batches)
    train, valid, test = split(X, y)
    print(
        f"{len(y)} batches, yield {y.mean():.1f}% on average "
        f"(from {y.min():.1f}% to {y.max():.1f}%), {len(FEATURES)} recorded conditions"
    )

    # load_if_exists: running the script again adds trials to the same study.
    study = hyperdial.create_study(
        study_name=STUDY_NAME,
        storage=args.storage,
        direction="minimize",
        seed=args.seed,
        load_if_exists=True,
    )
    study.optimize(make_objective(train, valid, setup.n_rounds), n_trials=args.trials)

    trials = study.trials
    n_pruned = sum(t.state is hyperdial.TrialState.PRUNED for t in trials)
    best = study.best_trial
    print(f"\n{len(trials)} trials ({n_pruned} pruned) in {args.storage}")
    print(f"Best: trial {best.number}")
    train_rmse, valid_rmse = best.user_attrs["train_loss"], best.user_attrs["validation_loss"]
    print(
        f"  validation RMSE  {valid_rmse:.3f} yield points\n"
        f"  train RMSE       {train_rmse:.3f}   (gap {valid_rmse - train_rmse:.3f}; "
        f"the assay's own noise is 1.5)"
    )

    # The validation set picked the winner, so its RMSE flatters it: judge it on test batches.
    # The study may come from an earlier run with other settings, so train it again here.
    final = lgb.train(
        {**base_params(), **best.params},
        lgb.Dataset(*train, feature_name=FEATURES),
        num_boost_round=setup.n_rounds,
    )
    default = lgb.train(base_params(), lgb.Dataset(*train, feature_name=FEATURES), 100)
    print(
        f"  test RMSE        {rmse(test[1], final.predict(test[0])):.3f}   "
        f"(LightGBM's defaults, 100 rounds: {rmse(test[1], default.predict(test[0])):.3f})"
    )
    print("Best configuration:")
    for name, value in best.params.items():
        print(f"  {name:<18} {value:.4g}" if isinstance(value, float) else f"  {name:<18} {value}")


if __name__ == "__main__":
    main()
