"""Exhaustive search over the full factorial of given values."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from hyperdial._types import ParamValue
from hyperdial.exceptions import InvalidValueError, StudyFinished
from hyperdial.history import History
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.space import Distribution, SearchSpace
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["GridSampler"]

_OWNER = "GridSampler"


def _identity(value: ParamValue) -> tuple[str, object]:
    # 1 and 1.0 are the same grid value; 1 and True are not.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    return ("number", float(value))


def _check_values(name: object, values: object) -> tuple[ParamValue, ...]:
    if not isinstance(name, str) or not name:
        raise InvalidValueError(
            f"{_OWNER}: parameter names must be non-empty strings; got {name!r}."
        )
    if isinstance(values, np.ndarray):
        values = values.tolist()
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise InvalidValueError(
            f"{_OWNER}: the values of {name!r} must be a list or tuple; "
            f"got {type(values).__name__}."
        )
    if not values:
        raise InvalidValueError(f"{_OWNER}: the values of {name!r} must be non-empty; got [].")
    out: list[ParamValue] = []
    seen: set[tuple[str, object]] = set()
    for value in values:
        if isinstance(value, np.generic):
            value = value.item()
        if not (value is None or isinstance(value, (str, bool, int, float))):
            raise InvalidValueError(
                f"{_OWNER}: the values of {name!r} must be str, int, float, bool or None; "
                f"got {value!r} of type {type(value).__name__}."
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise InvalidValueError(
                f"{_OWNER}: the values of {name!r} must be finite; got {value!r}."
            )
        key = _identity(value)
        if key in seen:
            raise InvalidValueError(
                f"{_OWNER}: the values of {name!r} must be unique; got {value!r} twice."
            )
        seen.add(key)
        out.append(value)
    return tuple(out)


class GridSampler(Sampler):
    """Try every combination of the given values once, in order or shuffled.

    Workers agree without shared state: the grid position of trial ``n`` is ``n`` minus the
    number of earlier trials whose enqueued (fixed) parameters cover the whole grid, so
    parallel workers, threads and machines never take the same point. With ``shuffle=True``
    position ``p`` maps to point ``numpy.random.default_rng(seed).permutation(n_grid)[p]``
    (seed 0 when ``seed`` is ``None``, so that every worker builds the same permutation).

    A trial that fails before its first suggestion still uses up its grid point. When the
    grid is exhausted, :meth:`sample` raises :class:`~hyperdial.exceptions.StudyFinished` and
    :meth:`is_exhausted` tells ``optimize`` to stop.

    Args:
        search_space: Parameter name to the values to try (str, int, float, bool or None;
            unique). The objective may only ask for these parameters.
        seed: Fixes the shuffled order.
        shuffle: Visit the grid points in a random order instead of the factorial order
            (the last parameter varies fastest).

    Example:
        >>> sampler = GridSampler({"lr": [0.1, 0.01], "depth": [2, 4, 8]})
        >>> sampler.n_grid, sampler.point(1)
        (6, {'lr': 0.1, 'depth': 4})
    """

    def __init__(
        self,
        search_space: Mapping[str, Sequence[ParamValue]],
        *,
        seed: int | None = None,
        shuffle: bool = False,
    ) -> None:
        super().__init__(seed=seed)
        if not isinstance(search_space, Mapping):
            raise InvalidValueError(
                f"{_OWNER}: search_space must be a mapping of parameter name to a list of "
                f"values; got {type(search_space).__name__}."
            )
        if not search_space:
            raise InvalidValueError(
                f"{_OWNER}: search_space must name at least one parameter; got {{}}."
            )
        if not isinstance(shuffle, bool):
            raise InvalidValueError(f"{_OWNER}: shuffle must be a bool; got {shuffle!r}.")
        self._grid = {name: _check_values(name, values) for name, values in search_space.items()}
        self.shuffle = shuffle
        self._order: np.ndarray | None = None  # cached permutation, rebuilt on demand
        self._order_seed: int | None = None
        self._last: tuple[History, int, int] | None = None  # (history, number, position)

    @property
    def search_space(self) -> dict[str, list[ParamValue]]:
        """Return the grid: parameter name to its values."""
        return {name: list(values) for name, values in self._grid.items()}

    @property
    def n_grid(self) -> int:
        """Return the number of grid points."""
        return math.prod(len(values) for values in self._grid.values())

    def point(self, index: int) -> dict[str, ParamValue]:
        """Return grid point ``index`` of the factorial order (the last name varies fastest).

        Raises:
            InvalidValueError: ``index`` is not in ``range(n_grid)``.
        """
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise InvalidValueError(f"{_OWNER}: index must be an int; got {index!r}.")
        if not 0 <= index < self.n_grid:
            raise InvalidValueError(
                f"{_OWNER}: index must lie in [0, {self.n_grid - 1}]; got {index!r}."
            )
        rest = int(index)
        picked: dict[str, ParamValue] = {}
        for name in reversed(self._grid):
            rest, digit = divmod(rest, len(self._grid[name]))
            picked[name] = self._grid[name][digit]
        return {name: picked[name] for name in self._grid}

    def _covers(self, trial: FrozenTrial) -> bool:
        """Return whether enqueued values fix every grid parameter (no grid point needed)."""
        fixed = trial.fixed_params
        return bool(fixed) and all(name in fixed for name in self._grid)

    def _position(self, history: History, trial: FrozenTrial) -> int:
        # The study passes one snapshot to sample() and every sample_one() of a trial; the
        # cache holds that snapshot so it cannot be confused with another study's.
        last = self._last
        if last is not None and last[0] is history and last[1] == trial.number:
            return last[2]
        skipped = sum(1 for t in history.trials if t.number < trial.number and self._covers(t))
        position = trial.number - skipped
        self._last = (history, trial.number, position)
        return position

    def _index(self, history: History, trial: FrozenTrial) -> int:
        position = self._position(history, trial)
        if position >= self.n_grid:
            raise StudyFinished(f"{_OWNER}: the grid of {self.n_grid} points is exhausted.")
        if not self.shuffle:
            return position
        seed = 0 if self.seed is None else self.seed
        if self._order is None or self._order_seed != seed:
            self._order = np.random.default_rng(seed).permutation(self.n_grid)
            self._order_seed = seed
        return int(self._order[position])

    def _check_name(self, name: str) -> None:
        if name not in self._grid:
            raise InvalidValueError(
                f"{_OWNER}: every parameter the objective asks for must be in the grid; "
                f"got {name!r}, not among {list(self._grid)!r}."
            )

    def _value(self, name: str, dist: Distribution, index: int) -> ParamValue:
        self._check_name(name)
        value = self.point(index)[name]
        try:
            return dist.cast(value)
        except InvalidValueError:
            raise InvalidValueError(
                f"{_OWNER}: the grid values of {name!r} must be legal for {dist!r}; got {value!r}."
            ) from None

    def infer_space(self, history: History) -> SearchSpace:
        """Return an empty space: values come from the grid point, by name."""
        return SearchSpace({})

    def sample(
        self,
        history: History,
        trial: FrozenTrial,
        space: SearchSpace,
        rng: np.random.Generator,
    ) -> Suggestion:
        """Return the trial's grid point restricted to the active parameters of ``space``.

        Raises:
            StudyFinished: every grid point has been handed out.
            InvalidValueError: a grid value is illegal for its distribution, or ``space``
                has an active parameter the grid does not cover.
        """
        if self._covers(trial):
            return Suggestion({}, reason="enqueued")
        index = self._index(history, trial)
        known: dict[str, ParamValue] = {**trial.params, **trial.fixed_params}
        params: dict[str, ParamValue] = {}
        for name, dist in space.items():
            if space.is_active(name, known) and name not in known:
                params[name] = known[name] = self._value(name, dist, index)
        return Suggestion(
            params, reason=f"grid point {index} of {self.n_grid}", meta={"grid_index": index}
        )

    def sample_one(
        self,
        history: History,
        trial: FrozenTrial,
        name: str,
        dist: Distribution,
        rng: np.random.Generator,
    ) -> ParamValue:
        """Return the value of ``name`` at the trial's grid point.

        Raises:
            InvalidValueError: ``name`` is not in the grid or its grid value is illegal.
        """
        self._check_name(name)
        return self._value(name, dist, self._index(history, trial))

    def is_exhausted(self, history: History) -> bool:
        """Return whether every grid point is handed out and no enqueued trial waits."""
        if any(t.state is TrialState.WAITING for t in history.trials):
            return False
        taken = sum(1 for t in history.trials if not self._covers(t))
        return taken >= self.n_grid

    def __getstate__(self) -> dict[str, object]:
        state = self.__dict__.copy()
        state.update(_order=None, _order_seed=None, _last=None)  # caches
        return state

    def __repr__(self) -> str:
        return f"GridSampler({self.search_space!r}, seed={self.seed!r}, shuffle={self.shuffle!r})"
