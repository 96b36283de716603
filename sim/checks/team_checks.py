"""Checks that hold for any team's log (SDRs or AEs): workers in range, work in working hours, one
thing at a time, a queue log that is a proper step function; plus the helpers every family of
invariants shares (the message line, the float slack, episodes in order). See
`sim.checks.invariants` for the families themselves.
"""
from __future__ import annotations

import numpy as np

from sim.calendar import DAY, BusinessCalendar
from sim.sales.log import SalesLog, TeamRecord

TOL = 1e-6          # minutes: float slack for times computed along different paths


def message(name: str, bad: np.ndarray, what: str, ids: np.ndarray | None = None, label: str = "lead") -> list[str]:
    """One message if any `bad`, naming how many and the first offender."""
    bad = np.asarray(bad, dtype=bool)
    if not bad.any():
        return []
    first = int(np.flatnonzero(bad)[0])
    who = int(ids[first]) if ids is not None else first
    return [f"{name}: {what} ({int(bad.sum())} case(s), e.g. {label} {who})"]


def episode_order(log: SalesLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(order by lead then index, position of each sorted episode within its lead, is-last flag)."""
    order = np.lexsort((log.ep_index, log.ep_lead))
    lead = log.ep_lead[order]
    new = np.ones(order.size, bool)
    new[1:] = lead[1:] != lead[:-1]
    starts = np.flatnonzero(new)
    pos = np.arange(order.size) - np.repeat(starts, np.diff(np.append(starts, order.size)))
    last = np.append(new[1:], True) if order.size else new
    return order, pos, last


def attempt_episodes(log: SalesLog) -> tuple[np.ndarray, np.ndarray]:
    """(attempts sorted by lead then start, the episode of each): a lead's episodes follow one
    another in time, so its k-th attempt belongs to the episode whose attempts cover position k."""
    at_order = np.lexsort((log.at_start, log.at_lead))
    ep_order, _, _ = episode_order(log)
    return at_order, np.repeat(ep_order, log.ep_attempts[ep_order])


def is_open(cal: BusinessCalendar, t: np.ndarray) -> np.ndarray:
    """`cal.is_open` for an array, with the same float expressions (one scalar call per day)."""
    t = np.asarray(t, dtype=float)
    ok = (t >= 0.0) & (t < cal.end)
    d = np.floor_divide(np.where(ok, t, 0.0), DAY).astype(np.int64)
    days, inv = np.unique(d, return_inverse=True)
    working = np.array([cal.is_working_day(int(x)) for x in days.tolist()], bool)[inv.reshape(-1)] if t.size else ok
    base = d * DAY
    return ok & working & (base + cal.open_minute <= t) & (t < base + cal.close_minute)


def team_violations(name: str, team: TeamRecord, cal: BusinessCalendar, share: float, hours: bool = True) -> list[str]:
    """The rules of any team: workers in range, positive finite work, started in the team's working
    hours (unless `hours` is False: reps in time zones keep their own local hours), one thing at a
    time (a unit of work blocks its worker for handle / share)."""
    p: list[str] = []
    p += message(name, (team.worker < 0) | (team.worker >= team.workers), f"rep outside [0, {team.workers})", team.item)
    p += message(name, ~(team.handle > 0) | ~np.isfinite(team.handle), "handling time not positive and finite",
              team.item)
    if hours:
        p += message(name, ~is_open(cal, team.start), "touch outside the working hours", team.item)
    by_rep = np.lexsort((team.start, team.worker))
    r, s, h = team.worker[by_rep], team.start[by_rep], team.handle[by_rep]
    same = r[1:] == r[:-1]
    p += message(name, same & (s[1:] < s[:-1] + h[:-1] / share - TOL), "a rep started an attempt while busy",
              team.item[by_rep][1:])
    return p


def queue_area(log: SalesLog | TeamRecord, end: float) -> float:
    """Integral of the number waiting over [0, end] from a team's queue log (a SalesLog: the SDRs')."""
    t = np.append(log.q_time, end)
    return float(np.sum(log.q_len * np.diff(t)))


def queue_log_violations(name: str, team: TeamRecord) -> list[str]:
    """A team's queue log is a proper step function: never negative, +-1 at a time, in time order."""
    p: list[str] = []
    t, q = team.q_time, team.q_len
    p += message(name, q < 0, "negative number waiting", np.arange(q.size), "change")
    # an MQL pushed at its own time may be stamped an ulp before the clock's last event: slack TOL
    p += message(name, np.diff(t) < -TOL, "queue changes out of time order", np.arange(q.size), "change")
    p += message(name, np.abs(np.diff(q)) != 1, "the queue changed by other than one", np.arange(q.size), "change")
    p += message(name, (team.day_queue < 0) | ~(team.day_oldest_age >= 0), "negative midnight sample",
              np.arange(team.day_queue.size), "day")
    return p
