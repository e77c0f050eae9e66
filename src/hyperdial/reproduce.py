"""Re-run a study's best configuration and compare the result with the stored one.

A study keeps where its objective came from (``optimize`` stores an ``objective`` reference:
module, name and file) beside its reproducibility record. :func:`reproduce` runs a finished
trial's parameters again, by default in a scratch in-memory study so the stored study is left
as it is; ``record=True`` adds the re-run to the study as a new trial marked
``reproduces=<number>``.

What a re-run can and cannot reproduce: the parameters are exactly those stored; the value is
equal only if the objective fixes its own randomness (data splits, initial weights). A trial
that resumed a parent's checkpoint (a promotion or a population-based-training exploit) is
re-run from scratch with its final parameters, not along its lineage.

Example:
    >>> import hyperdial
    >>> from hyperdial.reproduce import reproduce
    >>> def objective(trial):
    ...     return (trial.suggest_float("x", -2, 2) - 0.5) ** 2
    >>> study = hyperdial.create_study(seed=0)
    >>> study.optimize(objective, n_trials=5)
    >>> again = reproduce(study, objective)
    >>> again.number == study.best_trial.number, again.values == study.best_trial.values
    (True, True)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hyperdial._record import OBJECTIVE_ATTR, data_fingerprint, record_data
from hyperdial._types import ParamValue
from hyperdial.exceptions import HyperdialError, InvalidValueError
from hyperdial.schedulers import NoScheduler
from hyperdial.study import Study, create_study
from hyperdial.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hyperdial.trial import Trial

__all__ = [
    "ObjectiveNotFoundError",
    "Reproduction",
    "data_fingerprint",
    "load_objective",
    "record_data",
    "reproduce",
]

Objective = Callable[["Trial"], object]


class ObjectiveNotFoundError(HyperdialError):
    """The study does not say where its objective is, or it cannot be imported again."""


@dataclass(frozen=True)
class Reproduction:
    """The outcome of re-running one trial's configuration.

    Attributes:
        number: The trial whose parameters were re-run.
        params: Those parameters.
        stored: The values the study holds for it.
        values: The values of the re-run (``None`` if it failed or was pruned).
        state: The re-run's state.
        seconds: How long the re-run took.
        recorded_as: The number of the re-run in the study with ``record=True``, else ``None``.
        error: Why the re-run failed, if it did.
    """

    number: int
    params: Mapping[str, ParamValue]
    stored: tuple[float, ...] | None
    values: tuple[float, ...] | None
    state: TrialState
    seconds: float
    recorded_as: int | None = None
    error: str | None = None

    @property
    def differences(self) -> tuple[float, ...] | None:
        """Return re-run minus stored value per objective, or ``None`` without both."""
        if self.values is None or self.stored is None:
            return None
        return tuple(a - b for a, b in zip(self.values, self.stored))

    def is_equal(self, *, rel_tol: float = 1e-9, abs_tol: float = 0.0) -> bool:
        """Return whether every re-run value equals the stored one within the tolerances."""
        if self.values is None or self.stored is None:
            return False
        return all(
            abs(a - b) <= max(abs_tol, rel_tol * max(abs(a), abs(b)))
            for a, b in zip(self.values, self.stored)
        )


def _load_file(path: str, qualname: str) -> object:
    name = f"_hyperdial_reproduced_{Path(path).stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ObjectiveNotFoundError(f"reproduce: cannot load the objective's file {path!r}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # so pickling and dataclasses inside it work
    folder = str(Path(path).resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec.loader.exec_module(module)
    return module


def _attribute(module: object, qualname: str, where: str) -> Objective:
    target: object = module
    for part in qualname.split("."):
        if not hasattr(target, part):
            raise ObjectiveNotFoundError(f"reproduce: {where} has no attribute {qualname!r}.")
        target = getattr(target, part)
    if not callable(target):
        raise ObjectiveNotFoundError(f"reproduce: {where}:{qualname} is not callable.")
    return target  # type: ignore[return-value]  # any callable taking a trial


def load_objective(study: Study) -> Objective:
    """Import the objective the study was optimised with, from its stored reference.

    A script's objective (module ``__main__``) is loaded from the script's file without
    running its ``if __name__ == "__main__":`` block.

    Raises:
        ObjectiveNotFoundError: no reference is stored, the objective was a closure or a
            lambda, or its module or file cannot be imported; the message says to pass the
            objective by hand.
    """
    reference = study.user_attrs.get(OBJECTIVE_ATTR)
    hint = "pass the objective by hand (hyperdial reproduce --objective module:function)"
    if not isinstance(reference, Mapping):
        raise ObjectiveNotFoundError(
            f"reproduce: study {study.study_name!r} does not record its objective; {hint}."
        )
    module_name, qualname = str(reference.get("module")), str(reference.get("qualname"))
    path = reference.get("file")
    if not reference.get("importable"):
        raise ObjectiveNotFoundError(
            f"reproduce: the objective of {study.study_name!r} was {module_name}:{qualname}, "
            f"which cannot be imported again (a closure, lambda or callable object); {hint}."
        )
    if module_name != "__main__":
        try:
            return _attribute(importlib.import_module(module_name), qualname, module_name)
        except ImportError:
            if not isinstance(path, str):
                raise ObjectiveNotFoundError(
                    f"reproduce: cannot import module {module_name!r}; {hint}."
                ) from None
    if not isinstance(path, str) or not Path(path).is_file():
        raise ObjectiveNotFoundError(
            f"reproduce: the objective's script {path!r} is not there any more; {hint}."
        )
    return _attribute(_load_file(path, qualname), qualname, path)


def _target(study: Study, number: int | None) -> FrozenTrial:
    if number is None:
        if len(study.directions) > 1:
            raise InvalidValueError(
                "reproduce: a study with several objectives has no single best trial; "
                "pass number=<trial number> (see study.best_trials)."
            )
        return study.best_trial
    for trial in study.trials:
        if trial.number == number:
            if trial.state is not TrialState.COMPLETE:
                raise InvalidValueError(
                    f"reproduce: trial {number} is {trial.state.name}; only a COMPLETE trial "
                    "has values to compare."
                )
            return trial
    raise InvalidValueError(
        f"reproduce: number must be a trial of {study.study_name!r}; got {number!r}."
    )


def reproduce(
    study: Study,
    objective: Objective | None = None,
    *,
    number: int | None = None,
    record: bool = False,
) -> Reproduction:
    """Run the best (or the given) trial's parameters again and return both results.

    Args:
        study: The study to reproduce.
        objective: The objective; default: the one the study recorded (see
            :func:`load_objective`).
        number: The trial to re-run; default the best trial (one objective only).
        record: Add the re-run to ``study`` as a new trial (user attribute ``reproduces``)
            instead of running it in a scratch study.

    Raises:
        ObjectiveNotFoundError: no objective given and none can be loaded.
        InvalidValueError: the trial does not exist or is not COMPLETE.
    """
    target = _target(study, number)
    run = objective if objective is not None else load_objective(study)
    params = dict(target.params)
    started = time.perf_counter()
    if record:
        queued = study.enqueue(params, user_attrs={"reproduces": target.number})
        where, wanted = study, queued.number
    else:
        where = create_study(
            directions=[d.value for d in study.directions],
            seed=study.seed,
            scheduler=NoScheduler(),
        )
        wanted = where.enqueue(params).number
    where.optimize(run, n_trials=1, catch=(Exception,), show_progress_bar=False)
    seconds = time.perf_counter() - started
    outcome = next(t for t in where.trials if t.number == wanted)
    return Reproduction(
        number=target.number,
        params=params,
        stored=None if target.values is None else tuple(target.values),
        values=None if outcome.values is None else tuple(outcome.values),
        state=outcome.state,
        seconds=seconds,
        recorded_as=wanted if record else None,
        error=outcome.error,
    )
