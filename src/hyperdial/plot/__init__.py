"""Plotly figures of a study's history, parameters and analysis (extra ``[plot]``)."""

from __future__ import annotations

__all__: list[str] = []
