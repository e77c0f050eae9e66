"""Run samplers one after another: coarse quasi-random search first, then a model."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.space import Distribution, SearchSpace
from hyperdial.trial import FrozenTrial

__all__ = ["SequentialSampler", "default_initial_design_size"]


def default_initial_design_size(dim: int) -> int:
    """Return the initial design size for ``dim`` parameters: ``min(max(5, 2 * dim), 20)``.

    Two points per dimension lets a model see every direction move at least once; the cap
    keeps high-dimensional studies from spending their budget on random points, where
    trust-region models start earlier (Eriksson et al. 2019, arXiv:1910.01739, used 2d).

    Example:
        >>> [default_initial_design_size(d) for d in (2, 6, 50)]
        [5, 12, 20]
    """
    return int(min(max(5, 2 * dim), 20))


class SequentialSampler(Sampler):
    """Hand trials to a sequence of samplers: the first ``n`` to one, the next to another.

    The classic recipe is coarse random (or quasi-random) exploration followed by Bayesian
    optimisation (e.g. Bergstra and Bengio 2012 for the random stage; Snoek et al. 2012,
    arXiv:1206.2944, for the model stage). A stage's size may be ``None`` for the last stage
    (it runs for ever) or, for the first stage, ``"auto"``: the size then follows
    :func:`default_initial_design_size` of the dimension of the space being sampled.

    The stage of a trial is decided by its number alone, so parallel workers agree without
    sharing state. Each suggestion's reason starts with its stage.

    Args:
        stages: ``(sampler, n_trials)`` pairs; the last ``n_trials`` must be ``None``.
        seed: Unused by the sequence itself (each stage keeps its own); stored for reference.

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import QMCSampler, RandomSampler
        >>> sampler = SequentialSampler([(QMCSampler(seed=0), 4), (RandomSampler(), None)])
        >>> study = hyperdial.create_study(sampler=sampler, seed=0)
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=6)
        >>> [t.reason.split(":")[0] for t in study.trials][3:5]
        ['stage 1 of 2 (QMCSampler)', 'stage 2 of 2 (RandomSampler)']
    """

    def __init__(
        self,
        stages: Sequence[tuple[Sampler, int | str | None]],
        *,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        if isinstance(stages, (str, bytes)) or not isinstance(stages, Sequence) or not stages:
            raise InvalidValueError(
                f"SequentialSampler: stages must be a non-empty list of (sampler, n_trials); "
                f"got {stages!r}."
            )
        checked: list[tuple[Sampler, int | str | None]] = []
        for i, stage in enumerate(stages):
            if not (isinstance(stage, tuple) and len(stage) == 2):
                raise InvalidValueError(
                    f"SequentialSampler: stage {i} must be a (sampler, n_trials) pair; "
                    f"got {stage!r}."
                )
            sampler, n = stage
            if not isinstance(sampler, Sampler):
                raise InvalidValueError(
                    f"SequentialSampler: stage {i} must hold a Sampler; "
                    f"got {type(sampler).__name__}."
                )
            last = i == len(stages) - 1
            if last and n is not None:
                raise InvalidValueError(
                    f"SequentialSampler: the last stage must run for ever (n_trials=None); "
                    f"got {n!r}."
                )
            if not last:
                auto = n == "auto" and i == 0
                if not auto and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
                    raise InvalidValueError(
                        f"SequentialSampler: n_trials of stage {i} must be an int >= 0"
                        f"{' or auto' if i == 0 else ''}; got {n!r}."
                    )
            checked.append((sampler, n))
        self.stages = tuple(checked)
        self.supports_multi_objective = all(s.supports_multi_objective for s, _ in checked)

    def __repr__(self) -> str:
        inner = ", ".join(f"({type(s).__name__}, {n!r})" for s, n in self.stages)
        return f"SequentialSampler([{inner}])"

    def _bounds(self, dim: int) -> list[float]:
        """Return the first trial number of every stage after the first."""
        edges: list[float] = []
        start = 0
        for _, n in self.stages[:-1]:
            size = default_initial_design_size(dim) if n == "auto" else int(n)  # type: ignore[arg-type]
            start += size
            edges.append(start)
        edges.append(math.inf)
        return edges

    def _stage(self, number: int, dim: int) -> int:
        for i, edge in enumerate(self._bounds(dim)):
            if number < edge:
                return i
        return len(self.stages) - 1  # pragma: no cover - the last edge is infinite

    @staticmethod
    def _dim(history: History, space: SearchSpace | None) -> int:
        """Return the number of parameters known: the declared space's or the history's."""
        names: set[str] = set(space or ())
        for t in history.trials:
            names.update(t.distributions)
        return len(names)

    def _label(self, index: int) -> str:
        return f"stage {index + 1} of {len(self.stages)} ({type(self.stages[index][0]).__name__})"

    def infer_space(self, history: History) -> SearchSpace:
        """Return the joint space of the stage the next trial belongs to."""
        number = max((t.number for t in history.trials), default=-1)
        sampler = self.stages[self._stage(max(number, 0), self._dim(history, None))][0]
        return sampler.infer_space(history)

    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Delegate to the stage of ``trial.number`` and label the reason with the stage."""
        index = self._stage(trial.number, self._dim(history, space))
        inner = self.stages[index][0].sample(history, trial, space, rng)
        reason = f"{self._label(index)}: {inner.reason}" if inner.reason else self._label(index)
        return Suggestion(inner.params, reason, {**inner.meta, "stage": index})

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Delegate a parameter outside the joint space to the trial's stage."""
        index = self._stage(trial.number, self._dim(history, None))
        return self.stages[index][0].sample_one(history, trial, name, dist, rng)

    def on_trial_end(self, history: History, trial: FrozenTrial) -> None:
        """Tell every stage (a later stage may keep statistics from earlier trials)."""
        for sampler, _ in self.stages:
            sampler.on_trial_end(history, trial)

    def is_exhausted(self, history: History) -> bool:
        """Return whether the last stage has nothing left."""
        return self.stages[-1][0].is_exhausted(history)

    def reseed(self, seed: int | None) -> SequentialSampler:
        """Return a copy whose stages are reseeded with ``seed`` (offset per stage)."""
        stages = [
            (s.reseed(None if seed is None else seed + i), n)
            for i, (s, n) in enumerate(self.stages)
        ]
        return SequentialSampler(stages, seed=seed)
