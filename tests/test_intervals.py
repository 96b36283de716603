"""The intervals a user reads: each kind of KPI gets one that stays inside what the KPI can be, says
"too few" when it cannot be honest, never claims certainty from a handful of worlds, and marks
differences only after a multiplicity correction. Checked against textbook values and, for the
sequential `--precision` procedure, by measured coverage on synthetic worlds with a known truth."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from sim.experiment import precision as pr
from sim.measure import intervals as iv
from sim.measure.stats import MIN_WORLDS, adjust_significance, difference, estimate, paired, summarise


def _runs(**cols) -> pd.DataFrame:
    df = pd.DataFrame(cols)
    df.index.name = "replication"
    return df


# ---- shares ---------------------------------------------------------------------------------------

def test_share_at_100_percent_in_every_world_still_has_an_interval_below_1():
    df = _runs(sla_met_standard=[200] * 5, sla_episodes_standard=[200] * 5,
               sla_compliance_standard=[1.0] * 5)
    e = estimate(df, "sla_compliance_standard")
    assert e["status"] == "ok" and e["mean"] == 1.0 and e["upper"] == 1.0
    # exact bound from 1,000 pooled episodes, shrunk for 5 worlds: below 1, above the rule of three
    assert 1 - 3 / 1000 * 3 < e["lower"] < 1


def test_share_interval_is_korn_graubard_on_the_pooled_counts():
    a, b = np.array([30., 25, 41, 28, 35, 33]), np.array([100., 90, 120, 110, 105, 98])
    df = _runs(sqls=a, mqls=b, mql_to_sql_rate=a / b)
    e = estimate(df, "mql_to_sql_rate")
    p = a.sum() / b.sum()
    res = (a - p * b) / b.mean()
    var = np.sum(res ** 2) / (6 * 5)
    n_eff = min(b.sum(), p * (1 - p) / var) * (sps.norm.ppf(0.975) / sps.t.ppf(0.975, 5)) ** 2
    lo = sps.beta.ppf(0.025, p * n_eff, n_eff - p * n_eff + 1)
    hi = sps.beta.ppf(0.975, p * n_eff + 1, n_eff - p * n_eff)
    assert e["mean"] == pytest.approx(p) and e["lower"] == pytest.approx(lo) and e["upper"] == pytest.approx(hi)
    assert e["count"] == b.sum() and e["n"] == 6


def test_too_few_worlds_or_items_give_no_interval_but_keep_the_mean_and_n():
    df = _runs(sqls=[3., 4, 5], mqls=[10., 12, 11], mql_to_sql_rate=[.3, .33, .45], won=[1., 0, 2])
    for k in ("mql_to_sql_rate", "won"):
        e = estimate(df, k)
        assert e["status"] == "too_few" and e["n"] == 3 and math.isnan(e["lower"]) and math.isfinite(e["mean"])
    df = _runs(sqls=[1., 1, 0, 1, 2], mqls=[4., 5, 3, 6, 5], mql_to_sql_rate=[.25, .2, 0, 1 / 6, .4])
    assert estimate(df, "mql_to_sql_rate")["status"] == "too_few"     # 23 pooled MQLs < 30


def test_a_kpi_undefined_in_some_worlds_shows_its_own_n():
    df = _runs(sla_met_demo=[5., 0, 7, 9, 4, 6, 8], sla_episodes_demo=[5., 0, 8, 9, 5, 6, 8],
               sla_compliance_demo=[1, np.nan, 7 / 8, 1, .8, 1, 1])
    e = estimate(df, "sla_compliance_demo")
    assert e["n"] == 6 and e["n_total"] == 7 and e["status"] == "ok"


# ---- counts, money ------------------------------------------------------------------------------

def test_all_zero_counts_give_the_exact_poisson_bound_not_zero_width():
    e = estimate(_runs(won=[0.] * 8), "won")
    assert e["lower"] == 0 and e["upper"] == pytest.approx(sps.chi2.ppf(0.975, 2) / 2 / 8)


def test_money_interval_never_below_zero_and_wider_on_the_long_tail():
    x = np.array([0., 0, 0, 0, 0, 0, 450_000])
    e = estimate(_runs(bookings=x, won=[0, 0, 0, 0, 0, 0, 1]), "bookings")
    assert e["lower"] >= 0 and e["upper"] - e["mean"] > e["mean"] - e["lower"]


# ---- differences ----------------------------------------------------------------------------------

def test_share_difference_is_mover_and_stays_in_bounds():
    base = _runs(sla_met=[99., 100, 98, 100, 100], mql_episodes=[100.] * 5, sla_compliance=[.99, 1, .98, 1, 1])
    other = _runs(sla_met=[40., 35, 50, 20, 45], mql_episodes=[100.] * 5, sla_compliance=[.4, .35, .5, .2, .45])
    d = difference(base, other, "sla_compliance")
    assert -1 <= d["lower"] < d["diff"] < d["upper"] <= 1 and d["status"] == "ok"
    assert d["relative_lower"] >= -1


def test_identical_policies_differ_by_exactly_zero():
    df = _runs(mqls=[50., 60, 55, 58, 61], leads=[200.] * 5, lead_to_mql_rate=[.25, .3, .275, .29, .305],
               won=[1., 0, 2, 1, 0])
    for k in ("mqls", "lead_to_mql_rate", "won"):
        d = difference(df, df, k)
        assert d["diff"] == 0 and d["lower"] <= 0 <= d["upper"], k
    assert difference(df, df, "mqls")["lower"] == 0 == difference(df, df, "mqls")["upper"]


def test_equal_rare_counts_are_not_proof_of_no_difference():
    """A deal or two per world, the same under both policies in every world: luck, not a zero
    effect; the paired interval still has width (the Poisson floor), unlike an inert change."""
    df = _runs(won=[1., 0, 1, 0, 1], bookings=[90e3, 0, 40e3, 0, 120e3])
    for k in ("won", "bookings"):
        d = difference(df, df, k)
        assert d["diff"] == 0 and d["lower"] < 0 < d["upper"], (k, d)


def test_relative_change_interval_is_fieller_and_never_below_minus_100_percent():
    rng = np.random.default_rng(1)
    y = rng.gamma(2, 50_000, 12)
    x = y * 0.3 + rng.gamma(1, 1000, 12)
    lo, hi = iv.fieller(x, y)
    d = difference(_runs(bookings=y), _runs(bookings=x), "bookings")
    assert d["relative_lower"] == pytest.approx(lo - 1) and d["relative_upper"] == pytest.approx(hi - 1)
    assert -1 <= d["relative_lower"] < d["relative"] < d["relative_upper"]


def test_holm_adjustment_matches_the_textbook_example():
    # Holm (1979): p = 0.01, 0.04, 0.03 -> 0.03, 0.06, 0.06
    assert iv.holm(np.array([0.01, 0.04, 0.03])) == pytest.approx([0.03, 0.06, 0.06])
    assert np.isnan(iv.holm(np.array([np.nan, 0.2]))[0])


def test_significance_marks_are_holm_adjusted_over_all_comparisons_of_a_kpi():
    diffs = pd.DataFrame({"kpi": ["won"] * 4, "p_value": [0.02, 0.03, 0.5, 0.01],
                          "lower": [0.1] * 4, "upper": [1.0] * 4})
    out = adjust_significance(diffs)
    # unadjusted three are under 5%; Holm over 4 comparisons: 0.04, 0.06, 0.06, 0.5: only 0.01 survives
    assert list(out["significant"]) == [False, False, False, True]


def test_paired_table_uses_the_same_worlds(tmp_path):
    rng = np.random.default_rng(3)
    world = rng.normal(100, 30, 10)
    runs = pd.DataFrame({"replication": list(range(10)) * 2, "policy": ["a"] * 10 + ["b"] * 10,
                         "won": np.r_[world, world + 5]})
    d = paired(runs, ["won"], "a").iloc[0]
    assert d["diff"] == pytest.approx(5) and d["upper"] - d["lower"] < 1e-6 + 1e-9 and bool(d["significant"])


# ---- properties: no interval leaves its bounds, at any n -------------------------------------------

counts = st.integers(0, 500)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(counts, counts, counts, counts), min_size=1, max_size=30))
def test_share_and_difference_intervals_stay_inside_their_bounds(rows):
    num1 = np.array([min(a, b) for a, b, _, _ in rows], float)
    den1 = np.array([b for _, b, _, _ in rows], float)
    num2 = np.array([min(c, d) for _, _, c, d in rows], float)
    den2 = np.array([d for _, _, _, d in rows], float)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = _runs(sqls=num1, mqls=den1, mql_to_sql_rate=num1 / den1)
        other = _runs(sqls=num2, mqls=den2, mql_to_sql_rate=num2 / den2)
    for df in (base, other):
        e = estimate(df, "mql_to_sql_rate")
        if e["status"] == "ok":
            assert 0 <= e["lower"] <= e["mean"] <= e["upper"] <= 1
            assert e["lower"] < e["upper"]                          # never [m, m]
    d = difference(base, other, "mql_to_sql_rate")
    if d["status"] == "ok":
        assert -1 <= d["lower"] <= d["diff"] <= d["upper"] <= 1
        assert math.isnan(d["relative_lower"]) or d["relative_lower"] >= -1


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e7), st.integers(0, 40), st.floats(0, 1e7), st.integers(0, 40)),
                min_size=1, max_size=30))
def test_money_and_count_intervals_never_below_zero_nor_relative_change_below_minus_100(rows):
    base = _runs(bookings=[r[0] for r in rows], won=[float(r[1]) for r in rows])
    other = _runs(bookings=[r[2] for r in rows], won=[float(r[3]) for r in rows])
    for k in ("bookings", "won"):
        for df in (base, other):
            e = estimate(df, k)
            if e["status"] == "ok":
                assert 0 <= e["lower"] <= e["upper"]
        d = difference(base, other, k)
        if d["status"] == "ok" and math.isfinite(d["relative_lower"]):
            assert d["relative_lower"] >= -1


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=25))
def test_world_shares_stay_in_0_1(xs):
    e = estimate(_runs(spike_cleared=xs), "spike_cleared")
    if e["status"] == "ok":
        assert 0 <= e["lower"] <= e["mean"] <= e["upper"] <= 1 and e["lower"] < e["upper"]


# ---- n_to_halve and the sequential procedure ---------------------------------------------------

@pytest.mark.parametrize("n", [5, 10, 40])
def test_n_to_halve_halves_the_t_half_width(n):
    m = iv.n_to_halve(n)
    ratio = (iv.t_quantile(m - 1) / math.sqrt(m)) / (iv.t_quantile(n - 1) / math.sqrt(n))
    assert ratio <= 0.5 and (iv.t_quantile(m - 2) / math.sqrt(m - 1)) / (iv.t_quantile(n - 1) / math.sqrt(n)) > 0.5
    assert m <= 4 * n


def test_precision_targets_parse_and_bad_ones_say_the_form():
    assert pr.parse_target("bookings:5%") == pr.Target("bookings", 0.05, True)
    assert pr.parse_target("mql_to_sql_rate:0.01") == pr.Target("mql_to_sql_rate", 0.01, False)
    for bad in ("bookings", "bookings:", "bookings:-1", "bookings:0", ":5%"):
        with pytest.raises(ValueError, match="KPI:HALF_WIDTH|above 0"):
            pr.parse_target(bad)
    # Law & Kelton's adjusted relative error: 10% -> half-width / |mean| <= 0.1 / 1.1
    assert pr.Target("bookings", 0.1, True).allowed(110.0) == pytest.approx(10.0)


@pytest.mark.slow
def test_sequential_procedure_stops_at_the_target_with_95_percent_coverage():
    """Synthetic worlds with a known mean (skewed, like bookings): run the real stopping rule
    (assess -> next_replications) 400 times. The final interval must cover the truth 95% of the
    time within 3 Monte-Carlo standard errors (0.033), and be as narrow as asked."""
    rng = np.random.default_rng(20261206)
    truth = math.exp(10 + 0.8 ** 2 / 2)             # lognormal(10, 0.8) mean
    target = pr.Target("bookings", 0.20, True)
    hits, used = [], []
    for _ in range(400):
        x = rng.lognormal(10, 0.8, 400)
        n = pr.MIN_REPLICATIONS
        while True:
            runs = pd.DataFrame({"scenario": "s", "point": 0, "policy": "p", "replication": range(n),
                                 "bookings": x[:n]})
            summary = summarise(runs, ["bookings"]).assign(scenario="s", point=0)
            checks = pr.assess(summary, None, (target,))
            nxt = pr.next_replications(n, checks, 400)
            if nxt == n:
                break
            n = nxt
        row = summary.iloc[0]
        hits.append(row["lower"] <= truth <= row["upper"])
        used.append(n)
        assert (row["upper"] - row["lower"]) / 2 <= target.allowed(row["mean"]) or n == 400
    cov = float(np.mean(hits))
    assert abs(cov - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / 400), cov
    assert MIN_WORLDS <= min(used) and np.median(used) < 400
