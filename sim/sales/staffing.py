"""Reps as people at work: the sales stage's worker loop when the team is a roster (skills, ramp,
leavers, PTO, sick days, hires) or routing has caps or weights; and the routing `Gate` that says who
may take a new MQL.

The default team (identical reps, always at work, no caps) never comes here: `SalesProcess` keeps its
own hand-tuned worker loop for it, so today's results and speed are untouched.

Rules (stated once, tested in tests/test_roster.py):

* Away (before the first day, after leaving, PTO, sick): a rep takes no work. An idle rep is sent
  away when its absence starts and comes back (is made free) when it ends; a busy rep finishes the
  attempt in hand (a leaver mid-attempt finishes that call: its MQL is never lost) and then goes
  away. The opener wakes only idle reps, and an away rep is never idle.
* A leaver's waiting MQLs go back to routing at once; its MQLs between attempts are routed again
  when their next attempt falls due.
* Ramp: a rep's productivity p (0-1], see `sim.sales.roster.Rep.productivity`, multiplies its
  contact chance and divides its handling time.
* Skill: the contact chance is multiplied by the rep's contact skill (capped at 1).
* Daily cap (policy routing.daily_cap), per calendar day: round robin counts the MQLs assigned to the
  rep (a capped rep is skipped); pooled counts the rep's first touches, after which the rep takes
  nothing more from the pool that day.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, cast

import numpy as np
import simpy
from simpy.events import Timeout

from sim.calendar import DAY, BusinessCalendar
from sim.config.scenario import Sales, TimeZones
from sim.sales.episode import CONTACTED, UNREACHED, Episode, ThreadedEpisode
from sim.sales.params import EngineParams
from sim.sales.queues import WorkItem
from sim.sales.roster import Roster, always_open, build_roster
from sim.sales.routing import routing
from sim.sales.team import FreeCallback, Team
from sim.vocab import REGIONS
from sim.world.model import World

if TYPE_CHECKING:
    from sim.sales.process import SalesProcess


def staffed_team(env: simpy.Environment, p: EngineParams, world: World, calendar: BusinessCalendar,
                 end: float) -> tuple[Team, Staffing]:
    """The team of one run with reps as people: the world's roster (the policy's headcount, the
    scenario's [sales]), routing through its gate, a 24/7 team clock when reps keep local hours."""
    roster = build_roster(p.people or Sales.model_validate({"reps": p.workers}), p.workers, world, calendar)
    cal = always_open(calendar) if roster.local_hours else calendar
    team = Team(env, cal, roster.size, routing(p.routing, roster.size, p.assignment, p.weights), end)
    staffing = Staffing(roster, team, p.daily_cap, p.skip_unavailable, p.ramp_weight, world.region, p.by_region,
                        calendar, p.people.time_zones if p.people is not None else None)
    team.routing.set_gate(staffing)
    team.staff()
    return team, staffing


class Staffing:
    """The roster at work in one run: availability, caps, weights, and each rep's worker loop."""

    def __init__(self, roster: Roster, team: Team, daily_cap: int | None, skip_unavailable: bool,
                 ramp_weight: float, lead_region: np.ndarray | None = None, by_region: bool = False,
                 home: BusinessCalendar | None = None, tz: TimeZones | None = None):
        """`lead_region`: each lead's region code (routing by region, time zones); `home`: the
        scenario's calendar, in which each lead's local hours are read (time zones)."""
        self.roster, self.team = roster, team
        self.lead_region = lead_region
        self.by_region = by_region and lead_region is not None and any(r.region >= 0 for r in roster.reps)
        self.home = home
        self.lead_offset = [0.0] * len(REGIONS)
        self.outside = 1.0
        if tz is not None and tz.offsets and lead_region is not None and home is not None:
            self.lead_offset = [tz.offsets.get(name, 0.0) * 60.0 for name in REGIONS]  # type: ignore[call-overload]  # sim.vocab types the names tuple[str, ...], not its Literal
            self.outside = tz.outside_hours_contact
        self.cap = daily_cap
        self.skip = skip_unavailable
        self.ramp_weight = ramp_weight
        n = roster.size
        self.day = [-1] * n          # calendar day of the counts below
        self.count = [0] * n         # new MQLs taken that day
        self.away = [False] * n      # sent away (not idle, not busy): a timeout brings it back

    # -- the routing gate ---------------------------------------------------------------------
    def eligible(self, worker: int, t: float) -> bool:
        rep = self.roster.reps[worker]
        if not rep.start <= t < rep.leave:
            return False
        if self.skip and not self.roster.available(worker, t):
            return False
        return self.cap is None or self.taken(worker, t) < self.cap

    def taken(self, worker: int, t: float) -> int:
        """New MQLs the worker took on t's calendar day."""
        return self.count[worker] if self.day[worker] == int(t // DAY) else 0

    def took(self, worker: int, t: float) -> None:
        d = int(t // DAY)
        if self.day[worker] != d:
            self.day[worker], self.count[worker] = d, 0
        self.count[worker] += 1

    def gone(self, worker: int, t: float) -> bool:
        return t >= self.roster.reps[worker].leave

    def weight(self, worker: int, t: float) -> float:
        return self.ramp_weight if self.roster.reps[worker].ramping(t) else 1.0

    def serves(self, worker: int, item: WorkItem) -> bool:
        if not self.by_region or self.lead_region is None:
            return True
        return bool(self.roster.reps[worker].region == self.lead_region[item.lead])

    def outside_hours(self, lead: int, t: float) -> bool:
        """Is t outside the lead's local business hours (time zones)?"""
        if self.home is None or self.lead_region is None:
            return False
        return not self.home.is_open(t + self.lead_offset[self.lead_region[lead]])

    # -- absences -------------------------------------------------------------------------------
    def schedule_absences(self, at: Callable[[float, Callable[[simpy.Event], None], object], None]) -> None:
        """Send each rep away when an absence starts (if idle then; a busy rep sees it when free)."""
        for r in range(self.roster.size):
            for lo, _hi in self.roster.away_starts(r):
                at(lo, self._on_away, r)

    def _on_away(self, ev: simpy.Event) -> None:
        r = cast(int, ev.value)
        team = self.team
        if team.idle[r]:       # a busy rep finishes the attempt in hand, then goes (the worker loop)
            team.idle[r] = False
            self._go_away(r, team.env.now)
        if self.gone(r, team.env.now):
            team.release(r)

    def _go_away(self, r: int, now: float) -> None:
        """Rep r is away from now: come back (be free) when its next available stretch starts."""
        back = self.roster.next_available(r, now)
        self.away[r] = True
        if back < self.team.end:
            Timeout(self.team.env, back - now).callbacks.append(self._back(r))

    def _back(self, r: int) -> Callable[[simpy.Event], None]:
        def back(_ev: simpy.Event) -> None:
            self.away[r] = False
            self.team.on_free[r](None)
        return back

    def _rest_of_day(self, r: int, now: float) -> None:
        """Pooled, capped: away until the next calendar day."""
        self.away[r] = True
        t = (int(now // DAY) + 1) * DAY
        if t < self.team.end:
            Timeout(self.team.env, t - now).callbacks.append(self._back(r))

    # -- the worker loop ------------------------------------------------------------------------
    def workers(self, proc: SalesProcess) -> list[FreeCallback]:
        return [self._worker(proc, r) for r in range(self.roster.size)]

    def _worker(self, proc: SalesProcess, r: int) -> FreeCallback:
        """The callback that makes rep r free (the default loop of `SalesProcess._worker`, plus
        availability, caps, skill and ramp)."""
        env, team, p, luck = proc.env, proc.team, proc.params, proc.luck
        queue = team.routing.queue_for(r)
        log = team.log
        is_open = team.is_open
        take = queue.pop if proc.triage is None else proc.triage.taker(queue, env, log.dequeued, proc.recycle)
        share, later, p_contact = p.time_share, luck.later, p.contact_probability
        record = proc.threads is not None       # multi-threaded: whom each attempt called
        if record:
            later = luck.threaded
        idle, idle_stack, recycle = team.idle, team.idle_stack, proc.recycle
        pre, u_contact, h_reached, h_missed = luck.pre, luck.u_contact, luck.h_reached, luck.h_missed
        max_attempts, next_due = proc.cadence.max_attempts, proc.cadence.next_due
        follow_up, end = proc._on_follow_up, proc.end
        roster, rep = self.roster, self.roster.reps[r]
        pooled_cap = self.cap if team.routing.shared else None
        skill, outside = rep.contact_skill, self.outside
        rushed = proc.rushed

        def free(_ev: simpy.Event | None = None) -> None:
            now = env.now
            if not roster.available(r, now):
                self._go_away(r, now)
                return
            if pooled_cap is not None and self.taken(r, now) >= pooled_cap:
                self._rest_of_day(r, now)
                return
            ep = cast("Episode | None", take() if is_open(now) else None)
            if ep is None:
                idle[r] = True
                idle_stack.append(r)
                return
            log.dequeued(now)
            k = ep.attempts
            if ep.row >= 0 and k < pre:
                i = ep.row + k
                u, h1, h0 = u_contact[i], h_reached[i], h_missed[i]
            else:
                u, h1, h0 = later(ep)
            prod = rep.productivity(now)
            scale = skill * prod * (outside if outside < 1.0 and self.outside_hours(ep.lead, now) else 1.0)
            contact = u < min(1.0, p_contact(now - ep.mql_time) * scale)
            h = (h1 if contact else h0) / prod
            if contact and rushed is not None:      # load quality: a rushed conversation
                h = rushed(now, h)
            if k == 0:
                ep.first_touch = now
                if pooled_cap is not None:
                    self.took(r, now)
            ep.attempts = k + 1
            log.item.append(ep.lead)
            log.worker.append(r)
            log.start.append(now)
            log.handle.append(h)
            log.contact.append(contact)
            if record:
                log.target.append(cast(ThreadedEpisode, ep).target)
            if proc.cover:
                proc.after_cover_attempt(ep, now, contact)
            elif contact:
                ep.status = CONTACTED
                ep.end_time = now
            elif k + 1 >= max_attempts:
                recycle(ep, now, UNREACHED)
            else:
                t = next_due(now)
                if t < end:
                    Timeout(env, t - now if t > now else 0.0, ep).callbacks.append(follow_up)
            Timeout(env, h / share).callbacks.append(free)

        return free


def qualify_multipliers(roster: Roster, n: int, at_lead: np.ndarray, at_rep: np.ndarray,
                        at_contact: np.ndarray) -> np.ndarray:
    """Per lead (n): the qualification skill of the rep who reached it (1 if none)."""
    out = np.ones(n)
    contact = np.asarray(at_contact, bool)
    skills = np.array([x.qualify_skill for x in roster.reps])
    out[at_lead[contact]] = skills[at_rep[contact]]
    return out
