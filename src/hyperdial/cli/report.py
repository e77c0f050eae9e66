"""The ``hyperdial report`` command: write a study's offline HTML or Markdown report."""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import Annotated

import typer

from hyperdial.cli._options import StorageOption, StudyArgument
from hyperdial.cli.spec import DEFAULT_STORAGE
from hyperdial.exceptions import HyperdialError

__all__ = ["ReportFormat", "default_output", "report"]


class ReportFormat(str, enum.Enum):
    """File formats of ``hyperdial report``."""

    HTML = "html"
    MD = "md"


def default_output(study: str, format: ReportFormat) -> Path:
    """Return ``<study>-report.<format>`` in the working directory, with a file-safe name.

    Example:
        >>> default_output("lr search/v2", ReportFormat.MD).name
        'lr_search_v2-report.md'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", study).strip("._") or "study"
    return Path(f"{safe}-report.{format.value}")


def _format_of(output: Path | None, format: ReportFormat | None) -> ReportFormat:
    if format is not None:
        return format
    if output is not None and output.suffix.lower() in (".md", ".markdown"):
        return ReportFormat.MD
    return ReportFormat.HTML


def report(
    study: StudyArgument,
    storage: StorageOption = DEFAULT_STORAGE,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (default: <study>-report.<format>)."),
    ] = None,
    format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            "-f",
            help="html: one offline page with figures; md: Markdown tables for papers "
            "(default: from the output's suffix, else html).",
        ),
    ] = None,
) -> None:
    """Write a study's report: best trials, figures, analysis and its reproducibility record.

    The HTML page is self-contained (it opens offline); Markdown has the same content as
    tables and text. Prints the path written.
    """
    from hyperdial.cli.app import _check_output, _open_storage, _read_study
    from hyperdial.report import write_report

    chosen = _format_of(output, format)
    path = output if output is not None else default_output(study, chosen)
    _check_output(path, storage)
    loaded = _read_study(study, _open_storage(storage, must_exist=True))
    try:
        written = write_report(loaded, path, format=chosen.value)
    except OSError as exc:
        raise HyperdialError(f"cannot write {path}: {exc.strerror or exc}.") from None
    typer.echo(str(written))
