"""Self-contained HTML and Markdown reports of a study, with its reproducibility record."""

from __future__ import annotations

__all__: list[str] = []
