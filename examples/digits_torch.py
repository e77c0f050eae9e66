"""Tune a PyTorch network for handwritten digits with the expert neural-network space.

The space is `hyperdial.presets.neural_net`: learning rate, batch size, 2-3 hidden layers
narrowing toward the output, dropout rising toward it, L1 and L2 penalties and a learning-rate
schedule (constant, step, cosine or one-cycle). Each trial trains that MLP on scikit-learn's
8x8 digits with `hyperdial.integrations.torch.MLPTrainer`, which reports the validation loss
after every epoch; the study's default scheduler stops unpromising trials early once it has
seen a full curve, and says why in each pruned trial. Each finished trial keeps its train and
validation loss and accuracy as user attributes: their gap shows over- or underfitting.

Runs in about a minute on two CPU cores (`--fast`: a few seconds):

    pip install -e ".[examples,torch]"
    python examples/digits_torch.py --trials 30
    hyperdial show digits-mlp
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import hyperdial
from hyperdial.presets import neural_net

try:
    from hyperdial.integrations.torch import MLPTrainer
except ImportError as exc:  # pragma: no cover - a clear message instead of a traceback
    raise SystemExit(str(exc)) from exc


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    """Return standardised train and validation arrays of the digits data."""
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_val), y_val


def make_objective(
    data: tuple[np.ndarray, ...], epochs: int, seed: int
) -> Callable[[hyperdial.Trial], float]:
    """Return the objective: the validation loss of the preset MLP a trial configures."""
    X_train, y_train, X_val, y_val = data
    space = neural_net(max_layers=3)

    def objective(trial: hyperdial.Trial) -> float:
        params = trial.suggest_space(space)
        trainer = MLPTrainer(
            params,
            task="classification",
            max_epochs=epochs,
            seed=seed * 100_003 + trial.number,
            n_threads=1,
        )
        # reports the validation loss per epoch and raises TrialPruned when the study prunes
        result = trainer.fit(X_train, y_train, X_val, y_val, trial=trial)
        return result.val_loss

    return objective


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--storage", default="sqlite:///hyperdial.db")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="a quick check: 6 trials of 4 epochs")
    args = parser.parse_args(argv)
    if args.fast:
        args.trials, args.epochs = 6, 4
    study = hyperdial.create_study(
        "digits-mlp", storage=args.storage, seed=args.seed, load_if_exists=True
    )
    study.optimize(
        make_objective(load_data(args.seed), args.epochs, args.seed), n_trials=args.trials
    )
    best = study.best_trial
    print(
        f"Best configuration (trial {best.number}): validation loss {best.value:.4f}, "
        f"accuracy {best.user_attrs['validation_score']:.3f} "
        f"(training accuracy {best.user_attrs['train_score']:.3f})"
    )
    for name, value in best.params.items():
        print(f"  {name:14s} {value:.4g}" if isinstance(value, float) else f"  {name:14s} {value}")
    pruned = [t for t in study.trials if t.state is hyperdial.TrialState.PRUNED]
    print(
        f"{len(pruned)} of {len(study.trials)} trials stopped early; "
        f"scheduler: {study.user_attrs.get('scheduler', {}).get('now', 'none')}"
    )


if __name__ == "__main__":
    main()
