"""Confidence intervals over replications, and paired differences between policies on the same
worlds (common random numbers): t-based 95% intervals via scipy.stats."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95


def mean_ci(x: np.ndarray, level: float = LEVEL) -> tuple[float, float, float, int]:
    """(mean, lower, upper, n) of the finite values; the interval is NaN with fewer than 2."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return float("nan"), float("nan"), float("nan"), 0
    m = float(x.mean())
    if n < 2:
        return m, float("nan"), float("nan"), n
    if np.all(x == x[0]):
        return m, m, m, n
    lo, hi = stats.t.interval(level, n - 1, loc=m, scale=stats.sem(x))
    return m, float(lo), float(hi), n


def proportion_ci(k: int, n: int, level: float = LEVEL) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a proportion k/n: real samples are often small, where
    normal approximations mislead. NaN for n = 0."""
    if n == 0:
        return float("nan"), float("nan")
    ci = stats.binomtest(int(k), int(n)).proportion_ci(level, method="exact")
    return float(ci.low), float(ci.high)


def summarise(runs: pd.DataFrame, kpis: list[str], by: str = "policy") -> pd.DataFrame:
    """Mean and CI per group and KPI: long format (group, kpi, mean, lower, upper, n)."""
    rows = []
    for g, df in runs.groupby(by, sort=False):
        for k in kpis:
            m, lo, hi, n = mean_ci(df[k].to_numpy())
            rows.append({by: g, "kpi": k, "mean": m, "lower": lo, "upper": hi, "n": n})
    return pd.DataFrame(rows)


def paired(runs: pd.DataFrame, kpis: list[str], baseline: str, by: str = "policy",
           pair_on: str = "replication") -> pd.DataFrame:
    """Each group's difference from `baseline`, paired on the replication (same world): mean
    difference, its CI, the relative change, and whether the CI excludes zero."""
    wide = runs.set_index([pair_on, by])
    base = wide.xs(baseline, level=by)
    rows = []
    for g in runs[by].unique():
        if g == baseline:
            continue
        other = wide.xs(g, level=by)
        common = base.index.intersection(other.index)
        for k in kpis:
            d = other.loc[common, k].to_numpy(float) - base.loc[common, k].to_numpy(float)
            m, lo, hi, n = mean_ci(d)
            bv = base.loc[common, k].to_numpy(float)
            b = float(bv[np.isfinite(bv)].mean()) if np.isfinite(bv).any() else float("nan")
            rows.append({by: g, "baseline": baseline, "kpi": k, "diff": m, "lower": lo, "upper": hi, "n": n,
                         "relative": m / b if b else float("nan"),
                         "significant": bool(np.isfinite(lo) and (lo > 0 or hi < 0))})
    return pd.DataFrame(rows)
