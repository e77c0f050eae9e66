"""The immutable view of a study's trials that samplers and schedulers receive."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import overload

from hyperdial._types import Direction
from hyperdial.trial import FrozenTrial, TrialState

__all__ = ["History", "TrialSequence", "dominates", "pareto_front"]


class TrialSequence(Sequence[FrozenTrial]):
    """An immutable view of trials: a frozen prefix of an append-only list, then the rest.

    The study keeps finished trials in an append-only list (finished trials never change), so a
    snapshot can share that list up to its current length instead of copying it on every ask.
    Slices return tuples; pickling stores a plain tuple.
    """

    __slots__ = ("_head", "_n_head", "_rest")

    def __init__(self, head: list[FrozenTrial], rest: Sequence[FrozenTrial] = ()) -> None:
        self._head = head
        self._n_head = len(head)
        self._rest = tuple(rest)

    def __len__(self) -> int:
        return self._n_head + len(self._rest)

    @overload
    def __getitem__(self, index: int) -> FrozenTrial: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[FrozenTrial, ...]: ...

    def __getitem__(self, index: int | slice) -> FrozenTrial | tuple[FrozenTrial, ...]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1:  # the common case, e.g. the trials after a cached prefix: no full copy
                n = self._n_head
                head = self._head[start : min(stop, n)] if start < n else []
                rest = self._rest[max(start - n, 0) : max(stop - n, 0)]
                return (*head, *rest)
            return tuple(self)[index]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("trial index out of range")
        if index < self._n_head:
            return self._head[index]
        return self._rest[index - self._n_head]

    def __iter__(self) -> Iterator[FrozenTrial]:
        head = self._head
        for i in range(self._n_head):
            yield head[i]
        yield from self._rest

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return tuple(self) == tuple(other)

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"TrialSequence({list(self)!r})"

    def __reduce__(self) -> tuple[object, ...]:
        return (tuple, (tuple(self),))


def dominates(a: Sequence[float], b: Sequence[float], directions: Sequence[Direction]) -> bool:
    """Return whether objective vector ``a`` Pareto-dominates ``b``."""
    better = False
    for x, y, d in zip(a, b, directions):
        if d is Direction.MAXIMIZE:
            x, y = -x, -y
        if x > y:
            return False
        if x < y:
            better = True
    return better


def pareto_front(
    trials: Iterable[FrozenTrial], directions: Sequence[Direction]
) -> list[FrozenTrial]:
    """Return the completed trials no other completed trial dominates, by number."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.values is not None]
    front = [
        t
        for t in done
        if not any(dominates(o.values, t.values, directions) for o in done if o is not t)  # type: ignore[arg-type]
    ]
    return sorted(front, key=lambda t: t.number)


@dataclass(frozen=True)
class History:
    """A snapshot of a study: its directions and its trials ordered by number.

    Example:
        >>> from hyperdial import Direction
        >>> History((Direction.MINIMIZE,), ()).completed
        ()
    """

    directions: tuple[Direction, ...]
    trials: Sequence[FrozenTrial]

    @property
    def n_objectives(self) -> int:
        """Return the number of objectives."""
        return len(self.directions)

    def of_states(self, *states: TrialState) -> tuple[FrozenTrial, ...]:
        """Return the trials in any of ``states``."""
        return tuple(t for t in self.trials if t.state in states)

    @cached_property
    def completed(self) -> tuple[FrozenTrial, ...]:
        """Return the COMPLETE trials."""
        return self.of_states(TrialState.COMPLETE)

    @cached_property
    def running(self) -> tuple[FrozenTrial, ...]:
        """Return the RUNNING trials (pending evaluations)."""
        return self.of_states(TrialState.RUNNING)

    @cached_property
    def pareto(self) -> tuple[FrozenTrial, ...]:
        """Return the non-dominated completed trials (the best one for one objective)."""
        if self.n_objectives == 1:
            best = self.best
            return () if best is None else (best,)
        return tuple(pareto_front(self.trials, self.directions))

    @cached_property
    def best(self) -> FrozenTrial | None:
        """Return the best completed trial of one objective (the lowest number wins ties)."""
        if not self.completed:
            return None
        sign = -1.0 if self.directions[0] is Direction.MAXIMIZE else 1.0
        return min(self.completed, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]

    def children(self, number: int) -> tuple[FrozenTrial, ...]:
        """Return the trials launched with ``parent == number``."""
        return tuple(t for t in self.trials if t.parent == number)

    def by_number(self, number: int) -> FrozenTrial:
        """Return the trial with ``number``.

        Raises:
            KeyError: no such trial in the snapshot.
        """
        if 0 <= number < len(self.trials) and self.trials[number].number == number:
            return self.trials[number]
        for t in self.trials:
            if t.number == number:
                return t
        raise KeyError(f"no trial number {number} in this history.")
