"""Business calendar: converts between clock time and working time.

Simulated times are float minutes since ``start_date`` 00:00 (local wall-clock time of the sales
team; no time zones or daylight saving). SLAs such as "4bh" or "3bd" are promises in *working*
time: a lead that arrives Friday evening has not waited two days of the rep's time on Monday
morning. ``B(t)`` (working minutes elapsed from 0 to clock ``t``) turns such promises into clock
deadlines and lets reports measure waits the way the SLA defines them.

Why precomputed per-day arrays: every working day has the same hours, so ``B`` is piecewise linear
with one kink at each opening and closing. One row per day (opening minute, working minutes,
cumulative working minutes at the day's start) makes ``B`` an O(1) lookup and its inverse a binary
search, with no loop over days at call time. Scalars (called from the SimPy loop, maybe 100k times
per run) use plain Python lists and ``bisect``; arrays use numpy.

Beyond the horizon: the calendar covers whole days ``[0, end)``; after ``end`` nothing is open, so
``B`` stays flat at its total, ``next_open`` returns ``inf`` and a business deadline that would fall
after ``end`` is ``inf`` (it never fires inside the simulation). Times before 0 count as 0.
``from_scenario`` adds a margin of ``MARGIN_DAYS`` past the run-out so lookups just past the end work.
"""
from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from typing import TYPE_CHECKING, Any, Callable, Iterable, overload

import numpy as np
from numpy.typing import NDArray

from sim.config.units import Duration
from sim.vocab import WEEKDAYS

if TYPE_CHECKING:  # only for the type hint: keeps this module importable without the schemas
    from sim.config.scenario import Scenario

DAY = 1440.0
Array = NDArray[Any]   # times as numpy arrays (float minutes; ints accepted)
WEEKDAY_NAMES = WEEKDAYS  # date.weekday() order


def _minute_of_day(t: dt.time) -> float:
    return t.hour * 60.0 + t.minute + t.second / 60.0 + t.microsecond / 60e6


class BusinessCalendar:
    """Working periods ``[open, close)`` on working weekdays that are not holidays.

    Attributes: ``workday_minutes`` (close - open), ``n_days`` and ``end`` (= n_days * 1440, the
    first minute the calendar no longer covers), ``total_business`` (= B(end)).
    """

    MARGIN_DAYS = 60

    def __init__(self, start_date: dt.date, workdays: Iterable[str], open: dt.time, close: dt.time | None,
                 holidays: Iterable[dt.date], horizon_minutes: float) -> None:
        """`close` None means midnight at the end of the day (24:00), e.g. a team working 24/7."""
        workdays = list(workdays)
        unknown = [d for d in workdays if d not in WEEKDAY_NAMES]
        if unknown:
            raise ValueError(f"unknown weekday(s) {unknown}; use {', '.join(WEEKDAY_NAMES)}")
        self.open_minute = _minute_of_day(open)
        self.close_minute = DAY if close is None else _minute_of_day(close)
        if self.close_minute <= self.open_minute:
            raise ValueError(f"close ({close}) must be after open ({open})")
        if not math.isfinite(horizon_minutes) or horizon_minutes < 0:
            raise ValueError(f"horizon_minutes must be finite and >= 0, got {horizon_minutes}")
        self.start_date = start_date
        self.workday_minutes = self.close_minute - self.open_minute
        self.workdays = frozenset(workdays)
        self.holidays = frozenset(holidays)
        self.n_days = max(1, math.ceil(horizon_minutes / DAY))
        self.end = self.n_days * DAY

        working = np.array([WEEKDAY_NAMES[self.day_date(d).weekday()] in self.workdays
                            and self.day_date(d) not in self.holidays for d in range(self.n_days)])
        self._work_np = np.where(working, self.workday_minutes, 0.0)       # working minutes per day
        self._open_np = np.arange(self.n_days) * DAY + self.open_minute    # absolute opening minute
        self._cum_np = np.concatenate([[0.0], np.cumsum(self._work_np)])  # B at each day's start (n+1)
        self._cum_end_np = self._cum_np[1:]                                # B at each day's end
        self.total_business = float(self._cum_np[-1])
        # Python lists for the scalar paths (indexing numpy from Python is ~10x slower).
        self._work: list[float] = self._work_np.tolist()
        self._cum: list[float] = self._cum_np.tolist()
        self._cum_end: list[float] = self._cum_end_np.tolist()
        self._working_days: list[int] = np.flatnonzero(working).tolist()             # sorted indices of working days

    @classmethod
    def from_scenario(cls, scenario: "Scenario", margin_days: int | None = None) -> "BusinessCalendar":
        """Calendar over warm-up + window + run-out plus a margin, so that deadlines set near the
        end of the run (and reports looking slightly past it) still resolve."""
        h, c = scenario.horizon, scenario.calendar
        margin = cls.MARGIN_DAYS if margin_days is None else margin_days
        horizon = h.warmup.minutes + h.window.minutes + h.runout.minutes + margin * DAY
        if scenario.queueing.textbook:   # reps available 24/7
            return cls(scenario.start_date, WEEKDAY_NAMES, dt.time(0, 0), None, (), horizon)
        return cls(scenario.start_date, c.workdays, c.open, c.close, c.holidays, horizon)

    # ---- days ---------------------------------------------------------------------------------
    @overload
    def day_index(self, t: float) -> int: ...
    @overload
    def day_index(self, t: Array) -> NDArray[np.int64]: ...
    def day_index(self, t: float | Array) -> int | NDArray[np.int64]:
        """Day number of clock time t (day 0 = start_date)."""
        if isinstance(t, (int, float)):
            return int(t // DAY)
        days: NDArray[np.int64] = np.floor_divide(np.asarray(t, dtype=float), DAY).astype(np.int64)
        return days

    def day_date(self, day: int) -> dt.date:
        """Calendar date of day number ``day``."""
        return self.start_date + dt.timedelta(days=int(day))

    def is_working_day(self, day: int) -> bool:
        """True if day number ``day`` (inside the calendar) has working hours."""
        return 0 <= day < self.n_days and self._work[day] > 0.0

    # ---- clock <-> business -------------------------------------------------------------------
    @overload
    def business_time(self, t: float) -> float: ...
    @overload
    def business_time(self, t: Array) -> float | NDArray[np.float64]: ...
    def business_time(self, t: float | Array) -> float | NDArray[np.float64]:
        """B(t): working minutes elapsed from 0 to clock t. Continuous and non-decreasing; flat
        outside working periods, before 0 (B = 0) and after ``end`` (B = total_business)."""
        if isinstance(t, (int, float)):
            if t <= 0.0:
                return 0.0
            if t >= self.end:
                return self.total_business
            d = int(t // DAY)
            w = self._work[d]
            if w == 0.0:
                return self._cum[d]
            x = t - d * DAY - self.open_minute
            return self._cum[d] + (0.0 if x <= 0.0 else (w if x >= w else x))
        arr = np.asarray(t, dtype=float)
        nan = np.isnan(arr)
        tc = np.where(nan, 0.0, np.clip(arr, 0.0, self.end))      # +-inf are clipped too
        days = np.minimum(tc // DAY, self.n_days - 1).astype(np.int64)
        x = np.clip(tc - days * DAY - self.open_minute, 0.0, self._work_np[days])
        out: NDArray[np.float64] = np.where(nan, np.nan, self._cum_np[days] + x)
        return out if out.ndim else float(out)

    @overload
    def clock_time(self, b: float) -> float: ...
    @overload
    def clock_time(self, b: Array) -> float | NDArray[np.float64]: ...
    def clock_time(self, b: float | Array) -> float | NDArray[np.float64]:
        """Inverse of B: the earliest clock t with B(t) = b. The result is inside a working period
        or at its boundary (b exactly at a day's end gives that day's close, not the next opening).
        b <= 0 gives 0; b > total_business gives inf (after the calendar's end)."""
        if isinstance(b, (int, float)):
            if b <= 0.0:
                return 0.0
            if b > self.total_business:
                return math.inf
            d = bisect_left(self._cum_end, b)            # first day whose end-of-day B reaches b
            return d * DAY + self.open_minute + (b - self._cum[d])
        arr = np.asarray(b, dtype=float)
        days = np.minimum(np.searchsorted(self._cum_end_np, arr, side="left"), self.n_days - 1)
        out: NDArray[np.float64] = self._open_np[days] + (arr - self._cum_np[days])
        out = np.where(arr <= 0.0, 0.0, np.where(arr > self.total_business, np.inf, out))
        out = np.where(np.isnan(arr), np.nan, out)
        return out if out.ndim else float(out)

    def business_between(self, t0: float | Array, t1: float | Array) -> float | NDArray[np.float64]:
        """Working minutes between clock t0 and t1: B(t1) - B(t0) (negative if t1 < t0)."""
        return self.business_time(t1) - self.business_time(t0)

    def elapsed(self, t0: float | Array, t1: float | Array, business: bool) -> float | NDArray[np.float64]:
        """A wait measured the way an SLA defines it: working minutes or clock minutes."""
        if business:
            return self.business_between(t0, t1)
        if isinstance(t0, (int, float)) and isinstance(t1, (int, float)):
            return float(t1) - float(t0)
        wait: NDArray[np.float64] = np.asarray(t1, dtype=float) - np.asarray(t0, dtype=float)
        return wait

    # ---- working periods ----------------------------------------------------------------------
    def is_open(self, t: float) -> bool:
        """True if t is inside a working period [open, close)."""
        if not 0.0 <= t < self.end:
            return False
        d = int(t // DAY)
        base = d * DAY  # compare with the same expressions next_open/period_end return (float-exact)
        return self._work[d] > 0.0 and base + self.open_minute <= t < base + self.close_minute

    def next_open(self, t: float) -> float:
        """t if the calendar is open at t, else the next opening time (inf if none before ``end``).
        O(log days): a binary search over the working days, so an all-holiday horizon cannot hang."""
        if t < 0.0:
            t = 0.0
        if t >= self.end:
            return math.inf
        d = int(t // DAY)
        if self._work[d] > 0.0:
            base = d * DAY
            if t < base + self.open_minute:
                return base + self.open_minute
            if t < base + self.close_minute:
                return t
        i = bisect_right(self._working_days, d)          # first working day after day d
        if i == len(self._working_days):
            return math.inf
        return self._working_days[i] * DAY + self.open_minute

    def period_end(self, t: float) -> float:
        """Closing time of the working period containing t (t must be open)."""
        if not self.is_open(t):
            raise ValueError(f"t = {t} is not inside a working period")
        return int(t // DAY) * DAY + self.close_minute

    # ---- deadlines ----------------------------------------------------------------------------
    @overload
    def add(self, t: float, d: Duration | str) -> float: ...
    @overload
    def add(self, t: Array, d: Duration | str) -> float | NDArray[np.float64]: ...
    def add(self, t: float | Array, d: Duration | str) -> float | NDArray[np.float64]:
        """Deadline t + d. Clock units add clock minutes. Business units add working time: the
        earliest clock time at which B has grown by d since t (so "1bh" from Friday 16:30 is Monday
        9:30, and "1bd" from Monday 10:00 is Tuesday 10:00). Never earlier than t; inf if the
        deadline falls after the calendar's end. Vectorised over t."""
        if not isinstance(d, Duration):
            d = Duration.parse(d)
        scalar = isinstance(t, (int, float))
        if not d.is_business:
            return t + d.minutes if scalar else np.asarray(t, dtype=float) + d.minutes
        work = d.business_minutes(self.workday_minutes)
        if scalar:
            return t if work <= 0.0 else max(t, self.clock_time(self.business_time(t) + work))
        arr = np.asarray(t, dtype=float)
        out = arr.copy() if work <= 0.0 else np.maximum(arr, self.clock_time(self.business_time(arr) + work))
        return out if out.ndim else float(out)

    def adder(self, d: Duration | str) -> Callable[[float], float]:
        """A scalar ``t -> add(t, d)`` specialised to one duration, for the SimPy loop (which sets
        a cadence or SLA timer per attempt): the duration is parsed once and the business-time
        lookups are inlined. Same arithmetic as ``add``, so the same floats."""
        if not isinstance(d, Duration):
            d = Duration.parse(d)
        if not d.is_business:
            minutes = d.minutes
            return lambda t: t + minutes
        work = d.business_minutes(self.workday_minutes)
        if work <= 0.0:
            return lambda t: t
        end, total, open_minute = self.end, self.total_business, self.open_minute
        works, cum, cum_end = self._work, self._cum, self._cum_end

        def add(t: float) -> float:
            if t <= 0.0:                                      # b = business_time(t)
                b = 0.0
            elif t >= end:
                b = total
            else:
                day = int(t // DAY)
                w = works[day]
                if w == 0.0:
                    b = cum[day]
                else:
                    x = t - day * DAY - open_minute
                    b = cum[day] + (0.0 if x <= 0.0 else (w if x >= w else x))
            b += work                                         # clock_time(b), then max(t, .)
            if b > total:
                return math.inf
            day = bisect_left(cum_end, b)
            c = day * DAY + open_minute + (b - cum[day])
            return c if c > t else t
        return add

    def __repr__(self) -> str:
        days = ",".join(w for w in WEEKDAY_NAMES if w in self.workdays)
        return (f"BusinessCalendar({self.start_date}, {days}, {self.open_minute:g}-{self.close_minute:g} min, "
                f"{len(self.holidays)} holidays, {self.n_days} days)")
