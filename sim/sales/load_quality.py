"""Load-dependent quality: was the SDR team overloaded just before a conversation?

Why: a team running flat out shortens conversations and qualifies less carefully; the scenario's
`load_quality` turns that on by lowering the chance of SQL of conversations held after a working
day of SDR utilisation above a level. Measured on the attempt log after the run (vectorised), so
the SDR stage itself is unchanged.
"""
from __future__ import annotations

import numpy as np

from sim.calendar import BusinessCalendar
from sim.sales.log import SalesLog


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
