"""The shipped scenarios behave as documented: the baseline lands in the seed guides' benchmark
ranges over several seeds, the understaffed team is visibly overloaded, the workshop is small."""
from __future__ import annotations

import numpy as np
import pytest

from sim.experiment.replication import run_replication
from sim.inputs import load_policy, load_scenario

SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def baseline_runs():
    sc = load_scenario("baseline")
    pols = [load_policy("seed-example")]
    return [run_replication(sc, pols, seed).runs["seed-example"].kpis for seed in SEEDS]


@pytest.mark.slow
def test_baseline_lead_to_mql_is_in_the_seed_range(baseline_runs):
    """Seed 002: start where 15-25% of leads qualify."""
    for k in baseline_runs:
        assert 0.15 <= k["lead_to_mql_rate"] <= 0.25


@pytest.mark.slow
def test_baseline_mql_to_sql_is_healthy(baseline_runs):
    """Seed guides' benchmark: MQL->SQL 25-40% healthy, <20% definition too loose or leads not worked."""
    for k in baseline_runs:
        assert 0.20 <= k["mql_to_sql_rate"] <= 0.40


@pytest.mark.slow
def test_baseline_standard_mqls_meet_their_sla(baseline_runs):
    for k in baseline_runs:
        assert k["sla_compliance_standard"] > 0.80


@pytest.mark.slow
def test_baseline_team_is_busy_but_not_drowning(baseline_runs):
    for k in baseline_runs:
        assert 0.5 <= k["rep_utilisation"] <= 0.85
        assert k["overload_days"] <= 5


@pytest.mark.slow
def test_baseline_downstream_rates_match_benchmarks(baseline_runs):
    """SQL->opportunity 40-80%, win rate ~20-30%, rejected MQLs < ~25%."""
    for k in baseline_runs:
        assert 0.40 <= k["sql_to_opportunity_rate"] <= 0.80
        assert 0.15 <= k["win_rate"] <= 0.35
        assert k["rejection_rate"] < 0.25


@pytest.mark.slow
def test_understaffed_team_is_overloaded_and_converts_worse(baseline_runs):
    pols = [load_policy("seed-example")]
    under = [run_replication(load_scenario("understaffed"), pols, s).runs["seed-example"].kpis for s in SEEDS]
    for b, u in zip(baseline_runs, under):
        assert u["rep_utilisation"] > 0.9 > b["rep_utilisation"]
        assert u["first_touch_p50_hours"] > 2 * b["first_touch_p50_hours"]
        assert u["overload_days"] > 10
        assert u["mql_to_sql_rate"] < b["mql_to_sql_rate"]
        assert u["sla_compliance_standard"] < b["sla_compliance_standard"]


def test_workshop_is_small_and_complete():
    sc = load_scenario("workshop")
    r = run_replication(sc, [load_policy("seed-example"), load_policy("volume")], 1)
    assert r.world.n < 3000
    for run in r.runs.values():
        k = run.kpis
        assert k["leads"] > 100 and k["mqls"] > 10
        assert sum(k["terminal_states"].values()) == k["leads"]


def test_the_demo_policies_contrast():
    """volume makes far more MQLs of lower precision than fit-and-intent, on the same world."""
    sc = load_scenario("workshop")
    r = run_replication(sc, [load_policy("volume"), load_policy("fit-and-intent")], 4)
    v, f = r.runs["volume"].kpis, r.runs["fit-and-intent"].kpis
    assert v["mqls"] > 2 * f["mqls"]
    assert v["mql_precision"] < f["mql_precision"]
    assert v["buyer_recall"] > f["buyer_recall"]
    assert np.isfinite(v["rep_utilisation"]) and v["rep_utilisation"] > f["rep_utilisation"]
