"""The sampler contract: a pure function of (history, trial, space, random generator)."""

from __future__ import annotations

import copy
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hyperdial._types import JSON, ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.space import Distribution, SearchSpace, from_unit
from hyperdial.trial import FrozenTrial

__all__ = ["Sampler", "Suggestion", "intersection_space"]


@dataclass(frozen=True)
class Suggestion:
    """A sampler's joint proposal for one trial.

    Attributes:
        params: Proposed values for (part of) the joint space; Python scalars only.
        reason: A short human-readable reason, stored with the trial (``"grid point 7 of 48"``).
        meta: JSON state the sampler wants stored with the trial to rebuild itself later.
    """

    params: Mapping[str, ParamValue] = field(default_factory=dict)
    reason: str = ""
    meta: Mapping[str, JSON] = field(default_factory=dict)


def intersection_space(history: History) -> SearchSpace:
    """Return the parameters every completed trial has, with the same distribution.

    The order is that of the earliest completed trial.
    """
    common: dict[str, Distribution] | None = None
    for trial in history.completed:
        if common is None:
            common = dict(trial.distributions)
            continue
        for name in list(common):
            if trial.distributions.get(name) != common[name]:
                del common[name]
        if not common:
            break
    return SearchSpace(common or {})


class Sampler(ABC):
    """Proposes parameters; a function of the history, never of storage.

    Contract:
        * The study calls :meth:`sample` at most once per trial, lazily, at the first suggestion
          that is not fixed; ``space`` is the declared space of ``Trial.suggest_space`` or, in
          define-by-run, :meth:`infer_space` of the history. Returned params must be legal
          values of ``space`` (Python scalars) for the active parameters; missing ones are drawn
          with :meth:`sample_one`.
        * :meth:`sample_one` draws a parameter outside the joint proposal.
        * ``rng`` is ``numpy.random.default_rng([study_seed, trial.number])``; it is the only
          source of randomness, so parallel workers reproduce the same suggestions.
        * Samplers never write; state they need later goes in ``Suggestion.meta`` and comes
          back as ``FrozenTrial.sampler_meta``.
        * Samplers are picklable.

    Args of :meth:`sample`:
        history: The study's trials at the moment of the call (the current one included).
        trial: The current trial (its ``fixed_params`` are already decided).
        space: The joint space to propose for.
        rng: The trial's random generator.
    """

    #: Whether the sampler handles studies with several objectives.
    supports_multi_objective: bool = True

    #: Whether proposals depend on other trials. ``False`` (random search) lets the study
    #: skip reading the history before each proposal: ``history`` then holds the current
    #: trial alone.
    uses_history: bool = True

    def models_resource(self, history: History) -> bool:
        """Return whether the next proposal models how far each trial trained.

        Such a sampler learns from early-stopped trials at their own resource, so a
        multi-fidelity scheduler (e.g. :class:`~hyperdial.schedulers.BOHB`) hands it the
        history as it is instead of its one-resource view. Default: ``False``.
        """
        return False

    #: Attributes holding in-memory caches (never results): left out when the sampler is
    #: pickled or copied, and rebuilt by :meth:`_init_caches`.
    _caches: tuple[str, ...] = ()

    def __init__(self, *, seed: int | None = None) -> None:
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
        ):
            raise InvalidValueError(
                f"{type(self).__name__}: seed must be an int >= 0 or None; got {seed!r}."
            )
        self.seed = None if seed is None else int(seed)

    def _init_caches(self) -> None:  # noqa: B027 - optional hook
        """Create the attributes named in ``_caches`` (called by subclasses and on unpickling)."""

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        for key in self._caches:
            state.pop(key, None)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    def infer_space(self, history: History) -> SearchSpace:
        """Return the joint space for define-by-run studies (default: the intersection)."""
        return intersection_space(history)

    @abstractmethod
    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Return the joint proposal for ``trial`` over ``space``."""

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Draw one parameter outside the joint proposal (default: uniform at random)."""
        return from_unit(dist, float(rng.random()))

    def on_trial_end(self, history: History, trial: FrozenTrial) -> None:  # noqa: B027
        """React to a finished trial (optional; must not be needed for correctness)."""

    def is_exhausted(self, history: History) -> bool:
        """Return whether the sampler has no configuration left (e.g. a finished grid)."""
        return False

    def reseed(self, seed: int | None) -> Sampler:
        """Return a copy of this sampler with another seed."""
        clone = copy.copy(self)
        clone.seed = seed
        return clone

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed!r})"
