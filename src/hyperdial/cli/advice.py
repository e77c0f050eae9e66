"""``hyperdial advise``: explain the method a spec's study will use, before it runs."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hyperdial.cli.spec import StudySpec
from hyperdial.exceptions import SpecError

__all__ = ["print_advice"]


def print_advice(
    spec: StudySpec,
    console: Console,
    *,
    seconds_per_trial: float | None,
    n_workers: int | None,
) -> None:
    """Print the plan, its reasons and any warnings for ``spec``.

    Raises:
        SpecError: the spec declares no space to reason about.
    """
    from hyperdial.samplers.auto import advise

    if spec.space is None:
        raise SpecError(
            f"{spec.study}: advise needs the spec's space: to reason about; this spec has none."
        )
    grid = None
    if spec.sampler is not None and spec.sampler.name == "grid":
        from hyperdial.cli.sampler import grid_values

        grid = {k: list(v) for k, v in grid_values(spec.space, spec.grid).items()}
    workers = n_workers if n_workers is not None else spec.n_jobs
    advice = advise(
        spec.space,
        n_trials=spec.n_trials,
        timeout_s=spec.timeout_s,
        seconds_per_trial=seconds_per_trial,
        n_workers=workers,
        n_objectives=len(spec.directions),
        grid=grid,
    )
    chosen = spec.sampler.name if spec.sampler is not None else "auto"
    console.print(
        f"[bold]{spec.study}[/bold]: {len(spec.space)} parameters, "
        f"budget {spec.n_trials if spec.n_trials is not None else 'unlimited'} trials"
        + (f" / {spec.timeout_s:g} s" if spec.timeout_s is not None else "")
        + f", {workers} worker(s); sampler: {chosen}"
    )
    if chosen != "auto":
        console.print(f"The spec names the {chosen!r} sampler; the automatic choice would be:")
    table = Table("trials", "method")
    for span, method in advice.plan:
        table.add_row(span, method)
    console.print(table)
    for reason in advice.reasons:
        console.print(f"why: {reason}")
    for warning in advice.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
