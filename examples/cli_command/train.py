"""Train a gradient-boosted classifier with the hyperparameters given as flags.

A stand-alone script, as a training job usually is: it knows nothing of hyperdial. It talks to
``hyperdial tune`` (see ``spec.yaml``) through its standard output only:

- after every stage of 20 boosting iterations it prints ``report ITERATIONS LOSS``, the
  validation log loss so far, so the study's scheduler can stop a weak configuration early
  (the command is then killed and the trial stored PRUNED);
- its last line is a JSON object: ``"value"`` is the objective (the final validation log loss),
  the other keys (accuracy, iterations) are stored as the trial's user attributes.

The data is generated (``make_classification``: 3,000 rows, 20 columns, 8 of them informative,
5% of the labels flipped), so the example runs anywhere; load your own table instead.

Run it alone to see what the tuner sees::

    python train.py --learning-rate 0.1 --max-leaf-nodes 16 --regularization l2 --l2 0.5
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

ITERATIONS_PER_STAGE = 20


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Read the hyperparameters; ``--l2`` goes with ``--regularization l2`` only."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learning-rate", type=float, required=True)
    parser.add_argument("--max-leaf-nodes", type=int, required=True)
    parser.add_argument("--regularization", choices=["none", "l2"], required=True)
    parser.add_argument("--l2", type=float, help="L2 penalty on leaf values (> 0)")
    parser.add_argument("--stages", type=int, default=10, help="stages of 20 iterations")
    args = parser.parse_args(argv)
    # The spec's condition makes hyperdial leave --l2 out when regularization is none.
    if (args.regularization == "l2") != (args.l2 is not None):
        parser.error("--l2 is required with --regularization l2 and only then")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """Train stage by stage, report each stage's validation loss, print the result."""
    args = parse_args(argv)
    # Imported once the flags are checked, so that a wrong flag fails at once.
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import accuracy_score, log_loss
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=3000, n_features=20, n_informative=8, flip_y=0.05, random_state=0
    )
    X_train, X_valid, y_train, y_valid = train_test_split(
        X, y, test_size=1 / 3, stratify=y, random_state=0
    )
    model = HistGradientBoostingClassifier(
        learning_rate=args.learning_rate,
        max_leaf_nodes=args.max_leaf_nodes,
        l2_regularization=args.l2 or 0.0,
        early_stopping=False,  # the tuner's scheduler decides when to stop
        warm_start=True,  # each fit() adds trees to those already built
        random_state=0,
    )
    for stage in range(1, args.stages + 1):
        model.max_iter = stage * ITERATIONS_PER_STAGE
        model.fit(X_train, y_train)
        loss = log_loss(y_valid, model.predict_proba(X_valid))
        # flush: the tuner reads lines as they come, to stop a weak trial now, not at the end.
        print(f"report {model.max_iter} {loss:.6f}", flush=True)
    accuracy = accuracy_score(y_valid, model.predict(X_valid))
    # The value as reported (6 decimals), so the last report and the result agree.
    result = {"value": round(loss, 6), "accuracy": accuracy, "iterations": model.max_iter}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
