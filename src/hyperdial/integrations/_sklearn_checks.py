"""Checks of :class:`~hyperdial.integrations.sklearn.HyperdialSearchCV`'s arguments.

scikit-learn's convention is that a constructor stores its arguments untouched (so
``get_params``, ``set_params`` and ``clone`` round-trip), hence every check runs in ``fit``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from hyperdial.exceptions import InvalidDistributionError, InvalidValueError
from hyperdial.samplers.base import Sampler
from hyperdial.schedulers.base import Scheduler
from hyperdial.space import Categorical, Float, Int, SearchSpace
from hyperdial.storage.base import Storage

__all__ = ["check_settings", "check_targets", "search_space"]

_OWNER = "HyperdialSearchCV"


def _fail(param: str, expectation: str, value: object) -> InvalidValueError:
    return InvalidValueError(f"{_OWNER}: {param} must be {expectation}; got {value!r}.")


def _is_int(value: object, low: int | None = None) -> bool:
    """Return whether ``value`` is an int (not a bool), and ``>= low`` if given."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        return False
    return low is None or int(value) >= low


def check_settings(search: Any) -> None:
    """Check the search's options other than the space, scoring and cv.

    Raises:
        InvalidValueError: an option has a value outside what it accepts.
        TypeError: ``sampler``, ``scheduler`` or ``storage`` has the wrong type.
    """
    estimator = search.estimator
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise _fail("estimator", "a scikit-learn estimator (with fit and get_params)", estimator)
    n_trials, timeout = search.n_trials, search.timeout
    if n_trials is None and timeout is None:
        raise _fail("n_trials", "an int >= 1 (or None with a timeout)", n_trials)
    if n_trials is not None and not _is_int(n_trials, 1):
        raise _fail("n_trials", "an int >= 1 (or None with a timeout)", n_trials)
    is_number = isinstance(timeout, numbers.Real) and not isinstance(timeout, bool)
    if timeout is not None and not (is_number and float(timeout) > 0):
        raise _fail("timeout", "a number of seconds > 0 or None", timeout)
    if not (_is_int(search.n_jobs, 1) or (_is_int(search.n_jobs) and search.n_jobs == -1)):
        raise _fail("n_jobs", "an int >= 1 or -1", search.n_jobs)
    seed = search.seed
    if seed is not None and not _is_int(seed, 0):
        raise _fail("seed", "an int >= 0 or None", seed)
    if not isinstance(search.return_train_score, bool):
        raise _fail("return_train_score", "a bool", search.return_train_score)
    if not _is_int(search.verbose, 0):
        raise _fail("verbose", "an int >= 0", search.verbose)
    error_score = search.error_score
    if error_score != "raise" and (
        isinstance(error_score, bool) or not isinstance(error_score, numbers.Real)
    ):
        raise _fail("error_score", "'raise' or a number (e.g. np.nan)", error_score)
    if isinstance(error_score, numbers.Real) and math.isinf(error_score):
        raise _fail("error_score", "'raise', NaN or a finite number", error_score)
    if search.sampler is not None and not isinstance(search.sampler, Sampler):
        raise TypeError(
            f"{_OWNER}: sampler must be a hyperdial Sampler or None; "
            f"got {type(search.sampler).__name__}."
        )
    if search.scheduler is not None and not isinstance(search.scheduler, Scheduler):
        raise TypeError(
            f"{_OWNER}: scheduler must be a hyperdial Scheduler or None; "
            f"got {type(search.scheduler).__name__}."
        )
    if search.storage is not None and not isinstance(search.storage, (str, Storage)):
        raise TypeError(
            f"{_OWNER}: storage must be a Storage, a database URL or None; "
            f"got {type(search.storage).__name__}."
        )
    name = search.study_name
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise _fail("study_name", "a non-empty str or None", name)


def search_space(param_distributions: object, estimator: Any) -> SearchSpace:
    """Return ``param_distributions`` as a space after checking it fits ``estimator``.

    Raises:
        InvalidDistributionError: it is not a mapping of name to Float, Int or Categorical
            (nor a :class:`~hyperdial.SearchSpace`), or it is empty.
        InvalidValueError: it names a parameter the estimator does not have.
    """
    if isinstance(param_distributions, SearchSpace):
        space = param_distributions
    elif isinstance(param_distributions, Mapping):
        for name, dist in param_distributions.items():
            if not isinstance(dist, (Float, Int, Categorical)):
                hint = ""
                if isinstance(dist, (list, tuple)):
                    hint = " (for a list of choices, use Categorical([...]))"
                raise InvalidDistributionError(
                    f"{_OWNER}: param_distributions[{name!r}] must be a Float, Int or "
                    f"Categorical{hint}; got {type(dist).__name__} {dist!r}."
                )
        space = SearchSpace(dict(param_distributions))
    else:
        raise InvalidDistributionError(
            f"{_OWNER}: param_distributions must be a mapping of parameter name to "
            f"distribution, or a SearchSpace; got {type(param_distributions).__name__}."
        )
    if not space:
        raise InvalidDistributionError(
            f"{_OWNER}: param_distributions must name at least one parameter; got {{}}."
        )
    known = estimator.get_params(deep=True)
    unknown = [name for name in space if name not in known]
    if unknown:
        raise InvalidValueError(
            f"{_OWNER}: param_distributions must name parameters of "
            f"{type(estimator).__name__} (see its get_params()); got unknown {unknown!r}. "
            f"Valid names: {sorted(known)!r}."
        )
    return space


def check_targets(estimator: Any, y: object) -> None:
    """Check that ``y`` is given when ``estimator`` needs targets (classifiers, regressors).

    Raises:
        InvalidValueError: ``y`` is ``None`` and the estimator's tags say it needs one.
    """
    if y is not None:
        return
    try:
        from sklearn.utils import get_tags
    except ImportError:  # scikit-learn < 1.6 has no tags to ask; the estimator's fit complains
        return
    if get_tags(estimator).target_tags.required:
        raise InvalidValueError(
            f"{_OWNER}: y must be given: {type(estimator).__name__} requires y to be passed, "
            "but the target y is None."
        )
