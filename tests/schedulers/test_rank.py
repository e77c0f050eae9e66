from __future__ import annotations

import math

import numpy as np
import pytest

from hyperdial import Direction
from hyperdial.exceptions import InvalidValueError
from hyperdial.history import dominates
from hyperdial.schedulers._rank import rank_at_rung

MIN, MAX = Direction.MINIMIZE, Direction.MAXIMIZE


@pytest.mark.parametrize(
    ("values", "direction", "expected"),
    [
        pytest.param([0.3, 0.1, 0.2], MIN, [2, 0, 1], id="minimize"),
        pytest.param([0.3, 0.1, 0.2], MAX, [0, 2, 1], id="maximize"),
        pytest.param([0.5, 0.1, 0.5, 0.1], MIN, [2, 0, 3, 1], id="ties-keep-order"),
        pytest.param([math.nan, 0.5, 0.1], MIN, [2, 1, 0], id="nan-last-minimize"),
        pytest.param([math.nan, 0.5, 0.1], MAX, [2, 0, 1], id="nan-last-maximize"),
        pytest.param([(0.2,), (0.1,)], MIN, [1, 0], id="one-element-tuples"),
        pytest.param([], MIN, [], id="empty"),
    ],
)
def test_single_objective_order(values, direction, expected):
    assert rank_at_rung(values, [direction]) == expected


def test_fronts_come_before_dominated_entries():
    values = [(3, 3), (1, 5), (4, 4), (2, 2), (5, 1)]
    position = rank_at_rung(values, [MIN, MIN])
    # Front: (1, 5), (2, 2), (5, 1); then (3, 3); then (4, 4).
    assert sorted(position[i] for i in (1, 3, 4)) == [0, 1, 2]
    assert position[0] == 3
    assert position[2] == 4


def test_crowding_distance_breaks_ties_inside_a_front():
    # All four are non-dominated. The ends have infinite crowding distance; of the inner two,
    # (3, 2.9) has the larger distance (4/3 against 1.03), so it comes first although its
    # index is larger.
    values = [(1, 4), (2, 3), (3, 2.9), (4, 1)]
    assert rank_at_rung(values, [MIN, MIN]) == [0, 3, 2, 1]


def test_directions_apply_per_objective():
    # Maximise the first, minimise the second: (5, 1) dominates everything.
    values = [(1, 1), (5, 1), (5, 3), (1, 3)]
    position = rank_at_rung(values, [MAX, MIN])
    assert position[1] == 0
    assert position[3] == 3  # dominated by all the others


def test_nan_in_any_objective_ranks_last():
    values = [(math.nan, 0.0), (9, 9), (1, 1)]
    assert rank_at_rung(values, [MIN, MIN]) == [2, 1, 0]


def test_no_entry_is_ranked_after_one_it_dominates():
    rng = np.random.default_rng(0)
    values = [tuple(row) for row in rng.integers(0, 6, size=(40, 3)).tolist()]
    directions = [MIN, MAX, MIN]
    position = rank_at_rung(values, directions)
    assert sorted(position) == list(range(40))
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            if dominates(a, b, directions):
                assert position[i] < position[j], (a, b)


@pytest.mark.parametrize(
    "values", [pytest.param([(1, 2), 3], id="scalar"), pytest.param([(1, 2, 3)], id="three")]
)
def test_wrong_number_of_values_is_an_error(values):
    with pytest.raises(InvalidValueError, match="one number per objective"):
        rank_at_rung(values, [MIN, MIN])
