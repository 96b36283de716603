"""Response decay: presets reproduce their published ratios; curve properties."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.config.scenario import DECAY_PRESETS, DecayCurve, Response
from sim.world.response import (
    PRESET_TARGETS,
    PRESETS,
    ExpMixture,
    Hyperbolic,
    ResponseModel,
    bucket_mean,
    decay_curve,
    reproduce,
    split,
)

TARGETS = [(name, t) for name, ts in PRESET_TARGETS.items() for t in ts]
GRID = np.concatenate([[0.0], np.geomspace(1e-3, 30 * 1440, 2000)])


def test_presets_match_schema():
    assert set(PRESETS) == set(DECAY_PRESETS) == set(PRESET_TARGETS)


@pytest.mark.parametrize("name,target", TARGETS, ids=[f"{n}:{t.description[:30]}" for n, t in TARGETS])
def test_preset_reproduces_published_ratio(name, target):
    got = target.ratio(decay_curve(name))
    assert got == pytest.approx(target.published, rel=0.15), target.description
    if target.at_least:
        assert got >= target.published * 0.999


def test_reproduce_table():
    rows = reproduce("velocify2012")
    assert len(rows) == 5 and all(isinstance(r, float) for _, r, _ in rows)


@pytest.mark.parametrize("name", list(PRESETS))
def test_curve_properties(name):
    q = decay_curve(name)
    assert q(0.0) == 1.0 and q(0) == 1.0
    y = q(GRID)
    assert y[0] == pytest.approx(1.0)
    assert (y > 0).all()
    assert (np.diff(y) <= 1e-15).all()
    np.testing.assert_allclose(y[::97], [q(float(t)) for t in GRID[::97]])   # vectorised == scalar
    assert q(-5.0) == 1.0                                                    # negative delay = none


def test_none_is_one():
    q = decay_curve("none")
    assert q(1e6) == 1.0
    np.testing.assert_array_equal(q(GRID), 1.0)
    assert decay_curve(Response().decay) is PRESETS["seed"]


def test_parametric_kinds_match_formulas():
    t = np.array([0.0, 1.0, 7.5, 60.0, 1440.0, 20000.0])
    q = decay_curve(DecayCurve(kind="exponential", half_life="30m"))
    np.testing.assert_allclose(q(t), 2 ** (-t / 30))
    q = decay_curve(DecayCurve(kind="two_phase", fast="3m", slow="9h", slow_weight=0.02))
    np.testing.assert_allclose(q(t), 0.98 * 2 ** (-t / 3) + 0.02 * 2 ** (-t / 540))
    q = decay_curve(DecayCurve(kind="hyperbolic", t0="10m", a=1.1))
    np.testing.assert_allclose(q(t), (1 + t / 10) ** -1.1)
    assert isinstance(q, Hyperbolic) and q(10.0) == pytest.approx(2 ** -1.1)


def test_hyperbolic_is_gamma_mixture_of_exponentials():
    # E[exp(-r t)] with r ~ Gamma(shape a, rate t0) equals (1 + t/t0)^(-a).
    rng = np.random.default_rng(1)
    a, t0 = 1.2, 15.0
    r = rng.gamma(a, 1 / t0, 400_000)
    for t in (5.0, 60.0, 600.0):
        assert np.exp(-r * t).mean() == pytest.approx(Hyperbolic(t0, a)(t), rel=0.01)


def test_bad_specs():
    with pytest.raises(ValueError):
        decay_curve("nope")
    with pytest.raises(TypeError):
        decay_curve(3.0)
    with pytest.raises(ValueError):
        ExpMixture((0.5, 0.6), (1.0, 2.0))
    with pytest.raises(ValueError):
        split(0.5, 1.5)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-12, max_value=1.0), st.floats(min_value=0.0, max_value=1.0))
def test_split_multiplies_back(q, share):
    c, k = split(q, share)
    assert c * k == pytest.approx(q, rel=1e-9)
    assert q <= c <= 1.0 and q <= k <= 1.0


def test_split_vectorised_and_edges():
    q = decay_curve("lrm2007")(GRID)
    c, k = split(q, 0.3)
    np.testing.assert_allclose(c * k, q, rtol=1e-12)
    assert split(0.25, 0.0) == (1.0, 0.25) and split(0.25, 1.0) == (0.25, 1.0)


def _odds(p):
    return p / (1 - p)


def test_response_model_base_chances_hold_at_the_reference_delay():
    m = ResponseModel.from_scenario(Response(decay="hbr2011", reference_delay="1h", contact_share=0.5, contact_rate=0.4))
    assert m.contact_probability(60.0) == pytest.approx(0.4)
    assert m.qualify_probability(0.3, 60.0) == pytest.approx(0.3)


def test_response_model_odds_ratios_reproduce_the_curve():
    """Contact odds x qualification odds move by exactly q(t)/q(ref): the preset's published ratios
    survive as odds ratios, and probabilities stay in [0, 1] however fast the response."""
    m = ResponseModel.from_scenario(Response(decay="seed", reference_delay="1h", contact_share=0.3, contact_rate=0.5))
    t = np.array([0.0, 5.0, 30.0, 600.0, 1440.0, 20000.0])
    pc = m.contact_probability(t)
    pq = m.qualify_probability(np.full(t.shape, 0.2), t)
    ratio = _odds(pc) / _odds(0.5) * _odds(pq) / _odds(0.2)
    np.testing.assert_allclose(ratio, m.curve(t) / m.curve(60.0), rtol=1e-9)
    assert np.all((pc >= 0) & (pc <= 1) & (pq >= 0) & (pq <= 1))
    assert np.all(np.diff(pc) <= 0) and np.all(np.diff(pq) <= 0)
    # q(5 min)/q(30 min) = 6 under the seed preset: the odds of converting fall 6x
    r = (_odds(m.contact_probability(5.0)) * _odds(m.qualify_probability(0.2, 5.0))
         / (_odds(m.contact_probability(30.0)) * _odds(m.qualify_probability(0.2, 30.0))))
    assert r == pytest.approx(6.0, rel=0.15)


def test_bucket_mean_exact_for_exponential():
    q = ExpMixture((1.0,), (10.0,))
    exact = 10 / (60 * np.log(2)) * (1 - 2 ** (-6))
    assert bucket_mean(q, 0, 60) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("decay", ["seed", "lrm2007", "velocify2012", "none",
                                   {"kind": "hyperbolic", "t0": "10m", "a": 0.8}])
def test_scalar_contact_probability_equals_the_general_one(decay):
    """The closure the SimPy loop calls per attempt gives exactly contact_probability's floats."""
    m = ResponseModel.from_scenario(Response.model_validate({"decay": decay}))
    fast = m.scalar_contact_probability()
    for t in (0.0, 0.5, 3.0, 59.9, 60.0, 600.0, 1e4, 1e6):
        assert fast(t) == m.contact_probability(t)
