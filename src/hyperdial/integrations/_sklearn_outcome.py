"""What a search's trials amount to: failures to raise or warn about, and the best trial."""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hyperdial.exceptions import (
    HyperdialWarning,
    InvalidValueError,
    NoCompletedTrialsError,
    missing,
)
from hyperdial.integrations._sklearn_results import TrialRecord
from hyperdial.trial import FrozenTrial, TrialState

try:
    from sklearn.exceptions import FitFailedWarning as _SklearnWarning
except ImportError as exc:  # pragma: no cover - exercised without scikit-learn only
    raise missing("sklearn", "HyperdialSearchCV", "scikit-learn") from exc

__all__ = ["FitFailedWarning", "check_outcome", "choose_best"]

_OWNER = "HyperdialSearchCV"


class FitFailedWarning(HyperdialWarning, _SklearnWarning):  # type: ignore[misc]  # untyped
    """Some fits of a search failed; filters on scikit-learn's ``FitFailedWarning`` apply.

    Example:
        >>> from sklearn.exceptions import FitFailedWarning as SklearnFitFailedWarning
        >>> issubclass(FitFailedWarning, SklearnFitFailedWarning)
        True
    """


def check_outcome(
    records: Sequence[TrialRecord], trials: Sequence[FrozenTrial], error_score: float | str
) -> None:
    """Raise when every fit failed or no trial completed; warn when some fits failed.

    When every fit failed the data, not the parameters, is at fault: the first error is
    raised again (with a note), so its type and message reach the caller.

    Raises:
        NoCompletedTrialsError: no trial completed (all pruned or failed).
    """
    failures = [e for r in records for e in r.failures]
    n_fits = sum(len(r.folds) for r in records)
    if failures and len(failures) == n_fits:
        first = failures[0]
        if hasattr(first, "add_note"):  # Python >= 3.11
            first.add_note(
                f"{_OWNER}: all {n_fits} fits of {len(records)} trial(s) failed; "
                "this is the first error."
            )
        raise first
    if not any(t.state is TrialState.COMPLETE for t in trials):
        n_failed = sum(t.state is TrialState.FAILED for t in trials)
        n_pruned = sum(t.state is TrialState.PRUNED for t in trials)
        detail = f"{len(trials)} trial(s): {n_failed} failed, {n_pruned} pruned"
        cause = next((t.error for t in trials if t.error), None)
        if cause:
            detail += f"; the first error: {cause.strip().splitlines()[-1]}"
        raise NoCompletedTrialsError(f"{_OWNER}: no trial completed ({detail}).")
    if failures:
        first = failures[0]
        n_trials = sum(bool(r.failures) for r in records)
        outcome = (
            f"those splits score {error_score!r}"
            if error_score != "raise" and not math.isnan(float(error_score))
            else "their trials are FAILED"
        )
        warnings.warn(
            f"{_OWNER}: {len(failures)} of {n_fits} fits failed in {n_trials} of "
            f"{len(records)} trials ({outcome}); the first with {type(first).__name__}: "
            f"{first}. Set error_score='raise' to see the traceback, or silence with "
            "warnings.filterwarnings('ignore', category=FitFailedWarning).",
            FitFailedWarning,
            stacklevel=3,
        )


def choose_best(
    results: Mapping[str, Any],
    trials: Sequence[FrozenTrial],
    refit: bool | str | Callable[[Mapping[str, Any]], object],
    guide: str,
) -> tuple[int, float | None]:
    """Return the best row of ``results`` and its mean score (``None`` for a callable refit).

    The best row is the completed trial ranked first by the guiding metric (the earliest on
    a tie); a callable ``refit`` chooses instead, among completed trials.

    Raises:
        InvalidValueError: a callable ``refit`` returned no valid index, or a trial that did
            not complete.
    """
    if callable(refit):
        index = refit(results)
        if (
            not isinstance(index, numbers.Integral)
            or isinstance(index, bool)
            or not 0 <= int(index) < len(trials)
        ):
            raise InvalidValueError(
                f"{_OWNER}: refit must return an index into cv_results_ (an int in "
                f"[0, {len(trials) - 1}]); got {index!r}."
            )
        state = trials[int(index)].state
        if state is not TrialState.COMPLETE:
            raise InvalidValueError(
                f"{_OWNER}: refit must choose a completed trial; got index {index}, a "
                f"{state.name} trial (its means are NaN: skip them, e.g. with np.nanargmax)."
            )
        return int(index), None
    ranks = results[f"rank_test_{guide}"]
    complete = [i for i, t in enumerate(trials) if t.state is TrialState.COMPLETE]
    index = min(complete, key=lambda i: (ranks[i], i))
    return index, float(results[f"mean_test_{guide}"][index])
