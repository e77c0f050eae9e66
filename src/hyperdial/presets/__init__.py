"""Expert search spaces to start from, each documented with the reasons for its choices.

Example:
    >>> from hyperdial.presets import neural_net
    >>> "learning_rate" in neural_net()
    True
"""

from __future__ import annotations

from hyperdial.presets.neural_net import neural_net

__all__ = ["neural_net"]
