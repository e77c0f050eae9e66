"""Write a study's report: one offline HTML page with figures, or Markdown for papers."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.report import _analysis_sections as analysis_sections
from hyperdial.report import _blocks as b
from hyperdial.report import _html, _markdown
from hyperdial.report import _reproducibility as reproducibility
from hyperdial.report import _study_sections as study_sections

if TYPE_CHECKING:
    from hyperdial.study import Study

__all__ = ["render_html", "render_markdown", "write_report"]

_logger = logging.getLogger(__name__)

FORMATS = ("html", "md")
"""The formats :func:`write_report` writes."""

_SECTIONS: tuple[tuple[str, str, Callable[[b.Context], b.Section]], ...] = (
    ("summary", "Summary", study_sections.summary),
    ("history", "History", study_sections.history),
    ("parallel", "Parallel coordinates", study_sections.parallel),
    ("importance", "Parameter importance", analysis_sections.importance),
    ("interactions", "Interactions", analysis_sections.interactions),
    ("contours", "Contours of the top pairs", analysis_sections.contours),
    ("slices", "Slices", analysis_sections.slices),
    ("intermediate", "Learning curves", analysis_sections.intermediate),
    ("pareto", "Pareto front", study_sections.pareto),
    ("failures", "Failed and pruned trials", study_sections.failures),
    ("diagnostics", "Diagnostics", analysis_sections.diagnostics),
    ("convergence", "Convergence", analysis_sections.convergence),
    ("space", "Suggested narrower space", analysis_sections.suggested_space),
    ("reproducibility", "Reproducibility record", reproducibility.reproducibility),
    ("trials", "Trials", study_sections.trials_table),
)


def _sections(ctx: b.Context) -> list[b.Section]:
    sections = []
    for key, title, build in _SECTIONS:
        try:
            sections.append(build(ctx))
        except Exception as exc:  # noqa: BLE001 - one broken section must not sink the report
            _logger.debug("report: section %s failed", key, exc_info=True)
            sections.append(b.Section(key, title, [b.Note(f"Not shown: {b.why(exc)}")]))
    return sections


def _titles(ctx: b.Context) -> tuple[str, str]:
    from hyperdial import __version__

    title = f"Study {ctx.name}" if ctx.name else "Study report"
    directions = ", ".join(d.value for d in ctx.directions)
    subtitle = (
        f"{len(ctx.history.trials):,} trials, {directions}; report by hyperdial {__version__}"
    )
    return title, subtitle


def render_html(study: Study | History) -> str:
    """Return a self-contained HTML report of ``study``: figures, tables and its record.

    The page inlines plotly.js once and references nothing outside itself, so it opens
    offline. A section whose analysis does not apply (or fails, e.g. too few trials) shows a
    short note instead. Large studies are subsampled in the figures; tables list the best 100
    trials.

    Args:
        study: A study or its :class:`~hyperdial.History` (a history has no stored record).

    Returns:
        The HTML text.

    Raises:
        MissingDependencyError: plotly is not installed (``pip install 'hyperdial[report]'``).

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study("demo", sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
        >>> page = render_html(study)
        >>> page.startswith("<!DOCTYPE html>"), '<section id="trials">' in page
        (True, True)
    """
    script = _html.plotly_js()  # fail before any analysis runs when plotly is missing
    ctx = b.Context(study, "render_html")
    title, subtitle = _titles(ctx)
    return _html.render(title, subtitle, _sections(ctx), script)


def render_markdown(study: Study | History) -> str:
    """Return the report of ``study`` as Markdown: the same sections as tables and text.

    Args:
        study: A study or its :class:`~hyperdial.History`.

    Returns:
        The Markdown text (no figures).

    Example:
        >>> import hyperdial
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study("demo", sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
        >>> render_markdown(study).splitlines()[0]
        '# Study demo'
    """
    ctx = b.Context(study, "render_markdown")
    title, subtitle = _titles(ctx)
    return _markdown.render(title, subtitle, _sections(ctx))


def write_report(
    study: Study | History, path: str | os.PathLike[str], *, format: str = "html"
) -> Path:
    """Write the report of ``study`` to ``path`` and return the path.

    Args:
        study: A study or its :class:`~hyperdial.History`.
        path: The file to write (its directory must exist); overwritten if present.
        format: ``"html"`` (one offline page with figures) or ``"md"`` (Markdown tables).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InvalidValueError: ``format`` is neither ``"html"`` nor ``"md"``.
        OSError: the file cannot be written.

    Example:
        >>> import hyperdial, tempfile, pathlib
        >>> from hyperdial.samplers import RandomSampler
        >>> study = hyperdial.create_study("demo", sampler=RandomSampler(seed=0))
        >>> study.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=3)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     written = write_report(study, pathlib.Path(folder) / "demo.md", format="md")
        ...     written.read_text().startswith("# Study demo")
        True
    """
    if format not in FORMATS:
        raise InvalidValueError(f"write_report: format must be 'html' or 'md'; got {format!r}.")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"write_report: path must be a str or a path; got {type(path).__name__}.")
    text = render_html(study) if format == "html" else render_markdown(study)
    target = Path(path)
    target.write_text(text, encoding="utf-8")
    return target
