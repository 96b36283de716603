"""Debug mode (the run invariants of sim/checks/invariants.py): every run of the shipped files and of the engine's corner
features satisfies the invariants, and each invariant really fires when the run it checks is
broken (a corrupted copy of a real run's log, outcomes or KPIs)."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from test_funnel import _nest as nest  # noqa: E402  (one nesting helper for the test modules)

from sim.calendar import BusinessCalendar
from sim.checks.invariants import InvariantError, kpi_violations, violations
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.replication import run_policy, run_replication
from sim.inputs import load_policy, load_scenario, split_sets
from sim.sales.episode import ABANDONED, BREACHED, CONTACTED, OPEN
from sim.sales.outcomes import STATE
from sim.world.generate import generate_world

SMALL = {"horizon": {"warmup": "14d", "window": "42d", "runout": "90d"},
         "arrivals": {"leads_per_year": 8000}, "sales": {"reps": 2}}


def scenario(**changes) -> Scenario:
    return Scenario.model_validate(nest(changes, SMALL))


def policy(name: str = "p", **changes) -> Policy:
    return Policy.model_validate(nest({"name": name, **changes}))


# ------------------------------------------------------------------------------------------
# Real runs satisfy every invariant
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario_name", ["workshop", "baseline", "understaffed"])
def test_shipped_files_satisfy_every_invariant(scenario_name):
    o = split_sets([], days=28, leads=6000 if scenario_name != "workshop" else None)
    sc = load_scenario(scenario_name, o.scenario)
    pols = [load_policy(p) for p in ("seed-example", "volume", "fit-and-intent")]
    rep = run_replication(sc, pols, seed=3, check=True)      # raises InvariantError if one breaks
    assert all(r.log.at_lead.size > 0 for r in rep.runs.values())


FEATURES = {
    "priority+escalate": dict(routing__discipline="priority", sla__breach_action="escalate"),
    "freshest+recycle": dict(routing__discipline="freshest", sla__breach_action="recycle", sla__recycle_after="1bd"),
    "round_robin": dict(routing__discipline="round_robin", cadence__max_attempts=5, cadence__spacing="4h"),
    "triage": dict(routing__triage_backlog=3, routing__triage_min_score=75),
    "many-recycles": dict(sla__breach_action="recycle", sla__recycle_after="2bh", recycle__max_recycles=4,
                          cadence__max_attempts=1),
    "clock-spacing": dict(cadence__spacing="30m", cadence__max_attempts=6, sla__targets__standard="8h"),
    "fit-and-behaviour": dict(mql__rule="fit_and_behaviour", mql__fast_lane__demo_request=False),
}


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_engine_features_satisfy_every_invariant(feature):
    """Overloaded team (one rep, many leads) so queues, recycles and re-MQLs all happen."""
    sc = scenario(sales__reps=1, arrivals__leads_per_year=25000, engagement__reengage_share=0.6)
    rep = run_replication(sc, [policy(**FEATURES[feature])], seed=5, check=True)
    run = rep.runs["p"]
    assert violations(rep.world, sc, run.policy, rep.calendar, run.log, run.outcomes, run.kpis, run.scored) == []
    assert run.log.q_len.max() > 0


QUEUEING = {
    "textbook": {},
    "textbook+patience": {"patience": "15m"},
    "scenario-sales+patience": {"sales": "scenario", "patience": "2h"},
}


@pytest.mark.parametrize("mode", sorted(QUEUEING))
def test_queueing_mode_satisfies_every_invariant(mode):
    """The textbook queue (every lead an MQL, Poisson; reps 24/7 or the scenario's hours; leads
    that go cold and leave with a patience) is checked like any run."""
    sc = scenario(sales__reps=2, response__decay="none",
                  queueing={"enabled": True, "mql_rate": 9.0, "handle_time": "10m", **QUEUEING[mode]})
    rep = run_replication(sc, [policy()], seed=2, check=True)
    run = rep.runs["p"]
    assert violations(rep.world, sc, run.policy, rep.calendar, run.log, run.outcomes, run.kpis, run.scored) == []
    if "patience" in QUEUEING[mode]:
        assert (run.log.ep_status == ABANDONED).any()


def test_abandonment_outside_queueing_mode_is_caught(real):
    world, sc, pol, cal, run = real
    st = run.log.ep_status.copy()
    st[_first(run.log.ep_status == BREACHED)] = ABANDONED
    text = " | ".join(_broken(real, log=dataclasses.replace(run.log, ep_status=st)))
    assert "abandoned although queueing.patience is not set" in text


@pytest.mark.parametrize("changes, undefined", [
    (dict(arrivals__leads_per_year=0), ["lead_to_mql_rate", "mql_to_sql_rate", "win_rate"]),
    (dict(sales__reps=0), ["rep_utilisation", "sal_to_sql_rate", "rejection_rate", "first_touch_p50_hours"]),
])
def test_nan_only_where_the_denominator_is_zero(changes, undefined):
    """Degenerate but valid runs: the undefined rates are NaN and the invariants accept them."""
    rep = run_replication(scenario(**changes), [policy()], seed=1, check=True)
    k = rep.runs["p"].kpis
    for name in undefined:
        assert math.isnan(k[name]), name


def test_check_flag_raises_on_a_broken_run(monkeypatch):
    import sim.experiment.replication as run_mod
    monkeypatch.setattr(run_mod, "violations", lambda *a: ["queue: something broke"])
    sc = scenario()
    with pytest.raises(InvariantError, match="policy 'p': queue: something broke"):
        run_replication(sc, [policy()], seed=1, check=True)
    run_replication(sc, [policy()], seed=1)          # without check: not looked at


# ------------------------------------------------------------------------------------------
# Each invariant fires on a corrupted copy of a real run
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real():
    """An overloaded run with recycles and re-MQLs: (world, scenario, policy, calendar, run)."""
    sc = scenario(sales__reps=1, arrivals__leads_per_year=25000, engagement__reengage_share=0.6)
    pol = policy(sla__breach_action="recycle", sla__recycle_after="2bd")
    world = generate_world(sc, 11)
    cal = BusinessCalendar.from_scenario(sc)
    run = run_policy(world, sc, pol, cal, check=True)
    assert violations(world, sc, pol, cal, run.log, run.outcomes, run.kpis, scored=run.scored) == []
    assert (run.log.ep_index > 0).any() and (run.log.ep_status == BREACHED).any()
    return world, sc, pol, cal, run


def _broken(real, log=None, out=None, kpis=None) -> list[str]:
    world, sc, pol, cal, run = real
    return violations(world, sc, pol, cal, log or run.log, out or run.outcomes, kpis or run.kpis)


def _with(arr: np.ndarray, idx, value) -> np.ndarray:
    a = arr.copy()
    a[idx] = value
    return a


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _log_cases(log, cal):
    """(description, corrupted log, words of the expected message)."""
    rep_ep = _first(log.ep_index > 0)
    touched = _first(log.ep_attempts > 0)
    contacted = _first(log.at_contact)
    # a second attempt by the same rep squeezed into the previous one's handling time
    r0 = np.flatnonzero(log.at_rep == 0)
    busy = _with(log.at_start, r0[1], log.at_start[r0[0]] + 1e-3)
    # an attempt moved to 3 a.m. the same day
    night = _with(log.at_start, 0, (log.at_start[0] // 1440) * 1440 + 180)
    # a follow-up moved to one minute after the previous attempt of its lead
    leads, counts = np.unique(log.at_lead, return_counts=True)
    lead2 = leads[counts >= 2][0]
    a0, a1 = np.flatnonzero(log.at_lead == lead2)[:2]
    early = _with(log.at_start, a1, log.at_start[a0] + 1.0)
    # the queue log: one level lasting 5 minutes longer than it did
    gaps = np.diff(log.q_time)
    k = _first(gaps[1:] > 10)          # level k+1 can start 5 minutes later and stay in order
    q_shift = _with(log.q_time, k + 1, log.q_time[k + 1] + 5.0)
    rep = dataclasses.replace
    return [
        ("duplicate episode number", rep(log, ep_index=_with(log.ep_index, rep_ep, 0)), ["not 0, 1, 2"]),
        ("first touch before MQL", rep(log, ep_first_touch=_with(log.ep_first_touch, touched,
                                                                 log.ep_mql_time[touched] - 60)), ["first touch"]),
        ("MQL after the run", rep(log, ep_mql_time=_with(log.ep_mql_time, 0, 1e12)), ["after the end of the run"]),
        ("status contacted untouched", rep(log, ep_status=_with(log.ep_status, _first(log.ep_attempts == 0), CONTACTED)),
         ["without a touch"]),
        ("closed without end time", rep(log, ep_end_time=_with(log.ep_end_time, _first(log.ep_status != OPEN), np.nan)),
         ["end time missing"]),
        ("touch at night", rep(log, at_start=night), ["outside the working hours"]),
        ("rep double-booked", rep(log, at_start=busy), ["while busy"]),
        ("follow-up too early", rep(log, at_start=early), ["cadence spacing"]),
        ("lost attempt", rep(log, at_lead=log.at_lead[1:], at_rep=log.at_rep[1:], at_start=log.at_start[1:],
                             at_handle=log.at_handle[1:], at_contact=log.at_contact[1:]), ["disagree"]),
        ("contact flag moved", rep(log, at_contact=_with(log.at_contact, contacted, False)), ["reaching attempt"]),
        ("negative queue", rep(log, q_len=log.q_len - 1), ["negative number waiting"]),
        ("queue jumps by two", rep(log, q_len=_with(log.q_len, slice(k + 1, None), log.q_len[k + 1:] + 1)),
         ["other than one"]),
        ("queue level longer than the stays", rep(log, q_time=q_shift), ["Little's law"]),
        ("unknown rep", rep(log, at_rep=_with(log.at_rep, 0, 7)), ["rep outside"]),
    ]


def test_each_log_invariant_fires(real):
    world, sc, pol, cal, run = real
    for name, log, words in _log_cases(run.log, cal):
        problems = _broken(real, log=log)
        assert problems, name
        text = " | ".join(problems)
        for w in words:
            assert w in text, (name, w, text)


def _outcome_cases(out):
    sql = _first(out.sql)
    opp = _first(out.opportunity)
    won = _first(out.won)
    rep = dataclasses.replace
    return [
        ("SQL before contact", rep(out, sql_time=_with(out.sql_time, sql, out.contact_time[sql] - 1)), ["SQL before contact"]),
        ("opportunity without SQL", rep(out, sql_time=_with(out.sql_time, opp, np.nan)), ["opportunity without an SQL"]),
        ("won and lost", rep(out, lost=_with(out.lost, won, True)), ["both won and lost"]),
        ("wrong state", rep(out, state=_with(out.state, won, STATE["nurture"])), ["terminal state does not match"]),
        ("amount without opportunity", rep(out, amount=_with(out.amount, _first(~out.opportunity), 10.0)),
         ["deal amount"]),
        ("reason without rejection", rep(out, reason=_with(out.reason, _first(~out.rejected), 0)), ["reason code"]),
    ]


def test_each_outcome_invariant_fires(real):
    for name, out, words in _outcome_cases(real[4].outcomes):
        text = " | ".join(_broken(real, out=out))
        for w in words:
            assert w in text, (name, w, text)


@pytest.mark.parametrize("change, words", [
    ({"mql_to_sql_rate": math.nan}, ["mql_to_sql_rate is NaN although its denominator"]),
    ({"rep_utilisation": math.nan}, ["rep_utilisation is NaN although"]),
    ({"first_touch_p50_hours": math.nan}, ["first_touch_p50_hours is NaN although"]),
    ({"bookings": math.nan}, ["bookings is NaN (it has no denominator"]),
    ({"new_detail_count": math.nan}, ["new_detail_count is NaN"]),
    ({"pipeline": math.inf}, ["pipeline is infinite"]),
    ({"sla_compliance_standard": 1.2}, ["sla_compliance_standard = 1.2 outside [0, 1]"]),
    ({"rep_utilisation": -0.1}, ["outside [0, 1]"]),
    ({"sqls": 10 ** 9}, ["the funnel widened"]),
    ({"won": -1}, ["not a non-negative count"]),
    ({"first_touch_p50_hours": 1e6}, ["not ordered"]),
    ({"leads": 1}, ["do not account for"]),
    ({"buyers_sql": -5}, ["buyer fates"]),
])
def test_each_kpi_invariant_fires(real, change, words):
    k = {**real[4].kpis, **change}
    text = " | ".join(_broken(real, kpis=k))
    for w in words:
        assert w in text, (w, text)


def test_kpis_alone_accept_nan_when_the_denominator_is_unknown(real):
    """Without the run's arrays, time-based KPIs may be NaN (their denominators are not KPIs)."""
    k = {**real[4].kpis, "rep_utilisation": math.nan, "queue_mean": math.nan}
    assert kpi_violations(k) == []
    assert kpi_violations(real[4].kpis) == []


def test_no_mql_is_lost_between_scoring_and_sales(real):
    world, sc, pol, cal, run = real
    s = run.scored
    assert _broken(real) == [] and violations(world, sc, pol, cal, run.log, run.outcomes, run.kpis, scored=s) == []
    lead = int(np.flatnonzero(np.isfinite(s.mql_time))[0])
    lost = dataclasses.replace(s, mql_time=_with(s.mql_time, lead, np.inf))
    text = " | ".join(violations(world, sc, pol, cal, run.log, run.outcomes, run.kpis, scored=lost))
    assert "MQLs of the scoring and the first episodes of the sales process differ" in text
    other = dataclasses.replace(s, mql_tier=_with(s.mql_tier, lead, (s.mql_tier[lead] + 1) % 4))
    text = " | ".join(violations(world, sc, pol, cal, run.log, run.outcomes, run.kpis, scored=other))
    assert "MQL time, tier or score differs" in text


def test_every_pooled_kpi_may_be_nan_exactly_when_its_denominator_is_zero():
    """Debug mode accepts NaN for a KPI only when its denominator is zero: every share or ratio
    of the registry (account KPIs included) must have a known denominator, or a run whose world
    simply has no won or lost account would be reported as an engine bug."""
    from sim.checks.kpi_checks import DENOMINATORS
    from sim.measure.registry import KPIS
    missing = [k.name for k in KPIS.values() if k.pooled and k.name not in DENOMINATORS]
    assert missing == []


def test_an_account_world_without_closed_accounts_passes_debug_mode():
    from sim.calendar import BusinessCalendar
    from sim.config.loading import validate_data
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.experiment.replication import run_policy
    from sim.world.generate import generate_world
    sc = validate_data(Scenario, {"horizon": {"warmup": "7d", "window": "21d", "runout": "21d"},
                                  "arrivals": {"leads_per_year": 3000}, "sales": {"reps": 1}, "accounts": {}}, "s.toml")
    pol = validate_data(Policy, {"name": "p", "icp": {"industries": []}}, "p.toml")
    run = run_policy(generate_world(sc, 1), sc, pol, BusinessCalendar.from_scenario(sc), check=True)
    assert run.kpis["accounts_won"] + run.kpis["accounts_lost"] == 0    # the case: no account closed
