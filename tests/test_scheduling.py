"""How a study runs a scheduler: pruning inside trials, launches by lineage, checkpoints."""

from __future__ import annotations

import dataclasses

import pytest

import hyperdial
from hyperdial import TrialPruned, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.samplers import RandomSampler
from hyperdial.samplers.base import Sampler, Suggestion
from hyperdial.schedulers import (
    PBT,
    Decision,
    Hyperband,
    Launch,
    NoScheduler,
    Scheduler,
    SuccessiveHalving,
)
from hyperdial.schedulers.auto import AutoScheduler
from hyperdial.storage import LocalArtifactStore


class Threshold(Scheduler):
    """Prunes a trial once it reports a value above ``limit``."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.calls: list[tuple[int, int, float]] = []

    def on_report(self, history, trial, step, value):
        self.calls.append((trial.number, step, value))
        assert trial.intermediate[step] == value  # the record already holds the report
        if value > self.limit:
            return Decision.stop(f"{value} above {self.limit} at step {step}")
        return Decision.CONTINUE


def curve(trial):
    slope = trial.suggest_float("slope", 0.0, 2.0)
    for step in range(1, 6):
        trial.report(slope * step, step)
        if trial.should_prune():
            raise TrialPruned()
    return slope * 5


def test_reports_are_judged_and_pruned_trials_keep_their_last_value_and_reason():
    scheduler = Threshold(limit=4.0)
    study = hyperdial.create_study(sampler=RandomSampler(), scheduler=scheduler, seed=3)
    study.optimize(curve, n_trials=30)
    assert study.scheduler is scheduler
    pruned = study.get_trials([TrialState.PRUNED])
    complete = study.get_trials([TrialState.COMPLETE])
    assert pruned and complete
    for t in pruned:
        last = max(t.intermediate)
        assert t.value == t.intermediate[last] > 4.0
        assert all(v <= 4.0 for s, v in t.intermediate.items() if s < last)
        assert t.error == f"{t.value} above 4.0 at step {last}"
    assert all(t.value <= 4.0 and len(t.intermediate) == 5 for t in complete)
    assert len(scheduler.calls) == sum(len(t.intermediate) for t in study.trials)


def test_no_scheduler_prunes_nothing():
    study = hyperdial.create_study(sampler=RandomSampler(), scheduler=NoScheduler(), seed=3)
    study.optimize(curve, n_trials=10)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_the_default_scheduler_chooses_once_it_knows_the_curves_and_records_why():
    study = hyperdial.create_study(sampler=RandomSampler(), seed=3)
    assert isinstance(study.scheduler, AutoScheduler)
    study.optimize(curve, n_trials=40)
    trials = study.trials
    assert trials[0].state is TrialState.COMPLETE  # the first curve sets the full resource
    pruned = [t for t in trials if t.state is TrialState.PRUNED]
    assert pruned and all(t.error.startswith("auto: BOHB: ") for t in pruned)
    record = study.user_attrs["scheduler"]
    assert record["settings"]["class"] == "AutoScheduler"
    assert record["now"].startswith("bohb: Hyperband brackets over resources 1 to 5")
    quiet = hyperdial.create_study(seed=3)
    quiet.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    assert "scheduler" not in quiet.user_attrs  # nothing reported, nothing judged


class Promote(Scheduler):
    """Every odd trial continues the trial before it with twice its budget."""

    def next_launch(self, history, number, rng):
        assert all(t.number != number for t in history.trials)
        if number % 2 == 0:
            return Launch.fresh(budget=1, reason="fresh at 1", user_attrs={"rung": 0})
        parent = history.by_number(number - 1)
        return Launch.from_parent(
            parent, budget=2 * parent.budget, reason="promoted", user_attrs={"rung": 1}
        )


def trained(trial):
    width = trial.suggest_int("width", 1, 100)
    state = trial.load_checkpoint() or {"epochs": 0, "trained_by": []}
    assert state["epochs"] == (0 if trial.parent is None else 1)
    state = {"epochs": int(trial.budget), "trained_by": [*state["trained_by"], trial.number]}
    trial.save_checkpoint(state)
    trial.set_user_attr("trained_by", state["trained_by"])
    return width * trial.budget


def test_launches_set_budget_parent_params_and_resume_from_the_parents_checkpoint(tmp_path):
    url = f"sqlite:///{tmp_path}/lineage.db"
    study = hyperdial.create_study(
        "lin", storage=url, sampler=RandomSampler(), scheduler=Promote(), seed=0
    )
    study.optimize(trained, n_trials=6)
    trials = hyperdial.load_study("lin", storage=url).trials
    assert [t.budget for t in trials] == [1.0, 2.0] * 3
    assert [t.parent for t in trials] == [None, 0, None, 2, None, 4]
    assert [t.user_attrs["rung"] for t in trials] == [0, 1] * 3
    for child in trials[1::2]:
        parent = trials[child.parent]
        assert child.params == parent.params and child.fixed_params == parent.params
        assert child.value == 2 * parent.value
        assert child.user_attrs["trained_by"] == [parent.number, child.number]
        assert child.reason.startswith("promoted; from the scheduler: width")
    assert trials[0].reason.startswith("fresh at 1; ")
    assert (tmp_path / "lineage.db.artifacts" / "lin" / "1" / "checkpoint.pkl").is_file()


def test_a_retried_trial_prefers_its_own_checkpoint(tmp_path):
    study = hyperdial.create_study(artifacts=tmp_path / "ckpt", seed=0)
    first = study.ask()
    first.save_checkpoint("parent state")
    study.tell(first, 1.0)
    child = study.ask()
    assert child.load_checkpoint() is None  # no parent: a fresh start
    reloaded = hyperdial.load_study(study.study_name, storage=study.storage)
    assert isinstance(reloaded.artifacts, LocalArtifactStore)
    assert reloaded.artifacts.root == (tmp_path / "ckpt").resolve()


def test_checkpoints_of_a_lineage_on_a_remembered_directory(tmp_path):
    study = hyperdial.create_study(
        sampler=RandomSampler(), scheduler=Promote(), artifacts=str(tmp_path), seed=0
    )
    parent = study.ask()
    parent.suggest_int("width", 1, 100)
    parent.save_checkpoint({"epochs": 1})
    study.tell(parent, 1.0)
    child = study.ask()
    assert child.parent == parent.number and child.load_checkpoint() == {"epochs": 1}
    child.save_checkpoint({"epochs": 2})
    assert child.load_checkpoint() == {"epochs": 2}


def test_reports_of_several_objectives():
    class Pareto(Scheduler):
        supports_multi_objective = True

        def on_report(self, history, trial, step, value):
            assert isinstance(value, tuple) and len(value) == 2
            return Decision.stop("dominated") if value[0] > 1 else Decision.CONTINUE

    study = hyperdial.create_study(
        directions=["minimize", "maximize"], sampler=RandomSampler(), scheduler=Pareto()
    )
    trial = study.ask()
    trial.report([0.5, 3], step=1)
    assert not trial.should_prune()
    trial.report((2.0, 1.0), step=2)
    assert trial.should_prune()
    with pytest.raises(InvalidValueError, match="sequence of 2 numbers"):
        trial.report(0.5, step=3)
    with pytest.raises(InvalidValueError, match="sequence of 2 numbers"):
        trial.report([1.0, 2.0, 3.0], step=3)
    final = study.tell(trial, state=TrialState.PRUNED)
    assert final.values == (2.0, 1.0) and final.error == "dominated"
    assert dict(final.intermediate) == {1: (0.5, 3.0), 2: (2.0, 1.0)}
    single = hyperdial.create_study().ask()
    with pytest.raises(InvalidValueError, match="report one number"):
        single.report([1.0], step=0)


def test_schedulers_are_checked_against_the_study():
    with pytest.raises(TypeError, match="Scheduler"):
        hyperdial.create_study(scheduler=object())
    with pytest.raises(InvalidValueError, match="Threshold handles one objective"):
        hyperdial.create_study(directions=["minimize", "minimize"], scheduler=Threshold(1))

    class Bad(Scheduler):
        def next_launch(self, history, number, rng):
            return {"budget": 3}

    study = hyperdial.create_study(scheduler=Bad())
    with pytest.raises(TypeError, match="must return a Launch"):
        study.ask()


def test_samplers_learn_from_the_schedulers_model_history():
    class AtBudget(Scheduler):
        """Shows samplers each trial's value doubled (a stand-in for a fidelity level)."""

        def model_history(self, history):
            return History(
                history.directions,
                [
                    dataclasses.replace(t, values=(2 * t.values[0],)) if t.values else t
                    for t in history.trials
                ],
            )

    class Spy(Sampler):
        seen: list[float] = []

        def sample(self, history, trial, space, rng):
            Spy.seen.extend(t.value for t in history.completed)
            return Suggestion({}, "spy")

        def sample_one(self, history, trial, name, dist, rng):
            return 0.25

    study = hyperdial.create_study(sampler=Spy(), scheduler=AtBudget())
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + 1, n_trials=3)
    assert [t.value for t in study.trials] == [1.25] * 3
    assert Spy.seen == [2.5, 2.5, 2.5]  # trial 1 saw one doubled value, trial 2 two


def test_pruning_with_parallel_workers_on_a_database(tmp_path):
    study = hyperdial.create_study(
        storage=f"sqlite:///{tmp_path}/p.db",
        sampler=RandomSampler(),
        scheduler=Threshold(limit=4.0),
        seed=5,
    )
    study.optimize(curve, n_trials=24, n_jobs=3)
    states = [t.state for t in study.trials]
    assert len(states) == 24 and set(states) == {TrialState.COMPLETE, TrialState.PRUNED}
    assert all(t.value > 4.0 for t in study.trials if t.state is TrialState.PRUNED)


@pytest.mark.parametrize(
    "make",
    [
        lambda: SuccessiveHalving(9, min_resource=1, max_resource=9),
        lambda: Hyperband(min_resource=1, max_resource=9, promote=True),
        lambda: PBT(population_size=4, interval=3, max_resource=9),
    ],
    ids=["successive-halving", "hyperband", "pbt"],
)
def test_lineage_with_parallel_workers_on_a_database(tmp_path, make):
    from hyperdial.testing.scheduler import _curve

    url = f"sqlite:///{tmp_path}/lineage.db"
    study = hyperdial.create_study(
        "par", storage=url, sampler=RandomSampler(), scheduler=make(), seed=1
    )
    study.optimize(_curve, n_trials=30, n_jobs=3)
    trials = hyperdial.load_study("par", storage=url).trials
    assert len(trials) == 30
    assert {t.state for t in trials} == {TrialState.COMPLETE}
    children = [t for t in trials if t.parent is not None]
    assert children
    for child in children:
        parent = trials[child.parent]
        assert parent.number < child.number and parent.state is TrialState.COMPLETE
        assert child.budget > parent.budget
    if not isinstance(study.scheduler, PBT):  # a promotion happens once per configuration
        parents = [t.parent for t in children]
        assert len(parents) == len(set(parents))


def test_ask_and_tell_drive_a_lineage_scheduler():
    study = hyperdial.create_study(
        sampler=RandomSampler(), scheduler=SuccessiveHalving(3, max_resource=9), seed=0
    )
    budgets = []
    for _ in range(6):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        budgets.append(trial.budget)
        study.tell(trial, x / trial.budget)
    assert budgets[:3] == [1.0, 1.0, 1.0] and 3.0 in budgets[3:]


def test_load_study_rebuilds_the_sampler_and_scheduler_it_was_created_with(tmp_path):
    from hyperdial.samplers import TPESampler
    from hyperdial.schedulers import MedianPruner, PercentilePruner

    url = f"sqlite:///{tmp_path}/methods.db"
    hyperdial.create_study(
        "hb", storage=url, sampler=RandomSampler(), scheduler=Hyperband(max_resource=27)
    )
    loaded = hyperdial.load_study("hb", storage=url)
    assert isinstance(loaded.sampler, RandomSampler)
    assert isinstance(loaded.scheduler, Hyperband)
    assert loaded.scheduler.settings() == Hyperband(max_resource=27).settings()
    for made in (PercentilePruner(25.0), MedianPruner(n_startup_trials=2)):
        name = type(made).__name__
        hyperdial.create_study(name, storage=url, scheduler=made)
        assert hyperdial.load_study(name, storage=url).scheduler.settings() == made.settings()
    own = hyperdial.load_study("hb", storage=url, sampler=TPESampler(), scheduler=NoScheduler())
    assert isinstance(own.sampler, TPESampler) and isinstance(own.scheduler, NoScheduler)
    hyperdial.create_study("plain", storage=url)
    plain = hyperdial.load_study("plain", storage=url)
    assert type(plain.sampler).__name__ == "AutoSampler"
    assert isinstance(plain.scheduler, AutoScheduler)
