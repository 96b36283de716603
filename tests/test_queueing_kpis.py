"""Queueing mode shows the simulated queue next to Erlang's numbers (teaching table); outside
queueing mode those KPIs do not exist. (The statistical agreement is tested in test_queueing.py.)"""
import math

from sim.config.policy import Policy
from sim.experiment.replication import run_replication
from sim.inputs import load_scenario

NAMES = ("p_wait", "mean_wait_minutes", "service_level", "p_abandon")


def _kpis(sets):
    sc = load_scenario("mmc-teaching", sets)
    pol = Policy(name="p", sla={"targets": {"standard": "10m"}})
    return run_replication(sc, [pol], seed=3, check=True).runs["p"].kpis


def test_teaching_table_has_simulated_and_erlang_values():
    k = _kpis([("horizon.window", "60d")])
    for n in NAMES:
        assert math.isfinite(k[f"queue_{n}"]) and math.isfinite(k[f"erlang_{n}"])
    assert abs(k["queue_p_wait"] - k["erlang_p_wait"]) < 0.05          # Erlang C: 0.643 for 2 reps at 75%
    assert abs(k["queue_service_level"] - k["erlang_service_level"]) < 0.05
    assert k["erlang_p_abandon"] == 0 == k["queue_p_abandon"]


def test_patience_gives_erlang_a_and_abandonment():
    k = _kpis([("horizon.window", "60d"), ("queueing.patience", "15m")])
    assert 0.1 < k["queue_p_abandon"] < 0.25 and abs(k["queue_p_abandon"] - k["erlang_p_abandon"]) < 0.03


def test_no_queueing_kpis_outside_queueing_mode():
    sc = load_scenario("workshop", [("horizon.window", "14d")])
    k = run_replication(sc, [Policy(name="p")], seed=1).runs["p"].kpis
    assert not [n for n in k if n.startswith(("queue_p", "erlang_"))]
