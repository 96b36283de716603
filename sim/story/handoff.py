"""The AE hand-off and the competitor in a lead's story, read from the run's own records.

The AE part reads `LeadOutcomes.meetings` (the stage's row for the SQL and its stays in the AE
queue) and the AE team's record in the sales log (one row per meeting: start, AE, held or not).
The competitor part reads `LeadOutcomes.competitor` (where it took the lead) and, for a loss
while waiting for the first touch, the episode's competitor time from the engine's own
`CompetitorClock.times` on the lead's luck (the draw `first_touch_losses` compared), so the time
and the wait it tells are the ones that decided the run.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from sim.calendar import BusinessCalendar
from sim.config.scenario import Scenario
from sim.sales.competitor import CompetitorClock
from sim.sales.episode import OPEN
from sim.sales.handoff import COMPETITOR, HELD, NO_SHOW_LOST, HandoffParams
from sim.sales.log import AE, SalesLog
from sim.sales.outcomes import TAKEN_FIRST_TOUCH, TAKEN_MEETING, LeadOutcomes
from sim.story.model import StoryEvent
from sim.world.model import World

HOUR = 60.0
MakeEvent = Callable[..., StoryEvent]     # (t, kind, text, episode=None, **data) -> StoryEvent


def _hours(minutes: float) -> str:
    from sim import format as F
    if abs(minutes) < HOUR:
        return F.duration(minutes, "minutes")
    return F.duration(minutes / HOUR, "clock hours")


def handoff_events(event: MakeEvent, scenario: Scenario, cal: BusinessCalendar, log: SalesLog,
                   out: LeadOutcomes, lead: int, at: Callable[[float], str], run_end: float) -> list[StoryEvent]:
    """The SQL's way through the AE stage: queued for an AE (after the notice), each meeting (AE,
    held or no-show and rebook), lost after the last no-show, taken by a competitor while waiting,
    or still waiting at the run's end. Empty when the stage is off or the lead is no SQL."""
    m = out.meetings
    if m is None:
        return []
    rows = np.flatnonzero(m.lead == lead)
    if rows.size == 0:
        return []
    i = int(rows[0])
    p = HandoffParams.resolve(scenario)
    ae_cal = p.calendar(cal)
    sql, status = float(m.sql_time[i]), int(m.status[i])
    stays = np.flatnonzero(m.stay_lead == lead)
    team = log.team(AE) if log.has_team(AE) else None
    held_rows = np.flatnonzero(team.item == lead) if team is not None else np.zeros(0, np.int64)
    if held_rows.size != int(m.meetings[i]):
        raise RuntimeError(f"lead {lead}: {held_rows.size} AE meetings in the team log, {int(m.meetings[i])} in the "
                           "stage's record")
    ev: list[StoryEvent] = []
    for k, s in enumerate(stays.tolist()):
        ready = float(m.stay_ready[s])
        why = (f"{p.notice} notice after the SQL" if k == 0 else f"{p.notice} notice after no-show {k}, rebook {k} "
               f"of {p.rebooks}")
        ev.append(event(ready, "ae_queued", f"queued for an AE meeting ({why}; {p.aes} AEs, first free slot)",
                        sql_time=sql, meeting=k + 1, aes=p.aes))
    for k, r in enumerate(held_rows.tolist()):
        start, ae, shown = float(team.start[r]), int(team.worker[r]), bool(team.contact[r])   # type: ignore[union-attr]
        wait_b = float(ae_cal.business_between(sql, start)) / HOUR
        wait = f"{wait_b:.1f} business hours ({_hours(start - sql)} clock) after the SQL"
        ready = float(m.stay_ready[stays[k]]) if k < stays.size else math.nan
        booked = f"booked from the AE queue (waiting since {at(ready)})" if math.isfinite(ready) else "booked"
        if shown:
            opp = float(out.opportunity_time[lead])
            opened = ("; the opportunity opened at this meeting" if opp == start else
                      "; no opportunity came of it (see below)")
            ev.append(event(start, "ae_meeting", f"discovery meeting {k + 1} with AE {ae}, {booked}: held, {wait}"
                                                 f"{opened}", ae=ae, meeting=k + 1, held=True,
                            wait_business_hours=wait_b, wait_minutes=start - sql, opportunity_opened=opp == start))
        else:
            more = (f"rebooked after {p.notice} notice (rebook {k + 1} of {p.rebooks})" if k < p.rebooks
                    else f"no rebook left ({p.rebooks} allowed)")
            ev.append(event(start, "ae_no_show", f"discovery meeting {k + 1} with AE {ae}, {booked}: the buyer did "
                                                 f"not show (chance {p.no_show:.2f}), {wait}; {more}", ae=ae,
                            meeting=k + 1, held=False, wait_business_hours=wait_b, wait_minutes=start - sql))
    end = float(m.end_time[i])
    if status == NO_SHOW_LOST:
        ev.append(event(end, "ae_lost", f"lost after {int(m.meetings[i])} no-shows (handoff.rebooks = {p.rebooks} "
                                        "used): no opportunity, it stays an SQL", meetings=int(m.meetings[i])))
    elif status == COMPETITOR:
        wait_b = float(ae_cal.business_between(sql, end)) / HOUR
        ev.append(event(end, "competitor", f"taken by a competitor while waiting for its AE meeting, "
                                           f"{_hours(end - sql)} ({wait_b:.1f} AE business hours) after the SQL: "
                                           "lost_to_competitor", where="ae_meeting", wait_minutes=end - sql,
                        wait_business_hours=wait_b))
    elif status != HELD:
        ev.append(event(run_end, "ae_waiting", f"still waiting for an AE meeting when the run ended ({at(run_end)})"))
    return ev


def competitor_events(event: MakeEvent, world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog,
                      out: LeadOutcomes, lead: int, at: Callable[[float], str]) -> list[StoryEvent]:
    """A competitor taking the buyer while it waited for a first touch: at what time, in which
    episode, after how long a wait (checked against `LeadOutcomes.competitor`). The loss while
    waiting for the AE meeting is told by `handoff_events`."""
    clock = CompetitorClock.from_scenario(scenario)
    if clock is None or out.competitor is None:
        return []
    rows = np.flatnonzero(log.ep_lead == lead)
    rows = rows[np.argsort(log.ep_index[rows], kind="stable")]
    if rows.size == 0:
        return []
    touched = ~np.isnan(log.ep_first_touch[rows])
    until = np.where(touched, log.ep_first_touch[rows],
                     np.where(log.ep_status[rows] == OPEN, world.end, log.ep_end_time[rows]))
    t_c = clock.times(world.luck.key[log.ep_lead[rows]], world.buyer[log.ep_lead[rows]], log.ep_index[rows])
    mql = log.ep_mql_time[rows]
    gone = np.flatnonzero(until - mql > t_c)
    taken = int(out.competitor[lead])
    if (gone.size > 0) != (taken == TAKEN_FIRST_TOUCH):
        raise RuntimeError(f"lead {lead}: the competitor draws do not re-derive the run's competitor record")
    if gone.size == 0:
        return []
    j = int(gone[0])
    t = float(mql[j] + t_c[j])
    wait_b = float(cal.business_between(float(mql[j]), t)) / HOUR
    index = int(log.ep_index[rows[j]])
    later = ("; a rep's later touch finds it gone" if touched[j] else "")
    return [event(t, "competitor", f"taken by a competitor while waiting for the first touch, {_hours(t - mql[j])} "
                                   f"({wait_b:.1f} business hours) after its MQL{later}: lost_to_competitor", index,
                  where="first_touch", wait_minutes=float(t - mql[j]), wait_business_hours=wait_b)]


def taken_where(out: LeadOutcomes, lead: int) -> str | None:
    """'first_touch', 'ae_meeting' or None: where a competitor took the lead in this run."""
    if out.competitor is None:
        return None
    return {TAKEN_FIRST_TOUCH: "first_touch", TAKEN_MEETING: "ae_meeting"}.get(int(out.competitor[lead]))
