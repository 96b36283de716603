"""Engine corners not covered elsewhere (found by branch coverage): decay curves refuse bad
parameters and describe themselves, certain contact, spikes outside the horizon, empty measurement
windows, seeds, and scoring of occurrences beyond a point list."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.config.scenario import Scenario
from sim.measure.kpis import backlog_business_age, queue_stats
from sim.world.generate import generate_world
from sim.world.population import categorical
from sim.world.response import ExpMixture, Hyperbolic, NoDecay, ResponseModel, decay_curve

SMALL = {"horizon": {"warmup": "7d", "window": "14d", "runout": "14d"}, "arrivals": {"leads_per_year": 3000}}


@pytest.mark.parametrize("make, words", [
    (lambda: ExpMixture((0.5, 0.5), (10.0,)), "one half-life per weight"),
    (lambda: ExpMixture((0.7, 0.7), (1.0, 2.0)), "sum to 1"),
    (lambda: ExpMixture((1.0,), (0.0,)), "positive and finite"),
    (lambda: ExpMixture((1.0,), (math.inf,)), "positive and finite"),
    (lambda: Hyperbolic(0.0, 1.0), "positive and finite"),
    (lambda: Hyperbolic(10.0, -1.0), "positive and finite"),
])
def test_decay_curves_refuse_bad_parameters(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_decay_curves_describe_their_formula_and_start_at_one():
    for curve, words in ((ExpMixture((0.9, 0.1), (2.0, 600.0)), "2^(-t/"), (Hyperbolic(30.0, 0.8), "(1 + t/30m)"),
                         (NoDecay(), "q(t) = 1")):
        assert words in curve.describe()
        assert curve(0.0) == pytest.approx(1.0) and curve(-5.0) == pytest.approx(1.0)   # before the MQL: no decay
        assert float(curve(np.array([0.0]))[0]) == pytest.approx(1.0)
    with pytest.raises(TypeError, match="cannot build a decay curve"):
        decay_curve(42)


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_certain_contact_ignores_the_delay(rate):
    """contact_rate 0 (nobody answers) or 1 (everybody does) holds at every delay, scalar or array."""
    sc = Scenario.model_validate({"response": {"contact_rate": rate}})
    m = ResponseModel.from_scenario(sc.response)
    for t in (0.0, 5.0, 600.0, 1e6):
        assert m.contact_probability(t) == rate
    np.testing.assert_array_equal(m.contact_probability(np.array([0.0, 5.0, 1e6])), rate)


def test_spikes_outside_the_horizon_change_nothing():
    quiet = Scenario.model_validate(SMALL)
    outside = Scenario.model_validate({**SMALL, "arrivals": {**SMALL["arrivals"], "spikes": [
        {"start": "2025-06-01", "duration": "7d", "multiplier": 50.0},        # before the start date
        {"start": "2027-06-01", "duration": "7d", "multiplier": 50.0}]}})     # after the end
    np.testing.assert_array_equal(generate_world(quiet, 3).arrival, generate_world(outside, 3).arrival)


def test_seeds_must_be_non_negative():
    with pytest.raises(ValueError, match=">= 0"):
        generate_world(Scenario.model_validate(SMALL), -1)


def test_categorical_needs_some_weight():
    with pytest.raises(ValueError, match="positive total"):
        categorical(np.zeros(3), np.array([0.5]))
    assert set(categorical(np.array([0.0, 1.0, 0.0]), np.linspace(0, 0.999, 50)).tolist()) == {1}


def test_empty_measurement_windows():
    from sim.sales.process import SalesLog
    e = np.zeros(0)
    log = SalesLog(*([e] * 14), q_time=np.array([0.0, 10.0]), q_len=np.array([0, 1]), day_queue=np.zeros(0, int),
                   day_oldest_age=e, reps=1)
    mean, mx = queue_stats(log, 50.0, 50.0)
    assert math.isnan(mean) and mx == 0
    assert backlog_business_age(log, None, np.zeros(0, int)).size == 0


def test_occurrences_beyond_the_point_list_score_then_or_zero():
    from sim.config.policy import EventPoints
    from sim.decisions.mql import raw_points
    assert [raw_points(EventPoints(points=[15, 10]), j) for j in (1, 2, 3)] == [15, 10, 0]
    assert raw_points(EventPoints(points=[5], then=2), 4) == 2
