"""Read a ``presets.neural_net`` configuration and build its network (private)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

from hyperdial.exceptions import InvalidValueError, missing

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - tested with torch hidden from the import system
    raise missing("torch", "hyperdial.integrations.torch", "PyTorch") from exc

__all__ = ["ACTIVATIONS", "SCHEDULES", "TrainingConfig", "build_mlp", "parse_training"]

ACTIVATIONS: Mapping[str, type[nn.Module]] = {
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "relu": nn.ReLU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
}
SCHEDULES = ("constant", "step", "cosine", "one-cycle")


def _keys(config: Mapping[str, object]) -> list[str]:
    return sorted(str(k) for k in config)


def _get(owner: str, config: Mapping[str, object], name: str, why: str = "") -> object:
    if name not in config:
        raise InvalidValueError(
            f"{owner}: config must have {name!r}{why}; got keys {_keys(config)!r}."
        )
    return config[name]


def _int(owner: str, name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise InvalidValueError(
            f"{owner}: config[{name!r}] must be an int >= {low}; got {value!r}."
        )
    return int(value)


def _real(owner: str, name: str, value: object, what: str, ok: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        ok = False
    elif not math.isfinite(float(value)):
        ok = False
    if not ok:
        raise InvalidValueError(f"{owner}: config[{name!r}] must be {what}; got {value!r}.")
    return float(value)  # type: ignore[arg-type]  # checked to be a real number above


def parse_layers(
    owner: str, config: Mapping[str, object]
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Return the hidden widths and dropout rates a configuration names.

    ``n_layers`` and ``units_1 .. units_{n_layers}`` are required; a missing ``dropout_k``
    means no dropout after layer ``k``.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"{owner}: config must be a mapping; got {type(config).__name__}.")
    n_layers = _int(owner, "n_layers", _get(owner, config, "n_layers"), 0)
    units, dropouts = [], []
    for k in range(1, n_layers + 1):
        name = f"units_{k}"
        units.append(_int(owner, name, _get(owner, config, name, f" (n_layers is {n_layers})"), 1))
        name = f"dropout_{k}"
        rate = config.get(name, 0.0)
        ok = isinstance(rate, numbers.Real) and 0.0 <= float(rate) < 1.0
        dropouts.append(_real(owner, name, rate, "a number in [0, 1)", ok))
    return tuple(units), tuple(dropouts)


@dataclass(frozen=True)
class TrainingConfig:
    """The training half of a configuration, checked."""

    learning_rate: float
    batch_size: int
    l1: float
    l2: float
    lr_schedule: str


def parse_training(owner: str, config: Mapping[str, object]) -> TrainingConfig:
    """Return the optimisation settings of a configuration.

    ``learning_rate`` and ``batch_size`` are required; ``l1`` and ``l2`` default to 0 (no
    penalty) and ``lr_schedule`` to ``"constant"``.
    """
    lr = _get(owner, config, "learning_rate")
    ok = isinstance(lr, numbers.Real) and float(lr) > 0.0
    learning_rate = _real(owner, "learning_rate", lr, "a number > 0", ok)
    batch_size = _int(owner, "batch_size", _get(owner, config, "batch_size"), 1)
    l1, l2 = config.get("l1", 0.0), config.get("l2", 0.0)
    l1 = _real(owner, "l1", l1, "a number >= 0", isinstance(l1, numbers.Real) and l1 >= 0)
    l2 = _real(owner, "l2", l2, "a number >= 0", isinstance(l2, numbers.Real) and l2 >= 0)
    schedule = config.get("lr_schedule", "constant")
    if schedule not in SCHEDULES:
        raise InvalidValueError(
            f"{owner}: config['lr_schedule'] must be one of {list(SCHEDULES)!r}; got {schedule!r}."
        )
    return TrainingConfig(learning_rate, batch_size, l1, l2, str(schedule))


def check_activation(owner: str, activation: object) -> str:
    """Return ``activation`` if it names a known activation, else raise."""
    if activation not in ACTIVATIONS:
        raise InvalidValueError(
            f"{owner}: activation must be one of {sorted(ACTIVATIONS)!r}; got {activation!r}."
        )
    return str(activation)


def build_mlp(
    config: Mapping[str, object],
    n_inputs: int,
    n_outputs: int,
    *,
    activation: str = "relu",
) -> torch.nn.Sequential:
    """Build the multilayer perceptron a ``presets.neural_net`` configuration describes.

    Hidden layer ``k`` (``k = 1 .. n_layers``) is ``Linear(width, units_k)``, the
    activation, then ``Dropout(dropout_k)``; a final ``Linear`` maps to ``n_outputs`` (logits
    for classification, values for regression). Other keys of ``config`` (learning rate,
    penalties, schedule) are ignored here. Weights start from PyTorch's default
    initialisation, drawn from its global generator: seed it (``torch.manual_seed``) for a
    reproducible network.

    Args:
        config: ``n_layers``, ``units_1 .. units_{n_layers}`` and, optionally,
            ``dropout_1 .. dropout_{n_layers}`` (missing: 0, no dropout).
        n_inputs: Number of input features.
        n_outputs: Number of outputs (classes, or regression targets).
        activation: One of ``"elu"``, ``"gelu"``, ``"leaky_relu"``, ``"relu"``, ``"silu"``,
            ``"tanh"``.

    Returns:
        The network, in training mode.

    Raises:
        InvalidValueError: a key is missing or a value is out of range.
        TypeError: ``config`` is not a mapping.

    Example:
        >>> from hyperdial.integrations.torch import build_mlp
        >>> config = {"n_layers": 2, "units_1": 32, "units_2": 16, "dropout_1": 0.2,
        ...           "dropout_2": 0.3}
        >>> build_mlp(config, n_inputs=8, n_outputs=3)
        Sequential(
          (0): Linear(in_features=8, out_features=32, bias=True)
          (1): ReLU()
          (2): Dropout(p=0.2, inplace=False)
          (3): Linear(in_features=32, out_features=16, bias=True)
          (4): ReLU()
          (5): Dropout(p=0.3, inplace=False)
          (6): Linear(in_features=16, out_features=3, bias=True)
        )
    """
    owner = "build_mlp"
    units, dropouts = parse_layers(owner, config)
    for name, value in (("n_inputs", n_inputs), ("n_outputs", n_outputs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise InvalidValueError(f"{owner}: {name} must be an int >= 1; got {value!r}.")
    make_activation = ACTIVATIONS[check_activation(owner, activation)]
    layers: list[nn.Module] = []
    width = int(n_inputs)
    for size, rate in zip(units, dropouts):
        layers += [nn.Linear(width, size), make_activation(), nn.Dropout(rate)]
        width = size
    layers.append(nn.Linear(width, int(n_outputs)))
    return nn.Sequential(*layers)
