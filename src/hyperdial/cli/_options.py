"""Arguments and options that several ``hyperdial`` commands share."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["StorageOption", "StudyArgument"]

StudyArgument = Annotated[str, typer.Argument(help="Study name.")]

StorageOption = Annotated[
    str,
    typer.Option("--storage", help="Database URL.", show_default=True),
]
