"""The textbook search space of a fully connected neural network."""

from __future__ import annotations

from hyperdial.exceptions import InvalidDistributionError
from hyperdial.space import Categorical, Condition, Float, Int, Monotonic, SearchSpace

__all__ = ["neural_net"]

_UNITS_LOW, _UNITS_HIGH = 16, 512
_DROPOUT_LOW, _DROPOUT_HIGH = 0.2, 0.5


def _check_layers(name: str, value: object, low: int, bound: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"neural_net: {name} must be an int; got {type(value).__name__}.")
    if value < low:
        raise InvalidDistributionError(
            f"neural_net: {name} must be an int >= {bound}; got {value!r}."
        )
    return value


def neural_net(max_layers: int = 5, *, min_layers: int = 2) -> SearchSpace:
    """Return the textbook search space of a multilayer perceptron with hidden layers.

    Parameters, in the order they are drawn:

    * ``learning_rate`` -- Float in ``[1e-4, 1e-1]`` on a log scale, default ``1e-2``. Its
      effect is multiplicative: going from 1e-4 to 1e-3 matters as much as from 1e-2 to 1e-1,
      so a linear scale would spend 90% of its draws above 1e-2 (Bengio, 2012,
      arXiv:1206.5533).
    * ``batch_size`` -- one of 32, 64, 128 or 256, default 32. Small batches add gradient noise
      that tends to generalise better and is the safest start (Bengio, 2012, calls 32 a good
      default; Masters & Luschi, 2018, arXiv:1804.07612, find 2 to 32 best); larger ones buy
      throughput on a GPU.
    * ``n_layers`` -- Int in ``[min_layers, max_layers]``, default ``min_layers``: start with
      the smallest network and let the search argue for depth.
    * ``units_1`` .. ``units_{max_layers}`` -- width of each hidden layer, Int in ``[16, 512]``
      on a log scale (doubling a layer matters at any size), default 256 halving per layer
      (256, 128, 64, ...; never below 16). Widths never grow toward the output: each layer
      compresses the representation toward the few outputs, and fixing the order removes the
      ``n!`` orderings of the same widths from the search, so few trials go further.
    * ``dropout_1`` .. ``dropout_{max_layers}`` -- dropout rate after each hidden layer, Float
      in ``[0.2, 0.5]``, default 0.2 rising by 0.1 per layer (capped at 0.5). Rates never fall
      toward the output: early layers learn generic features that heavy dropout would starve,
      while layers near the output fit the task and overfit first (Srivastava et al., 2014,
      JMLR 15, keep more at the input than in the hidden layers; 0.5 is their hidden default).
    * ``l1`` and ``l2`` -- weight penalties, Float in ``[1e-3, 1e-1]`` on a log scale (their
      effect is multiplicative, like the learning rate), default ``1e-3``: dropout already
      regularises, so start light.
    * ``lr_schedule`` -- ``"constant"``, ``"step"``, ``"cosine"`` or ``"one-cycle"``, default
      ``"cosine"``: it needs no knob beyond the run length and is rarely worse than a constant
      rate (Loshchilov & Hutter, 2016, arXiv:1608.03983; one-cycle: Smith, 2018,
      arXiv:1803.09820).

    ``units_k`` and ``dropout_k`` exist only when ``n_layers >= k``; the order of the active
    ones is kept by two :class:`~hyperdial.space.Monotonic` constraints that
    ``Trial.suggest_space`` repairs after drawing.

    Args:
        max_layers: The deepest network to try (``>= min_layers``).
        min_layers: The shallowest network to try (``>= 1``).

    Returns:
        The search space, to pass to ``Trial.suggest_space``.

    Raises:
        TypeError: ``max_layers`` or ``min_layers`` is not an int.
        InvalidDistributionError: ``min_layers < 1`` or ``max_layers < min_layers``.

    Example:
        >>> import hyperdial
        >>> from hyperdial.presets import neural_net
        >>> space = neural_net(max_layers=3)
        >>> space.active_names({"n_layers": 2})[:6]
        ['learning_rate', 'batch_size', 'n_layers', 'units_1', 'units_2', 'dropout_1']
        >>> study = hyperdial.create_study(seed=0)
        >>> params = study.ask().suggest_space(space)
        >>> widths = [params[f"units_{k}"] for k in range(1, params["n_layers"] + 1)]
        >>> widths == sorted(widths, reverse=True)
        True
    """
    min_layers = _check_layers("min_layers", min_layers, 1, "1")
    max_layers = _check_layers("max_layers", max_layers, min_layers, "min_layers")
    layers = range(1, max_layers + 1)

    params: dict[str, Float | Int | Categorical] = {
        "learning_rate": Float(1e-4, 1e-1, log=True, default=1e-2),
        "batch_size": Categorical((32, 64, 128, 256), default=32),
        "n_layers": Int(min_layers, max_layers, default=min_layers),
    }
    for k in layers:
        width = max(_UNITS_LOW, 256 >> (k - 1))
        params[f"units_{k}"] = Int(_UNITS_LOW, _UNITS_HIGH, log=True, default=width)
    for k in layers:
        rate = min(_DROPOUT_HIGH, round(_DROPOUT_LOW + 0.1 * (k - 1), 2))
        params[f"dropout_{k}"] = Float(_DROPOUT_LOW, _DROPOUT_HIGH, default=rate)
    params["l1"] = Float(1e-3, 1e-1, log=True, default=1e-3)
    params["l2"] = Float(1e-3, 1e-1, log=True, default=1e-3)
    params["lr_schedule"] = Categorical(
        ("constant", "step", "cosine", "one-cycle"), default="cosine"
    )

    conditions = {
        f"{kind}_{k}": Condition("n_layers", ">=", k)
        for kind in ("units", "dropout")
        for k in layers
        if k > min_layers
    }
    constraints = []
    if max_layers >= 2:  # a single layer has no order to keep
        constraints = [
            Monotonic(tuple(f"units_{k}" for k in layers), increasing=False),
            Monotonic(tuple(f"dropout_{k}" for k in layers), increasing=True),
        ]
    return SearchSpace(params, conditions, constraints)
