"""Invariants of the optional stages (debug mode): the AE hand-off, the competitor, accounts.
Each returns one readable line per broken invariant; `sim.checks.invariants.violations` calls
them when the run used the feature (the families are described there).
"""
from __future__ import annotations

import math

import numpy as np

from sim.calendar import BusinessCalendar
from sim.checks.kpi_checks import KpiRecord
from sim.checks.team_checks import TOL, attempt_episodes, queue_area, queue_log_violations, team_violations
from sim.checks.team_checks import message as _msg
from sim.config.scenario import Scenario
from sim.sales.handoff import COMPETITOR, HELD, HandoffParams
from sim.sales.log import AE, SalesLog
from sim.sales.outcomes import STATE, TAKEN_FIRST_TOUCH, TAKEN_MEETING, LeadOutcomes
from sim.vocab import ALL_TERMINAL_STATES
from sim.world.model import World

# ---- the hand-off and the competitor ---------------------------------------------------------

def handoff_violations(world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog, out: LeadOutcomes) -> list[str]:
    m = out.meetings
    assert m is not None
    p: list[str] = []
    sql_leads = np.flatnonzero(out.sql)
    p += _msg("ae", np.sort(m.lead) != sql_leads if m.lead.size == sql_leads.size else np.ones(1, bool),
              "the SQLs handed to the AEs are not exactly the SQLs")
    p += _msg("ae", m.sql_time != out.sql_time[m.lead], "an SQL handed over at another time than its SQL", m.lead)
    if not log.has_team(AE):
        return p + ["ae: the hand-off ran but the log has no AE team"]
    team, params = log.team(AE), HandoffParams.resolve(scenario)
    ae_cal = params.calendar(cal)
    p += team_violations("ae", team, ae_cal, params.time_share)
    p += queue_log_violations("ae", team)
    p += _msg("ae", m.meetings > params.rebooks + 1, f"more meetings than 1 + rebooks = {params.rebooks + 1}", m.lead)
    p += _msg("ae", np.bincount(team.item, minlength=world.n)[m.lead] != m.meetings,
              "the AE log and the SQLs disagree on the number of meetings", m.lead)
    held = m.status == HELD
    p += _msg("ae", held != ~np.isnan(m.meeting_time), "a meeting time without a held meeting, or the reverse", m.lead)
    p += _msg("ae", np.array([int(team.contact.sum()) != int(held.sum())]), "held meetings in the log != SQLs held")
    earliest = np.asarray(ae_cal.add(m.sql_time, params.notice), dtype=float)
    p += _msg("ae", held & ~(m.meeting_time >= earliest - TOL), "a meeting before the booking notice", m.lead)
    opp = out.opportunity[m.lead]
    p += _msg("ae", opp & ~held, "an opportunity without a held meeting", m.lead)
    p += _msg("ae", opp & (out.opportunity_time[m.lead] != m.meeting_time), "an opportunity not at its meeting", m.lead)
    # Little's law on the AE queue: area under the number waiting = sum of the stays' waits
    if not p:
        area = queue_area(team, world.end)
        waits = float(np.sum(np.minimum(m.stay_leave, world.end) - m.stay_ready))
        pushes = int((np.diff(team.q_len) > 0).sum())
        if pushes != m.stay_ready.size:
            p.append(f"ae: {pushes} pushes in the AE queue log but {m.stay_ready.size} stays")
        elif not math.isclose(area, waits, rel_tol=1e-9, abs_tol=TOL * max(1, m.stay_ready.size)):
            p.append(f"ae: area under the AE queue {area:.6g} != sum of waits {waits:.6g} (Little's law)")
    return p


def competitor_violations(world: World, scenario: Scenario, out: LeadOutcomes) -> list[str]:
    taken = out.competitor
    assert taken is not None
    p: list[str] = []
    if scenario.competitor.buyers_only:
        p += _msg("competitor", (taken > 0) & ~world.buyer, "a lead not in market taken by a competitor")
    first = taken == TAKEN_FIRST_TOUCH
    p += _msg("competitor", first & (out.sal | out.rejected), "taken before the first touch but accepted or rejected")
    p += _msg("competitor", first & ~np.isfinite(out.first_mql), "taken before the first touch but never an MQL")
    meeting = taken == TAKEN_MEETING
    p += _msg("competitor", meeting & (~out.sql | out.opportunity), "taken before the meeting but not an SQL, "
              "or with an opportunity")
    if out.meetings is not None:
        at_ae = np.zeros(world.n, bool)
        at_ae[out.meetings.lead[out.meetings.status == COMPETITOR]] = True
        p += _msg("competitor", meeting != at_ae, "the AE stage and the outcomes disagree on who was taken")
    p += _msg("competitor", (out.state == STATE["lost_to_competitor"]) != (taken > 0),
              "state lost_to_competitor without a competitor, or the reverse")
    return p


# ---- accounts -------------------------------------------------------------------------------

def account_violations(world: World, log: SalesLog, kpis: KpiRecord) -> list[str]:
    p: list[str] = []
    if "accounts_engaged" in kpis:
        ended = sum(int(kpis.get(f"account_state_{s}", 0)) for s in ALL_TERMINAL_STATES)
        if ended != kpis["accounts_engaged"]:
            p.append(f"accounts: account states add up to {ended}, not the {kpis['accounts_engaged']} accounts engaged")
    target = log.at_target
    if target is None:
        return p
    if target.shape != log.at_lead.shape:
        return p + [f"accounts: {target.size} called contacts logged for {log.at_lead.size} attempts"]
    crm = world.accounts.lead_crm if world.accounts is not None else np.arange(world.n, dtype=np.int64)
    p += _msg("accounts", crm[target] != crm[log.at_lead], "an attempt called a contact of another account",
              log.at_lead)
    if log.at_lead.size:
        at_order, ep_of = attempt_episodes(log)
        first = np.ones(at_order.size, bool)
        first[1:] = ep_of[1:] != ep_of[:-1]
        lead = log.at_lead[at_order]
        p += _msg("accounts", first & (target[at_order] != lead), "an item's first attempt did not call its own contact",
                  lead)
    if "contacts_touched" in kpis and kpis["contacts_touched"] < kpis["accounts_touched"]:
        p.append("accounts: fewer contacts touched than accounts touched")
    if "account_sla_met" in kpis and kpis["account_sla_met"] > kpis["mqas"]:
        p.append("accounts: more accounts within SLA than MQAs")
    return p
