"""Write a study's trials as CSV (one column per parameter) or JSON.

Example:
    >>> import hyperdial
    >>> study = hyperdial.create_study("demo", seed=0)
    >>> study.optimize(lambda t: t.suggest_int("x", 0, 3), n_trials=1)
    >>> print(to_csv(study.study_name, study.directions, study.trials).splitlines()[0])
    number,state,value,params_x,reason,started_at,finished_at,duration_s
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime

from hyperdial._types import JSON, Direction
from hyperdial.trial import FrozenTrial

__all__ = ["to_csv", "to_json", "trial_record"]


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def trial_record(trial: FrozenTrial) -> dict[str, JSON]:
    """Return everything about a trial as JSON-able data."""
    return {
        "number": trial.number,
        "state": trial.state.name,
        "values": None if trial.values is None else list(trial.values),
        "params": dict(trial.params),
        "user_attrs": dict(trial.user_attrs),
        "intermediate": {str(k): v for k, v in sorted(trial.intermediate.items())},
        "reason": trial.reason,
        "error": trial.error,
        "budget": trial.budget,
        "parent": trial.parent,
        "started_at": _time(trial.started_at),
        "finished_at": _time(trial.finished_at),
        "duration_s": trial.duration_s,
    }


def to_json(name: str, directions: Sequence[Direction], trials: Sequence[FrozenTrial]) -> str:
    """Return the study and all its trials as an indented JSON document."""
    document = {
        "study": name,
        "directions": [d.value for d in directions],
        "trials": [trial_record(t) for t in trials],
    }
    return json.dumps(document, indent=2) + "\n"


def _cell(value: JSON) -> JSON:
    if value is None or isinstance(value, (str, int, float)):
        return value
    return json.dumps(value)


def to_csv(name: str, directions: Sequence[Direction], trials: Sequence[FrozenTrial]) -> str:
    """Return one CSV row per trial.

    Columns: ``number``, ``state``, ``value`` (or ``values_0``, ``values_1``, ... for several
    objectives), ``params_<name>``, ``user_attrs_<key>`` (lists and mappings as JSON),
    ``reason``, ``started_at``, ``finished_at``, ``duration_s``. ``name`` is unused; it keeps
    the signature of :func:`to_json`.
    """
    params: list[str] = []
    attrs: list[str] = []
    for trial in trials:
        params.extend(n for n in trial.params if n not in params)
        attrs.extend(k for k in trial.user_attrs if k not in attrs)
    n = len(directions)
    value_columns = ["value"] if n == 1 else [f"values_{i}" for i in range(n)]
    header = ["number", "state", *value_columns]
    header += [f"params_{p}" for p in params] + [f"user_attrs_{a}" for a in attrs]
    header += ["reason", "started_at", "finished_at", "duration_s"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for trial in trials:
        values = list(trial.values) if trial.values is not None else [None] * n
        row: list[JSON] = [trial.number, trial.state.name, *values]
        row += [_cell(trial.params.get(p)) for p in params]
        row += [_cell(trial.user_attrs.get(a)) for a in attrs]
        row += [trial.reason, _time(trial.started_at), _time(trial.finished_at), trial.duration_s]
        writer.writerow(row)
    return buffer.getvalue()
