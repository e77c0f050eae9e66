"""Trial records and the handle an objective receives.

:class:`FrozenTrial` is the one record type that crosses every seam. :class:`Trial` is the
objective's handle: every ``suggest_*`` builds a distribution and funnels into
:meth:`Trial.suggest`. :class:`FixedTrial` offers the same surface with fixed values for users'
unit tests.
"""

from __future__ import annotations

import enum
import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from hyperdial._record import data_fingerprint, record_data
from hyperdial._types import JSON, FrozenDict, ParamValue
from hyperdial.exceptions import InvalidDistributionError, InvalidValueError
from hyperdial.space import Categorical, Distribution, Float, Int, SearchSpace, cast_param

__all__ = ["FixedTrial", "FrozenTrial", "Trial", "TrialState"]

_EMPTY: Mapping[str, object] = MappingProxyType({})


class TrialState(enum.Enum):
    """The life cycle of a trial; states only move forward."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAILED = "FAILED"

    def is_finished(self) -> bool:
        """Return whether the trial has ended (COMPLETE, PRUNED or FAILED)."""
        return self in _FINISHED


_FINISHED = frozenset({TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAILED})


@dataclass(frozen=True)
class FrozenTrial:
    """An immutable snapshot of one trial.

    Attributes:
        trial_id: The storage's id of the trial (unique across studies).
        number: Dense, 0-based position of the trial in its study.
        state: Where the trial is in its life cycle.
        params: Parameter values set so far.
        distributions: The distribution of each parameter in ``params``.
        values: The objective values, one per direction, once COMPLETE.
        intermediate: Step to value, as reported by the objective (a tuple of one value per
            objective in a study with several).
        budget: The resource the trial was launched with (multi-fidelity), if any.
        parent: Number of the trial this one continues (promotion, exploit), if any.
        user_attrs: Free JSON annotations set by the user.
        reason: Why the sampler proposed these parameters.
        sampler_meta: JSON state the sampler wrote for itself.
        fixed_params: Values fixed in advance (enqueued by a user or a scheduler).
        error: For a FAILED trial, what went wrong (a message or a traceback).
        started_at: When the trial started running (UTC).
        finished_at: When it finished (UTC).
    """

    trial_id: int
    number: int
    state: TrialState
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    distributions: Mapping[str, Distribution] = field(default_factory=dict)
    values: tuple[float, ...] | None = None
    intermediate: Mapping[int, float | tuple[float, ...]] = field(default_factory=dict)
    budget: float | None = None
    parent: int | None = None
    user_attrs: Mapping[str, JSON] = field(default_factory=dict)
    reason: str = ""
    sampler_meta: Mapping[str, JSON] = field(default_factory=dict)
    fixed_params: Mapping[str, ParamValue] = field(default_factory=dict)
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def __post_init__(self) -> None:
        for name in _MAPPING_FIELDS:
            value = getattr(self, name)
            if type(value) is not FrozenDict:
                object.__setattr__(self, name, FrozenDict(value))

    @property
    def value(self) -> float | None:
        """Return the single objective value (``None`` unless COMPLETE).

        Raises:
            InvalidValueError: the study has several objectives; use ``values``.
        """
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise InvalidValueError(
                f"Trial {self.number} has {len(self.values)} objective values; use .values."
            )
        return self.values[0]

    @property
    def duration_s(self) -> float | None:
        """Return the run time in seconds, once finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def last_step(self) -> int | None:
        """Return the largest reported step, if any."""
        return max(self.intermediate) if self.intermediate else None


_MAPPING_FIELDS = (
    "params",
    "distributions",
    "intermediate",
    "user_attrs",
    "sampler_meta",
    "fixed_params",
)


class _TrialOwner(Protocol):
    """What a :class:`Trial` needs from the study that runs it."""

    def _draw(
        self, trial: Trial, name: str, dist: Distribution, space: SearchSpace | None
    ) -> ParamValue: ...  # noqa: E501

    def _record(
        self, trial: Trial, values: Mapping[str, tuple[Distribution, ParamValue]]
    ) -> None: ...  # noqa: E501

    def _report(self, trial: Trial, value: float | tuple[float, ...], step: int) -> None: ...

    def _save_checkpoint(self, trial: Trial, obj: object) -> None: ...

    def _load_checkpoint(self, trial: Trial) -> object: ...

    def _should_prune(self, trial: Trial) -> bool: ...

    def _set_user_attr(self, trial: Trial, key: str, value: JSON) -> None: ...

    def set_user_attr(self, key: str, value: JSON) -> None: ...


@functools.lru_cache(maxsize=1024, typed=True)
def _float_dist(low: float, high: float, step: float | None, log: bool) -> Float:
    return Float(low, high, log=log, step=step)


@functools.lru_cache(maxsize=1024)
def _categorical_dist(key: tuple[tuple[type, ParamValue], ...]) -> Categorical:
    return Categorical([c for _, c in key])


@functools.lru_cache(maxsize=1024, typed=True)
def _int_dist(low: int, high: int, step: int, log: bool) -> Int:
    return Int(low, high, log=log, step=step)


class _Suggestions:
    """The ``suggest_*`` surface shared by :class:`Trial` and :class:`FixedTrial`."""

    def suggest(self, name: str, dist: Distribution) -> ParamValue:  # pragma: no cover
        raise NotImplementedError

    def _named(self, name: str, make: object, *args: object, **kwargs: object) -> Distribution:
        if not isinstance(name, str) or not name:
            raise InvalidDistributionError(
                f"parameter names must be non-empty strings; got {name!r}."
            )
        try:
            try:
                return make(*args, **kwargs)  # type: ignore[operator, no-any-return]
            except TypeError:  # unhashable arguments cannot use the cache; validate them
                return make.__wrapped__(*args, **kwargs)  # type: ignore[attr-defined, no-any-return]
        except InvalidDistributionError as exc:
            raise InvalidDistributionError(f"parameter {name!r}: {exc}") from None

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """Suggest a float in ``[low, high]``, on the log scale or a step grid if asked.

        Example:
            >>> FixedTrial({"lr": 0.01}).suggest_float("lr", 1e-4, 1e-1, log=True)
            0.01
        """
        dist = self._named(name, _float_dist, low, high, step, log)
        return float(self.suggest(name, dist))  # type: ignore[arg-type]

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """Suggest an integer in ``[low, high]``."""
        dist = self._named(name, _int_dist, low, high, step, log)
        return int(self.suggest(name, dist))  # type: ignore[arg-type]

    def suggest_categorical(self, name: str, choices: Sequence[ParamValue]) -> ParamValue:
        """Suggest one of ``choices`` (unordered)."""
        key = None
        if isinstance(choices, (list, tuple)):
            key = tuple((type(c), c) for c in choices)
        if key is None:
            dist = self._named(name, Categorical, choices)
        else:
            dist = self._named(name, _categorical_dist, key)
        return self.suggest(name, dist)


class Trial(_Suggestions):
    """The handle an objective receives; ask it for parameters and report progress.

    Users do not build trials: :meth:`hyperdial.Study.ask` and ``optimize`` do.

    Example:
        >>> import hyperdial
        >>> study = hyperdial.create_study(seed=1)
        >>> trial = study.ask()
        >>> 1e-4 <= trial.suggest_float("lr", 1e-4, 1e-1, log=True) <= 1e-1
        True
    """

    def __init__(self, owner: _TrialOwner, frozen: FrozenTrial) -> None:
        self._owner = owner
        self._frozen = frozen
        self._params: dict[str, ParamValue] = dict(frozen.params)
        self._distributions: dict[str, Distribution] = dict(frozen.distributions)
        self._intermediate: dict[int, float | tuple[float, ...]] = dict(frozen.intermediate)
        self._user_attrs: dict[str, JSON] = dict(frozen.user_attrs)
        self._context: object = None  # the study's per-trial state (generator, proposal)

    @property
    def number(self) -> int:
        """Return the trial's 0-based number in its study."""
        return self._frozen.number

    @property
    def trial_id(self) -> int:
        """Return the storage's id of the trial."""
        return self._frozen.trial_id

    @property
    def budget(self) -> float | None:
        """Return the resource the trial was launched with, if any."""
        return self._frozen.budget

    @property
    def parent(self) -> int | None:
        """Return the number of the trial this one continues, if any."""
        return self._frozen.parent

    @property
    def params(self) -> Mapping[str, ParamValue]:
        """Return the parameters suggested so far."""
        return MappingProxyType(self._params)

    @property
    def distributions(self) -> Mapping[str, Distribution]:
        """Return the distributions of the parameters suggested so far."""
        return MappingProxyType(self._distributions)

    @property
    def fixed_params(self) -> Mapping[str, ParamValue]:
        """Return the values fixed in advance for this trial (enqueued)."""
        return self._frozen.fixed_params

    @property
    def user_attrs(self) -> Mapping[str, JSON]:
        """Return the user attributes set so far."""
        return MappingProxyType(self._user_attrs)

    @property
    def intermediate(self) -> Mapping[int, float | tuple[float, ...]]:
        """Return the intermediate values reported so far."""
        return MappingProxyType(self._intermediate)

    def save_checkpoint(self, obj: object) -> None:
        """Keep ``obj`` (e.g. model and optimiser state) as this trial's checkpoint.

        A trial launched from it (a promotion, a PBT exploit, or this trial retried) gets it
        back from :meth:`load_checkpoint`. It goes to the study's
        :attr:`~hyperdial.Study.artifacts` store, pickled; saving again replaces it.
        """
        self._owner._save_checkpoint(self, obj)

    def load_checkpoint(self) -> object:
        """Return this trial's own checkpoint if it has one (a retry), else its parent's.

        ``None`` when neither exists: start training from scratch.

        Example:
            >>> import hyperdial
            >>> study = hyperdial.create_study()
            >>> trial = study.ask()
            >>> trial.load_checkpoint() is None
            True
            >>> trial.save_checkpoint({"epoch": 2})
            >>> trial.load_checkpoint()
            {'epoch': 2}
        """
        return self._owner._load_checkpoint(self)

    def _check_same(self, name: str, dist: Distribution) -> None:
        old = self._distributions.get(name)
        if old is not None and old != dist:
            raise InvalidDistributionError(
                f"Trial {self.number}: parameter {name!r} was already suggested as {old!r}; "
                f"it cannot be suggested again as {dist!r}."
            )

    def suggest(self, name: str, dist: Distribution) -> ParamValue:
        """Return the value of ``name`` drawn from ``dist`` (the funnel of ``suggest_*``).

        Resolution order: already set (the distribution must match), fixed by enqueue,
        the sampler's joint suggestion, then the sampler's independent draw.

        Raises:
            InvalidDistributionError: ``name`` was suggested before with another distribution.
        """
        self._check_same(name, dist)
        if name in self._params:
            return self._params[name]
        value = self._owner._draw(self, name, dist, None)
        self._owner._record(self, {name: (dist, value)})
        self._params[name] = value
        self._distributions[name] = dist
        return value

    def suggest_space(self, space: SearchSpace) -> dict[str, ParamValue]:
        """Draw every active parameter of a declarative space and return them.

        Conditions decide which parameters exist; ordering constraints are repaired before the
        values are stored, in one write.

        Example:
            >>> from hyperdial.presets import neural_net
            >>> params = FixedTrial({"n_layers": 2}).suggest_space(neural_net())
            >>> params["n_layers"], params["units_1"] >= params["units_2"]
            (2, True)
        """
        if not isinstance(space, SearchSpace):
            raise TypeError(f"suggest_space expects a SearchSpace; got {type(space).__name__}.")
        drawn: dict[str, ParamValue] = {}
        new: list[str] = []
        for name, dist in space.items():
            if not space.is_active(name, drawn):
                continue
            self._check_same(name, dist)
            if name in self._params:
                drawn[name] = self._params[name]
            else:
                drawn[name] = self._owner._draw(self, name, dist, space)
                new.append(name)
        if space.constraints and new:
            keep = frozenset(n for n in drawn if n not in new or n in self.fixed_params)
            for constraint in space.constraints:
                constraint.repair(drawn, keep)
        if new:
            self._owner._record(self, {n: (space[n], drawn[n]) for n in new})
            for n in new:
                self._params[n] = drawn[n]
                self._distributions[n] = space[n]
        return drawn

    def report(self, value: float | Sequence[float], step: int) -> None:
        """Store an intermediate value of the objective at ``step`` (e.g. an epoch).

        ``step`` is the resource used so far (epochs, samples, seconds); a study with several
        objectives reports one value per objective.

        Raises:
            InvalidValueError: ``step`` is not an int >= 0, or ``value`` is not a number (or,
                with several objectives, a sequence of one number per objective).
        """
        if isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0:
            raise InvalidValueError(f"Trial.report: step must be an int >= 0; got {step!r}.")
        v: float | tuple[float, ...]
        if isinstance(value, (list, tuple)):
            if not value or not all(_is_number(x) for x in value):
                raise InvalidValueError(
                    f"Trial.report: value must be a number or a sequence of numbers; "
                    f"got {value!r}."
                )
            v = tuple(float(x) for x in value)
        elif _is_number(value):
            v = float(value)
        else:
            raise InvalidValueError(
                f"Trial.report: value must be a number; got {type(value).__name__} {value!r}."
            )
        self._owner._report(self, v, int(step))
        self._intermediate[int(step)] = v

    def should_prune(self) -> bool:
        """Return whether the study's scheduler wants this trial stopped now."""
        return self._owner._should_prune(self)

    def set_user_attr(self, key: str, value: JSON) -> None:
        """Attach a JSON-able annotation to the trial."""
        if not isinstance(key, str):
            raise InvalidValueError(f"Trial.set_user_attr: key must be a str; got {key!r}.")
        self._owner._set_user_attr(self, key, value)
        self._user_attrs[key] = value

    def record_data(self, *arrays: object, source: str) -> dict[str, JSON]:
        """Store a fingerprint of the data the objective trains on with the study's record.

        Integrations call it with the arrays they are given, so the report and
        ``hyperdial reproduce`` can tell whether the data has changed.

        Args:
            *arrays: The data (``X``, ``y``, validation arrays...): NumPy arrays, pandas
                objects, SciPy sparse matrices or CPU tensors.
            source: Who saw the data, e.g. ``"MLPTrainer.fit"``.

        Returns:
            The fingerprint: SHA-256, shapes, dtypes and ``source``.
        """
        return record_data(self._owner, *arrays, source=source)


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


class FixedTrial(_Suggestions):
    """A stand-in trial returning fixed values, to unit-test an objective.

    Example:
        >>> t = FixedTrial({"n": 3, "kind": "a"})
        >>> t.suggest_int("n", 1, 5), t.suggest_categorical("kind", ["a", "b"])
        (3, 'a')
    """

    def __init__(
        self,
        params: Mapping[str, ParamValue],
        number: int = 0,
        *,
        budget: float | None = None,
        checkpoint: object = None,
    ) -> None:
        self._fixed = dict(params)
        self.number = number
        self.params: dict[str, ParamValue] = {}
        self.distributions: dict[str, Distribution] = {}
        self.user_attrs: dict[str, JSON] = {}
        self.intermediate: dict[int, float | tuple[float, ...]] = {}
        self.budget: float | None = budget
        self.parent: int | None = None
        self.checkpoint = checkpoint

    def suggest(self, name: str, dist: Distribution) -> ParamValue:
        """Return the fixed value of ``name`` after checking it against ``dist``.

        Raises:
            InvalidValueError: ``name`` has no fixed value, or it is illegal for ``dist``.
        """
        old = self.distributions.get(name)
        if old is not None and old != dist:
            raise InvalidDistributionError(
                f"FixedTrial: parameter {name!r} was already suggested as {old!r}."
            )
        if name not in self._fixed:
            if dist.default is not None:
                value = dist.default
            else:
                raise InvalidValueError(
                    f"FixedTrial: parameter {name!r} has no fixed value; "
                    f"given {sorted(self._fixed)!r}."
                )
        else:
            value = cast_param(name, dist, self._fixed[name])
        self.params[name] = value
        self.distributions[name] = dist
        return value

    def suggest_space(self, space: SearchSpace) -> dict[str, ParamValue]:
        """Return the fixed values of a space's active parameters (defaults fill gaps)."""
        out: dict[str, ParamValue] = {}
        for name, dist in space.items():
            if space.is_active(name, out):
                out[name] = self.suggest(name, dist)
        for constraint in space.constraints:
            if not constraint.holds(out):
                raise InvalidValueError(
                    f"FixedTrial: the values of {list(constraint.names)} break their order "
                    f"({'non-decreasing' if constraint.increasing else 'non-increasing'}); "
                    f"got {[out[n] for n in constraint.names if n in out]!r}."
                )
        return out

    def report(self, value: float | Sequence[float], step: int) -> None:
        """Record an intermediate value (one per objective for several)."""
        if isinstance(value, (list, tuple)):
            self.intermediate[int(step)] = tuple(float(v) for v in value)
        else:
            self.intermediate[int(step)] = float(value)

    def save_checkpoint(self, obj: object) -> None:
        """Keep ``obj`` in :attr:`checkpoint`."""
        self.checkpoint = obj

    def load_checkpoint(self) -> object:
        """Return :attr:`checkpoint` (given to the constructor or saved since)."""
        return self.checkpoint

    def should_prune(self) -> bool:
        """Return ``False``: a fixed trial is never pruned."""
        return False

    def set_user_attr(self, key: str, value: JSON) -> None:
        """Record a user attribute."""
        self.user_attrs[key] = value

    def record_data(self, *arrays: object, source: str) -> dict[str, JSON]:
        """Return the data's fingerprint and keep it as ``data_fingerprint`` (no study here)."""
        self.data_fingerprint: dict[str, JSON] = {**data_fingerprint(*arrays), "source": source}
        return self.data_fingerprint


def check_values(values: object, n_objectives: int) -> tuple[float, ...]:
    """Return ``values`` as a tuple of finite floats, one per objective.

    Raises:
        InvalidValueError: wrong count, not a number, NaN or infinite.
    """
    if isinstance(values, numbers.Real) and not isinstance(values, bool):
        seq: Sequence[object] = [values]
    elif isinstance(values, Sequence) and not isinstance(values, (str, bytes)):
        seq = values
    elif hasattr(values, "tolist"):  # numpy arrays and scalars
        listed = values.tolist()
        seq = listed if isinstance(listed, list) else [listed]
    else:
        raise InvalidValueError(
            f"the objective must return a number or a sequence of {n_objectives} numbers; "
            f"got {type(values).__name__} {values!r}."
        )
    if len(seq) != n_objectives:
        raise InvalidValueError(
            f"the objective must return {n_objectives} value(s), one per direction; "
            f"got {len(seq)}: {list(seq)!r}."
        )
    out = []
    for v in seq:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise InvalidValueError(
                f"objective values must be numbers; got {type(v).__name__} {v!r}."
            )
        try:
            f = float(v)
        except OverflowError:  # an int beyond the float range
            f = math.inf if v > 0 else -math.inf
        if not math.isfinite(f):
            raise InvalidValueError(f"objective values must be finite; got {f!r}.")
        out.append(f)
    return tuple(out)
