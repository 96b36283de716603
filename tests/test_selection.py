"""Ranking and selection (sim/experiment/selection.py, sim/experiment/recommend.py): the guarantee
holds on constructed problems whose truth is known, identical settings are never split into a
winner and losers, the reported mean of the pick is unbiased, decision variables and constraint
ranges.

Monte-Carlo tolerances: a rate estimated from T independent trials has standard error
sqrt(p (1 - p) / T); assertions allow 3 standard errors (stated next to each)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.experiment.recommend import (
    constraint_warnings,
    kpi_range,
    parse_constraint,
    parse_delta,
    recommend,
    recommend_from_spec,
)
from sim.experiment.selection import feasibility, replications_for, select_best


def crn(rng, means, n, common=10.0, sd=None):
    """n replications x k settings: mean + a world effect shared by every setting (common random
    numbers) + the setting's own noise (unequal variances)."""
    means = np.asarray(means, float)
    sd = np.linspace(1.0, 3.0, means.size) if sd is None else np.asarray(sd, float)
    world = rng.normal(0, common, (n, 1))
    return means + world + rng.normal(0, 1, (n, means.size)) * sd


def runs_table(X, factor="x", values=None, **kpis) -> pd.DataFrame:
    """A runs table (replication x setting) from arrays of the same shape."""
    n, k = X.shape
    values = list(range(k)) if values is None else values
    rows = [{"scenario": "s", "policy": "p", "point": j, "replication": r, factor: values[j], "bookings": X[r, j],
             **{name: a[r, j] for name, a in kpis.items()}} for j in range(k) for r in range(n)]
    return pd.DataFrame(rows)


# ---- the guarantee, on known truths --------------------------------------------------------

def test_two_stage_selection_meets_the_probability_of_correct_selection():
    """Slippage configuration (the least favourable for indifference-zone procedures): the best is
    exactly delta better than four equal others. First stage n0 = 10; if the statement cannot be
    made, run the replications the procedure asks for and choose again. Correct selection
    (choosing setting 0) must happen in >= 95% of trials; with T = 600 trials and a true rate
    near 0.95 the standard error is 0.009, so the test allows 0.95 - 0.027."""
    rng = np.random.default_rng(11)
    delta, mu = 1.0, np.array([1.0, 0, 0, 0, 0])
    trials, correct, claims = 600, 0, 0
    for _ in range(trials):
        X = crn(rng, mu, 10)
        s = select_best(X, delta=delta)
        if not s.claim:
            need = max(s.needed.values())
            X = np.vstack([X, crn(rng, mu, need - X.shape[0])]) if need > X.shape[0] else X
            s = select_best(X, delta=delta)
        claims += s.claim
        correct += s.best == 0
    rate = correct / trials
    assert rate >= 0.95 - 0.027, rate
    assert claims / trials >= 0.9        # after the second stage the statement can almost always be made


def test_a_claim_is_wrong_at_most_alpha_of_the_time():
    """Whatever the configuration (here the best 0.6 delta ahead of a close second, the rest far
    behind, small samples), when `select_best` says 'within delta of the best with probability >=
    95%' it is true in >= 95% of the trials where it says so (T = 1500 trials: allow 3 SE)."""
    rng = np.random.default_rng(5)
    delta, mu = 1.0, np.array([0.0, -2.5, -2.5, -4.0])
    said, wrong = 0, 0
    for _ in range(1500):
        s = select_best(crn(rng, mu, 8, sd=[3, 3, 3, 3]), delta=delta)
        if s.claim:
            said += 1
            wrong += mu[s.best] < mu.max() - delta
    assert said > 200
    p = wrong / said
    assert p <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / said), (wrong, said)


def test_identical_settings_all_cannot_be_excluded():
    """Five identical settings (an inert swept field): no winner is claimed; every setting stays in
    cannot_exclude, with exactly equal runs (CRN: the same world gives the same numbers) and with
    independent noise (in >= 95% of 300 trials; SE 0.013, allow 0.95 - 0.04)."""
    X = np.repeat(np.random.default_rng(1).normal(350_000, 100_000, (10, 1)), 5, axis=1)
    rec = recommend(runs_table(X), "bookings", [], ["x"])
    assert sorted(c["x"] for c in rec["cannot_exclude"]) == [0, 1, 2, 3, 4]
    assert not rec["distinguished"] and "5 settings cannot be told apart" in rec["message"]
    assert "best setting" not in rec["message"]
    rng = np.random.default_rng(2)
    all_kept = 0
    for _ in range(300):
        s = select_best(crn(rng, [100.0] * 5, 10, sd=[10] * 5), delta=5.0)
        all_kept += len(s.cannot_exclude) == 5
    assert all_kept / 300 >= 0.95 - 0.04


def test_the_picks_reported_mean_is_unbiased():
    """K = 5 identical settings with independent noise (no CRN: the largest selection bias). The
    winner's mean over the replications that chose it is biased upwards (the maximum of five
    means); the reported mean comes from the held-out replications and averages to the truth.
    T = 200 trials of a mean with sd 10 / sqrt(5): standard error 0.32; allow 1.0 (3 SE)."""
    rng = np.random.default_rng(3)
    reported, chosen = [], []
    for _ in range(200):
        X = rng.normal(100.0, 10.0, (10, 5))
        rec = recommend(runs_table(X), "bookings", [], ["x"])
        reported.append(rec["best"]["mean"])
        chosen.append(rec["best"]["selection_mean"])
    assert abs(np.mean(reported) - 100.0) < 1.0
    assert np.mean(chosen) > 100.0 + 3.0       # E[max of 5 N(0, 1)] = 1.16 sd of a mean = 5.2


def test_clear_best_is_named_and_needs_no_more():
    rng = np.random.default_rng(4)
    X = crn(rng, [100.0, 80, 60], 20)
    rec = recommend(runs_table(X), "bookings", [], ["x"], delta=5.0)
    assert rec["best"]["x"] == 0 and rec["claim"] and rec["distinguished"]
    assert [c["x"] for c in rec["cannot_exclude"]] == [0] and rec["probability"] >= 0.95
    assert rec["more_replications"]["per_setting"] == 0 and rec["delta"] == 5.0
    rec = recommend(runs_table(X), "bookings", [], ["x"], maximise=False, delta="1%")
    assert rec["best"]["x"] == 2 and rec["delta"] == pytest.approx(0.01 * X[0::2, 0].mean(), rel=0.05)


def test_too_few_replications_ask_for_more():
    rng = np.random.default_rng(6)
    X = crn(rng, [100.0, 99.5, 60], 4, sd=[5, 5, 5])      # 2 replications choose: far too few
    rec = recommend(runs_table(X), "bookings", [], ["x"], delta=1.0)
    assert not rec["claim"] and {c["x"] for c in rec["cannot_exclude"]} >= {0, 1}
    more = rec["more_replications"]
    assert more["per_setting"] > 0 and {s["x"] for s in more["settings"]} <= {c["x"] for c in rec["cannot_exclude"]}
    assert "more replications" in rec["message"]


# ---- constraints and decision variables -----------------------------------------------------

def _team(n=8, seed=0):
    """reps 1..6: SLA rises with the team (0.1, 0.4, 0.7, 0.93, 0.98, 0.99), bookings flat."""
    rng = np.random.default_rng(seed)
    sla = np.clip(np.array([0.1, 0.4, 0.7, 0.93, 0.98, 0.99]) + rng.normal(0, 0.01, (n, 6)), 0, 1)
    X = crn(rng, [100.0] * 6, n)
    return runs_table(X, "sales.reps", [1, 2, 3, 4, 5, 6], sla_compliance_standard=sla)


def test_minimise_a_swept_setting_picks_the_smallest_feasible_team():
    rec = recommend(_team(), None, [parse_constraint("sla_compliance_standard>=0.9")], ["sales.reps"],
                    decisions=[("sales.reps", False)])
    assert rec["best"]["sales.reps"] == 4 and rec["claim"] and rec["objective"] == "sales.reps"
    assert rec["feasible"] == 3 and rec["best"]["constraints"][0]["mean"] > 0.9
    assert "smallest sales.reps that meets every constraint" in rec["message"]
    spec = {"kpi": "bookings", "direction": "max", "constraints": ["sla_compliance_standard>=0.9"],
            "decisions": [{"path": "sales.reps", "direction": "max"}]}
    assert recommend_from_spec(_team(), spec, ["sales.reps"])["best"]["sales.reps"] == 6
    with pytest.raises(ValueError, match="not a swept setting"):
        recommend(_team(), None, [], ["sales.reps"], decisions=[("mql.threshold", False)])


def test_a_setting_whose_feasibility_is_undecided_stays_in_contention():
    """SLA of the 4-rep team right at the bound with wide noise: it cannot be excluded (it may be
    feasible and it is smaller), so no claim is made and replications are asked for it."""
    df = _team(n=4)
    rng = np.random.default_rng(9)
    m = df["sales.reps"] == 4
    df.loc[m, "sla_compliance_standard"] = 0.9 + rng.normal(0, 0.05, m.sum())
    rec = recommend(df, None, [parse_constraint("sla_compliance_standard>=0.9")], ["sales.reps"],
                    decisions=[("sales.reps", False)])
    assert rec["best"]["sales.reps"] == 5 and not rec["claim"] and rec["probability"] is None
    assert [c["sales.reps"] for c in rec["cannot_exclude"]] == [4, 5]
    assert [s["sales.reps"] for s in rec["more_replications"]["settings"]] == [4]


def test_kpi_objective_breaks_ties_of_a_decision_variable():
    """Two factors: the smallest team meeting the SLA, and among its thresholds the best bookings."""
    rng = np.random.default_rng(2)
    rows = []
    for p, (reps, thr) in enumerate([(r, t) for r in (2, 4) for t in (40, 60)]):
        for r in range(12):
            rows.append({"scenario": "s", "policy": "p", "point": p, "replication": r, "sales.reps": reps,
                         "mql.threshold": thr, "sla": (0.5 if reps == 2 else 0.95) + rng.normal(0, 0.005),
                         "bookings": (200 if thr == 60 else 100) + rng.normal(0, 5)})
    rec = recommend(pd.DataFrame(rows), "bookings", [parse_constraint("sla>=0.9")], ["sales.reps", "mql.threshold"],
                    decisions=[("sales.reps", False)])
    assert (rec["best"]["sales.reps"], rec["best"]["mql.threshold"]) == (4, 60) and rec["claim"]


def test_feasibility_under_noise():
    y = np.array([0.95, 0.96, 0.94, 0.95])
    assert feasibility(y, ">=", 0.9).status == "met"
    assert feasibility(y, ">=", 0.99).status == "unmet"
    f = feasibility(np.array([0.85, 0.95, 0.9, 0.92]), ">=", 0.9)
    assert f.status == "undecided" and f.needed > 4
    assert feasibility(np.array([0.3, 0.31]), "<=", 0.4).status == "met"
    assert feasibility(np.array([0.895] * 3), ">=", 0.9, tolerance=0.01).status == "met"    # within tolerance
    assert feasibility(np.array([0.5]), ">=", 0.4).status == "undecided"                   # one replication


def test_constraint_outside_the_kpis_range_warns():
    (w,) = constraint_warnings([parse_constraint("sla_compliance_standard>=90")])
    assert "between 0 and 1" in w and "sla_compliance_standard>=0.90" in w
    assert constraint_warnings([parse_constraint("sla_compliance_standard>=90%")]) == []
    assert constraint_warnings([parse_constraint("bookings<=-1")])
    assert kpi_range("mql_to_sql_rate") == (0.0, 1.0) and kpi_range("bookings") == (0.0, math.inf)
    rec = recommend(_team(), None, [parse_constraint("sla_compliance_standard>=90")], ["sales.reps"],
                    decisions=[("sales.reps", False)])
    assert rec["best"] is None and rec["warnings"] and "0.90" in rec["message"]


def test_replications_for_and_delta_parsing():
    from scipy import stats
    n = replications_for(2.0, 0.5, 0.01)
    assert stats.t.ppf(0.99, n - 1) * 2 / math.sqrt(n) <= 0.5 < stats.t.ppf(0.99, n - 2) * 2 / math.sqrt(n - 1)
    assert parse_delta("2%") == (0.02, True) and parse_delta(5000) == (5000.0, False)
    with pytest.raises(ValueError):
        parse_delta("-1")
