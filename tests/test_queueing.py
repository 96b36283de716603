"""Queueing mode validates the real engine against queueing theory (Erlang C and Erlang A).

With `[queueing]` on, the world is a Poisson MQL stream and the same SimPy SalesProcess that runs
every funnel becomes M/M/c (+M with patience). For each case the replications' 95% confidence
interval (t-based, warm-up discarded, one cohort window per replication) must contain the analytic
Erlang C / Erlang A value of the mean wait, P(wait), the service level P(first touch <= t) and
P(abandon) (up to the misses 95% coverage implies, see the test), and the intervals must be narrow
(half-widths bounded in WIDTH; `pytest -s` prints them). The seed is fixed: the test is deterministic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.scoring import score_world
from sim.experiment.replication import run_replication
from sim.inputs import load_scenario
from sim.measure import erlang
from sim.sales.episode import ABANDONED
from sim.sales.process import Mqls, SalesProcess
from sim.world.generate import generate_world

HANDLE = 10.0          # minutes, mean handling time
REPLICATIONS = 8
ARRIVALS = 20_000      # per replication, in the measured window
METRICS = ("mean_wait", "p_wait", "service_level", "p_abandon")


@dataclass(frozen=True)
class Case:
    reps: int
    rho: float                     # offered load per rep, lam / (c mu)
    patience: float | None = None  # mean patience in handling times (None: Erlang C)
    arrivals: int = ARRIVALS       # per replication: big teams' short waits need more for a tight mean

    @property
    def lam(self) -> float:        # per minute
        return self.rho * self.reps / HANDLE

    @property
    def sla(self) -> float:        # minutes: the scale of the waits, so the service level is not ~1
        return HANDLE / (self.reps * max(1.0 - self.rho, 0.1))

    def scenario(self) -> Scenario:
        mu = 1.0 / HANDLE
        if self.patience is None:  # ~10 relaxation times of M/M/c, 1/(c mu (1 - sqrt(rho))^2)
            warm = 10.0 / (self.reps * mu * (1.0 - math.sqrt(self.rho)) ** 2)
        else:                      # abandonment keeps the queue short: a few dozen patiences
            warm = 40.0 * max(HANDLE, self.patience * HANDLE)
        q = {"enabled": True, "mql_rate": self.lam * 60.0, "handle_time": f"{HANDLE}m"}
        if self.patience is not None:
            q["patience"] = f"{self.patience * HANDLE}m"
        return Scenario.model_validate({
            "horizon": {"warmup": f"{warm:.4f}m", "window": f"{self.arrivals / self.lam:.4f}m", "runout": "0d"},
            "response": {"decay": "none"}, "sales": {"reps": self.reps}, "queueing": q})

    def analytic(self) -> dict[str, float]:
        lam, mu = self.lam, 1.0 / HANDLE
        if self.patience is None:
            return {"mean_wait": erlang.mmc_mean_wait(self.reps, lam, mu),
                    "p_wait": erlang.erlang_c(self.reps, lam / mu),
                    "service_level": erlang.mmc_service_level(self.reps, lam, mu, self.sla), "p_abandon": 0.0}
        a = erlang.erlang_a(self.reps, lam, mu, 1.0 / (self.patience * HANDLE))
        return {"mean_wait": a.mean_wait, "p_wait": a.p_wait, "service_level": a.service_level(self.sla),
                "p_abandon": a.p_abandon}


CASES = [  # Erlang C (no patience), then Erlang A
    Case(1, 0.5), Case(1, 0.8), Case(5, 0.9), Case(20, 0.85, arrivals=50_000), Case(50, 0.9, arrivals=50_000),
    Case(1, 0.7, patience=2.0), Case(2, 0.6, patience=3.0), Case(10, 0.95, patience=1.0),
    Case(40, 0.95, patience=0.5), Case(3, 1.1, patience=1.0),
]


def simulate(case: Case, replication: int, seed: int = 2026) -> erlang.Observed:
    """One replication through the engine's own world, scorer and SalesProcess."""
    sc, pol = case.scenario(), Policy()
    world = generate_world(sc, seed, replication)
    cal = BusinessCalendar.from_scenario(sc)
    s = score_world(world, pol)
    log = SalesProcess.from_config(world, Mqls(s.mql_time, s.mql_tier, s.mql_score), pol, sc, cal,
                                   lambda t: 1.0, lambda lead, after: None).run()
    m = (log.ep_mql_time >= world.window_start) & (log.ep_mql_time < world.window_end)
    left = np.where(log.ep_status == ABANDONED, log.ep_end_time, np.nan)
    return erlang.observe(log.ep_mql_time[m], log.ep_first_touch[m], left[m], case.sla, world.end)


def half_width(x: np.ndarray, level: float) -> float:
    """Half-width of the t-based confidence interval of the mean of replication results."""
    return float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


# narrow enough to mean something: bounds on the 95% half-widths
WIDTH = {"mean_wait": lambda v: max(0.15 * v, 0.02 * HANDLE), "p_wait": lambda v: 0.035,
         "service_level": lambda v: 0.035, "p_abandon": lambda v: 0.01}


@pytest.mark.slow
def test_simulated_queues_match_erlang():
    """Every analytic value inside its replications' 95% interval, up to the misses that 95%
    coverage implies over this many checks (at most the binomial 99% quantile), and every one
    inside the family-wise 95% (Bonferroni) interval; every 95% half-width below WIDTH."""
    checks = []
    for case in CASES:
        runs = [simulate(case, r) for r in range(REPLICATIONS)]
        assert min(o.n for o in runs) > 0.95 * case.arrivals
        ana = case.analytic()
        for k in METRICS:
            x = np.array([getattr(o, k) for o in runs])
            if case.patience is None and k == "p_abandon":
                assert (x == 0).all()          # nobody leaves without patience
                continue
            checks.append((case, k, ana[k], float(x.mean()), x))
    family = 1 - 0.05 / len(checks)
    misses, lines = [], []
    for case, k, value, mean, x in checks:
        hw = half_width(x, 0.95)
        lines.append(f"{case} {k}: analytic {value:.4f}, simulated {mean:.4f} +- {hw:.4f}")
        assert hw <= WIDTH[k](value), f"{case}: {k} interval too wide (+- {hw:.4f})"
        assert abs(mean - value) <= half_width(x, family), f"{case}: {k} analytic {value:.5f} far outside {mean:.5f}"
        if abs(mean - value) > hw:
            misses.append(lines[-1])
    print("\n" + "\n".join(lines) + f"\n95% intervals missing the analytic value: {len(misses)} of {len(checks)}")
    assert len(misses) <= stats.binom.ppf(0.99, len(checks), 0.05), misses


def test_queueing_world_every_lead_is_an_mql_at_arrival():
    case = Case(2, 0.5)
    sc = case.scenario()
    world = generate_world(sc, 1)
    assert world.mql_at_arrival and world.event_offsets[-1] == 0
    s = score_world(world, Policy())
    np.testing.assert_array_equal(s.mql_time, world.arrival)
    assert s.is_mql.all()
    # Poisson: the count is within 4 sd of rate x horizon, inter-arrival times look exponential
    expected = case.lam * world.end
    assert abs(world.n - expected) < 4 * math.sqrt(expected)
    gaps = np.diff(world.arrival)
    assert stats.kstest(gaps, "expon", args=(0, 1 / case.lam)).pvalue > 1e-3


def test_textbook_run_end_to_end_kpis():
    """Through run_replication (KPIs, outcomes): one attempt per MQL, reps blocked ~rho of the time,
    every invariant of debug mode holds."""
    case = Case(4, 0.75)
    sc = case.scenario().model_copy(update={"horizon": Scenario.model_validate(
        {"horizon": {"warmup": "2d", "window": "20d", "runout": "1d"}}).horizon})
    k = run_replication(sc, [Policy(name="p")], seed=3, check=True).kpis()["p"]
    assert k["mqls"] == k["leads"] == k["mql_episodes"]
    assert k["attempts_per_mql"] == pytest.approx(1.0, abs=1e-3)
    assert k["never_touched_share"] < 0.01
    assert k["rep_utilisation"] == pytest.approx(case.rho, abs=0.05)


def test_patience_makes_waiting_leads_leave_and_scenario_sales_keeps_hours():
    """With sales = "scenario" the Poisson stream meets business hours and the policy's cadence:
    touches only in working hours, and with a short patience most night arrivals leave."""
    sc = Scenario.model_validate({
        "horizon": {"warmup": "3d", "window": "21d", "runout": "3d"}, "sales": {"reps": 3},
        "queueing": {"enabled": True, "mql_rate": 3, "patience": "30m", "sales": "scenario"}})
    r = run_replication(sc, [Policy(name="p")], seed=4)
    log = r.runs["p"].log
    assert all(r.calendar.is_open(t) for t in log.at_start.tolist())
    left = log.ep_status == ABANDONED
    assert 0.3 < left.mean() < 1.0
    assert np.isnan(log.ep_first_touch[left]).all()
    wait = log.ep_end_time[left] - log.ep_mql_time[left]
    assert wait.mean() == pytest.approx(30.0, rel=0.25)      # those who left waited ~ their patience


def test_shipped_teaching_scenario_loads_and_is_textbook():
    sc = load_scenario("mmc-teaching")
    assert sc.queueing.enabled and sc.queueing.sales == "textbook"
    cal = BusinessCalendar.from_scenario(sc)
    assert cal.is_open(0.0) and cal.is_open(3 * 1440 + 2 * 60)        # 24/7
