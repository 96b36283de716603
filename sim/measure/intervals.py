"""Interval formulas, one per kind of estimate, with the literature each follows. Replications
(worlds) are the independent units throughout: a world's leads share its weeks, spikes and
queues, so the leads of one world are a cluster, never independent observations.

- Per-world levels (counts, money, durations): Johnson's (1978) modified t, which shifts the
  Student interval by the sample skewness; bookings are right-skewed and the plain t interval
  under-covers on that side. Paired differences of such KPIs use the same on the differences.
- Shares that are ratios of counts (SLA met / episodes): the ratio estimator pooled over worlds,
  its variance by linearisation with worlds as clusters, and the Korn & Graubard (1998)
  interval: a Clopper-Pearson interval at the effective sample size implied by that variance,
  shrunk for the few degrees of freedom (worlds - 1). It stays in [0, 1] and, when every world
  agrees (all 100%), still says how sure the pooled counts make us instead of [1, 1].
- Differences of two shares on the same worlds: MOVER (Zou & Donner 2008; Newcombe 1998 for
  paired proportions), which recovers the difference's interval from the two Korn-Graubard
  intervals and the correlation of the estimates across worlds; it stays in [-1, 1].
- Relative changes of per-world totals: Fieller's (1954) interval for a ratio of paired means,
  which is never below -100% for KPIs that cannot be negative.
- Multiplicity: Holm's (1979) step-down adjustment of the p-values of a family of comparisons.

scipy is imported here on first use of a quantile, not at import time of the CLI.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

LEVEL = 0.95
ALPHA = 1 - LEVEL


@lru_cache(maxsize=4096)
def t_quantile(df: int, level: float = LEVEL) -> float:
    """Two-sided Student t quantile (cached: intervals are computed for hundreds of KPIs)."""
    from scipy import stats
    return float(stats.t.ppf(0.5 + level / 2, df))


@lru_cache(maxsize=1)
def z_quantile(level: float = LEVEL) -> float:
    from scipy import stats
    return float(stats.norm.ppf(0.5 + level / 2))


def n_to_halve(n: int, level: float = LEVEL) -> int:
    """Replications that would about halve a t-based half-width seen with `n`: the smallest m with
    t(m-1)/sqrt(m) <= t(n-1)/sqrt(n) / 2 (a little under 4n, because t shrinks with m)."""
    if n < 2:
        return 8
    target = t_quantile(n - 1, level) / math.sqrt(n) / 2
    m = 4 * n
    while m > n + 1 and t_quantile(m - 2, level) / math.sqrt(m - 1) <= target:
        m -= 1
    while t_quantile(m - 1, level) / math.sqrt(m) > target:
        m += 1
    return m


def johnson_t(x: np.ndarray, level: float = LEVEL) -> tuple[float, float, float]:
    """(mean, lower, upper) by Johnson's modified t: mean + mu3 / (6 s^2 n) +- t s / sqrt(n),
    with mu3 the unbiased third central moment. Needs n >= 3 for the skewness term (else plain t)."""
    n = x.size
    m = float(x.mean())
    s2 = float(x.var(ddof=1))
    if s2 == 0:
        return m, m, m
    shift = 0.0
    if n >= 3:
        mu3 = n / ((n - 1) * (n - 2)) * float(np.sum((x - m) ** 3))
        shift = mu3 / (6 * s2 * n)
    hw = t_quantile(n - 1, level) * math.sqrt(s2 / n)
    return m, m + shift - hw, m + shift + hw


def t_p_value(d: np.ndarray) -> float:
    """Two-sided p-value of a one-sample t test of mean(d) = 0 (1.0 when d has no spread and is 0)."""
    n = d.size
    m = float(d.mean())
    s = float(d.std(ddof=1)) if n > 1 else 0.0
    if s == 0:
        return 1.0 if m == 0 else 0.0
    from scipy import stats
    return float(2 * stats.t.sf(abs(m) / (s / math.sqrt(n)), n - 1))


def pooled_ratio(a: np.ndarray, b: np.ndarray) -> tuple[float, np.ndarray]:
    """Ratio estimate sum(a) / sum(b) and each world's linearised residual (a_i - r b_i) / mean(b):
    sum(res^2) / (n (n - 1)) is the cluster (between-world) variance of the estimate."""
    r = float(a.sum() / b.sum())
    return r, (a - r * b) / float(b.mean())


def cluster_variance(res: np.ndarray) -> float:
    n = res.size
    return float(np.sum(res ** 2) / (n * (n - 1))) if n > 1 else float("nan")


def korn_graubard(p: float, var: float, count: float, worlds: int, level: float = LEVEL) -> tuple[float, float]:
    """Clopper-Pearson interval at the effective sample size p(1-p)/var (capped at the pooled
    count: worlds do not make leads more independent than they are), times (z / t(worlds-1))^2 for
    the few clusters. A share of exactly 0 or 1, or one with no spread between worlds, uses the
    pooled count itself."""
    from scipy import stats
    n_eff = float(count)
    if 0 < p < 1 and var > 0:
        n_eff = min(n_eff, p * (1 - p) / var)
    if worlds > 1:
        n_eff *= (z_quantile(level) / t_quantile(worlds - 1, level)) ** 2
    x = p * n_eff
    a = (1 - level) / 2
    lo = 0.0 if p <= 0 else float(stats.beta.ppf(a, x, n_eff - x + 1))
    hi = 1.0 if p >= 1 else float(stats.beta.ppf(1 - a, x + 1, n_eff - x))
    return min(lo, p), max(hi, p)


def mover(p1: float, l1: float, u1: float, p2: float, l2: float, u2: float, r: float) -> tuple[float, float]:
    """Interval of p1 - p2 from each one's interval and the correlation r of the two estimates
    (MOVER, Zou & Donner 2008)."""
    d = p1 - p2
    lo = d - math.sqrt(max(0.0, (p1 - l1) ** 2 + (u2 - p2) ** 2 - 2 * r * (p1 - l1) * (u2 - p2)))
    hi = d + math.sqrt(max(0.0, (u1 - p1) ** 2 + (p2 - l2) ** 2 - 2 * r * (u1 - p1) * (p2 - l2)))
    return lo, hi


def correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Correlation of two residual vectors about zero (0 when either has no spread)."""
    sx, sy = float(np.sum(x * x)), float(np.sum(y * y))
    return float(np.sum(x * y) / math.sqrt(sx * sy)) if sx > 0 and sy > 0 else 0.0


def fieller(x: np.ndarray, y: np.ndarray, level: float = LEVEL, nonnegative: bool = True) -> tuple[float, float]:
    """Fieller's interval for mean(x) / mean(y) from paired samples. NaN when the denominator is not
    clearly away from 0 at this n (the interval would be unbounded). Truncated at 0 when both
    quantities cannot be negative."""
    n = x.size
    if n < 2:
        return float("nan"), float("nan")
    mx, my = float(x.mean()), float(y.mean())
    c = np.cov(x, y, ddof=1) / n
    vxx, vyy, vxy = float(c[0, 0]), float(c[1, 1]), float(c[0, 1])
    t2 = t_quantile(n - 1, level) ** 2
    qa = my * my - t2 * vyy
    if qa <= 0:
        return float("nan"), float("nan")
    qb = -2 * (mx * my - t2 * vxy)
    qc = mx * mx - t2 * vxx
    disc = qb * qb - 4 * qa * qc
    if disc < 0:                                    # cannot happen when qa > 0 (kept for rounding)
        return float("nan"), float("nan")
    lo, hi = (-qb - math.sqrt(disc)) / (2 * qa), (-qb + math.sqrt(disc)) / (2 * qa)
    if nonnegative:
        lo = max(lo, 0.0)
    return lo, hi


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted). Five lines of
    arithmetic: not worth a statsmodels dependency."""
    p = np.asarray(p, float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out[order] = adj
    return out
