"""Load-dependent quality: was the SDR team overloaded just before a conversation?

Why: a team running flat out shortens conversations and qualifies less carefully; the scenario's
`load_quality` turns both on, for conversations held after a working day (business time) of SDR
utilisation above a level. The shorter conversation is decided during the run (`Rushed`, called
by the SDR stage for each attempt that reaches its lead); the lower chance of SQL after it, from
the attempt log (`under_load`, vectorised). Both measure the same utilisation.
"""
from __future__ import annotations

import heapq
from typing import TYPE_CHECKING, Callable

import numpy as np

from sim.calendar import BusinessCalendar
from sim.sales.log import SalesLog

if TYPE_CHECKING:
    from sim.config.scenario import Scenario
    from sim.sales.team import TeamLog

Shorten = Callable[[float, float], float]              # (now, conversation minutes) -> minutes


class Rushed:
    """During the SDR run: the team's utilisation over the working day before `now`, from its log
    so far, and the conversation's length, shortened by `factor` when that is above `above`.

    Incremental: busy(b) = sum over attempts of clip(b - start, 0, end - start) (business minutes)
    = n b - sum(starts) - sum over ended spans (b - end); starts arrive in time order, ends are kept
    in two heaps (one per bound of the window) and folded into running sums as the bounds pass them."""

    def __init__(self, log: TeamLog, cal: BusinessCalendar, share: float, above: float, factor: float):
        self.log, self.cal, self.share, self.above, self.factor = log, cal, share, above, factor
        self.seen = 0
        self.starts: list[float] = []          # business start of every attempt seen, in order
        self.sum_starts = [0.0]                # prefix sums of starts
        self.ends_hi: list[float] = []         # heap: ends not yet passed by the window's end
        self.ends_lo: list[float] = []         # heap: ends not yet passed by the window's start
        self.done_hi = [0.0, 0.0]              # (count, sum) of ends passed by the window's end
        self.done_lo = [0.0, 0.0]
        self.lo_start = 0                      # starts passed by the window's start

    def _ingest(self) -> None:
        log, bt = self.log, self.cal.business_time
        for t, h in zip(log.start[self.seen:], log.handle[self.seen:]):
            s, e = float(bt(t)), float(bt(t + h / self.share))
            self.starts.append(s)
            self.sum_starts.append(self.sum_starts[-1] + s)
            heapq.heappush(self.ends_hi, e)
            heapq.heappush(self.ends_lo, e)
        self.seen = len(log.start)

    @staticmethod
    def _pass(heap: list[float], done: list[float], b: float) -> None:
        while heap and heap[0] <= b:
            e = heapq.heappop(heap)
            done[0] += 1
            done[1] += e

    def utilisation(self, now: float) -> float:
        """Team utilisation over the working day (business time) before `now`; 0 with none."""
        self._ingest()
        workers = self.log.workers
        b1 = float(self.cal.business_time(now))
        b0 = max(b1 - self.cal.workday_minutes, 0.0)
        if workers <= 0 or b1 <= b0:
            return 0.0
        n = len(self.starts)                   # every start seen is at or before now
        self._pass(self.ends_hi, self.done_hi, b1)
        busy1 = n * b1 - self.sum_starts[n] - (self.done_hi[0] * b1 - self.done_hi[1])
        while self.lo_start < n and self.starts[self.lo_start] <= b0:
            self.lo_start += 1
        k = self.lo_start
        self._pass(self.ends_lo, self.done_lo, b0)
        busy0 = k * b0 - self.sum_starts[k] - (self.done_lo[0] * b0 - self.done_lo[1])
        return (busy1 - busy0) / (workers * (b1 - b0))

    def __call__(self, now: float, h: float) -> float:
        return h * self.factor if self.utilisation(now) > self.above else h


def rushed_for(scenario: Scenario) -> Callable[[TeamLog, BusinessCalendar], Shorten] | None:
    """What the SDR stage builds its `Rushed` from, or None when load quality is off or leaves
    conversations their length (then the stage does no extra work)."""
    lq = scenario.load_quality
    if not lq.enabled or lq.handle_factor == 1.0 or scenario.queueing.textbook:
        return None
    share, above, factor = scenario.sales.mql_time_share, lq.above, lq.handle_factor

    def build(log: TeamLog, cal: BusinessCalendar) -> Shorten:
        return Rushed(log, cal, share, above, factor)

    return build


def busy_business(log: SalesLog, cal: BusinessCalendar, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Each SDR attempt's blocked span (handle / share) as [start, end) in business minutes, sorted
    separately: the inputs of `busy_until`."""
    s = np.asarray(cal.business_time(log.at_start), dtype=float)
    e = np.asarray(cal.business_time(log.at_start + log.at_handle / share), dtype=float)
    return np.sort(s), np.sort(e)


def busy_until(starts: np.ndarray, ends: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Total blocked business minutes of all SDRs before business time b:
    sum over attempts of clip(b - start, 0, end - start) = sum_{start <= b} (b - start) - sum_{end <= b} (b - end)."""
    cs = np.concatenate([[0.0], np.cumsum(starts)])
    ce = np.concatenate([[0.0], np.cumsum(ends)])
    ns = np.searchsorted(starts, b, side="right")
    ne = np.searchsorted(ends, b, side="right")
    out: np.ndarray = (ns * b - cs[ns]) - (ne * b - ce[ne])
    return out


def recent_utilisation(log: SalesLog, cal: BusinessCalendar, share: float, t: np.ndarray) -> np.ndarray:
    """SDR utilisation over the working day (in business time) before each clock time t; NaN
    where there is no working time before t or no reps."""
    t = np.asarray(t, dtype=float)
    if log.reps <= 0 or t.size == 0:
        return np.full(t.shape, np.nan)
    starts, ends = busy_business(log, cal, share)
    b1 = np.asarray(cal.business_time(t), dtype=float)
    b0 = np.maximum(b1 - cal.workday_minutes, 0.0)
    span = (b1 - b0) * log.reps
    busy = busy_until(starts, ends, b1) - busy_until(starts, ends, b0)
    out: np.ndarray = np.divide(busy, span, out=np.full(t.shape, np.nan), where=span > 0)
    return out


def under_load(log: SalesLog, cal: BusinessCalendar, share: float, t: np.ndarray, above: float) -> np.ndarray:
    """Per clock time t (a conversation): was the SDR team's utilisation over the working day
    before it above `above`?"""
    u = recent_utilisation(log, cal, share, t)
    out: np.ndarray = np.nan_to_num(u, nan=0.0) > above
    return out
