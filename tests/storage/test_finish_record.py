"""The record ``tell`` returns equals what the storage holds, though it is not read back."""

from __future__ import annotations

import hyperdial
from hyperdial.samplers import RandomSampler


def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    if kind == "a":
        trial.suggest_int("depth", 1, 4)
    for step in range(3):
        trial.report(x * step, step)
    trial.set_user_attr("curve", (1, [2.0, {"k": None}]))  # a tuple comes back as a list
    trial.set_user_attr("note", "ok")
    return x


def test_told_records_equal_stored_records(make_any_storage):
    # In memory the stored record is the one tell returns; a database builds it anew on a read.
    storage = make_any_storage()
    study = hyperdial.create_study(storage=storage, sampler=RandomSampler(), seed=1)
    study.enqueue({"x": 0.5}, user_attrs={"source": "expert"})
    told = []
    study.optimize(objective, n_trials=6, callbacks=[lambda s, t: told.append(t)])
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    told.append(study.tell(trial, state=hyperdial.TrialState.FAILED, error="boom"))
    stored = {t.number: t for t in study.storage.get_trials(study.study_id)}
    assert len(told) == 7
    for record in told:
        assert record == stored[record.number]
    assert stored[0].user_attrs["source"] == "expert"
    # a database keeps JSON: the tuple comes back as a list
    assert stored[1].user_attrs["curve"] == [1, [2.0, {"k": None}]]
