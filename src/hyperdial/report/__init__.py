"""Self-contained HTML and Markdown reports of a study, with its reproducibility record.

:func:`write_report` writes one offline HTML page (plotly.js inlined once, no network
reference) or Markdown tables for a paper; :func:`render_html` and :func:`render_markdown`
return the text. ``hyperdial report STUDY`` does the same from the command line.

Example:
    >>> import hyperdial
    >>> from hyperdial.report import render_markdown
    >>> from hyperdial.samplers import RandomSampler
    >>> study = hyperdial.create_study("demo", sampler=RandomSampler(seed=0))
    >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
    >>> "## Reproducibility record" in render_markdown(study)
    True
"""

from __future__ import annotations

from hyperdial.report.render import render_html, render_markdown, write_report

__all__ = ["render_html", "render_markdown", "write_report"]
