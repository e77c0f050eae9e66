"""Successive halving and Hyperband driven by a real study (in memory, serial)."""

from __future__ import annotations

from collections import Counter

import hyperdial
from hyperdial import TrialPruned, TrialState
from hyperdial.samplers import RandomSampler
from hyperdial.schedulers import ASHA, Hyperband, SuccessiveHalving


def loss(x, step):
    return (x - 0.3) ** 2 + 1.0 / step


def pruned_curve(trial):
    """Train to the budget (9 without one), reporting every step; stop when told."""
    x = trial.suggest_float("x", 0.0, 1.0)
    end = int(trial.budget) if trial.budget is not None else 9
    for step in range(1, end + 1):
        trial.report(loss(x, step), step)
        if trial.should_prune():
            raise TrialPruned()
    return loss(x, end)


def resumed_curve(trial):
    """Resume from the parent's checkpoint and train up to the budget."""
    x = trial.suggest_float("x", 0.0, 1.0)
    state = trial.load_checkpoint()
    start = 0 if state is None else state["step"]
    trial.set_user_attr("start", start)
    end = int(trial.budget)
    for step in range(start + 1, end + 1):
        trial.report(loss(x, step), step)
    trial.save_checkpoint({"step": end})
    return loss(x, end)


def study_with(scheduler, tmp_path, **kwargs):
    return hyperdial.create_study(
        sampler=RandomSampler(), scheduler=scheduler, seed=5, artifacts=tmp_path, **kwargs
    )


def test_asha_prunes_at_rungs_and_keeps_the_best(tmp_path):
    study = study_with(ASHA(max_resource=9), tmp_path)
    study.optimize(pruned_curve, n_trials=30)
    pruned = study.get_trials([TrialState.PRUNED])
    complete = study.get_trials([TrialState.COMPLETE])
    assert pruned and complete
    for t in pruned:
        assert max(t.intermediate) in (1, 3)  # pruned at a rung, where the report crossed it
        assert t.error.startswith(f"pruned at step {max(t.intermediate)} (rung ")
    assert all(len(t.intermediate) == 9 and t.budget == 9 for t in complete)

    # The trials that went on are, on average, the closer ones to the optimum x = 0.3.
    def mean_gap(trials):
        return sum(abs(t.params["x"] - 0.3) for t in trials) / len(trials)

    assert mean_gap(complete) < mean_gap(pruned)


def test_asha_promote_mode_resumes_each_promotion_from_its_parent(tmp_path):
    study = study_with(ASHA(max_resource=9, promote=True), tmp_path)
    study.optimize(resumed_curve, n_trials=30)
    trials = study.trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    children = Counter(t.parent for t in trials if t.parent is not None)
    assert children and max(children.values()) == 1
    for t in trials:
        assert t.budget in (1, 3, 9)
        if t.parent is None:
            assert (t.budget, t.user_attrs["start"]) == (1, 0)
        else:
            parent = trials[t.parent]
            assert t.params == parent.params
            assert t.user_attrs["start"] == parent.budget  # resumed, not retrained
            assert t.budget == 3 * parent.budget
            assert t.user_attrs["rung"] == parent.user_attrs["rung"] + 1
    assert any(t.budget == 9 for t in trials)


def test_successive_halving_promotes_the_best_third_of_each_full_rung(tmp_path):
    study = study_with(SuccessiveHalving(9, max_resource=9), tmp_path)
    study.optimize(resumed_curve, n_trials=13)
    trials = study.trials
    assert Counter(t.budget for t in trials) == {1: 9, 3: 3, 9: 1}
    rung0 = sorted((t for t in trials if t.budget == 1), key=lambda t: t.value)
    promoted = {t.parent for t in trials if t.budget == 3}
    assert promoted == {t.number for t in rung0[:3]}
    rung1 = sorted((t for t in trials if t.budget == 3), key=lambda t: t.value)
    assert [t.parent for t in trials if t.budget == 9] == [rung1[0].number]
    assert all(t.user_attrs["iteration"] == 0 for t in trials)


def test_hyperband_prune_mode_records_brackets(tmp_path):
    scheduler = Hyperband(max_resource=9)
    study = study_with(scheduler, tmp_path)
    study.optimize(pruned_curve, n_trials=30)
    for t in study.trials:
        assert t.user_attrs["bracket"] == scheduler.bracket_of(t.number)
        assert t.budget == 9
        if t.state is TrialState.PRUNED:
            assert f"(bracket {t.user_attrs['bracket']}, rung " in t.error
            assert t.user_attrs["bracket"] > 0  # bracket 0 never prunes
    assert study.get_trials([TrialState.PRUNED])


def test_asha_with_two_objectives_ranks_vector_reports(tmp_path):
    def two(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        for step in range(1, 10):
            trial.report([loss(x, step), x], step)
            if trial.should_prune():
                raise TrialPruned()
        return loss(x, 9), x

    study = study_with(ASHA(max_resource=9), tmp_path, directions=["minimize", "maximize"])
    study.optimize(two, n_trials=30)
    pruned = study.get_trials([TrialState.PRUNED])
    assert pruned
    assert all(len(t.values) == 2 and "rank" in t.error for t in pruned)
