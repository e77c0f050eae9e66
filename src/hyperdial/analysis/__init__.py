"""Understand a study: which parameters matter, how they interact, and why a trial is best."""

from __future__ import annotations

__all__: list[str] = []
