"""Objectives named ``module:function`` in a spec, and the choice between them and commands.

Example:
    >>> from hyperdial.cli.spec import spec_from_dict
    >>> spec = spec_from_dict({"objective": "math:fabs"}, name="demo")
    >>> load_function(spec.objective, spec.base_dir).__name__
    'fabs'
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hyperdial.cli.command import CommandObjective
from hyperdial.exceptions import SpecError

if TYPE_CHECKING:
    from hyperdial.cli.spec import StudySpec
    from hyperdial.space import SearchSpace
    from hyperdial.trial import Trial

__all__ = ["FunctionObjective", "build_objective", "load_function"]


def load_function(reference: str, base_dir: Path) -> Callable[..., object]:
    """Import ``module:function`` with ``base_dir`` first on ``sys.path``.

    ``function`` may be a dotted attribute path (``module:Class.method``).

    Raises:
        SpecError: the module cannot be imported (or raises while importing), or it has no
            such callable.
    """
    module_name, _, attr = reference.partition(":")
    folder = str(Path(base_dir).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            raise SpecError(
                f"objective: no module named {module_name!r} in {folder} or on sys.path."
            ) from None
        raise SpecError(f"objective: importing {module_name!r} failed: {exc}.") from None
    except Exception as exc:  # the user's module raised while being imported
        raise SpecError(
            f"objective: importing {module_name!r} raised {type(exc).__name__}: {exc}"
        ) from None
    target: object = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise SpecError(
                f"objective: module {module_name!r} ({getattr(module, '__file__', '?')}) "
                f"has no attribute {attr!r}."
            )
        target = getattr(target, part)
    if not callable(target):
        raise SpecError(f"objective: {reference!r} is not callable; got {type(target).__name__}.")
    return target


class FunctionObjective:
    """Call a user function per trial, after drawing the spec's space if there is one.

    With a space, its parameters are drawn first with :meth:`Trial.suggest_space`, so the
    sampler sees the whole declared space; the function then reads ``trial.params`` (or
    suggests the same parameters again, which returns the same values). A function with a
    parameter named ``params`` receives the drawn dict instead (and ``trial`` too if it has a
    parameter of that name).

    Attributes:
        failure: The number of the last trial whose function raised, with the exception; the
            CLI uses it to tell an objective's error from the study's.

    Example:
        >>> from hyperdial import FixedTrial, SearchSpace
        >>> space = SearchSpace.from_dict({"x": {"type": "float", "low": -1, "high": 1}})
        >>> FunctionObjective(lambda params: params["x"] ** 2, space)(FixedTrial({"x": 0.5}))
        0.25
    """

    def __init__(self, function: Callable[..., object], space: SearchSpace | None) -> None:
        self.function = function
        self.space = space
        try:
            names = set(inspect.signature(function).parameters)
        except (TypeError, ValueError):  # builtins without a signature
            names = set()
        self.wants_params = "params" in names
        self.wants_trial = "trial" in names or not self.wants_params
        name = getattr(function, "__qualname__", repr(function))
        if self.wants_params and space is None:
            raise SpecError(
                f"objective: {name}() takes 'params', which needs a space: in the spec."
            )
        self.failure: tuple[int, BaseException] | None = None

    def __call__(self, trial: Trial) -> object:
        """Run the function for ``trial`` and return what it returns."""
        params = trial.suggest_space(self.space) if self.space is not None else None
        try:
            if not self.wants_params:
                return self.function(trial)
            kwargs: dict[str, object] = {"params": params}
            if self.wants_trial:
                kwargs["trial"] = trial
            return self.function(**kwargs)
        except Exception as exc:
            self.failure = (trial.number, exc)
            raise


def build_objective(spec: StudySpec) -> FunctionObjective | CommandObjective:
    """Return the objective a spec describes, importing its function now.

    Raises:
        SpecError: the function cannot be imported or does not fit the spec.
    """
    if spec.command is not None:
        assert spec.space is not None  # checked by spec_from_dict
        return CommandObjective(
            spec.command,
            spec.space,
            cwd=spec.base_dir,
            timeout_s=spec.trial_timeout_s,
            env={"HYPERDIAL_STUDY": spec.study},
        )
    assert spec.objective is not None
    return FunctionObjective(load_function(spec.objective, spec.base_dir), spec.space)
