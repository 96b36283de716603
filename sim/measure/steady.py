"""Warm-up and steady-state diagnostics on the daily series of a results folder.

Two questions, asked per (scenario, point, policy) of the ``timeseries`` table:

1. **Is the warm-up long enough?** The initial transient (queues start empty) is located with
   MSER (White 1997; White, Cobb & Spratt 2000) on *weekly* batch means, "MSER-7": the daily queue
   has a weekly cycle (leads arrive on weekends, nobody works them until Monday), and MSER-5's
   batches of five days would cut weeks and mistake the cycle for a transient. A batch of seven
   consecutive days, counted from day 0, holds each weekday exactly once whatever the weekday of
   the start date. As in Welch's (1983) procedure the series is first averaged over the
   replications, day by day, which removes most of the noise MSER would otherwise chase (Hoad,
   Robinson & Davies 2010 found MSER-5 on the replication average the most reliable automatic
   rule). MSER is computed on the series from day 0 (the warm-up included) to the end of the
   measurement window, with the weeks of a scheduled campaign spike and the two weeks after it
   left out (a spike is a designed disturbance, not an initial transient), and the truncation
   point is searched in the first half only (the usual guard: a minimum in the second half means
   the series is too short or has no steady state). The warm-up is *too short* when the suggested
   truncation day falls more than one batch (a week: MSER-7's resolution) after the start of the
   window **and** the transient it cuts off moves the window's mean queue by at least
   ``MATERIAL_BIAS`` (5%): a truncation point a week late that changes nothing is not worth a
   warning.

2. **Is there a steady state at all?** A trend test: the Theil-Sen slope of the weekly mean queue
   (and of the weekly mean age of the oldest waiting MQL, the backlog) over the *second half* of
   the window, on the replication-averaged series (as for MSER), with Sen's 95% interval. Sen's
   interval assumes independent weeks and weekly means are autocorrelated, so it is too narrow;
   the materiality rule carries the weight (and the false-alarm rate is measured in the tests).
   A t-interval over per-replication slopes was tried and dropped: with 2-3 replications (t with
   1-2 degrees of freedom) it missed `understaffed`. The queue "grows all window",
   and there is no steady state, when that interval lies above zero **and** the rate, kept across
   the whole window, adds a material amount: at least ``GROWTH_SHARE`` (50%) of the window's mean
   queue and at least ``GROWTH_FLOOR`` (2 MQLs; 4 business hours for the backlog). The second half
   is used because a slow transient that settles early in the window (the MQL flow builds up for
   weeks as nurtured leads re-qualify) rises only in the first half, and Theil-Sen (a median of
   pairwise slopes) because a campaign spike that comes and goes, or a holiday week, barely moves
   it: a spike that clears is not a trend.

   The offered load is reported beside it, estimated by flow balance over the window's second
   half as utilisation x (attempts made + growth of the midnight queue) / attempts made: the work
   done plus the work that piled up, as a share of the reps' MQL time. It does not decide the
   verdict on its own: under a policy whose SLA breach action recycles MQLs left waiting, the
   queue is capped (waiting leads leave, as in Erlang A) and can be steady at an offered load
   above 1, and near saturation the estimate sits at 1 +- a few percent either way.

A growing queue makes every time-based KPI (queue, waits, utilisation) and every speed-dependent
cohort KPI depend on the window's length: a longer window gives a worse number, without end.

References: P. D. Welch (1983), "The statistical analysis of simulation results", in *The Computer
Performance Modeling Handbook*; K. P. White Jr (1997), "An effective truncation heuristic for bias
reduction in simulation output", *Simulation* 69(6); A. M. Law (2015), *Simulation Modeling and
Analysis*, 5th ed., ch. 9 (warm-up, replication/deletion); K. Hoad, S. Robinson, R. Davies (2010),
"Automating warm-up length estimation", *JORS* 61.

Pure functions on the timeseries table and the manifest's scenario dicts (numpy; pandas and scipy
imported where used: a single replication's series, as numpy columns, is diagnosed without them);
`diagnostics(res)` and `flagged_lines(res)` are the thin entry points for a `Results`, which computes
the diagnostics once (and a results folder keeps them in diagnostics.json).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Mapping, Protocol, cast

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

BATCH_DAYS = 7               # MSER-7: one batch = one full weekly cycle
SPIKE_SETTLE_DAYS = 14       # weeks from a spike's start to this long after its end are left out of MSER
MIN_BATCHES = 4              # fewer usable weeks than this: the warm-up cannot be judged
MATERIAL_BIAS = 0.05         # the transient must move the window's mean queue by >= 5% to matter
GROWTH_SHARE = 0.5           # a trend must add >= 50% of the window's mean level ...
GROWTH_FLOOR = {"queue_mean": 2.0, "oldest_wait_business_hours": 4.0}   # ... and at least this much
MIN_TREND_WEEKS = 4          # fewer full window weeks than this: no trend test
LEVEL = 0.95

SERIES = {"queue_mean": ("queue", "MQLs"), "oldest_wait_business_hours": ("backlog age", "business hours")}
GROUP = ["scenario", "point", "policy"]


@dataclass
class Diagnostic:
    """Warm-up and steady-state verdict for one (scenario, point, policy).

    Days count from the start of the run (day 0 = start_date); weeks are 7-day batches. `trend_*`
    are in MQLs per week (queue); `backlog_trend*` in business hours per week.
    """

    scenario: str
    point: int
    policy: str
    replications: int
    warmup_days: int
    window_days: int
    truncation_day: int | None       # MSER-7's suggested end of the transient (None: cannot judge)
    warmup_ok: bool | None
    warmup_bias: float | None        # relative change of the window's mean queue if truncated there
    queue_first_week: float          # weekly mean queue, first and last full week of the window
    queue_last_week: float
    queue_level: float               # the window's mean queue
    trend: float                     # queue slope, MQLs per week (mean over replications)
    trend_lower: float
    trend_upper: float
    trend_late: float                # the same over the window's second half
    trend_late_lower: float
    trend_late_upper: float
    growth: float                    # trend x (window weeks - 1): fitted growth across the window
    backlog_trend: float
    backlog_trend_lower: float
    backlog_trend_upper: float
    backlog_trend_late: float
    backlog_trend_late_lower: float
    backlog_trend_late_upper: float
    backlog_growth: float
    offered_load: float              # share of the reps' MQL time the work needs (>= 1: cannot keep up)
    offered_load_lower: float
    offered_load_upper: float
    steady: bool
    verdict: str                     # "ok" | "warmup_too_short" | "no_steady_state"
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Diagnostic":
        """From `as_dict` saved as JSON, where NaN became null: null is NaN again in the fields that
        are always a number, None in those that may be None."""
        names = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {k: (math.nan if v is None and names[k] == "float" else v)
                                  for k, v in d.items() if k in names}
        return cls(**values)


# ---- the methods ------------------------------------------------------------------------------

def batch_means(y: np.ndarray, size: int = BATCH_DAYS) -> np.ndarray:
    """Means of consecutive, non-overlapping batches of `size` values (a partial last batch is dropped)."""
    y = np.asarray(y, float)
    k = y.size // size
    return y[:k * size].reshape(k, size).mean(axis=1) if k else np.zeros(0)


def mser(y: np.ndarray) -> tuple[int, np.ndarray]:
    """MSER truncation point of a series (White 1997): the d in 0 .. k//2 that minimises
    ``sum((y[d:] - mean(y[d:]))**2) / (k - d)**2``, the squared standard error of the truncated
    mean (up to a constant). Returns (d, the statistic for each candidate d).

    Apply to batch means (MSER-m); NaNs are not allowed.
    """
    y = np.asarray(y, float)
    k = y.size
    if k < 2:
        return 0, np.zeros(max(k, 0))
    ds = np.arange(k // 2 + 1)
    stat = np.array([np.sum((y[d:] - y[d:].mean()) ** 2) / (k - d) ** 2 for d in ds])
    return int(ds[np.argmin(stat)]), stat


def trend(weekly: np.ndarray) -> tuple[float, float, float]:
    """Theil-Sen slope of one weekly series (per week) with Sen's 95% interval: (slope, lower, upper)."""
    w = np.asarray(weekly, float)
    w = w[np.isfinite(w)]
    if w.size < 3 or np.ptp(w) == 0:
        return (0.0, 0.0, 0.0) if w.size >= 3 else (math.nan,) * 3
    return theil_sen(w)


def theil_sen(y: np.ndarray) -> tuple[float, float, float]:
    """`scipy.stats.theilslopes(y, np.arange(len(y)), alpha=LEVEL)`: the median pairwise slope and
    Sen's (1968) interval, with scipy's arithmetic step for step (tests/test_startup.py checks they
    are equal), written out because importing scipy.stats would cost every `run` a few tenths of a
    second for this one call. x = 0, 1, ... has no ties; ties in y widen the interval."""
    # what scipy's norm.ppf calls (scipy.special is loaded by the engine anyway)
    from sim.normal import ndtri
    x = np.arange(y.size, dtype=float)
    dx, dy = x[:, np.newaxis] - x, y[:, np.newaxis] - y
    slopes = dy[dx > 0] / dx[dx > 0]
    slopes.sort()
    med = np.median(slopes)
    alpha = 1.0 - LEVEL if LEVEL > 0.5 else LEVEL
    z = ndtri(alpha / 2.0)
    _, counts = np.unique(y, return_counts=True)
    n, nt = y.size, slopes.size
    sigsq = 1 / 18. * (n * (n - 1) * (2 * n + 5) - sum(k * (k - 1) * (2 * k + 5) for k in counts[counts > 1]))
    try:
        sigma = np.sqrt(sigsq)
        hi = min(int(np.round((nt - z * sigma) / 2.)), nt - 1)
        lo = max(int(np.round((nt + z * sigma) / 2.)) - 1, 0)
        return float(med), float(slopes[lo]), float(slopes[hi])
    except (ValueError, IndexError):
        return float(med), math.nan, math.nan


def mean_interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean over replications with a 95% t-interval (NaNs dropped); (mean, nan, nan) for one value."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan,) * 3
    m = float(x.mean())
    if x.size == 1:
        return m, math.nan, math.nan
    # several replications only: `run` with one does not pay for scipy.stats
    from scipy import stats
    h = float(stats.t.ppf(0.5 + LEVEL / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return m, m - h, m + h


def spike_days(scenario: dict[str, Any] | None) -> list[tuple[int, int]]:
    """(first day, first day after) of each scheduled spike, as days from the start date."""
    if not scenario:
        return []
    from sim.config.units import Duration
    try:
        start = dt.date.fromisoformat(str(scenario.get("start_date")))
    except ValueError:
        return []
    out = []
    for s in (scenario.get("arrivals") or {}).get("spikes") or []:
        try:
            d0 = (dt.date.fromisoformat(str(s["start"])) - start).days
            length = Duration.parse(s.get("duration", "7d")).minutes / 1440.0
        except (KeyError, ValueError):
            continue
        out.append((d0, d0 + int(math.ceil(length))))
    return out


def warmup_search(daily_mean: np.ndarray, window_start: int, window_end: int,
                  spikes: list[tuple[int, int]]) -> tuple[int | None, float | None]:
    """MSER-7 on the replication-averaged daily series from day 0 to the window's end, spike weeks
    left out. Returns (suggested truncation day, relative bias of the window mean it removes)."""
    y = np.asarray(daily_mean, float)[:window_end]
    weeks = batch_means(y)
    starts = np.arange(weeks.size) * BATCH_DAYS
    keep = np.isfinite(weeks)
    for a, b in spikes:
        keep &= ~((starts < b + SPIKE_SETTLE_DAYS) & (starts + BATCH_DAYS > a))
    if keep.sum() < MIN_BATCHES:
        return None, None
    d, _ = mser(weeks[keep])
    day = int(starts[keep][d])
    window = y[window_start:window_end]
    after = y[max(day, window_start):window_end]
    window, after = window[np.isfinite(window)], after[np.isfinite(after)]
    if not window.size or not after.size or after.mean() == 0:
        return day, None
    return day, float(abs(window.mean() - after.mean()) / abs(after.mean()))


def offered_load(rep: pd.DataFrame | Mapping[str, Any]) -> float:
    """Flow-balance estimate of one run's offered load over the second half of its window (past
    most of any transient): utilisation x (attempts made + growth of the midnight queue) / attempts
    made, i.e. the work done plus the work that piled up, as a share of the reps' MQL time. NaN
    without attempts or utilisation. `rep`: one run's daily rows in day order (a DataFrame or numpy
    columns)."""
    day = np.asarray(rep["day"]).astype(int)
    inw = np.flatnonzero(np.asarray(rep["in_window"]).astype(bool))
    w = inw[inw.size // 2:]
    if not w.size:
        return math.nan
    u = np.asarray(rep["rep_utilisation"], float)[w]
    u = u[np.isfinite(u)]
    touches = float(np.nansum(np.asarray(rep["touches"])[w]))
    if not u.size or touches <= 0:
        return math.nan
    q: dict[int, float] = dict(zip(day.tolist(), np.asarray(rep["queue_at_midnight"], float).tolist()))
    first, last = int(day[w[0]]), int(day[w[-1]])
    before = q.get(first - 1, 0.0)
    before = before if np.isfinite(before) else 0.0
    end = q.get(last, before)
    end = end if np.isfinite(end) else before
    return float(u.mean() * (touches + (end - before)) / touches)


# ---- one group ----------------------------------------------------------------------------------

def diagnose_group(ts: pd.DataFrame, scenario: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every number of a `Diagnostic` but the keys, verdict and message, for the daily series of
    one (scenario, point, policy): rows of one or more replications with `day` and `in_window`."""
    ts = ts.sort_values(["replication", "day"]) if "replication" in ts else ts.sort_values("day")
    reps = list(ts.groupby("replication", sort=False)) if "replication" in ts else [(0, ts)]
    win_days = np.sort(ts.loc[ts["in_window"].astype(bool), "day"].unique())
    w0 = int(win_days[0]) if win_days.size else 0
    w1 = int(win_days[-1]) + 1 if win_days.size else 0
    daily = ts.groupby("day")["queue_mean"].mean().reindex(np.arange(int(ts["day"].max()) + 1))
    day, bias = warmup_search(daily.to_numpy(), w0, w1, spike_days(scenario)) if win_days.size else (None, None)
    # Welch: average the replications day by day, then batch the window into weeks
    win = ts[ts["in_window"].astype(bool)]
    avg = win.groupby("day")[list(SERIES)].mean().sort_index()
    out: dict[str, Any] = {"replications": len(reps), "warmup_days": w0, "window_days": w1 - w0,
                           "truncation_day": day, "warmup_bias": bias}
    return _weekly_numbers(out, {c: avg[c].to_numpy(float) for c in SERIES}, len(avg),
                           [offered_load(r) for _, r in reps])


def diagnose_one(ts: Mapping[str, Any], scenario: dict[str, Any] | None = None) -> dict[str, Any]:
    """`diagnose_group` for the daily series of one run (a single replication) as numpy columns,
    without pandas: the same numbers (every day once, so the day-by-day means are the values)."""
    order = np.argsort(np.asarray(ts["day"]), kind="stable")
    col = {k: np.asarray(ts[k])[order] for k in ("day", "in_window", "queue_mean", "queue_at_midnight",
                                                  "oldest_wait_business_hours", "rep_utilisation", "touches")}
    day = col["day"].astype(int)
    inw = col["in_window"].astype(bool)
    win_days = np.sort(np.unique(day[inw]))
    w0 = int(win_days[0]) if win_days.size else 0
    w1 = int(win_days[-1]) + 1 if win_days.size else 0
    daily = np.full(int(day.max()) + 1, np.nan)
    daily[day] = col["queue_mean"]
    wb = warmup_search(daily, w0, w1, spike_days(scenario)) if win_days.size else (None, None)
    out: dict[str, Any] = {"replications": 1, "warmup_days": w0, "window_days": w1 - w0, "truncation_day": wb[0],
                           "warmup_bias": wb[1]}
    avg = {c: np.asarray(col[c][inw], float) for c in SERIES}
    return _weekly_numbers(out, avg, int(inw.sum()), [offered_load(col)])


def _weekly_numbers(out: dict[str, Any], avg: Mapping[str, np.ndarray], days: int,
                    loads: list[float]) -> dict[str, Any]:
    """The trend and offered-load numbers of `diagnose_group`, from the window's replication-averaged
    daily series (`avg`, `days` long) and each replication's offered load."""
    nweeks = days // BATCH_DAYS
    weekly = {col: batch_means(avg[col]) for col in SERIES}
    q = weekly["queue_mean"]
    out["queue_first_week"] = float(q[0]) if q.size else math.nan
    out["queue_last_week"] = float(q[-1]) if q.size else math.nan
    out["queue_level"] = float(np.nanmean(avg["queue_mean"])) if days else math.nan
    for col, key in (("queue_mean", "trend"), ("oldest_wait_business_hours", "backlog_trend")):
        for part, need, y in (("", MIN_TREND_WEEKS, weekly[col]),
                              ("_late", 2 * MIN_TREND_WEEKS, weekly[col][nweeks // 2:])):
            m, lo, hi = trend(y) if nweeks >= need else (math.nan,) * 3
            out[key + part], out[f"{key}{part}_lower"], out[f"{key}{part}_upper"] = m, lo, hi
        out["growth" if col == "queue_mean" else "backlog_growth"] = out[key] * (nweeks - 1) if nweeks else math.nan
    load = np.array(loads, float)
    m, lo, hi = mean_interval(load)
    if load[np.isfinite(load)].size == 1:
        lo = hi = m
    out["offered_load"], out["offered_load_lower"], out["offered_load_upper"] = m, lo, hi
    return out


def _growing(late: float, late_lower: float, weeks: int, level: float, floor: float) -> bool:
    """Grows all window: the slope over the window's second half has its 95% interval above 0 (a
    transient that settles early in the window only rises in the first half), and that rate, kept
    across the whole window, adds a material amount (>= the floor and >= GROWTH_SHARE of the
    window's mean level)."""
    if not (np.isfinite(late_lower) and late_lower > 0):
        return False
    growth = late * max(weeks - 1, 1)
    return bool(growth >= floor and growth >= GROWTH_SHARE * max(level, 0.0))


def verdict(d: dict[str, Any]) -> tuple[bool, str, str]:
    """(steady, verdict, one-line message) from the numbers of `diagnose_group`."""
    weeks = d["window_days"] // BATCH_DAYS
    queue_grows = _growing(d["trend_late"], d["trend_late_lower"], weeks, d["queue_level"],
                           GROWTH_FLOOR["queue_mean"])
    backlog_grows = _growing(d["backlog_trend_late"], d["backlog_trend_late_lower"], weeks, 0.0,
                             GROWTH_FLOOR["oldest_wait_business_hours"])
    load = (f"offered load {d['offered_load']:.2f} of capacity" if np.isfinite(d["offered_load"]) else "")
    if queue_grows or backlog_grows:
        what = [f"weekly mean queue {d['queue_first_week']:.1f} -> {d['queue_last_week']:.1f} MQLs across the "
                f"{weeks}-week window, {d['trend_late']:+.1f}/week in its second half (95% CI "
                f"{d['trend_late_lower']:.1f} to {d['trend_late_upper']:.1f})"]
        if backlog_grows:
            what.append(f"oldest MQL's wait +{d['backlog_trend_late']:.1f} business h/week")
        if load:
            what.append(load)
        return False, "no_steady_state", ("no steady state: the queue grows all window, so KPIs depend on the "
                                          "window length (" + "; ".join(what) + ")")
    base = (f"queue not growing: mean {d['queue_level']:.1f} MQLs, second-half trend {d['trend_late']:+.2f}/week"
            if np.isfinite(d["trend_late"]) else
            f"queue {d['queue_level']:.1f} MQLs (window under {2 * MIN_TREND_WEEKS} weeks: no trend test)")
    if load:
        base += f"; {load}"
    day, bias = d["truncation_day"], d["warmup_bias"]
    if day is not None and day - d["warmup_days"] > BATCH_DAYS and bias is not None and bias >= MATERIAL_BIAS:
        return True, "warmup_too_short", (
            f"warm-up too short: the queue settles around day {day} (MSER-7), after the window starts on day "
            f"{d['warmup_days']}; the transient shifts the window's mean queue by {bias:.0%}; use a warm-up of "
            f"at least {int(math.ceil(day / 7.0) * 7)}d")
    tail = (f"; warm-up ok (MSER-7 truncation day {day}, window starts day {d['warmup_days']})"
            if day is not None else "; warm-up not judged (too few weeks)")
    return True, "ok", base + tail


# ---- entry points -------------------------------------------------------------------------------

def diagnose(timeseries: pd.DataFrame | Mapping[str, Any] | None,
             scenarios: dict[str, dict[str, Any]] | None = None) -> list[Diagnostic]:
    """One `Diagnostic` per (scenario, point, policy) of a timeseries table (results' `timeseries`,
    a DataFrame or numpy columns); `scenarios` are the manifest's resolved scenario dicts by name
    (for the spike dates). Numpy columns of single replications are diagnosed without pandas."""
    need = {"day", "in_window", "queue_mean", "queue_at_midnight", "oldest_wait_business_hours", "rep_utilisation",
            "touches"}
    if timeseries is None or not need <= set(timeseries.keys()) or not len(timeseries["day"]):
        return []           # no daily series (or one from another version): nothing to diagnose
    if isinstance(timeseries, dict):
        groups = _single_runs(timeseries)
        if groups is not None:
            return [_diagnostic(key, diagnose_one({c: v[rows] for c, v in timeseries.items()},
                                                  (scenarios or {}).get(key[0])))
                    for key, rows in groups]
        import pandas as pd
        timeseries = pd.DataFrame(timeseries)
    ts = cast("pd.DataFrame", timeseries)
    for c in GROUP:
        if c not in ts:
            ts = ts.assign(**{c: 0 if c == "point" else ""})
    return [_diagnostic((str(scen), int(cast(int, point)), str(pol)), diagnose_group(g, (scenarios or {}).get(str(scen))))
            for (scen, point, pol), g in ts.groupby(GROUP, sort=False)]


def _diagnostic(key: tuple[str, int, str], d: dict[str, Any]) -> Diagnostic:
    steady, v, msg = verdict(d)
    ok = None if d["truncation_day"] is None else v != "warmup_too_short"
    return Diagnostic(scenario=key[0], point=key[1], policy=key[2], warmup_ok=ok, steady=steady,
                      verdict=v, message=msg, **d)


def _single_runs(cols: Mapping[str, np.ndarray]) -> list[tuple[tuple[str, int, str], np.ndarray]] | None:
    """The rows of each (scenario, point, policy), in order of appearance, when each holds one
    replication; None when one holds several (averaged day by day with pandas)."""
    n = len(cols["day"])
    key = [np.asarray(cols[c]) if c in cols else np.full(n, 0 if c == "point" else "", dtype=object)
           for c in GROUP]
    reps = np.asarray(cols["replication"]) if "replication" in cols else np.zeros(n, np.int64)
    rows: dict[tuple[str, int, str], list[int]] = {}
    seen: dict[tuple[str, int, str], Any] = {}
    for i, k in enumerate(zip(*(a.tolist() for a in key))):
        g = (str(k[0]), int(k[1]), str(k[2]))
        if seen.setdefault(g, reps[i]) != reps[i]:
            return None
        rows.setdefault(g, []).append(i)
    return [(g, np.asarray(r, np.int64)) for g, r in rows.items()]


class SavedResults(Protocol):
    """What the diagnostics read of a results folder (sim.experiment.results.Results, a layer up)."""
    manifest: dict[str, Any]

    @property
    def factors(self) -> list[str]: ...

    def steady_state(self) -> list[Diagnostic]: ...


def scenario_dumps(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    s = manifest.get("scenarios")
    if isinstance(s, dict):
        return s
    one = manifest.get("scenario")
    return {one.get("name", "scenario"): one} if isinstance(one, dict) else {}


def diagnostics(res: SavedResults) -> list[dict[str, Any]]:
    """The diagnostics of a `Results` as plain dicts (for `--json`'s `diagnostics`)."""
    return [d.as_dict() for d in res.steady_state()]


def flagged_lines(res: SavedResults) -> list[str]:
    """One line per diagnostic that is not "ok", for the terminal."""
    out = []
    for d in res.steady_state():
        if d.verdict != "ok":
            at = f", point {d.point}" if res.factors else ""
            out.append(f"{d.scenario}{at}, {d.policy}: {d.message}")
    return out


GROWTH_CHECK = "queue growth across the window (share of its mean; steady state)"
WARMUP_CHECK = "warm-up transient (shift of the window's mean queue)"


