"""Competitor first response (scenario [competitor]) and load-dependent quality ([load_quality]).

What a user relies on: the competitor's times are Weibull as configured and the same for every
policy (so a slower response never saves a lead a faster one lost); a hazard of zero takes nobody
and leaves every result as it was; a huge hazard takes every buyer who waited; losses are their
own terminal state and every lead still ends in exactly one state. Load quality: a factor of 1
changes nothing, a factor of 0 under permanent load qualifies nobody.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from test_world import _merge

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.replication import run_policy
from sim.measure.kpis import blocked_business
from sim.sales.competitor import CompetitorClock
from sim.sales.load_quality import recent_utilisation
from sim.sales.outcomes import STATE, TAKEN_FIRST_TOUCH
from sim.world.generate import generate_world

SMALL = {"horizon": {"warmup": "14d", "window": "56d", "runout": "42d"}, "arrivals": {"leads_per_year": 30000},
         "sales": {"reps": 2}}


def _world(over: dict, seed: int = 5):
    sc = Scenario.model_validate(_merge(SMALL, over))
    return sc, generate_world(sc, seed), BusinessCalendar.from_scenario(sc)


def _run(over: dict, policy: dict | None = None, seed: int = 5, check: bool = True):
    sc, world, cal = _world(over, seed)
    return world, run_policy(world, sc, Policy.model_validate({"name": "p", **(policy or {})}), cal, check=check)


def test_competitor_times_are_weibull_with_the_configured_shape_and_scale():
    keys = np.random.default_rng(1).integers(0, 2**63, size=20_000, dtype=np.uint64)
    clock = CompetitorClock(shape=1.7, scale=600.0, meeting_scale=60.0, buyers_only=False)
    first = clock.times(keys, np.ones(keys.size, bool), 0)
    assert stats.kstest(first, stats.weibull_min(1.7, scale=600.0).cdf).pvalue > 1e-3
    meeting = clock.times(keys, np.ones(keys.size, bool), 0, meeting=True)
    assert stats.kstest(meeting, stats.weibull_min(1.7, scale=60.0).cdf).pvalue > 1e-3
    assert clock.survival(np.array([600.0]))[0] == pytest.approx(math.exp(-1.0))


def test_a_zero_hazard_takes_nobody():
    keys = np.arange(1000, dtype=np.uint64)
    assert np.isinf(CompetitorClock(1.5, math.inf, math.inf, False).times(keys, np.ones(1000, bool), 0)).all()
    # through the engine: shape 20, scale 1000 weeks: no competitor time below 158 weeks (the smallest
    # uniform is 2^-53), far beyond the run; every result but the extra state is the competitor-off run's
    world, on = _run({"competitor": {"enabled": True, "shape": 20, "scale": "1000w"}, "handoff": {"enabled": True}})
    _, off = _run({"handoff": {"enabled": True}})
    assert on.kpis["lost_to_competitor"] == 0 and on.kpis["terminal_states"]["lost_to_competitor"] == 0
    for k, v in off.kpis.items():
        if k != "terminal_states":
            assert on.kpis[k] == v or (v != v and on.kpis[k] != on.kpis[k]), k


def test_a_huge_hazard_takes_every_lead_that_waits():
    """Scale one minute, shape 5: nobody survives a wait of two minutes (P = e^-32). Every lead with
    an MQL episode that waited longer for its first touch (or was never touched) is lost to the
    competitor, and so is every SQL (it waits at least the booking notice for its AE meeting): no
    opportunity is left."""
    over = {"competitor": {"enabled": True, "shape": 5, "scale": "1m", "buyers_only": False},
            "handoff": {"enabled": True}}
    world, r = _run(over)
    out, log = r.outcomes, r.log
    until = np.where(np.isnan(log.ep_first_touch), np.where(log.ep_status == 0, world.end, log.ep_end_time),
                     log.ep_first_touch)
    waited = until - log.ep_mql_time > 2.0
    assert waited.sum() > 100
    assert (out.competitor[log.ep_lead[waited]] == TAKEN_FIRST_TOUCH).all()
    assert (out.state[log.ep_lead[waited]] == STATE["lost_to_competitor"]).all()
    assert r.kpis["opportunities"] == 0 and r.kpis["lost_to_competitor_meeting"] == r.kpis["sqls"] > 0
    assert sum(r.kpis["terminal_states"].values()) == r.kpis["leads"]


def test_only_buyers_are_taken_unless_told_otherwise():
    world, r = _run({"competitor": {"enabled": True, "scale": "1h"}})
    taken = r.outcomes.competitor > 0
    assert taken.sum() > 20 and world.buyer[taken].all()


def test_a_slower_response_never_saves_a_lead_a_faster_one_lost():
    """Common random numbers: one world, a fast team (4 SDRs) and a slow one (1 SDR). A lead whose
    first episode both reached, the slow team later, and that the fast team lost to the competitor
    is lost under the slow team too: the competitor is the same, only our speed differs."""
    over = {"competitor": {"enabled": True, "scale": "6h"}}
    sc, world, cal = _world(over)
    runs = [run_policy(world, sc, Policy.model_validate({"name": f"r{n}", "reps": n}), cal) for n in (4, 1)]

    def first_waits(r):
        log = r.log
        m = (log.ep_index == 0) & (log.ep_status == 1)
        w = np.full(world.n, np.nan)
        w[log.ep_lead[m]] = log.ep_first_touch[m] - log.ep_mql_time[m]
        return w

    wf, ws = first_waits(runs[0]), first_waits(runs[1])
    both = ~np.isnan(wf) & ~np.isnan(ws) & (ws >= wf)
    tf = runs[0].outcomes.competitor == TAKEN_FIRST_TOUCH
    ts = runs[1].outcomes.competitor == TAKEN_FIRST_TOUCH
    assert (tf & both).sum() > 10
    assert not (tf & both & ~ts).any()
    assert runs[1].kpis["lost_to_competitor"] > runs[0].kpis["lost_to_competitor"]


def test_load_quality_factors_of_one_change_nothing_and_zero_under_load_qualifies_nobody():
    _, base = _run({})
    _, same = _run({"load_quality": {"enabled": True, "above": 0.0, "qualify_factor": 1.0, "handle_factor": 1.0}})
    assert same.kpis == base.kpis
    _, none = _run({"load_quality": {"enabled": True, "above": 0.0, "qualify_factor": 0.0}, "sales": {"reps": 1}})
    # every conversation after some SDR work that day is "under load" at level 0: almost no SQLs
    assert none.kpis["sqls"] < 0.1 * base.kpis["sqls"]


def test_recent_utilisation_agrees_with_the_utilisation_kpi_over_a_working_day():
    sc, world, cal = _world({"sales": {"reps": 1}})
    r = run_policy(world, sc, Policy.model_validate({"name": "p"}), cal)
    share = sc.sales.mql_time_share
    day = 30
    t1 = day * 1440.0 + cal.close_minute         # a working day's close (day 30 is a weekday)
    assert cal.is_working_day(day)
    u = recent_utilisation(r.log, cal, share, np.array([t1]))[0]
    busy = blocked_business(r.log, cal, share, day * 1440.0, t1)
    assert u == pytest.approx(busy / cal.workday_minutes, rel=1e-9)


def test_the_runs_load_measure_is_the_logs():
    """The SDR stage decides a rushed conversation from its log so far (`Rushed`); the chance of SQL
    uses the finished log (`recent_utilisation`): at every attempt they give the same utilisation."""
    from sim.sales.load_quality import Rushed
    from sim.sales.log import build_log
    from sim.sales.team import TeamLog

    sc, world, cal = _world({"sales": {"reps": 2}})
    r = run_policy(world, sc, Policy.model_validate({"name": "p"}), cal)
    share = sc.sales.mql_time_share
    log = TeamLog(2)
    rushed = Rushed(log, cal, share, 0.5, 0.8)
    got = []
    for t, h in zip(r.log.at_start.tolist(), r.log.at_handle.tolist()):
        got.append(rushed.utilisation(t))        # before this attempt is logged, as in the run
        log.start.append(t)
        log.handle.append(h)
    want = recent_utilisation(build_log([], log), cal, share, r.log.at_start)
    assert len(got) > 500 and max(got) > 0.3
    np.testing.assert_allclose(got, np.nan_to_num(want), rtol=1e-7, atol=1e-9)


def test_rushed_conversations_are_shorter_by_the_factor():
    """Level 0 (every conversation after a working day with any SDR work is rushed), factor 0.5:
    reached attempts take half their time, failed ones are untouched."""
    _, base = _run({"sales": {"reps": 2}})
    _, fast = _run({"sales": {"reps": 2}, "load_quality": {"enabled": True, "above": 0.0, "qualify_factor": 1.0,
                                                           "handle_factor": 0.5}})
    b, f = base.log, fast.log
    ratio = f.at_handle[f.at_contact].mean() / b.at_handle[b.at_contact].mean()
    assert 0.45 < ratio < 0.6                     # all but the first day's conversations halved
    assert f.at_handle[~f.at_contact].mean() == pytest.approx(b.at_handle[~b.at_contact].mean(), rel=0.1)
    assert fast.kpis["rep_utilisation"] < base.kpis["rep_utilisation"]
