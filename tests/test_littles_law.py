"""Little's law on the rep queue (one of the run invariants): L = lambda W.

Two forms. Over the whole run it is an identity of the sample path: the area under the
number-waiting curve equals the sum of every stay's wait, where the stays are rebuilt from the
episodes and attempts alone (an independent record of the same queue). Over a long measurement
window it is the classical estimate: the time-average queue length (the `queue_mean` KPI) equals
the arrival rate of stays in the window times their mean wait, within a tolerance that covers
the stays cut by the window's edges.
"""
from __future__ import annotations

import numpy as np
import pytest

from sim.calendar import BusinessCalendar
from sim.checks.invariants import queue_area, queue_stays
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.replication import run_policy
from sim.world.generate import generate_world

LONG = {"horizon": {"warmup": "28d", "window": "364d", "runout": "14d"},
        "arrivals": {"leads_per_year": 14000}, "sales": {"reps": 2}}


def _run(policy: dict, scenario: dict | None = None, seed: int = 1):
    sc = Scenario.model_validate({**LONG, **(scenario or {})})
    pol = Policy.model_validate({"name": "p", **policy})
    world = generate_world(sc, seed)
    cal = BusinessCalendar.from_scenario(sc)
    return world, pol, cal, run_policy(world, sc, pol, cal)


POLICIES = {
    "fifo": {},
    "priority+escalate": {"routing": {"discipline": "priority"}, "sla": {"breach_action": "escalate"}},
    "freshest+recycle": {"routing": {"discipline": "freshest"},
                         "sla": {"breach_action": "recycle", "recycle_after": "1bd"}},
    "round_robin": {"routing": {"discipline": "round_robin"}},
}


QUEUE = {"response": {"decay": "none"}, "sales": {"reps": 2},
         "queueing": {"enabled": True, "mql_rate": 9.0, "handle_time": "10m", "patience": "15m"}}


@pytest.mark.parametrize("sales", ["textbook", "scenario"])
def test_littles_law_in_queueing_mode_with_abandonment(sales):
    """M/M/c+M (textbook) and Poisson MQLs into the real sales process, with leads leaving the
    queue when their patience runs out: exact on the sample path, and L = lambda W over the window."""
    scen = {**QUEUE, "queueing": {**QUEUE["queueing"], "sales": sales},
            "horizon": {"warmup": "7d", "window": "56d", "runout": "2d"}}
    world, pol, cal, run = _run({}, scen)
    ready, leave = queue_stays(world, pol, cal, run.log)
    waits = np.minimum(leave, world.end) - ready
    assert queue_area(run.log, world.end) == pytest.approx(waits.sum(), rel=1e-9)
    inside = (ready >= world.window_start) & (ready < world.window_end)
    lam = inside.sum() / (world.window_end - world.window_start)
    assert run.kpis["queue_mean"] == pytest.approx(lam * waits[inside].mean(), rel=0.03)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_littles_law_over_a_long_window(name):
    """A year of arrivals with a busy team: L (time-average waiting) = lambda x W within 2%."""
    world, pol, cal, run = _run(POLICIES[name])
    log, k = run.log, run.kpis
    ready, leave = queue_stays(world, pol, cal, log)
    ws, we = world.window_start, world.window_end
    inside = (ready >= ws) & (ready < we)
    lam = inside.sum() / (we - ws)                                    # stays per minute
    w = float(np.mean(np.minimum(leave[inside], world.end) - ready[inside]))
    assert inside.sum() > 3000 and k["queue_mean"] > 0.5              # a real queue, many stays
    assert k["queue_mean"] == pytest.approx(lam * w, rel=0.02)


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_littles_law_is_exact_on_the_whole_sample_path(name):
    """Area under the queue-length curve over [0, end] = sum of waits (to float precision)."""
    world, pol, cal, run = _run(POLICIES[name], {"horizon": {"warmup": "14d", "window": "56d", "runout": "14d"}})
    ready, leave = queue_stays(world, pol, cal, run.log)
    assert ready.size == int((np.diff(run.log.q_len) > 0).sum())     # one push per stay
    waits = np.minimum(leave, world.end) - ready
    assert waits.min() >= -1e-6
    assert queue_area(run.log, world.end) == pytest.approx(waits.sum(), rel=1e-9)
