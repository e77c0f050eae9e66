"""A report of a 10,000-trial study stays quick: figures subsample, tables keep the best."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hyperdial
from hyperdial import TrialState
from hyperdial.report import render_html, render_markdown
from hyperdial.samplers import RandomSampler

N_TRIALS = 10_000


def _large_study():
    """10,000 random trials (a few enqueued), with curves, scores, pruned and failed ones."""
    study = hyperdial.create_study("large", sampler=RandomSampler(seed=0), seed=0)
    rng = np.random.default_rng(0)
    for i in range(N_TRIALS):
        if i < 10:
            study.enqueue({"lr": float(10 ** rng.uniform(-4, -1)), "kind": "poly"})
        trial = study.ask()
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        depth = trial.suggest_int("depth", 1, 8)
        kind = trial.suggest_categorical("kind", ["rbf", "linear", "poly"])
        gamma = trial.suggest_float("gamma", 0.01, 10, log=True) if kind == "rbf" else 1.0
        width = trial.suggest_int("width", 16, 512, log=True)
        dropout = trial.suggest_float("dropout", 0.0, 0.5)
        loss = (math.log10(lr) + 2) ** 2 + 0.1 * depth + (0.5 if kind == "linear" else 0)
        loss += 0.05 * abs(math.log10(gamma)) + 0.3 * (dropout - 0.2) ** 2
        loss += 0.01 * math.log(width) + rng.normal(0, 0.05)
        for step in range(5):
            trial.report(loss * (1 + 1.0 / (step + 1)), step)
        trial.set_user_attr("train_score", 1 - loss / 10)
        trial.set_user_attr("validation_score", 1 - loss / 10 - 0.01 * depth)
        if i % 7 == 3:
            study.tell(trial, state=TrialState.PRUNED, error="pruned at step 4: rank 9 of 9")
        elif i % 53 == 5:
            study.tell(trial, state=TrialState.FAILED, error="ValueError: the model diverged")
        else:
            study.tell(trial, loss)
    return study


@pytest.mark.slow
def test_a_ten_thousand_trial_report_is_subsampled_and_bounded():
    # What keeps a large report fast is drawing less: scatter plots subsampled, the page
    # bounded, the trial table cut to the best (speed itself is for benchmarks, not tests).
    study = _large_study()
    page = render_html(study)
    assert page.count('class="plotly-graph-div"') >= 11
    n_done = len(study.get_trials([TrialState.COMPLETE]))
    assert f"2,000 of {n_done:,} shown" in page  # scatter plots are subsampled
    assert len(page) < 20_000_000
    md = render_markdown(study)
    assert "**100 of 10,000 trials (best first)**" in md
