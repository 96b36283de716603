"""Analytic queueing anchors (sim.measure.erlang): textbook values checked against independent
factorial / exact-rational formulas, Erlang A limits (theta -> 0 is Erlang C, theta = mu is
M/M/inf), a phase-type cross-check of the Erlang A service level, a seeded Monte Carlo of
M/M/2+M, and staffing minimality and monotonicity."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.measure.erlang import (
    erlang_a,
    erlang_b,
    erlang_c,
    mmc_mean_queue,
    mmc_mean_wait,
    mmc_service_level,
    offered_load,
    staffing_for_service_level,
)


def b_factorial(c: int, a) -> float:
    return float((a ** c / math.factorial(c)) / sum(a ** k / math.factorial(k) for k in range(c + 1)))


def c_factorial(c: int, a) -> float:
    top = Fraction(a) ** c / math.factorial(c) * Fraction(c) / (c - Fraction(a))
    return float(top / (sum(Fraction(a) ** k / math.factorial(k) for k in range(c)) + top))


# ---- Erlang B / C ---------------------------------------------------------------------------

@pytest.mark.parametrize("c,a", [(1, 0.5), (2, 1.0), (5, 3.3), (10, 10.0), (20, 25.0)])
def test_erlang_b_recursion_matches_factorial_formula(c, a):
    assert erlang_b(c, a) == pytest.approx(b_factorial(c, a), rel=1e-12)


def test_erlang_b_published_trunk_example_and_large_c():
    # 17 Erlangs at < 1 % blocking needs 27 trunks (classic Erlang B table value).
    assert erlang_b(26, 17.0) > 0.01 > erlang_b(27, 17.0)
    assert erlang_b(10, 10.0) == pytest.approx(0.2146, abs=5e-5)
    assert 0.0 < erlang_b(10_000, 9_800.0) < 1.0          # no overflow, no factorials


def test_erlang_c_textbook_values():
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)
    lam, mu = 0.7, 1.0                                     # c = 1 is M/M/1
    assert erlang_c(1, lam / mu) == pytest.approx(lam / mu)
    assert mmc_mean_wait(1, lam, mu) == pytest.approx((lam / mu) / (mu - lam))
    assert mmc_mean_queue(1, lam, mu) == pytest.approx((lam / mu) ** 2 / (1 - lam / mu))
    assert erlang_c(3, 3.0) == erlang_c(3, 7.5) == 1.0
    assert mmc_mean_wait(3, 3.0, 1.0) == math.inf and mmc_service_level(3, 3.0, 1.0, 1.0) == 0.0


def test_erlang_c_call_centre_example_against_exact_rational_formula():
    # Westbay's worked example: 360 calls per half hour, 4-minute calls, 55 agents, 15 s target.
    lam, mu, c, t = 360 / 30, 1 / 4, 55, 15 / 60           # per minute
    assert offered_load(lam, mu) == pytest.approx(48.0)
    pw = c_factorial(c, 48)
    assert erlang_c(c, 48.0) == pytest.approx(pw, rel=1e-12)
    assert mmc_mean_wait(c, lam, mu) == pytest.approx(pw / (c * mu - lam), rel=1e-12)
    assert mmc_service_level(c, lam, mu, t) == pytest.approx(1 - pw * math.exp(-(c * mu - lam) * t))
    assert mmc_service_level(c, lam, mu, 0.0) == pytest.approx(1 - pw)


# ---- Erlang A ---------------------------------------------------------------------------------

@pytest.mark.parametrize("c,lam,mu", [(1, 0.6, 1.0), (2, 1.0, 1.0), (5, 4.2, 1.0), (500, 480.0, 1.0)])
def test_erlang_a_tiny_theta_is_erlang_c(c, lam, mu):
    r = erlang_a(c, lam, mu, theta=1e-9)
    assert r.p_wait == pytest.approx(erlang_c(c, lam / mu), rel=1e-6)
    assert r.mean_wait == pytest.approx(mmc_mean_wait(c, lam, mu), rel=1e-6)
    assert r.mean_queue == pytest.approx(mmc_mean_queue(c, lam, mu), rel=1e-6)
    for t in (0.0, 0.01, 0.3, 2.0):
        assert r.service_level(t) == pytest.approx(mmc_service_level(c, lam, mu, t), rel=1e-6)


@pytest.mark.parametrize("c,lam", [(1, 0.5), (3, 2.0), (8, 12.0), (50, 45.0)])
def test_erlang_a_theta_equal_mu_is_poisson(c, lam):
    mu = 1.3
    r = erlang_a(c, lam, mu, theta=mu)
    n = np.arange(r.state_probs.size)
    poisson = np.exp(n * math.log(lam / mu) - lam / mu - np.array([math.lgamma(k + 1) for k in n]))
    np.testing.assert_allclose(r.state_probs, poisson, rtol=1e-9, atol=1e-15)
    assert r.p_wait == pytest.approx(1 - poisson[:c].sum(), rel=1e-9)


def test_erlang_a_abandonment_rises_with_impatience():
    p = [erlang_a(3, 2.8, 1.0, th).p_abandon for th in (0.01, 0.1, 0.5, 1.0, 5.0, 50.0)]
    assert all(x < y for x, y in zip(p, p[1:]))


def test_erlang_a_large_c_is_stable():
    for theta in (1e-9, 0.05, 2.0):
        r = erlang_a(500, 480.0, 1.0, theta, t=0.05)
        p = r.state_probs
        assert np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1))
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        for v in (r.p_wait, r.p_abandon, r.sl_at_t):
            assert 0.0 <= v <= 1.0
    assert erlang_a(500, 600.0, 1.0, 0.5).p_abandon == pytest.approx(100 / 600, rel=1e-3)


def test_erlang_a_service_level_matches_phase_type_expm():
    """Independent check: per queue position k, expm of the tagged lead's absorbing chain."""
    c, lam, mu, theta, t = 3, 2.6, 1.0, 0.7, 0.4
    r = erlang_a(c, lam, mu, theta, t=t)
    p = r.state_probs
    kmax = p.size - c                                       # positions 0..kmax-1, then S, Ab
    q = np.zeros((kmax + 2, kmax + 2))
    for j in range(kmax):
        move = c * mu + j * theta
        q[j, j - 1 if j else kmax] = move
        q[j, kmax + 1] = theta
        q[j, j] = -(move + theta)
    served = scipy.linalg.expm(q * t)[:kmax, kmax]
    expected = p[:c].sum() + p[c:] @ served
    assert r.sl_at_t == pytest.approx(expected, rel=1e-9)
    assert r.service_level(t) == r.sl_at_t
    assert r.service_level(math.inf) == pytest.approx(1 - r.p_abandon)
    assert r.service_level(1e6) == pytest.approx(1 - r.p_abandon, rel=1e-9)
    sl = [r.service_level(x) for x in (0.0, 0.1, 0.5, 2.0, 10.0)]
    assert sl[0] == pytest.approx(1 - r.p_wait) and all(x <= y for x, y in zip(sl, sl[1:]))


def simulate_mmc_m(c, lam, mu, theta, t, n, seed, warmup=2_000, batches=20):
    """FCFS M/M/c+M by the virtual-wait recursion: a lead's offered wait depends only on leads
    ahead of it, and leads that abandon never occupy a rep. Batch means give honest SEs."""
    rng = np.random.default_rng(seed)
    arrive = np.cumsum(rng.exponential(1 / lam, n))
    service, patience = rng.exponential(1 / mu, n), rng.exponential(1 / theta, n)
    free = [0.0] * c
    wait, aband, quick = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        j = min(range(c), key=free.__getitem__)
        v = max(0.0, free[j] - arrive[i])
        if v > patience[i]:
            wait[i], aband[i] = patience[i], 1.0
        else:
            wait[i], quick[i] = v, float(v <= t)
            free[j] = arrive[i] + v + service[i]
    out = {}
    for name, x in (("p_abandon", aband), ("mean_wait", wait), ("sl", quick)):
        m = x[warmup:].reshape(batches, -1).mean(axis=1)
        out[name] = (m.mean(), m.std(ddof=1) / math.sqrt(batches))
    return out


def test_erlang_a_monte_carlo_mm2m():
    c, lam, mu, theta, t = 2, 1.8, 1.0, 0.6, 0.5
    r = erlang_a(c, lam, mu, theta, t=t)
    sim = simulate_mmc_m(c, lam, mu, theta, t, n=62_000, seed=20240611)
    for name, exact in (("p_abandon", r.p_abandon), ("mean_wait", r.mean_wait), ("sl", r.sl_at_t)):
        mean, se = sim[name]
        assert abs(mean - exact) < 3 * se, (name, mean, exact, se)


# ---- staffing ---------------------------------------------------------------------------------

def sl(c, lam, mu, t, theta):
    return (mmc_service_level(c, lam, mu, t) if theta == 0
            else erlang_a(c, lam, mu, theta).service_level(t))


@pytest.mark.parametrize("lam,mu,t,target,theta", [
    (100.0, 4.0, 1 / 60, 0.8, 0.0), (12.0, 0.25, 0.25, 0.8, 0.0), (0.3, 1.0, 0.0, 0.5, 0.0),
    (100.0, 4.0, 1 / 60, 0.8, 2.0), (2.0, 1.0, 0.5, 0.9, 0.5), (400.0, 1.0, 0.02, 0.95, 0.3),
    (5.0, 1.0, 1.0, 0.2, 3.0)])
def test_staffing_is_minimal(lam, mu, t, target, theta):
    c = staffing_for_service_level(lam, mu, t, target, theta=theta)
    assert sl(c, lam, mu, t, theta) >= target
    assert c == 1 or sl(c - 1, lam, mu, t, theta) < target


@settings(max_examples=60, deadline=None)
@given(lam=st.floats(0.1, 300.0), mu=st.floats(0.2, 5.0), t=st.floats(0.0, 2.0),
       lo=st.floats(0.05, 0.95), hi=st.floats(0.05, 0.95))
def test_staffing_monotone_in_target_and_load_erlang_c(lam, mu, t, lo, hi):
    lo, hi = min(lo, hi), max(lo, hi)
    c_lo = staffing_for_service_level(lam, mu, t, lo)
    assert c_lo <= staffing_for_service_level(lam, mu, t, hi)
    assert c_lo <= staffing_for_service_level(lam * 1.3, mu, t, lo)


@settings(max_examples=25, deadline=None)
@given(lam=st.floats(0.5, 60.0), theta=st.floats(0.05, 5.0), t=st.floats(0.0, 1.0),
       lo=st.floats(0.05, 0.95), hi=st.floats(0.05, 0.95))
def test_staffing_monotone_erlang_a(lam, theta, t, lo, hi):
    lo, hi = min(lo, hi), max(lo, hi)
    c = staffing_for_service_level(lam, 1.0, t, lo, theta=theta)
    assert sl(c, lam, 1.0, t, theta) >= lo and (c == 1 or sl(c - 1, lam, 1.0, t, theta) < lo)
    assert c <= staffing_for_service_level(lam, 1.0, t, hi, theta=theta)
    assert c <= staffing_for_service_level(lam * 1.3, 1.0, t, lo, theta=theta)


def test_staffing_impossible_raises():
    with pytest.raises(ValueError, match="max_c"):
        staffing_for_service_level(100.0, 1.0, 0.1, 0.9, max_c=50)
    with pytest.raises(ValueError, match="max_c"):
        staffing_for_service_level(100.0, 1.0, 0.1, 0.9, theta=0.5, max_c=50)


# ---- argument checks --------------------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: erlang_b(0, 1.0), "servers c"), (lambda: erlang_c(2.0, 1.0), "servers c"),
    (lambda: erlang_c(True, 1.0), "servers c"), (lambda: erlang_b(3, -1.0), "offered load"),
    (lambda: mmc_mean_wait(2, 0.0, 1.0), "lam"), (lambda: mmc_mean_wait(2, 1.0, float("nan")), "mu"),
    (lambda: mmc_service_level(2, 1.0, 1.0, -1.0), "target time"),
    (lambda: erlang_a(2, 1.0, 1.0, 0.0), "theta"), (lambda: erlang_a(2, 1.0, 1.0, 1.0, t=-2), "time"),
    (lambda: erlang_a(2, 3.0, 1.0, 1e-9, max_states=1000), "max_states"),
    (lambda: staffing_for_service_level(1.0, 1.0, 1.0, 1.0), "target"),
    (lambda: staffing_for_service_level(1.0, 1.0, 1.0, 0.8, theta=-1), "theta"),
    (lambda: offered_load(1.0, 0.0), "mu")])
def test_bad_arguments_raise_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
