from __future__ import annotations

import sys

import numpy as np
import plotly.graph_objects as go
import pytest

import hyperdial
from hyperdial import Direction, TrialState
from hyperdial.exceptions import InvalidValueError, MissingDependencyError, NoCompletedTrialsError
from hyperdial.history import pareto_front
from hyperdial.plot import (
    plot_history,
    plot_intermediate,
    plot_parallel_coordinates,
    plot_pareto_front,
    plot_slice,
    plot_timeline,
)
from hyperdial.plot._common import graph_objects, nondominated, spread
from hyperdial.samplers import RandomSampler
from hyperdial.trial import FrozenTrial


def by_name(fig):
    return {trace.name: trace for trace in fig.data}


# ------------------------------------------------------------------- history
def test_history_marks_states_and_draws_the_best_so_far(make_single):
    study = make_single()
    fig = plot_history(study)
    assert isinstance(fig, go.Figure)
    traces = by_name(fig)
    assert list(traces) == ["complete", "pruned", "failed", "best so far"]
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert list(traces["complete"].x) == [t.number for t in done]
    assert list(traces["complete"].y) == pytest.approx([t.value for t in done])
    pruned = [t.number for t in study.trials if t.state is TrialState.PRUNED]
    failed = [t.number for t in study.trials if t.state is TrialState.FAILED]
    assert list(traces["pruned"].x) == pruned and list(traces["failed"].x) == failed
    best = np.asarray(traces["best so far"].y)
    assert np.all(np.diff(best) <= 0) and best[-1] == pytest.approx(study.best_value)
    assert traces["best so far"].x[-1] == done[-1].number
    assert fig.layout.xaxis.title.text == "trial"
    assert fig.layout.yaxis.title.text == "objective (minimize)"


def test_history_accepts_a_history_and_follows_the_chosen_objective(make_multi):
    study = make_multi()
    fig = plot_history(study.history(), objective=1)
    complete = by_name(fig)["complete"]
    assert list(complete.y) == pytest.approx([t.values[1] for t in study.trials])
    best = np.asarray(by_name(fig)["best so far"].y)
    assert np.all(np.diff(best) >= 0)  # objective 1 is maximised
    assert fig.layout.yaxis.title.text == "objective 1 (maximize)"


def test_history_subsamples_but_keeps_every_improvement(make_single):
    study = make_single(n_trials=120)
    full = by_name(plot_history(study))
    small = by_name(plot_history(study, max_points=10))
    assert len(small["complete"].x) < len(full["complete"].x)
    assert set(small["best so far"].x) <= set(small["complete"].x)
    assert list(small["best so far"].y) == list(full["best so far"].y)
    assert "shown" in plot_history(study, max_points=10).layout.title.text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"objective": 1}, "objective must be an int in [0, 0]; got 1", id="obj"),
        pytest.param({"objective": True}, "objective must be an int", id="bool"),
        pytest.param({"max_points": 0}, "max_points must be an int >= 1; got 0", id="cap"),
    ],
)
def test_history_rejects_bad_options(make_single, kwargs, message):
    with pytest.raises(InvalidValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        plot_history(make_single(n_trials=8), **kwargs)


def test_plots_reject_what_is_not_a_study():
    with pytest.raises(TypeError, match="plot_history: study must be a Study or a History; got"):
        plot_history([1, 2])


def test_a_study_without_completed_trials_raises():
    study = hyperdial.create_study(sampler=RandomSampler(seed=0))
    with pytest.raises(NoCompletedTrialsError, match="no completed trial"):
        plot_history(study)
    with pytest.raises(InvalidValueError, match="no trial of the study has started"):
        plot_timeline(study)


def test_missing_plotly_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'hyperdial\[plot\]'"):
        graph_objects("plot_history")


# ------------------------------------------------------------------ timeline
def test_timeline_has_a_bar_per_trial_coloured_by_state(make_single):
    study = make_single()
    fig = plot_timeline(study)
    traces = by_name(fig)
    assert set(traces) == {"complete", "pruned", "failed"}
    assert sum(len(t.y) for t in fig.data) == len(study.trials)
    assert all(t.orientation == "h" for t in fig.data)
    assert set(traces["complete"].y) == {"slot 1"}  # trials ran one after another
    assert fig.layout.xaxis.type == "date"


def test_timeline_uses_a_worker_attribute_when_every_trial_has_one():
    study = hyperdial.create_study(sampler=RandomSampler(seed=0))
    for i in range(4):
        trial = study.ask()
        trial.set_user_attr("worker", f"host-{i % 2}")
        study.tell(trial, trial.suggest_float("x", 0, 1))
    assert set(plot_timeline(study).data[0].y) == {"host-0", "host-1"}


# ---------------------------------------------------------- parallel coords
def test_parallel_coordinates_handle_log_categorical_and_conditional(make_single):
    study = make_single()
    (trace,) = plot_parallel_coordinates(study).data
    dims = {d["label"]: d for d in trace.dimensions}
    assert list(dims) == ["objective (minimize)", "lr (log)", "depth", "kind", "gamma (log)"]
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    assert list(dims["lr (log)"]["values"]) == pytest.approx(
        [np.log10(t.params["lr"]) for t in done]
    )
    assert list(dims["kind"]["ticktext"]) == ["rbf", "linear"]
    assert list(dims["kind"]["values"]) == [
        ["rbf", "linear"].index(t.params["kind"]) for t in done
    ]
    assert all(float(t).is_integer() for t in dims["depth"]["tickvals"])
    for position, text in zip(dims["lr (log)"]["tickvals"], dims["lr (log)"]["ticktext"]):
        assert 10**position == pytest.approx(float(text))  # labels are values, not logs
    gamma = dims["gamma (log)"]
    assert gamma["ticktext"][0] == "(unset)"
    unset = [v for v, t in zip(gamma["values"], done) if "gamma" not in t.params]
    assert unset and set(unset) == {gamma["tickvals"][0]}
    assert list(trace.line.color) == pytest.approx([t.value for t in done])


def test_parallel_coordinates_cap_lines_keeping_the_best(make_single):
    study = make_single(n_trials=100)
    (trace,) = plot_parallel_coordinates(study, max_lines=20, params=["lr"]).data
    values = list(trace.dimensions[0]["values"])
    assert len(values) == 20 and min(values) == pytest.approx(study.best_value)
    assert [d["label"] for d in trace.dimensions] == ["objective (minimize)", "lr (log)"]


def test_parallel_coordinates_reject_unknown_params(make_single):
    with pytest.raises(InvalidValueError, match=r"got unknown \['nope'\]"):
        plot_parallel_coordinates(make_single(n_trials=8), params=["lr", "nope"])
    with pytest.raises(InvalidValueError, match="params must be a non-empty list"):
        plot_parallel_coordinates(make_single(n_trials=8), params="lr")


# -------------------------------------------------------------------- slices
def test_slice_has_one_panel_per_param_with_fitting_axes(make_single):
    study = make_single()
    fig = plot_slice(study)
    assert [t.name for t in fig.data] == ["lr", "depth", "kind", "gamma"]
    axes = [fig.layout[f"xaxis{i if i > 1 else ''}"].type for i in range(1, 5)]
    assert axes == ["log", "linear", "category", "log"]
    gamma = by_name(fig)["gamma"]
    assert len(gamma.x) == sum(
        "gamma" in t.params for t in study.trials if t.state is TrialState.COMPLETE
    )


# -------------------------------------------------------------- intermediate
def test_intermediate_dims_pruned_curves_and_highlights_the_best(make_single):
    study = make_single()
    fig = plot_intermediate(study)
    traces = by_name(fig)
    assert list(traces) == ["complete", "pruned", "failed", "best trial"]
    assert traces["pruned"].opacity < traces["complete"].opacity == 1.0
    n_pruned = sum(t.state is TrialState.PRUNED for t in study.trials)
    assert list(traces["pruned"].x).count(None) == n_pruned  # one gap after each curve
    best = study.best_trial
    assert list(traces["best trial"].y) == pytest.approx(
        [best.intermediate[s] for s in sorted(best.intermediate)]
    )


def test_intermediate_of_several_objectives_and_without_reports():
    study = hyperdial.create_study(directions=["minimize", "maximize"], sampler=RandomSampler())
    for _ in range(3):
        trial = study.ask()
        x = trial.suggest_float("x", 0, 1)
        trial.report([x, 10 + x], 0)
        trial.report([x / 2, 20 + x], 1)
        study.tell(trial, [x / 2, 20 + x])
    ys = [y for y in by_name(plot_intermediate(study, objective=1))["complete"].y if y]
    assert min(ys) >= 10
    plain = hyperdial.create_study(sampler=RandomSampler())
    plain.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with pytest.raises(InvalidValueError, match="no trial reported intermediate values"):
        plot_intermediate(plain)


# -------------------------------------------------------------------- pareto
def test_pareto_front_in_two_dimensions_matches_the_study(make_multi):
    study = make_multi(n_trials=60)
    fig = plot_pareto_front(study)
    traces = by_name(fig)
    front = {t.number for t in study.best_trials}
    hover = [int(text.split("<br>")[0].split()[1]) for text in traces["Pareto front"].hovertext]
    assert set(hover) == front
    assert len(traces["dominated"].x) == 60 - len(front)
    assert fig.layout.xaxis.title.text == "objective 0 (minimize)"
    assert fig.layout.yaxis.title.text == "objective 1 (maximize)"


def test_pareto_front_in_three_dimensions(make_multi):
    fig = plot_pareto_front(make_multi(n_objectives=3))
    assert {t.type for t in fig.data} == {"scatter3d"}
    assert fig.layout.scene.zaxis.title.text == "objective 2 (minimize)"
    two = plot_pareto_front(make_multi(n_objectives=3), objectives=[2, 0])
    assert two.layout.xaxis.title.text == "objective 2 (minimize)"


def test_pareto_front_rejects_one_objective_and_bad_axes(make_single, make_multi):
    with pytest.raises(InvalidValueError, match="must have 2 or more objectives; got 1"):
        plot_pareto_front(make_single(n_trials=6))
    with pytest.raises(InvalidValueError, match=r"objectives must be 2 or 3 distinct indices"):
        plot_pareto_front(make_multi(n_trials=4), objectives=[0, 0])
    with pytest.raises(InvalidValueError, match=r"in \[0, 1\]; got \[0, 5\]"):
        plot_pareto_front(make_multi(n_trials=4), objectives=[0, 5])


# ------------------------------------------------------------------- helpers
@pytest.mark.parametrize("seed", range(5))
def test_nondominated_agrees_with_the_history_front(seed):
    rng = np.random.default_rng(seed)
    values = np.round(rng.random((60, 3)), 1)  # rounding makes ties and duplicates
    directions = (Direction.MINIMIZE, Direction.MAXIMIZE, Direction.MINIMIZE)
    trials = [
        FrozenTrial(trial_id=i, number=i, state=TrialState.COMPLETE, values=tuple(v))
        for i, v in enumerate(values.tolist())
    ]
    expected = {t.number for t in pareto_front(trials, directions)}
    mask = nondominated(values * np.array([1.0, -1.0, 1.0]))
    assert set(np.flatnonzero(mask)) == expected


def test_spread_is_deterministic_and_keeps_what_it_is_asked_to():
    assert spread(5, 10).tolist() == [0, 1, 2, 3, 4]
    picked = spread(1000, 50, keep=[7, 500])
    assert len(picked) <= 52 and {0, 7, 500, 999} <= set(picked.tolist())
    assert picked.tolist() == spread(1000, 50, keep=[7, 500]).tolist()
