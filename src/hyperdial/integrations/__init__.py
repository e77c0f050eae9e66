"""Tune the models users already train: scikit-learn, PyTorch, Lightning, LightGBM, XGBoost.

Each submodule imports its framework lazily and names the extra to install when it is missing.
"""

from __future__ import annotations

__all__: list[str] = []
