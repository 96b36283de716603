"""Daily time series of one run: arrivals, MQLs, queue, backlog age and rep utilisation per day,
for load-over-time pictures and for spotting overload (e.g. after a campaign spike). With the
hand-off on, the AE team's load too (AE utilisation, SQLs waiting for an AE, meetings per day).

The series are numpy columns (`daily_columns`): a single run prints its table and steady-state
check without importing pandas; `daily` is the same as a DataFrame, for tables and figures."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.calendar import DAY, BusinessCalendar
from sim.config.scenario import Scenario
from sim.measure.kpis import backlog_business_age, team_share
from sim.sales.log import AE, SalesLog, TeamRecord
from sim.sales.outcomes import LeadOutcomes
from sim.world.model import World

if TYPE_CHECKING:
    import pandas as pd

    from sim.sales.roster import Roster

Columns = dict[str, np.ndarray]     # a table as named numpy columns of equal length


def daily(world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog, out: LeadOutcomes) -> pd.DataFrame:
    """One row per simulated day (the last, partial day dropped), as a DataFrame."""
    import pandas as pd
    return pd.DataFrame(daily_columns(world, scenario, cal, log, out))


def daily_columns(world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog, out: LeadOutcomes,
                  roster: Roster | None = None) -> Columns:
    """One row per simulated day (the last, partial day dropped), as numpy columns. With a
    `roster` (reps as people), capacity over time too, and utilisation against it: the columns
    `sim.experiment.replication.PolicyRun.daily` gives."""
    ndays = int(world.end // DAY)
    edges = np.arange(ndays + 1) * DAY
    arrivals = np.histogram(world.arrival, edges)[0]
    mqls = np.histogram(log.ep_mql_time, edges)[0]
    touches = np.histogram(log.at_start, edges)[0]
    # time-weighted queue length per day from the step function of changes
    area = _queue_area_per_day(log.sdr, world.end, ndays)
    # utilisation: MQL work inside working hours / MQL-available working time, per day
    avail = cal.business_between(edges[:-1], edges[1:]) * log.reps
    busy = _busy_per_day(log.sdr, cal, scenario.sales.mql_time_share, ndays)
    util = np.divide(busy, avail, out=np.full(ndays, np.nan), where=avail > 0)
    m = min(ndays, log.day_queue.size)
    queue_midnight = np.full(ndays, np.nan)
    oldest = np.full(ndays, np.nan)
    queue_midnight[:m] = log.day_queue[:m]
    oldest[:m] = log.day_oldest_age[:m] / 60.0
    backlog = np.full(ndays, np.nan)
    backlog[:m] = backlog_business_age(log, cal, np.arange(m)) / 60.0
    dates = (np.datetime64(scenario.start_date, "D") + np.arange(ndays)).astype("datetime64[s]")  # as pd.to_datetime(dates)
    in_window = (edges[:-1] >= world.window_start) & (edges[1:] <= world.window_end)
    cols: Columns = {
        "date": dates, "day": np.arange(ndays), "in_window": in_window,
        "arrivals": arrivals, "mql_episodes": mqls, "touches": touches,
        "queue_mean": area / DAY, "queue_at_midnight": queue_midnight, "oldest_wait_hours": oldest,
        "oldest_wait_business_hours": backlog, "rep_utilisation": util,
        "overload": (backlog > cal.workday_minutes / 60.0) & (avail > 0),
    }
    if log.has_team(AE):
        cols.update(ae_daily(world, scenario, cal, log.team(AE), ndays))
    if roster is not None:
        with_capacity(cols, roster, log.reps, cal)
    return cols


def with_capacity(cols: Columns, roster: Roster, reps: int, cal: BusinessCalendar) -> None:
    """Add the roster's available and effective rep-hours per day and make utilisation relative to
    the hours available (not the full team's), in place."""
    from sim.measure.staffing import capacity_by_day
    n = cols["day"].size
    cap = capacity_by_day(roster, reps, cal, n)
    every = capacity_by_day(None, reps, cal, n)        # what daily_columns() divided by
    busy = np.asarray(cols["rep_utilisation"]) * every
    cols["rep_hours_available"] = cap
    cols["rep_hours_effective"] = capacity_by_day(roster, reps, cal, n, ramped=True)
    cols["rep_utilisation"] = np.divide(busy, cap, out=np.full(n, np.nan), where=cap > 0)


def concat_columns(parts: list[Columns]) -> Columns:
    """Tables of numpy columns one after the other, as `pandas.concat` would give them (columns in
    order of first appearance; one missing from a part is NaN there, the column then float)."""
    if len(parts) == 1:
        return parts[0]
    names = list(dict.fromkeys(c for p in parts for c in p))
    if all(list(p) == names for p in parts):
        return {c: np.concatenate([p[c] for p in parts]) for c in names}
    import pandas as pd  # columns differ between parts: rare, let pandas align them
    df = pd.concat([pd.DataFrame(p) for p in parts], ignore_index=True)
    return {c: df[c].to_numpy() for c in df.columns}


def ae_daily(world: World, scenario: Scenario, cal: BusinessCalendar, ae: TeamRecord,
             ndays: int) -> dict[str, np.ndarray]:
    """The AE team's load per day: utilisation (meeting work in the AEs' working hours / their
    meeting-available working time), SQLs waiting for an AE (time-weighted mean), meetings due and held."""
    from sim.sales.handoff import HandoffParams

    ae_cal = HandoffParams.resolve(scenario).calendar(cal)
    edges = np.arange(ndays + 1) * DAY
    avail = ae_cal.business_between(edges[:-1], edges[1:]) * ae.workers
    busy = _busy_per_day(ae, ae_cal, team_share(scenario, AE), ndays)
    return {
        "ae_utilisation": np.divide(busy, avail, out=np.full(ndays, np.nan), where=avail > 0),
        "sqls_waiting_for_ae": _queue_area_per_day(ae, world.end, ndays) / DAY,
        "ae_meetings": np.histogram(ae.start, edges)[0],
        "ae_meetings_held": np.histogram(ae.start[ae.contact], edges)[0],
    }


def _queue_area_per_day(team: TeamRecord, end: float, ndays: int) -> np.ndarray:
    """Integral of a team's number waiting over each day, from its step function of changes."""
    t, n = team.q_time, team.q_len
    nxt = np.append(t[1:], end)
    d0 = np.clip((t // DAY).astype(np.int64), 0, ndays)
    d1 = np.clip((nxt // DAY).astype(np.int64), 0, ndays)
    same = d0 == d1
    keep = same & (d0 < ndays)
    # levels within one day, summed per day in order (bincount adds as np.add.at did: same floats)
    area = np.bincount(d0[keep], weights=(n * (nxt - t))[keep], minlength=ndays)[:ndays]
    span = np.flatnonzero(~same)     # levels spanning midnight (about one a day): split day by day
    if span.size:
        last = np.minimum(d1[span], ndays - 1)
        count = np.maximum(last - d0[span] + 1, 0)
        i = np.repeat(span, count)
        d = d0[i] + (np.arange(i.size) - np.repeat(np.cumsum(count) - count, count))
        a = np.maximum(t[i], d * DAY)
        b = np.minimum(nxt[i], (d + 1) * DAY)
        ok = b > a
        np.add.at(area, d[ok], (n[i] * (b - a))[ok])    # in the order the loop added them
    return area


def _busy_per_day(team: TeamRecord, cal: BusinessCalendar, share: float, ndays: int) -> np.ndarray:
    """Blocked working minutes per day: each attempt's span (handle / share) split at midnights."""
    start, end = team.start, team.start + team.handle / share
    d0 = np.clip((start // DAY).astype(np.int64), 0, ndays)
    d1 = np.clip((np.nextafter(end, -np.inf) // DAY).astype(np.int64), d0, ndays)
    span = d1 - d0 + 1
    idx = np.repeat(np.arange(start.size), span)
    day = d0[idx] + (np.arange(idx.size) - np.repeat(np.cumsum(span) - span, span))
    lo = np.maximum(start[idx], day * DAY)
    hi = np.minimum(end[idx], (day + 1) * DAY)
    work = np.asarray(cal.business_between(lo, np.maximum(hi, lo)))
    keep = day < ndays
    return np.bincount(day[keep], weights=work[keep], minlength=ndays)[:ndays]
