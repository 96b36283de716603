"""Estimates over replications, each KPI with the interval its kind calls for, and paired
differences between policies on the same worlds (common random numbers).

Which interval for which KPI (the formulas and their sources are in `sim.measure.intervals`):

=====================  ===============================================  ==========================
KPI kind (registry)    estimate                                         95% interval
=====================  ===============================================  ==========================
share with counts      pooled ratio sum(numerator) / sum(denominator)   Korn-Graubard, in [0, 1]
share without counts   mean of the per-world shares                     Korn-Graubard, in [0, 1]
ratio (cost per won)   pooled ratio                                     linearised t, >= 0
count, money, ...      mean over worlds                                 Johnson's modified t, >= 0
difference of shares   difference of pooled ratios, paired              MOVER, in [-1, 1]
other differences      mean of the paired differences                   Johnson's modified t
relative change        ratio of means (pooled ratios) minus 1           Fieller (log-delta), >= -100%
=====================  ===============================================  ==========================

A KPI defined in fewer than `MIN_WORLDS` worlds, or a share whose pooled denominator is under
`MIN_EPISODES`, gets ``status = "too_few"``: its mean is kept, its interval is not given, because
at that size no interval of these kinds has the coverage it claims. Significance of differences is
Holm-adjusted over every comparison of the same KPI in a results table (`adjust_significance`).
"""
from __future__ import annotations

import math
from typing import TypedDict, cast

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.measure import intervals as iv
from sim.measure.registry import KPI, kpi

LEVEL = iv.LEVEL
MIN_WORLDS = 5          # fewer replications than this: "too few" (t and cluster intervals mislead)
MIN_EPISODES = 30       # a share pooled over fewer items than this: "too few"
NAN = float("nan")
Floats = NDArray[np.float64]


class Estimate(TypedDict):
    """One KPI over the worlds of a group (a row of `summarise`)."""
    mean: float
    lower: float            # NaN unless status is "ok"
    upper: float
    n: int                  # worlds that define the KPI
    n_total: int            # worlds in the group
    status: str             # "ok", "too_few" or "undefined"
    method: str             # how the interval was made, in words
    count: float            # pooled denominator of a share (NaN for other kinds)
    n_to_halve: int         # worlds needed to halve the interval's width


class Difference(TypedDict):
    """One KPI of a policy minus the baseline's, paired on the worlds (a row of `paired`)."""
    diff: float
    lower: float
    upper: float
    n: int
    relative: float         # change of the mean, relative to the baseline's
    relative_lower: float
    relative_upper: float
    p_value: float          # unadjusted; `adjust_significance` adds Holm's
    status: str
    method: str


def mean_ci(x: NDArray[np.floating] | list[float], level: float = LEVEL) -> tuple[float, float, float, int]:
    """(mean, lower, upper, n) of the finite values by the plain Student t interval; NaN interval
    with fewer than 2. For callers that need a textbook interval of a sample (staffing tables)."""
    arr = np.asarray(x, dtype=float)
    arr = arr[np.isfinite(arr)]
    n = arr.size
    if n == 0:
        return NAN, NAN, NAN, 0
    m = float(arr.mean())
    if n < 2:
        return m, NAN, NAN, n
    hw = iv.t_quantile(n - 1, level) * float(arr.std(ddof=1)) / math.sqrt(n)
    return m, m - hw, m + hw, n


def proportion_ci(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a proportion k/n of independent items (real samples are
    often small, where normal approximations mislead). NaN for n = 0."""
    if n == 0:
        return NAN, NAN
    from scipy import stats
    ci = stats.binomtest(int(k), int(n)).proportion_ci(level, method="exact")
    return float(ci.low), float(ci.high)


Columns = dict[str, Floats]  # column name -> float array: a group of runs, converted from a DataFrame once


def columns(df: pd.DataFrame | Columns) -> Columns:
    """The numeric columns of a runs table as float arrays (a dict is returned as it is): the
    estimates below read hundreds of KPIs per group, and pandas indexing per KPI dominated."""
    if isinstance(df, dict):
        return df
    out: Columns = {}
    for c in df.columns:
        v = df[c].to_numpy()
        if v.dtype.kind in "biuf":
            out[c] = v.astype(float, copy=False)
    return out


def _rows(cols: Columns) -> int:
    return len(next(iter(cols.values()))) if cols else 0


def _counts(df: Columns, info: KPI) -> tuple[Floats, Floats] | None:
    """Per-world numerator and denominator of a pooled KPI, or None when the table lacks them
    (results written before the counts were KPIs: then the per-world values are used)."""
    if not info.pooled or info.numerator not in df or any(c not in df for c in info.denominator):
        return None
    a = df[info.numerator]
    b = sum(df[c] for c in info.denominator)
    return a, np.asarray(b, float)


def _row(mean: float, lo: float, hi: float, n: int, n_total: int, status: str, method: str,
         count: float = NAN) -> Estimate:
    ok = status == "ok"
    return {"mean": mean, "lower": lo if ok else NAN, "upper": hi if ok else NAN, "n": n, "n_total": n_total,
            "status": status, "method": method, "count": count,
            "n_to_halve": iv.n_to_halve(n) if ok and hi > lo else (max(MIN_WORLDS, n) if not ok else n)}


def estimate(df: pd.DataFrame | Columns, name: str, level: float = LEVEL, info: KPI | None = None) -> Estimate:
    """The estimate of one KPI over the worlds in `df` (one row per replication): mean, lower,
    upper, n (worlds that define it), n_total, status, method, count (pooled denominator of a
    share), n_to_halve."""
    info = info or kpi(name)
    cols = columns(df)
    n_total = _rows(cols)
    counts = _counts(cols, info)
    if counts is not None:
        a, b = counts
        keep = np.isfinite(a) & np.isfinite(b) & (b > 0)
        a, b = a[keep], b[keep]
        n = int(keep.sum())
        if n == 0:
            return _row(NAN, NAN, NAN, 0, n_total, "undefined", "pooled ratio")
        p, res = iv.pooled_ratio(a, b)
        count = float(b.sum())
        if n < MIN_WORLDS or (info.kind == "share" and count < MIN_EPISODES):
            return _row(p, NAN, NAN, n, n_total, "too_few", "pooled ratio", count)
        var = iv.cluster_variance(res)
        if info.kind == "share":
            lo, hi = iv.korn_graubard(p, var, count, n, level)
            return _row(p, lo, hi, n, n_total, "ok", "pooled share, Korn-Graubard", count)
        hw = iv.t_quantile(n - 1, level) * math.sqrt(var)
        return _row(p, max(0.0, p - hw), p + hw, n, n_total, "ok", "pooled ratio, linearised t", count)
    x = cols[name] if name in cols else np.zeros(0)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return _row(NAN, NAN, NAN, 0, n_total, "undefined", "mean over worlds")
    m = float(x.mean())
    if n < MIN_WORLDS:
        return _row(m, NAN, NAN, n, n_total, "too_few", "mean over worlds")
    if info.kind == "share":
        lo, hi = iv.korn_graubard(m, float(x.var(ddof=1)) / n, n if np.all(x == x[0]) else math.inf, n, level)
        return _row(m, lo, hi, n, n_total, "ok", "mean of world shares, Korn-Graubard")
    m, lo, hi, floored, _ = _level_interval(cols, info, x, level)
    method = "mean over worlds, Johnson t" + (" with Poisson floor" if floored else "")
    return _row(m, lo, hi, n, n_total, "ok", method)


def _level_interval(df: Columns, info: KPI, x: Floats, level: float) -> tuple[float, float, float, bool, bool]:
    """(mean, lower, upper, floored, has_floor) of a per-world level (`x`: its finite values,
    n >= 2): Johnson's t, widened to the Poisson floor of a count or of money made of events
    (has_floor) when events are rare (floored = the floor widened it), inside the KPI's bounds."""
    m, lo, hi = iv.johnson_t(x, level)
    floor = _poisson_floor(df, info, x, m, level)
    floored = False
    if floor is not None and (floor[0] < lo or floor[1] > hi):     # rare events: t is too narrow
        floored = True
        lo, hi = min(lo, floor[0]), max(hi, floor[1])
    low, high = info.bounds
    return m, max(lo, low), min(hi, high), floored, floor is not None


def _poisson_floor(df: Columns, info: KPI, x: Floats, m: float, level: float) -> tuple[float, float] | None:
    """The exact Poisson interval of a count's mean (or of the events a money KPI is made of,
    scaled to the money), which the interval must contain; None for other kinds."""
    if info.kind == "count" and np.all(x == np.round(x)) and np.all(x >= 0):
        k, n = float(x.sum()), x.size
        lo, hi = iv.garwood(k, level)
        return lo / n, hi / n
    if info.kind == "money" and info.events and info.events in df:
        ev = df[info.events]
        ev = ev[np.isfinite(ev)]
        k = float(ev.sum())
        if k > 0 and m > 0:
            # an effective number of events: no more than were seen, fewer when amounts vary
            # (the variance of a sum of k variable amounts is that of fewer equal ones)
            var = float(x.var(ddof=1)) / x.size if x.size > 1 else 0.0
            k_eff = min(k, m * m / var) if var > 0 else k
            k_eff *= (iv.z_quantile(level) / iv.t_quantile(x.size - 1, level)) ** 2
            lo, hi = iv.garwood(k_eff, level)
            return m * lo / k_eff, m * hi / k_eff
    return None


def share_estimate(a: NDArray[np.floating] | NDArray[np.integer], b: NDArray[np.floating] | NDArray[np.integer],
                   level: float = LEVEL) -> Estimate:
    """A pooled share from per-world counts a / b that are not a registered KPI (a figure's
    bucket shares): the same estimate and interval as a share KPI's."""
    return estimate({"_a": np.asarray(a, float), "_b": np.asarray(b, float)}, "_share", level,
                    info=KPI("_share", "", "share", numerator="_a", denominator=("_b",)))


def summarise(runs: pd.DataFrame, kpis: list[str], by: str = "policy") -> pd.DataFrame:
    """Estimate per group and KPI, long format: group, kpi and the columns of `estimate`."""
    rows = []
    for g, df in runs.groupby(by, sort=False):
        cols = columns(df)
        for k in kpis:
            rows.append({by: g, "kpi": k, **estimate(cols, k)})
    return pd.DataFrame(rows)


def _diff_row(d: float, lo: float, hi: float, n: int, rel: float, rlo: float, rhi: float, p: float,
              status: str, method: str) -> Difference:
    ok = status == "ok"
    return {"diff": d, "lower": lo if ok else NAN, "upper": hi if ok else NAN, "n": n, "relative": rel,
            "relative_lower": rlo if ok else NAN, "relative_upper": rhi if ok else NAN,
            "p_value": p if ok else NAN, "status": status, "method": method}


def difference(base_df: pd.DataFrame | Columns, other_df: pd.DataFrame | Columns, name: str,
               level: float = LEVEL) -> Difference:
    """`other` minus `base` for one KPI, both indexed by replication and aligned (same worlds):
    diff, lower, upper, n, relative (change of the mean), its interval, p_value (unadjusted), status."""
    info = kpi(name)
    base, other = columns(base_df), columns(other_df)
    cb, co = _counts(base, info), _counts(other, info)
    if cb is not None and co is not None:
        return _pooled_difference(*co, *cb, info, level)
    if info.kind == "share":
        ones = np.ones(_rows(base))
        return _pooled_difference(other[name], ones, base[name], ones, info, level,
                                  per_world=True)
    x, y = other[name], base[name]
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = x.size
    if n == 0:
        return _diff_row(NAN, NAN, NAN, 0, NAN, NAN, NAN, NAN, "undefined", "paired mean")
    dd = x - y
    my = float(y.mean())
    rel = float(x.mean()) / my - 1 if my > 0 else NAN
    if n < MIN_WORLDS:
        return _diff_row(float(dd.mean()), NAN, NAN, n, rel, NAN, NAN, NAN, "too_few", "paired mean")
    m, lo, hi = iv.johnson_t(dd, level)
    method = "paired mean, Johnson t"
    ev = [info.events] if info.events in other and info.events in base else []
    events = float(other[ev[0]][keep].sum()) if ev else float(x.sum())
    # the same outcome in every world over many events: an inert change, exactly 0. With few events
    # (a deal or two per world) equal counts are luck, not proof: the floor below still applies
    identical = bool(np.all(dd == 0) and events >= MIN_EPISODES)
    if info.kind in ("count", "money") and not identical:
        ex = _level_interval({k: other[k][keep] for k in ev}, info, x, level)
        ey = _level_interval({k: base[k][keep] for k in ev}, info, y, level)
        if ex[4] and ey[4]:
            # counts and money of events: the difference must also contain the MOVER interval built
            # from the two Poisson-floored intervals and the correlation of the worlds (common random
            # numbers); with rare events the paired t interval alone under-covers (0.875 at n = 5)
            mlo, mhi = iv.mover(*ex[:3], *ey[:3], iv.correlation(x - x.mean(), y - y.mean()))
            lo, hi = min(lo, mlo), max(hi, mhi)
            method += " with MOVER floor"
    rlo, rhi = iv.fieller(x, y, level, nonnegative=np.isfinite(info.bounds[0]) and info.bounds[0] >= 0)
    return _diff_row(m, lo, hi, n, rel, rlo - 1, rhi - 1, iv.t_p_value(dd), "ok", method)


def _pooled_difference(a1: Floats, b1: Floats, a2: Floats, b2: Floats, info: KPI,
                       level: float, per_world: bool = False) -> Difference:
    keep = np.isfinite(a1) & np.isfinite(b1) & np.isfinite(a2) & np.isfinite(b2) & (b1 > 0) & (b2 > 0)
    a1, b1, a2, b2 = a1[keep], b1[keep], a2[keep], b2[keep]
    n = int(keep.sum())
    method = "paired world shares, MOVER" if per_world else (
        "paired pooled shares, MOVER" if info.kind == "share" else "paired pooled ratios, linearised t")
    if n == 0:
        return _diff_row(NAN, NAN, NAN, 0, NAN, NAN, NAN, NAN, "undefined", method)
    p1, r1 = iv.pooled_ratio(a1, b1)
    p2, r2 = iv.pooled_ratio(a2, b2)
    d = p1 - p2
    rel = p1 / p2 - 1 if p2 > 0 else NAN
    few = n < MIN_WORLDS or (info.kind == "share" and not per_world and min(b1.sum(), b2.sum()) < MIN_EPISODES)
    if few:
        return _diff_row(d, NAN, NAN, n, rel, NAN, NAN, NAN, "too_few", method)
    t = iv.t_quantile(n - 1, level)
    var_d = iv.cluster_variance(r1 - r2)
    p_value = _p_from(d, var_d, n)
    if info.kind == "share":
        v1, v2 = iv.cluster_variance(r1), iv.cluster_variance(r2)
        c1 = math.inf if per_world and v1 > 0 else float(b1.sum())
        c2 = math.inf if per_world and v2 > 0 else float(b2.sum())
        l1, u1 = iv.korn_graubard(p1, v1, c1, n, level)
        l2, u2 = iv.korn_graubard(p2, v2, c2, n, level)
        lo, hi = iv.mover(p1, l1, u1, p2, l2, u2, iv.correlation(r1, r2))
        lo, hi = max(lo, -1.0), min(hi, 1.0)
    else:
        hw = t * math.sqrt(var_d)
        lo, hi = d - hw, d + hw
    rlo = rhi = NAN
    if p1 > 0 and p2 > 0:                           # log of the ratio of ratios, by the delta method
        se = math.sqrt(iv.cluster_variance(r1 / p1 - r2 / p2))
        rlo, rhi = math.exp(math.log(p1 / p2) - t * se) - 1, math.exp(math.log(p1 / p2) + t * se) - 1
    return _diff_row(d, lo, hi, n, rel, rlo, rhi, p_value, "ok", method)


def _p_from(d: float, var: float, n: int) -> float:
    if not var > 0:
        return 1.0 if d == 0 else 0.0
    from scipy import stats
    return float(2 * stats.t.sf(abs(d) / math.sqrt(var), n - 1))


def paired(runs: pd.DataFrame, kpis: list[str], baseline: str, by: str = "policy",
           pair_on: str = "replication") -> pd.DataFrame:
    """Each group's difference from `baseline`, paired on the replication (same world). The
    `significant` column here is unadjusted; `adjust_significance` applies Holm over a table."""
    wide = runs.set_index([pair_on, by])
    base = cast(pd.DataFrame, wide.xs(baseline, level=by))   # many columns: xs gives a frame
    rows = []
    for g in runs[by].unique():
        if g == baseline:
            continue
        other = cast(pd.DataFrame, wide.xs(g, level=by))
        common = base.index.intersection(other.index)
        b, o = columns(base.loc[common]), columns(other.loc[common])
        for k in kpis:
            rows.append({by: g, "baseline": baseline, "kpi": k, **difference(b, o, k)})
    out = pd.DataFrame(rows)
    return adjust_significance(out) if len(out) else out


def adjust_significance(diffs: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted p-values (`p_holm`) over every comparison of the same KPI in the table
    (policies vs the baseline, at every point), and `significant` = p_holm < 1 - LEVEL and the
    difference's interval excludes 0."""
    out = diffs.copy()
    out["p_holm"] = out.groupby("kpi", sort=False)["p_value"].transform(lambda p: iv.holm(p.to_numpy(float)))
    excludes_zero = (out["lower"] > 0) | (out["upper"] < 0)
    # a star never sits on an interval that contains 0: the share intervals (MOVER on Korn-Graubard)
    # can be wider than the t test behind the p-value
    out["significant"] = ((out["p_holm"] < 1 - LEVEL) & excludes_zero).fillna(False).astype(bool)
    return out
