"""Reps as people: nobody works while away (PTO, sick, not yet hired, left), leavers lose no MQL,
the roster is the world's (common to every policy), and the default roster is today's team."""
from __future__ import annotations

import math

import numpy as np
import pytest

from sim.calendar import DAY, BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.replication import run_replication
from sim.sales.episode import OPEN
from sim.sales.params import EngineParams
from sim.sales.roster import build_roster, is_default
from sim.world.generate import generate_world

SMALL = {"horizon": {"warmup": "14d", "window": "42d", "runout": "14d"}, "arrivals": {"leads_per_year": 25000}}


def scenario(sales: dict) -> Scenario:
    return Scenario.model_validate({**SMALL, "sales": {"reps": 4, **sales}})


def attempts_while_away(run) -> int:
    roster, log = run.roster, run.log
    return sum(not roster.available(int(r), float(t)) for r, t in zip(log.at_rep, log.at_start))


@pytest.mark.parametrize("assignment", ["pooled", "round_robin"])
def test_a_rep_away_never_works(assignment):
    """PTO (listed and random), sick days, a hire not yet started: no attempt inside any away stretch,
    yet the reps with PTO do work outside it."""
    sc = scenario({"absence": {"pto": [{"rep": 0, "start": "2026-01-26", "end": "2026-02-06"}],
                               "pto_days_per_year": 25, "sick_days_per_year": 8},
                   "hires": [{"date": "2026-02-09", "count": 1}]})
    pol = Policy.model_validate({"name": "p", "routing": {"assignment": assignment}})
    run = run_replication(sc, [pol], seed=5, check=True).runs["p"]
    assert run.roster is not None and run.log.at_rep.size > 100
    assert attempts_while_away(run) == 0
    pto_lo = (np.datetime64("2026-01-26") - np.datetime64("2026-01-05")).astype(int) * DAY
    seat0 = run.log.at_start[run.log.at_rep == 0]
    assert not ((seat0 >= pto_lo) & (seat0 < pto_lo + 12 * DAY)).any() and seat0.size > 0
    hire = run.roster.reps[4]
    assert hire.seat == 4 and hire.start == (np.datetime64("2026-02-09") - np.datetime64("2026-01-05")).astype(int) * DAY
    worked = run.log.at_start[run.log.at_rep == 4]
    assert worked.size > 0 and worked.min() >= hire.start


@pytest.mark.parametrize("assignment", ["pooled", "round_robin"])
def test_leavers_mid_attempt_lose_no_mql(assignment):
    """With reps leaving often (and replaced), every MQL episode ends in exactly one state, no rep
    starts an attempt after its last day, and nothing is stranded in a leaver's queue: the only
    episodes still open at the end arrived in the last ten days of the run (cadence and weekends)."""
    sc = scenario({"attrition": {"annual_rate": 8.0, "hiring_lag": "3d"}, "ramp": {"weeks": 2}})
    pol = Policy.model_validate({"name": "p", "routing": {"assignment": assignment}})
    rep = run_replication(sc, [pol], seed=11, check=True)
    run = rep.runs["p"]
    leavers = [r for r in run.roster.reps if r.leave < rep.world.end]
    assert len(leavers) >= 3
    assert attempts_while_away(run) == 0
    log = run.log
    assert sum(run.kpis["terminal_states"].values()) == run.kpis["leads"]
    stuck = (log.ep_status == OPEN) & (log.ep_mql_time < rep.world.end - 10 * DAY)
    assert not stuck.any()
    # a leaver's attempt in hand finished: an attempt started before leaving may end after it
    for i, r in enumerate(run.roster.reps):
        assert (log.at_start[log.at_rep == i] < r.leave).all()


def test_the_roster_is_the_worlds_and_common_to_every_policy():
    sc = scenario({"skill": {"contact_spread": 0.3, "qualify_spread": 0.2}, "attrition": {"annual_rate": 1.0},
                   "absence": {"sick_days_per_year": 6}})
    world = generate_world(sc, seed=2)
    cal = BusinessCalendar.from_scenario(sc)
    a, b = build_roster(sc.sales, 4, world, cal), build_roster(sc.sales, 4, world, cal)
    assert [(r.start, r.leave, r.contact_skill, r.off) for r in a.reps] == \
           [(r.start, r.leave, r.contact_skill, r.off) for r in b.reps]
    wider = build_roster(sc.sales, 5, world, cal)          # one more seat: the first four unchanged
    assert [r.contact_skill for r in wider.reps if r.seat < 4] == [r.contact_skill for r in a.reps]
    other = build_roster(sc.sales, 4, generate_world(sc, seed=3), cal)
    assert [r.contact_skill for r in other.reps] != [r.contact_skill for r in a.reps]


def test_skill_multipliers_have_mean_one():
    sc = scenario({"skill": {"contact_spread": 0.4, "qualify_spread": 0.4}})
    roster = build_roster(sc.sales, 2000, generate_world(scenario({}), seed=1), BusinessCalendar.from_scenario(sc))
    skills = np.array([r.contact_skill for r in roster.reps])
    # lognormal(-s^2/2, s): mean 1, sd sqrt(exp(s^2) - 1) = 0.417; 2000 draws: 5 standard errors = 0.047
    assert abs(skills.mean() - 1.0) < 0.047
    assert abs(np.log(skills).std() - 0.4) < 0.04


def test_ramp_rises_linearly_to_full_productivity():
    sc = scenario({"ramp": {"weeks": 4, "start": 0.4}, "hires": [{"date": "2026-01-19", "count": 1}]})
    roster = build_roster(sc.sales, 1, generate_world(sc, seed=1), BusinessCalendar.from_scenario(sc))
    old, new = roster.reps
    assert old.productivity(0.0) == 1.0 and not old.ramping(0.0)
    assert new.productivity(new.start) == pytest.approx(0.4)
    assert new.productivity(new.start + 14 * DAY) == pytest.approx(0.7)
    assert new.productivity(new.start + 28 * DAY) == 1.0


def test_the_default_roster_is_todays_team():
    assert is_default(Scenario().sales)
    p = EngineParams.resolve(Policy(), Scenario(), lambda t: 0.3)
    assert not p.staffed and p.people is None
    assert not math.isnan(p.time_share)


def test_the_hiring_plan_scenario_is_the_baseline_plus_hires():
    """experiments/hiring-plan.toml compares replication by replication: same world, same team."""
    from pathlib import Path

    from sim.inputs import load_scenario

    root = Path(__file__).resolve().parents[1]
    base = load_scenario(str(root / "scenarios" / "baseline.toml"), []).model_dump()
    hires = load_scenario(str(root / "experiments" / "scenarios" / "march-hires.toml"), []).model_dump()
    assert [h["count"] for h in hires["sales"].pop("hires")] == [2] and base["sales"].pop("hires") == []
    for d in (base, hires):
        d.pop("name"), d.pop("description")
    assert base == hires


def test_capacity_over_time_shows_hires_ramp_and_pto():
    """The daily series gets the roster's available rep-hours (and ramp-weighted hours), which the
    report draws; a default team has neither."""
    from sim.report.fig_capacity import capacity_figure, has_capacity

    sc = scenario({"ramp": {"weeks": 4, "start": 0.5}, "hires": [{"date": "2026-02-02", "count": 2}],
                   "absence": {"pto": [{"rep": 0, "start": "2026-01-12", "end": "2026-01-16"}]}})
    rep = run_replication(sc, [Policy(name="p")], seed=1)
    d = rep.daily("p").set_index("day")
    day = {date: i for i, date in enumerate(d["date"].dt.date.astype(str))}
    assert d.loc[day["2026-01-13"], "rep_hours_available"] == 3 * 8        # rep 0 on PTO
    assert d.loc[day["2026-01-20"], "rep_hours_available"] == 4 * 8
    hired = d.loc[day["2026-02-03"]]
    assert hired["rep_hours_available"] == 6 * 8
    assert 4 * 8 < hired["rep_hours_effective"] < 6 * 8                    # the hires are ramping
    assert (d["rep_hours_effective"] <= d["rep_hours_available"] + 1e-9).all()
    assert has_capacity(d.assign(policy="p"))
    assert len(capacity_figure(d.reset_index().assign(policy="p")).axes) == 2
    plain = run_replication(scenario({}), [Policy(name="p")], seed=1).daily("p")
    assert not has_capacity(plain)
