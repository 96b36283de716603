"""Reps as people: who is on the team when, when each one is away, and how good each one is.

A *seat* is a place on the team: the initial reps (seats 0..reps-1, at work from time zero, fully
ramped) and the hiring plan's reps (next seats, from their hire date, ramping). A seat is held by a
chain of *reps*: with attrition, a holder leaves at a random time and the seat's next holder starts
`hiring_lag` later and ramps again. Every rep is one worker of the team (worker r = reps[r]); the
first holders of the seats are workers 0..seats-1, so the default roster is today's team.

Each rep is unavailable before its first day, after its last, on planned PTO (listed per seat, or
random blocks) and on random sick days; otherwise its availability follows the business calendar.

Luck: every draw is a counter-based uniform of (roster key, purpose, seat, holder, k) from the world
(`roster_key`), never a global RNG, so every policy meets the same reps, leavers and absences
(common random numbers), and the rep in a seat does not change when another seat changes.
"""
from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from sim.calendar import DAY, BusinessCalendar
from sim.config.scenario import Sales
from sim.vocab import REGIONS
from sim.world.model import World, lead_uniform

WEEK = 7 * DAY
YEAR = 365.0 * DAY
HOLDERS_PER_SEAT = 1 << 12      # counter stride: holder g of seat s uses counters (s * stride + g) * 4096 + k
DRAWS_PER_HOLDER = 1 << 12

# purposes of the roster's counter-based draws (their own key, so lead purposes never collide)
P_CONTACT_SKILL, P_QUALIFY_SKILL, P_LEAVE, P_PTO, P_SICK = 1, 2, 3, 4, 5


def roster_key(world: World) -> int:
    """The world's key for roster draws: derived from the first lead's luck key (the world's seed
    decides it; no lead draw uses the roster purposes with it), 0 for a world without leads."""
    if world.n == 0:
        return 0
    return int(lead_uniform(int(world.luck.key[0]), 0x52_4F_53, 0) * 2.0 ** 53)


def is_default(sales: Sales) -> bool:
    """True when the scenario's [sales] roster is today's team: identical reps, always at work."""
    return (sales.skill.contact_spread == 0 and sales.skill.qualify_spread == 0 and sales.attrition.annual_rate == 0
            and not sales.absence.pto and sales.absence.pto_days_per_year == 0
            and sales.absence.sick_days_per_year == 0 and not sales.hires and not sales.time_zones.offsets)


@dataclass
class Rep:
    """One person on the team."""

    seat: int
    holder: int                  # 0 = the seat's first holder, 1 = first replacement, ...
    start: float                 # first minute at work (clock)
    leave: float                 # first minute gone for good (inf = stays)
    ramp_until: float            # full productivity from here on (start = no ramp)
    ramp_start: float            # productivity on the first day
    contact_skill: float         # contact-chance multiplier (mean 1 over reps)
    qualify_skill: float         # SQL-chance multiplier of the MQLs this rep reaches
    region: int = -1             # index into vocab.REGIONS (time zones), -1 = the calendar's own
    offset: float = 0.0          # minutes its local clock is ahead of the calendar's
    off: list[tuple[float, float]] = field(default_factory=list)   # [lo, hi) away: PTO, sick days
    lo: list[float] = field(default_factory=list)   # available intervals [lo[i], hi[i]), sorted
    hi: list[float] = field(default_factory=list)

    def productivity(self, t: float) -> float:
        """1 when fully ramped; rises linearly from ramp_start over the ramp."""
        if t >= self.ramp_until:
            return 1.0
        span = self.ramp_until - self.start
        return self.ramp_start + (1.0 - self.ramp_start) * max(t - self.start, 0.0) / span

    def ramping(self, t: float) -> bool:
        return t < self.ramp_until


class Roster:
    """Every rep of one world, with availability look-ups for the engine."""

    def __init__(self, reps: list[Rep], end: float, cal: BusinessCalendar | None = None):
        """With `cal`, every rep works the calendar's hours in its own local time (time zones): its
        availability then includes its working hours, and the team works on a 24/7 clock."""
        self.reps = reps
        self.end = end
        self.local_hours = cal is not None
        for rep in reps:
            rep.lo, rep.hi = _available(rep, end)
            if cal is not None:
                rep.lo, rep.hi = _intersect(rep.lo, rep.hi, *_local_hours(cal, rep.offset, end))

    @property
    def size(self) -> int:
        return len(self.reps)

    def available(self, r: int, t: float) -> bool:
        """Is rep r at work (hired, not left, not away) at clock time t? (The calendar is separate.)"""
        rep = self.reps[r]
        i = bisect_right(rep.lo, t) - 1
        return i >= 0 and t < rep.hi[i]

    def next_available(self, r: int, t: float) -> float:
        """t if rep r is available at t, else the start of its next available stretch (inf if none)."""
        rep = self.reps[r]
        i = bisect_right(rep.lo, t) - 1
        if i >= 0 and t < rep.hi[i]:
            return t
        return rep.lo[i + 1] if i + 1 < len(rep.lo) else math.inf

    def away_starts(self, r: int) -> list[tuple[float, float]]:
        """(start, end) of every stretch rep r is away after having been available: the times the
        engine must send an idle rep away (its last day counts: end = inf)."""
        rep = self.reps[r]
        return [(rep.hi[i], rep.lo[i + 1] if i + 1 < len(rep.lo) else math.inf) for i in range(len(rep.hi))]

    def available_minutes_by_day(self, cal: BusinessCalendar, days: int, ramped: bool = False) -> np.ndarray:
        """Per day (0..days-1): the team's available working minutes (reps at work x open hours);
        `ramped`: each rep's minutes weighted by its productivity at noon that day (ramp)."""
        out = np.zeros(days)
        opening = np.array([cal.open_minute if cal.is_working_day(d) else 0.0 for d in range(days)])
        closing = np.array([cal.close_minute if cal.is_working_day(d) else 0.0 for d in range(days)])
        if self.local_hours:     # the reps' own hours are in their availability: count the whole day
            opening, closing = np.zeros(days), np.full(days, DAY)
        base = np.arange(days) * DAY
        for rep in self.reps:
            weight = np.ones(days)
            if ramped and rep.ramp_until > rep.start:
                weight = np.array([rep.productivity(t) for t in base + DAY / 2])
            for lo, hi in zip(rep.lo, rep.hi):
                a = np.clip(lo - base, opening, closing)
                b = np.clip(hi - base, opening, closing)
                out += np.maximum(b - a, 0.0) * weight
        return out


def _available(rep: Rep, end: float) -> tuple[list[float], list[float]]:
    """[start, leave) minus the rep's away stretches, as sorted disjoint intervals."""
    lo, hi = [], []
    t = rep.start
    stop = min(rep.leave, end + DAY)
    for a, b in sorted(rep.off):
        if b <= t:
            continue
        if a >= stop:
            break
        if a > t:
            lo.append(t)
            hi.append(a)
        t = max(t, b)
    if t < stop:
        lo.append(t)
        hi.append(rep.leave)     # inf for a rep who stays
    return lo, hi


def _local_hours(cal: BusinessCalendar, offset: float, end: float) -> tuple[list[float], list[float]]:
    """The calendar's working periods in a local time `offset` minutes ahead, on the calendar's clock."""
    lo, hi = [], []
    for d in range(int(math.ceil((end + abs(offset)) / DAY)) + 1):
        if cal.is_working_day(d):
            lo.append(d * DAY + cal.open_minute - offset)
            hi.append(d * DAY + cal.close_minute - offset)
    return lo, hi


def _intersect(alo: list[float], ahi: list[float], blo: list[float], bhi: list[float]) -> tuple[list[float], list[float]]:
    """Intersection of two sorted lists of disjoint intervals [lo, hi)."""
    lo, hi = [], []
    i = j = 0
    while i < len(alo) and j < len(blo):
        a, b = max(alo[i], blo[j]), min(ahi[i], bhi[j])
        if a < b:
            lo.append(a)
            hi.append(b)
        if ahi[i] < bhi[j]:
            i += 1
        else:
            j += 1
    return lo, hi


def always_open(cal: BusinessCalendar) -> BusinessCalendar:
    """A 24/7 calendar over the same days (the team clock when reps keep their own local hours)."""
    from sim.calendar import WEEKDAY_NAMES
    return BusinessCalendar(cal.start_date, WEEKDAY_NAMES, dt.time(0, 0), None, (), cal.end)


def _date_minutes(start_date: dt.date, d: dt.date) -> float:
    return (d - start_date).days * DAY


def build_roster(sales: Sales, workers: int, world: World, cal: BusinessCalendar) -> Roster:
    """The reps of one world: `workers` initial seats (the policy's headcount), then the hiring plan,
    each seat's holders with their skills, leaving times and absences."""
    key, end = roster_key(world), world.end
    start_date = cal.start_date
    seats: list[tuple[float, bool]] = [(0.0, False)] * workers          # (first day, ramps)
    for h in sorted(sales.hires, key=lambda h: h.date):
        seats += [(max(_date_minutes(start_date, h.date), 0.0), True)] * h.count
    working = [d for d in range(int(math.ceil(end / DAY)) + 1) if cal.is_working_day(d)]
    ramp = sales.ramp.weeks * WEEK
    rate = sales.attrition.annual_rate / YEAR         # leavers per rep-minute
    lag = sales.attrition.hiring_lag.minutes if sales.attrition.annual_rate > 0 else 0.0
    tz = sales.time_zones
    local = bool(tz.offsets) and bool(tz.rep_regions)
    first: list[Rep] = []
    later: list[Rep] = []
    for s, (t0, ramps) in enumerate(seats):
        region = tz.rep_regions[s % len(tz.rep_regions)] if local else None
        offset = tz.offsets.get(region, 0.0) * 60.0 if region is not None else 0.0
        g = 0
        while t0 < end:
            u = _uniforms(key, s, g)
            leave = math.inf
            if rate > 0:
                leave = t0 - math.log1p(-min(u(P_LEAVE, 0), 1 - 1e-12)) / rate
            rep = Rep(seat=s, holder=g, start=t0, leave=leave,
                      ramp_until=t0 + ramp if (ramps or g > 0) and ramp > 0 else t0, ramp_start=sales.ramp.start,
                      contact_skill=_lognormal_mean1(sales.skill.contact_spread, u(P_CONTACT_SKILL, 0)),
                      qualify_skill=_lognormal_mean1(sales.skill.qualify_spread, u(P_QUALIFY_SKILL, 0)),
                      region=REGIONS.index(region) if region is not None else -1, offset=offset)
            rep.off = [(a - offset, b - offset) for a, b in _absences(sales, rep, s, start_date, working, u)]
            (first if g == 0 else later).append(rep)
            if not (math.isfinite(leave) and sales.attrition.replace):
                break
            t0, g = leave + lag, g + 1
    later.sort(key=lambda r: (r.start, r.seat))
    return Roster(first + later, end, cal if local else None)


def _uniforms(key: int, seat: int, holder: int) -> Callable[[int, int], float]:
    """u(purpose, k): the k-th uniform of one purpose for one rep (seat, holder)."""
    base = (seat * HOLDERS_PER_SEAT + holder) * DRAWS_PER_HOLDER

    def u(purpose: int, k: int) -> float:
        return lead_uniform(key, purpose, base + k)

    return u


def _lognormal_mean1(sigma: float, u: float) -> float:
    if sigma == 0:
        return 1.0
    from statistics import NormalDist
    z = NormalDist().inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
    return math.exp(sigma * z - sigma * sigma / 2)


def _absences(sales: Sales, rep: Rep, seat: int, start_date: dt.date, working: list[int],
              u: Callable[[int, int], float]) -> list[tuple[float, float]]:
    """Away stretches [lo, hi) of one rep: its seat's planned PTO while it holds the seat, random
    PTO blocks of working days, random sick days (whole days)."""
    a = sales.absence
    off = [(_date_minutes(start_date, p.start), _date_minutes(start_date, p.end) + DAY)
           for p in a.pto if p.rep == seat]
    mine = [d for d in working if rep.start <= d * DAY < rep.leave]
    if mine and a.sick_days_per_year > 0:
        p = a.sick_days_per_year / 250.0            # about 250 working days a year
        off += [(d * DAY, (d + 1) * DAY) for i, d in enumerate(mine) if u(P_SICK, i) < p]
    if mine and a.pto_days_per_year > 0:
        years = len(mine) / 250.0
        blocks = a.pto_days_per_year * years / a.pto_block_days
        n = int(blocks) + (1 if u(P_PTO, 0) < blocks - int(blocks) else 0)
        for b in range(n):
            i = int(u(P_PTO, b + 1) * len(mine))
            j = min(i + a.pto_block_days, len(mine)) - 1
            off.append((mine[i] * DAY, (mine[j] + 1) * DAY))
    return off

