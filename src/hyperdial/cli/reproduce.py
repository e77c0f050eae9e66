"""``hyperdial reproduce``: re-run a study's best configuration and compare the values.

The objective is found, in order: ``--objective module:function``; the spec the study was
tuned from with ``hyperdial tune`` (kept with the study); the objective ``optimize`` recorded.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hyperdial.cli._options import StorageOption, StudyArgument
from hyperdial.cli.spec import DEFAULT_STORAGE
from hyperdial.exceptions import HyperdialError
from hyperdial.trial import TrialState

if TYPE_CHECKING:
    from hyperdial.reproduce import Objective
    from hyperdial.study import Study

__all__ = ["SPEC_ATTR", "reproduce_command", "spec_record"]

SPEC_ATTR = "spec"


def spec_record(spec_path: Path, overrides: dict[str, object]) -> dict[str, object]:
    """Return what ``tune`` keeps of its spec so the study can be re-run without the file."""
    return {
        "path": str(spec_path.resolve()),
        "text": spec_path.read_text(encoding="utf-8"),
        "overrides": {k: v for k, v in overrides.items() if v is not None},
    }


def _spec_objective(study: Study) -> Objective | None:
    """Rebuild the objective from the spec kept with the study, if there is one."""
    from hyperdial._yaml import load_yaml
    from hyperdial.cli.objective import build_objective
    from hyperdial.cli.spec import spec_from_dict

    kept = study.user_attrs.get(SPEC_ATTR)
    if not isinstance(kept, dict) or not isinstance(kept.get("text"), str):
        return None
    path = Path(str(kept.get("path", "spec.yaml")))
    data = load_yaml(str(kept["text"]), path.name)
    spec = spec_from_dict(data, name=path.stem, base_dir=path.parent)
    return build_objective(spec)  # type: ignore[return-value]  # objectives take a trial


def _format(values: tuple[float, ...] | None) -> str:
    if values is None:
        return "-"
    return ", ".join(f"{v:.6g}" for v in values)


def reproduce_command(
    study: StudyArgument,
    storage: StorageOption = DEFAULT_STORAGE,
    objective: Annotated[
        str | None,
        typer.Option("--objective", help="module:function to run (default: as recorded)."),
    ] = None,
    trial: Annotated[
        int | None, typer.Option("--trial", min=0, help="Trial to re-run (default: the best).")
    ] = None,
    record: Annotated[
        bool, typer.Option("--record", help="Add the re-run to the study as a new trial.")
    ] = False,
) -> None:
    """Re-run the best configuration of a study and compare its value with the stored one."""
    from hyperdial.cli.app import _console, _ObjectiveError, _open_storage, _trial_log
    from hyperdial.cli.objective import load_function
    from hyperdial.cli.spec import OBJECTIVE_PATTERN
    from hyperdial.reproduce import reproduce
    from hyperdial.study import load_study

    if objective is not None and not OBJECTIVE_PATTERN.match(objective.strip()):
        raise HyperdialError(
            f"--objective must read 'module:function' (e.g. train:run); got {objective!r}."
        )
    loaded = load_study(study, storage=_open_storage(storage, must_exist=True))
    if trial is None:
        if len(loaded.directions) > 1:
            front = ", ".join(str(t.number) for t in loaded.best_trials)
            raise HyperdialError(
                f"study {study!r} has several objectives and no single best trial; give "
                f"--trial N (its Pareto front: {front or 'empty'})."
            )
        if not any(t.state is TrialState.COMPLETE for t in loaded.trials):
            raise HyperdialError(f"study {study!r} has no COMPLETE trial to re-run yet.")
    run: Objective | None = None
    if objective is not None:
        run = load_function(objective.strip(), Path.cwd())  # type: ignore[assignment]
    else:
        run = _spec_objective(loaded)
    try:
        with _trial_log():
            outcome = reproduce(loaded, run, number=trial, record=record)
    except SystemExit as exc:
        raise _ObjectiveError(
            f"the objective ended the program (SystemExit: {exc.code!r}); the re-run is stored "
            "FAILED" + (f" in {study!r}." if record else ".")
        ) from None
    console = _console()
    shown = ", ".join(f"{k}={v!r}" for k, v in outcome.params.items())
    console.print(f"Trial {outcome.number} of {study!r}: {shown}")
    console.print(f"  stored value:  {_format(outcome.stored)}")
    if outcome.values is None:
        reason = (outcome.error or "").strip().splitlines()
        console.print(f"  re-run: {outcome.state.name} ({reason[-1] if reason else 'no reason'})")
        raise typer.Exit(1)
    console.print(f"  re-run value:  {_format(outcome.values)}  ({outcome.seconds:.1f} s)")
    differences = outcome.differences or ()
    if outcome.is_equal():
        console.print("  identical: the configuration reproduces exactly.")
    else:
        relative = [
            abs(d) / max(abs(s), 1e-12)
            for d, s in zip(differences, outcome.stored or ())
            if math.isfinite(d)
        ]
        console.print(
            f"  differs by {_format(tuple(differences))} (relative {_format(tuple(relative))}): "
            "the objective has randomness it does not fix (data split, initial weights)."
        )
    if outcome.recorded_as is not None:
        console.print(f"  recorded as trial {outcome.recorded_as}.")
