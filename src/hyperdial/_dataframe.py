"""A pandas view of a study's trials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyperdial.exceptions import missing

if TYPE_CHECKING:
    import pandas

    from hyperdial.study import Study

__all__ = ["trials_dataframe"]


def trials_dataframe(study: Study) -> pandas.DataFrame:
    """Return one row per trial: number, state, value(s), params_*, user_attrs_*, times, reason."""
    try:
        import pandas as pd
    except ImportError:
        raise missing("pandas", "Study.trials_dataframe", "pandas") from None
    rows = []
    n_obj = len(study.directions)
    for t in study.trials:
        row: dict[str, object] = {"number": t.number, "state": t.state.name}
        if n_obj == 1:
            row["value"] = None if t.values is None else t.values[0]
        else:
            for i in range(n_obj):
                row[f"values_{i}"] = None if t.values is None else t.values[i]
        for name, value in t.params.items():
            row[f"params_{name}"] = value
        for key, value in t.user_attrs.items():
            row[f"user_attrs_{key}"] = value
        row["datetime_start"] = t.started_at
        row["datetime_complete"] = t.finished_at
        row["duration_s"] = t.duration_s
        row["budget"] = t.budget
        row["parent"] = t.parent
        row["reason"] = t.reason
        row["error"] = t.error
        rows.append(row)
    return pd.DataFrame(rows)
