"""Routing like the routers do: the (assignment, order) pair and its short form, weighted round
robin in exact proportion, daily caps never exceeded, away reps skipped, and reassignment only of
MQLs still untouched at their SLA checkpoint."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.calendar import DAY
from sim.config.errors import ConfigError
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.replication import run_replication
from sim.inputs import load_policy
from sim.sales.episode import Episode
from sim.sales.routing import Fifo, WeightedRoundRobin
from sim.sales.staffing import Staffing

SMALL = {"horizon": {"warmup": "7d", "window": "21d", "runout": "7d"}}


def _scenario(leads_per_year: int, reps: int, sales: dict | None = None) -> Scenario:
    return Scenario.model_validate({**SMALL, "arrivals": {"leads_per_year": leads_per_year},
                                    "sales": {"reps": reps, **(sales or {})}})


def test_the_short_form_names_a_pair_and_a_conflict_names_both_fields(tmp_path):
    def pair(routing: dict):
        return Policy.model_validate({"routing": routing}).routing

    assert Policy().routing.pair == ("pooled", "fifo")
    assert pair({"discipline": "round_robin"}).pair == ("round_robin", "fifo")
    assert pair({"assignment": "round_robin", "order": "priority"}).discipline is None
    assert pair({"order": "freshest"}).discipline == "freshest"
    assert pair({"discipline": "priority", "assignment": "round_robin"}).pair == ("round_robin", "priority")
    assert pair({"discipline": "owner"}).pair == ("owner", "fifo")
    assert pair({"assignment": "owner", "order": "priority"}).discipline is None
    # a dump reads back as the same routing, and an override of the short form on a dump still works
    for routing in ({}, {"assignment": "round_robin"}, {"order": "priority"},
                    {"assignment": "weighted_round_robin", "order": "freshest"}):
        dumped = Policy.model_validate({"routing": routing}).model_dump()
        assert Policy.model_validate(dumped).routing.pair == pair(routing).pair
    dumped = Policy().model_dump()
    dumped["routing"]["discipline"] = "priority"
    assert Policy.model_validate(dumped).routing.pair == ("pooled", "priority")
    f = tmp_path / "p.toml"
    f.write_text('[routing]\ndiscipline = "priority"\norder = "fifo"\n')
    with pytest.raises(ConfigError) as e:
        load_policy(str(f), [])
    assert "routing.discipline" in str(e.value) and "routing.order" in str(e.value)
    f.write_text('[routing]\ndiscipline = "round_robin"\nassignment = "pooled"\n')
    with pytest.raises(ConfigError, match="routing.assignment"):
        load_policy(str(f), [])


def _items(n: int) -> list[Episode]:
    return [Episode(i, 0, float(i), 2, 50.0) for i in range(n)]


@given(weights=st.lists(st.integers(1, 6), min_size=1, max_size=6), cycles=st.integers(1, 4))
def test_weighted_round_robin_gives_exact_counts_over_every_cycle(weights, cycles):
    a = WeightedRoundRobin(len(weights), Fifo(), [float(w) for w in weights])
    total = sum(weights)
    reps = []
    for ep in _items(total * cycles):
        a.assign(ep)
        reps.append(ep.rep)
    for c in range(cycles):
        got = Counter(reps[c * total:(c + 1) * total])
        assert [got[r] for r in range(len(weights))] == weights


def _record_assignments(monkeypatch) -> list[tuple[int, float, object]]:
    """Every new MQL a rep took (worker, time, the staffing that counted it)."""
    seen: list[tuple[int, float, object]] = []
    took = Staffing.took

    def spy(self, worker: int, t: float) -> None:
        seen.append((worker, t, self))
        took(self, worker, t)

    monkeypatch.setattr(Staffing, "took", spy)
    return seen


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cap=st.integers(1, 6), leads=st.sampled_from([30000, 120000]), reps=st.integers(1, 4),
       assignment=st.sampled_from(["pooled", "round_robin", "weighted_round_robin"]))
def test_daily_caps_are_never_exceeded(monkeypatch, cap, leads, reps, assignment):
    seen = _record_assignments(monkeypatch)
    pol = Policy.model_validate({"name": "p", "routing": {"assignment": assignment, "daily_cap": cap,
                                                          "weights": [2, 1]}})
    run = run_replication(_scenario(leads, reps), [pol], seed=cap, check=True).runs["p"]
    per_day = Counter((w, int(t // DAY)) for w, t, _ in seen)
    assert seen and max(per_day.values()) <= cap
    if assignment == "pooled":      # pooled counts first touches: every one of them was counted
        assert len(seen) == int((~np.isnan(run.log.ep_first_touch)).sum())


def test_round_robin_skips_reps_who_are_away(monkeypatch):
    seen = _record_assignments(monkeypatch)
    sc = _scenario(20000, 3, {"absence": {"pto": [{"rep": 1, "start": "2026-01-19", "end": "2026-01-30"}],
                                          "sick_days_per_year": 10}})
    pol = Policy.model_validate({"name": "p", "routing": {"discipline": "round_robin"}})
    run = run_replication(sc, [pol], seed=4, check=True).runs["p"]
    assert len(seen) > 100
    assert all(run.roster.available(w, t) for w, t, _ in seen)


@pytest.mark.parametrize("assignment", ["round_robin", "weighted_round_robin"])
def test_only_mqls_untouched_at_their_checkpoint_are_reassigned(assignment):
    """A busy team and a 2-business-hour checkpoint: MQLs move, and every moved one had no attempt
    before the move, which came at least 2 business hours after its MQL."""
    sc = _scenario(60000, 3, {"absence": {"sick_days_per_year": 15}})
    pol = Policy.model_validate({"name": "p", "routing": {"assignment": assignment},
                                 "sla": {"reassign_after": "2bh"}})
    rep = run_replication(sc, [pol], seed=8, check=True)
    run = rep.runs["p"]
    assert run.kpis["reassignments"] > 0
    log = run.log
    first = {(int(lead), float(t)): float(ft) for lead, t, ft in zip(log.ep_lead, log.ep_mql_time, log.ep_first_touch)}
    moves = _moves(rep, pol)
    assert moves
    for lead, t in moves:
        mql = max(m for (ld, m) in first if ld == lead and m <= t)
        ft = first[(lead, mql)]
        assert not ft < t                                   # untouched at the move (NaN: never touched)
        assert rep.calendar.business_between(mql, t) >= 120 - 1e-6


def _moves(rep, pol) -> list[tuple[int, float]]:
    """The (lead, time) of every reassignment, from the team's log of a rerun of the same policy."""
    from sim.decisions.mql import compile_policy
    from sim.decisions.oracle import next_mql
    from sim.decisions.scoring import score_world
    from sim.sales.params import EngineParams
    from sim.sales.process import Mqls, SalesProcess
    from sim.world.response import ResponseModel

    world, sc = rep.world, rep.scenario
    s = score_world(world, pol)
    response = ResponseModel.from_scenario(sc.response)
    rules = compile_policy(pol)
    proc = SalesProcess(world, Mqls(s.mql_time, s.mql_tier, s.mql_score),
                        EngineParams.resolve(pol, sc, response.scalar_contact_probability()), rep.calendar,
                        lambda lead, after: next_mql(world, pol, lead, after, rules=rules))
    proc.run()
    return list(zip(proc.team.log.moved_item, proc.team.log.moved_time))


TZ = {"offsets": {"north_america": 0, "emea": 6, "apac": 13, "latam": 2}}


def _tz_run(time_zones: dict, routing: dict, seed: int = 3):
    sc = _scenario(40000, 3, {"time_zones": {**TZ, **time_zones}})
    pol = Policy.model_validate({"name": "p", "routing": routing})
    rep = run_replication(sc, [pol], seed=seed, check=True)
    return rep, rep.runs["p"]


def test_reps_in_time_zones_work_their_own_local_hours():
    """Follow the sun: each rep's attempts all fall in the calendar's hours of its own local time,
    so the team as a whole works outside the calendar's hours."""
    rep, run = _tz_run({"rep_regions": ["north_america", "emea", "apac"]}, {"discipline": "fifo"})
    cal, log = rep.calendar, run.log
    offsets = np.array([run.roster.reps[int(r)].offset for r in log.at_rep])
    assert log.at_rep.size > 100
    assert all(cal.is_open(float(t + o)) for t, o in zip(log.at_start, offsets))
    assert not all(cal.is_open(float(t)) for t in log.at_start)


def test_no_contact_outside_the_leads_local_hours_when_its_chance_is_zero():
    rep, run = _tz_run({"rep_regions": ["north_america", "apac"], "outside_hours_contact": 0.0},
                       {"discipline": "fifo"})
    log, world, cal = run.log, rep.world, rep.calendar
    off = np.array([TZ["offsets"].get(r, 0) * 60.0 for r in ("north_america", "emea", "apac", "latam")])
    local = log.at_start + off[world.region[log.at_lead]]
    open_local = np.array([cal.is_open(float(t)) for t in local])
    assert log.at_contact.sum() > 20 and (~open_local).sum() > 20      # both kinds of attempt happen
    assert not (log.at_contact & ~open_local).any()


def test_routing_by_region_assigns_each_lead_to_a_rep_of_its_region():
    """With a rep in each region (assignment looks only at who is on the team), every MQL of a lead
    in a served region is worked by that region's rep."""
    regions = ["north_america", "emea", "apac", "latam"]
    rep, run = _tz_run({"rep_regions": regions[:3]},
                       {"discipline": "round_robin", "by_region": True, "skip_unavailable": False})
    log, world = run.log, rep.world
    lead_region = world.region[log.at_lead]
    rep_region = np.array([run.roster.reps[int(r)].region for r in log.at_rep])
    served = lead_region < 3
    assert served.sum() > 100 and (~served).sum() > 0
    assert (rep_region[served] == lead_region[served]).all()
