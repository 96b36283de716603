"""The hand-off: account executives (AEs) hold a discovery meeting with every SQL, a second capacity
stage after the SDRs. Why: with AE time unlimited (the stage off) more SQLs always mean more
opportunities; with it on, SQL -> opportunity and the time to opportunity depend on AE load.

An SQL may be booked no earlier than `notice` after it (business or clock time, on the AEs'
calendar); from then on it waits, in SQL order, for the first free meeting slot: the first moment
an AE is free in working hours. The meeting blocks its AE for meeting time / time share (the rest
of the span is cycle work on open deals). The buyer misses it with chance `no_show` (the AE's time
is spent anyway): rebooked after another notice up to `rebooks` times, else lost. A competitor
(sim.sales.competitor) may take an SQL still waiting for its meeting: it leaves the queue then and
frees its slot. Every chance comes from the lead's counter-based luck (meeting k of a lead draws
the same no-show and meeting time under every policy and every AE headcount).

Built like the SDR stage (sim.sales.process): a second `Team` (its own calendar, queue and
TeamLog), one callback per AE, timers as bare SimPy timeouts with callbacks. SQLs are few (a few
per hundred leads), so the stage costs little; it runs after the SDR stage, on the SQL times the
vectorised outcomes give (the SDR stage does not depend on what AEs do).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Callable, cast

import numpy as np
import simpy
from simpy.events import Timeout

from sim.calendar import WEEKDAY_NAMES, BusinessCalendar
from sim.config.scenario import Scenario
from sim.config.units import Duration
from sim.sales.log import AE, TeamRecord
from sim.sales.routing import routing
from sim.sales.team import FreeCallback, Team
from sim.world.model import lead_uniforms

# Counter-based luck purposes of this module (k = the lead's meeting number, 0, 1, ...).
PURPOSE_NO_SHOW = 67
PURPOSE_MEETING_TIME = 68

# An SQL's state at the AE stage.
WAITING = 0         # booked or waiting for a slot when the run ended
HELD = 1            # a meeting was held: the opportunity chance applies at its time
NO_SHOW_LOST = 2    # missed its last allowed meeting: stays an SQL
COMPETITOR = 3      # taken by a competitor while waiting for its meeting


@dataclass(frozen=True)
class HandoffParams:
    """The AE stage's parameters, resolved once from the scenario."""

    aes: int
    meeting_time: float            # mean minutes of AE work per meeting
    time_share: float              # a meeting blocks its AE for meeting time / time share
    exponential: bool              # meeting time exponential (else fixed)
    notice: Duration
    no_show: float
    rebooks: int
    always_open: bool              # AEs work around the clock (else the scenario's calendar)

    @classmethod
    def resolve(cls, scenario: Scenario) -> HandoffParams:
        h = scenario.handoff
        return cls(h.aes, h.meeting_time.minutes, h.time_share, h.service == "exponential", h.notice, h.no_show,
                   h.rebooks, h.hours == "always")

    def calendar(self, scenario_calendar: BusinessCalendar) -> BusinessCalendar:
        """The AEs' calendar: the scenario's, or every minute of every day."""
        if not self.always_open:
            return scenario_calendar
        c = scenario_calendar
        return BusinessCalendar(c.start_date, WEEKDAY_NAMES, dt.time(0, 0), None, (), float(c.end))


@dataclass(frozen=True)
class Meetings:
    """What the AE stage did, one row per SQL handed over (in the order given), one row per stay in
    the AE queue (waiting for a free slot, from ready to taken, withdrawn, or inf at the run's
    end), and the AE team's record."""

    lead: np.ndarray               # int64
    sql_time: np.ndarray           # float64
    status: np.ndarray             # int8: WAITING, HELD, NO_SHOW_LOST, COMPETITOR
    meeting_time: np.ndarray       # float64: the held meeting's start, nan if none
    end_time: np.ndarray           # float64: when it was held or lost, nan if still waiting
    meetings: np.ndarray           # int64: meetings booked and reached (held + no-shows)
    stay_lead: np.ndarray          # int64
    stay_ready: np.ndarray         # float64
    stay_leave: np.ndarray         # float64, inf if still waiting at the end
    team: TeamRecord


class _Sql:
    """An SQL as a work item of the AE team's queue (the fields `sim.sales.queues.WorkItem` reads)."""

    __slots__ = ("lead", "tier", "score", "mql_time", "attempts", "status", "rep", "ready", "queued", "version",
                 "pushes", "row", "stay", "meeting_time", "end_time")

    def __init__(self, lead: int, sql_time: float, row: int):
        self.lead = lead
        self.tier = 0
        self.score = 0.0
        self.mql_time = sql_time       # when it arrived (the ordering rules read this name)
        self.attempts = 0              # meetings reached so far (held or missed)
        self.status = WAITING
        self.rep = -1
        self.ready = 0.0
        self.queued = False
        self.version = 0
        self.pushes = 0
        self.row = row
        self.stay = -1                 # index of its current stay in the queue
        self.meeting_time = math.nan
        self.end_time = math.nan


class HandoffStage:
    """One run of the AE stage for the SQLs of one policy on one world."""

    def __init__(self, params: HandoffParams, calendar: BusinessCalendar, end: float, keys: np.ndarray):
        """`calendar`: the scenario's (the AEs' is derived from it); `keys`: the world's per-lead
        luck keys (`world.luck.key`)."""
        self.p, self.end, self.keys = params, end, keys
        self.cal = params.calendar(calendar)

    def run(self, lead: np.ndarray, sql_time: np.ndarray, competitor_after: np.ndarray | None = None) -> Meetings:
        """Hand over SQLs (`lead`, `sql_time`; `competitor_after`: minutes after the SQL at which a
        competitor takes it if it is still waiting, inf = never) and play the stage to the end."""
        p, end = self.p, self.end
        n = lead.size
        env = simpy.Environment()
        team = Team(env, self.cal, p.aes, routing("fifo", p.aes), end)
        m = p.rebooks + 1                                     # meetings a lead can have
        k = np.arange(m, dtype=np.uint64)[None, :]
        lk = self.keys[lead][:, None] if n else np.zeros((0, 1), np.uint64)
        u_show = lead_uniforms(lk, PURPOSE_NO_SHOW, k).reshape(-1).tolist()
        u_time = np.clip(lead_uniforms(lk, PURPOSE_MEETING_TIME, k), 0.0, 1 - 1e-12)
        work = (-p.meeting_time * np.log1p(-u_time) if p.exponential else np.full(u_time.shape, p.meeting_time))
        work_l = work.reshape(-1).tolist()
        notice = self.cal.adder(p.notice)
        items = [_Sql(int(ld), float(t), i) for i, (ld, t) in enumerate(zip(lead.tolist(), sql_time.tolist()))]
        stay_lead: list[int] = []
        stay_ready: list[float] = []
        stay_leave: list[float] = []

        def at(t: float, callback: Callable[[simpy.Event], None], value: object) -> None:
            if t < end:
                Timeout(env, t - env.now if t > env.now else 0.0, value).callbacks.append(callback)

        def on_ready(ev: simpy.Event) -> None:
            item = cast(_Sql, ev.value)
            if item.status != WAITING:
                return
            now = env.now
            item.stay = len(stay_ready)
            stay_lead.append(item.lead)
            stay_ready.append(now)
            stay_leave.append(math.inf)
            team.push(item, now)

        def on_competitor(ev: simpy.Event) -> None:
            item = cast(_Sql, ev.value)
            if item.status != WAITING:
                return
            now = env.now
            if item.queued:
                team.withdraw(item)
                stay_leave[item.stay] = now
            item.status = COMPETITOR
            item.end_time = now

        def worker(r: int) -> FreeCallback:
            queue, log = team.routing.queue_for(r), team.log

            def free(_ev: simpy.Event | None = None) -> None:
                now = env.now
                popped = queue.pop() if team.is_open(now) else None
                if popped is None:
                    team.idle[r] = True
                    team.idle_stack.append(r)
                    return
                item = cast(_Sql, popped)
                log.dequeued(now)
                stay_leave[item.stay] = now
                j = item.row * m + item.attempts
                shown = u_show[j] >= p.no_show
                h = work_l[j]
                item.attempts += 1
                log.item.append(item.lead)
                log.worker.append(r)
                log.start.append(now)
                log.handle.append(h)
                log.contact.append(shown)
                if shown:
                    item.status = HELD
                    item.meeting_time = item.end_time = now
                elif item.attempts <= p.rebooks:
                    at(notice(now), on_ready, item)
                else:
                    item.status = NO_SHOW_LOST
                    item.end_time = now
                Timeout(env, h / p.time_share).callbacks.append(free)

            return free

        # SQLs in time order become ready after the notice; competitor timers from the SQL
        for item in items:
            at(notice(item.mql_time), on_ready, item)
        if competitor_after is not None:
            for item, c in zip(items, competitor_after.tolist()):
                at(item.mql_time + c, on_competitor, item)
        team.start([worker(r) for r in range(p.aes)])
        env.run(until=end)

        f8 = np.float64
        return Meetings(
            lead=lead.astype(np.int64), sql_time=sql_time.astype(f8),
            status=np.array([x.status for x in items], np.int8),
            meeting_time=np.array([x.meeting_time for x in items], f8),
            end_time=np.array([x.end_time for x in items], f8),
            meetings=np.array([x.attempts for x in items], np.int64),
            stay_lead=np.array(stay_lead, np.int64), stay_ready=np.array(stay_ready, f8),
            stay_leave=np.array(stay_leave, f8), team=TeamRecord.of(AE, team.log))
