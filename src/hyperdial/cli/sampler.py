"""Samplers a spec may name, and how the CLI builds them.

Example:
    >>> build_sampler(parse_sampler({"name": "qmc", "qmc_type": "halton"}), None, None)
    QMCSampler(qmc_type='halton', scramble=True, seed=None)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hyperdial._types import JSON, ParamValue
from hyperdial.exceptions import HyperdialError, SpecError
from hyperdial.space import Categorical, Float, Int, SearchSpace, cast_param

if TYPE_CHECKING:
    from hyperdial.samplers import Sampler

__all__ = [
    "SAMPLERS",
    "SamplerSpec",
    "build_sampler",
    "grid_values",
    "parse_grid",
    "parse_sampler",
]

SAMPLERS: tuple[str, ...] = ("random", "grid", "qmc", "tpe", "gp", "cmaes", "auto")
"""Sampler names a spec may use; ``name`` builds the class ``<name>Sampler`` (any case) of
:mod:`hyperdial.samplers`, when this version has it."""

_MAX_GRID_VALUES = 1000


@dataclass(frozen=True)
class SamplerSpec:
    """Which sampler to build and its keyword arguments.

    Attributes:
        name: One of :data:`SAMPLERS`.
        options: Keyword arguments of the sampler's constructor.
    """

    name: str
    options: Mapping[str, JSON] = field(default_factory=dict)


def build_sampler(
    sampler: SamplerSpec,
    space: SearchSpace | None,
    grid: Mapping[str, tuple[ParamValue, ...]] | None,
) -> Sampler:
    """Build a sampler; the grid sampler takes its values from ``grid``, then ``space``.

    Raises:
        SpecError: the sampler is not available, or its options are invalid.
    """
    name, options = sampler.name, dict(sampler.options)
    cls = _sampler_class(name)
    if cls is None:
        raise SpecError(
            f"sampler: {name!r} is not available in this version of hyperdial; "
            f"use one of {[n for n in SAMPLERS if _sampler_class(n)]!r}."
        )
    if name == "grid":
        options["search_space"] = {k: list(v) for k, v in grid_values(space, grid).items()}
    try:
        return cls(**options)  # type: ignore[no-any-return]
    except TypeError as exc:
        raise SpecError(f"sampler: invalid options for {name!r}: {exc}.") from None
    except HyperdialError as exc:
        raise SpecError(f"sampler: {exc}") from None


def _sampler_class(name: str) -> Any:
    import hyperdial.samplers

    for exported in hyperdial.samplers.__all__:
        if exported.lower() == f"{name}sampler":
            return getattr(hyperdial.samplers, exported)
    return None


def grid_values(
    space: SearchSpace | None, explicit: Mapping[str, tuple[ParamValue, ...]] | None
) -> dict[str, tuple[ParamValue, ...]]:
    """Return the values to try per parameter: the explicit grid's, then the space's.

    Raises:
        SpecError: a continuous parameter has no step and no listed values.
    """
    grid = dict(explicit or {})
    for name, dist in (space or {}).items():
        if name not in grid:
            grid[name] = _dist_grid(name, dist)
    if not grid:
        raise SpecError("sampler: 'grid' needs a space: or a grid: of values per parameter.")
    return grid


def _dist_grid(name: str, dist: Float | Int | Categorical) -> tuple[ParamValue, ...]:
    if isinstance(dist, Categorical):
        return tuple(dist.choices)
    n = dist.n_grid
    if n is None:
        raise SpecError(
            f"grid: parameter {name!r} is a continuous float; give it a step or list its "
            "values under grid:."
        )
    if n > _MAX_GRID_VALUES:
        raise SpecError(
            f"grid: parameter {name!r} has {n} values; list the ones to try under grid:."
        )
    if isinstance(dist, Int):
        return tuple(range(dist.low, dist.high + 1, dist.step))
    step = dist.step
    assert step is not None  # n_grid is None otherwise
    return tuple(dist.cast(float(f"{dist.low + k * step:.12g}")) for k in range(n))


def parse_sampler(value: JSON) -> SamplerSpec | None:
    """Check the ``sampler:`` entry of a spec: a name or ``{name: ..., **options}``.

    Raises:
        SpecError: the sampler is unknown or the entry is malformed.
    """
    if value is None:
        return None
    if isinstance(value, str):
        name, options = value, {}
    elif isinstance(value, Mapping) and isinstance(value.get("name"), str):
        name = value["name"]
        options = {str(k): v for k, v in value.items() if k != "name"}
    else:
        raise SpecError(f"sampler: must be a name or a mapping with a 'name' key; got {value!r}.")
    name = name.strip().lower()
    if name not in SAMPLERS:
        raise SpecError(f"sampler: unknown sampler {name!r}; use one of {list(SAMPLERS)!r}.")
    if name == "grid" and "search_space" in options:
        raise SpecError("sampler: give the grid's values under the top-level grid: key.")
    return SamplerSpec(name, options)


def parse_grid(value: JSON, space: SearchSpace | None) -> dict[str, tuple[ParamValue, ...]] | None:
    """Check the ``grid:`` entry of a spec: parameter name to the values to try.

    Raises:
        SpecError: the entry is malformed or a value does not fit the space.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping) or not value:
        raise SpecError(f"grid: must map parameter names to lists of values; got {value!r}.")
    grid: dict[str, tuple[ParamValue, ...]] = {}
    for name, values in value.items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"grid: parameter {name!r} needs a non-empty list; got {values!r}.")
        for v in values:
            if not (v is None or isinstance(v, (str, int, float, bool))):
                raise SpecError(f"grid: parameter {name!r}: values must be scalars; got {v!r}.")
        if space is not None:
            if name not in space:
                raise SpecError(
                    f"grid: parameter {name!r} is not in the space; it has {list(space)!r}."
                )
            try:
                values = [cast_param(name, space[name], v) for v in values]
            except HyperdialError as exc:
                raise SpecError(f"grid: {exc}") from None
        grid[str(name)] = tuple(values)
    return grid
