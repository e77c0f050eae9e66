from __future__ import annotations

import math
import pickle

import pytest

from hyperdial import Direction, TrialState
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import History
from hyperdial.schedulers import Decision, MedianPruner, PercentilePruner
from hyperdial.testing import SchedulerConformance
from hyperdial.trial import FrozenTrial

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE


def make_trial(number, curve, state=TrialState.COMPLETE, **kwargs):
    """Return a trial that reported ``curve[i]`` at step ``i`` (a dict for other steps)."""
    intermediate = curve if isinstance(curve, dict) else dict(enumerate(curve))
    values = (intermediate[max(intermediate)],) if state is TrialState.COMPLETE else None
    return FrozenTrial(
        trial_id=number,
        number=number,
        state=state,
        intermediate=intermediate,
        values=values,
        **kwargs,
    )


def judge(pruner, peers, curve, step=None, directions=(MIN,)):
    """Return the decision on a RUNNING trial that reported ``curve``, after ``peers``."""
    trial = make_trial(len(peers), curve, TrialState.RUNNING)
    history = History(tuple(directions), (*peers, trial))
    step = max(trial.intermediate) if step is None else step
    return pruner.on_report(history, trial, step, trial.intermediate[step])


# Five finished learning curves (loss, lower is better): at step 2 they are 0.5 .. 0.9.
PEERS = [make_trial(i, [1.0, 0.8 - 0.1 * i, 0.5 + 0.1 * i]) for i in range(5)]


def test_a_bad_curve_is_pruned_and_a_good_one_continues():
    pruner = MedianPruner()
    bad = judge(pruner, PEERS, [1.0, 0.9, 0.95])
    good = judge(pruner, PEERS, [1.0, 0.6, 0.55])
    assert isinstance(bad, Decision)
    assert bad.prune
    assert "median of 5 trials at step 2 is 0.7" in bad.reason
    assert not good.prune
    assert good.reason


def test_maximize_flips_the_comparison():
    peers = [make_trial(i, [0.0, 0.5 + 0.1 * i]) for i in range(5)]  # accuracies 0.5 .. 0.9
    pruner = MedianPruner()
    assert judge(pruner, peers, [0.0, 0.6], directions=(MAX,)).prune
    assert not judge(pruner, peers, [0.0, 0.8], directions=(MAX,)).prune
    # The same curves under minimisation give the opposite decisions.
    assert not judge(pruner, peers, [0.0, 0.6], directions=(MIN,)).prune
    assert judge(pruner, peers, [0.0, 0.8], directions=(MIN,)).prune


def test_percentile_sets_the_bar():
    # Peers at step 2: 0.5, 0.6, 0.7, 0.8, 0.9; 0.65 beats the median but not the 25th
    # percentile (0.6).
    curve = [1.0, 0.7, 0.65]
    assert not judge(MedianPruner(), PEERS, curve).prune
    assert judge(PercentilePruner(25.0), PEERS, curve).prune
    assert not judge(PercentilePruner(75.0), PEERS, [1.0, 0.7, 0.75]).prune


def test_no_pruning_before_n_startup_trials_complete():
    curve = [1.0, 0.9, 0.95]
    assert not judge(MedianPruner(n_startup_trials=6), PEERS, curve).prune
    assert judge(MedianPruner(n_startup_trials=5), PEERS, curve).prune


def test_no_pruning_before_n_warmup_steps():
    pruner = MedianPruner(n_warmup_steps=2)
    assert not judge(pruner, PEERS, [1.0, 0.9], step=1).prune
    assert judge(pruner, PEERS, [1.0, 0.9, 0.95], step=2).prune


def test_interval_steps_judges_the_first_report_of_each_interval():
    peers = [make_trial(i, [0.1 * i] * 5) for i in range(5)]  # 0.0 .. 0.4 at every step
    pruner = MedianPruner(interval_steps=2, n_warmup_steps=1)
    # Intervals from the warm-up: [1, 2], [3, 4]. Step 2 follows step 1 in the same one.
    assert judge(pruner, peers, [9.0, 9.0], step=1).prune
    assert not judge(pruner, peers, [9.0, 9.0, 9.0], step=2).prune
    assert judge(pruner, peers, [9.0, 9.0, 9.0, 9.0], step=3).prune
    # A trial that skipped step 1 is judged at step 2, its first report of the interval.
    assert judge(pruner, peers, {0: 9.0, 2: 9.0}, step=2).prune


def test_n_min_trials_counts_peers_that_reached_the_step():
    short = [make_trial(i, [0.1, 0.1]) for i in range(5)]  # stopped at step 1
    # At step 2 only the trials of PEERS have values.
    history_peers = short + [make_trial(5 + i, [1.0, 0.5, 0.5]) for i in range(2)]
    curve = [1.0, 0.9, 0.95]
    assert not judge(MedianPruner(n_min_trials=3), history_peers, curve).prune
    assert judge(MedianPruner(n_min_trials=2), history_peers, curve).prune


def test_running_and_pruned_peers_count_waiting_ones_do_not():
    peers = [
        make_trial(0, [0.1, 0.1], TrialState.RUNNING),
        make_trial(1, [0.2, 0.2], TrialState.PRUNED),
        make_trial(2, [0.3, 0.3], TrialState.WAITING),
    ]
    pruner = MedianPruner(n_startup_trials=0, n_min_trials=2)
    decision = judge(pruner, peers, [0.5, 0.5])
    assert decision.prune
    assert "of 2 trials" in decision.reason
    # Without the running and pruned peers there is nobody to compare with.
    assert not judge(pruner, peers[2:], [0.5, 0.5]).prune


def test_a_finished_peer_counts_at_steps_beyond_its_reports_through_its_budget():
    # Lineage trials without reports: value_at falls back to the final value (budget >= step).
    peers = [
        FrozenTrial(trial_id=i, number=i, state=TrialState.COMPLETE, values=(0.1,), budget=9)
        for i in range(5)
    ]
    assert judge(MedianPruner(), peers, [0.5] * 4).prune


def test_nan_is_pruned_and_nan_peers_are_left_out():
    assert judge(MedianPruner(), PEERS, [1.0, 0.5, math.nan]).prune
    nan_peers = [make_trial(i, [math.nan, math.nan]) for i in range(5)]
    assert not judge(MedianPruner(), nan_peers, [9.0, 9.0]).prune


def test_several_objectives_are_refused():
    trial = make_trial(0, [0.5], TrialState.RUNNING)
    history = History((MIN, MIN), (trial,))
    assert MedianPruner.supports_multi_objective is False
    with pytest.raises(InvalidValueError, match="MedianPruner supports one objective; .* 2"):
        MedianPruner().on_report(history, trial, 0, 0.5)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: PercentilePruner(101), "percentile must be a number in \\[0, 100\\]; got 101"),
        (lambda: PercentilePruner(math.nan), "percentile .* got nan"),
        (lambda: MedianPruner(n_startup_trials=-1), "n_startup_trials must be an int >= 0"),
        (lambda: MedianPruner(n_warmup_steps=1.5), "n_warmup_steps must be an int >= 0"),
        (lambda: MedianPruner(interval_steps=0), "interval_steps must be an int >= 1; got 0"),
        (lambda: MedianPruner(n_min_trials=True), "n_min_trials must be an int >= 1; got True"),
    ],
)
def test_invalid_arguments_name_the_value(make, message):
    with pytest.raises(InvalidValueError, match=message):
        make()


def test_pickle_and_settings():
    pruner = PercentilePruner(30.0, n_warmup_steps=3)
    clone = pickle.loads(pickle.dumps(pruner))
    assert clone.settings() == pruner.settings()
    assert pruner.settings()["class"] == "PercentilePruner"
    assert pruner.settings()["n_warmup_steps"] == 3


class TestMedianPrunerConformance(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: MedianPruner(n_startup_trials=2)


class TestPercentilePrunerConformance(SchedulerConformance):
    @pytest.fixture
    def make_scheduler(self):
        return lambda: PercentilePruner(25.0, n_startup_trials=2, n_warmup_steps=2)
