from __future__ import annotations

import numpy as np
import pytest

import hyperdial
from hyperdial import analysis
from hyperdial.exceptions import InvalidValueError, NoCompletedTrialsError
from hyperdial.plot import (
    plot_contour,
    plot_diagnostics,
    plot_importance,
    plot_interactions,
    plot_partial_dependence,
)
from hyperdial.samplers import RandomSampler


def test_importance_bars_carry_the_shares_and_their_std(make_single):
    study = make_single()
    fig = plot_importance(study)
    bars = fig.data[0]
    assert bars.type == "bar" and bars.orientation == "h"
    details = {d.param: d for d in analysis.importance_details(study)}
    assert set(bars.y) == set(details)
    assert list(bars.x) == sorted(bars.x)  # the largest share is drawn on top
    for name, share, std in zip(bars.y, bars.x, bars.error_x.array):
        assert share == pytest.approx(details[name].share)
        assert std == pytest.approx(details[name].std)
    assert "fanova" in fig.layout.title.text


def test_importance_passes_options_to_the_analysis(make_single):
    fig = plot_importance(make_single(), params=["lr", "depth"])
    assert set(fig.data[0].y) == {"lr", "depth"}
    with pytest.raises(NoCompletedTrialsError, match="needs at least"):
        plot_importance(make_single(n_trials=3))


def test_interactions_heat_map_is_symmetric_with_a_blank_diagonal(make_single):
    study = make_single()
    (heat,) = plot_interactions(study).data
    z = np.asarray(heat.z, dtype=float)
    assert heat.type == "heatmap" and list(heat.x) == list(heat.y)
    assert np.allclose(z, z.T, equal_nan=True) and np.isnan(np.diag(z)).all()
    strengths = analysis.interactions(study)
    i, j = list(heat.x).index("lr"), list(heat.x).index("depth")
    assert z[i, j] == pytest.approx(strengths[("lr", "depth")])


def test_contour_uses_log_axes_for_log_params_and_shows_the_trials(make_single):
    study = make_single()
    fig = plot_contour(study, ["lr", "depth"])
    surface, points = fig.data
    assert surface.type == "contour" and points.name == "trials"
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "linear"
    assert fig.layout.xaxis.title.text == "lr" and fig.layout.yaxis.title.text == "depth"
    result = analysis.partial_dependence_2d(study, "lr", "depth")
    assert np.asarray(surface.z) == pytest.approx(np.asarray(result.z))


def test_contour_of_a_categorical_is_a_heat_map_and_defaults_to_the_top_pair(make_single):
    study = make_single()
    fig = plot_contour(study, ["lr", "kind"])
    assert fig.data[0].type == "heatmap" and fig.layout.yaxis.type == "category"
    top = list(analysis.importance(study))[:2]
    default = plot_contour(study)
    assert [default.layout.xaxis.title.text, default.layout.yaxis.title.text] == top


@pytest.mark.parametrize(
    "params", [["lr"], ["lr", "lr"], "lr", ["lr", "nope"]], ids=["one", "same", "str", "unknown"]
)
def test_contour_rejects_anything_but_a_pair_of_params(make_single, params):
    with pytest.raises(InvalidValueError, match="plot_contour: params must"):
        plot_contour(make_single(n_trials=12), params)


def test_partial_dependence_has_bands_for_numbers_and_bars_for_categories(make_single):
    study = make_single()
    fig = plot_partial_dependence(study, ["lr", "kind"])
    kinds = [(t.type, t.name) for t in fig.data]
    assert kinds == [("scatter", "lr ± std"), ("scatter", "lr"), ("bar", "kind")]
    assert fig.layout.xaxis.type == "log" and fig.layout.xaxis2.type == "category"
    result = analysis.partial_dependence(study, "lr")
    assert list(fig.data[1].y) == pytest.approx(result.mean)


def test_diagnostics_colour_trials_by_verdict(make_single):
    study = make_single()
    fig = plot_diagnostics(study)
    diagnosis = analysis.diagnose(study)
    verdicts = {d.verdict for d in diagnosis.trials}
    assert {t.name for t in fig.data} == verdicts | {"train = validation"}
    assert sum(len(t.x) for t in fig.data if t.name in verdicts) == len(diagnosis.trials)
    assert fig.layout.xaxis.title.text == "training score"


def test_diagnostics_need_the_scores():
    study = hyperdial.create_study(sampler=RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=6)
    with pytest.raises(InvalidValueError, match="no COMPLETE trial recorded its training and"):
        plot_diagnostics(study)
