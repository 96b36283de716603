"""Ranking and selection under common random numbers: which of K simulated settings is the best,
how sure we can be, and which settings cannot be told apart from it.

Pure numpy/scipy on a (replications x settings) array of one KPI, row r of every column coming from
the same world r (common random numbers, CRN). Missing values are NaN; every pairwise statistic
uses the replications where both settings are defined.

The procedure is multiple comparisons with the best (MCB, Hsu 1996) built from paired-difference
t intervals with a Bonferroni correction, which stays valid under CRN whatever the correlation
between settings (Nelson & Matejcik 1995, "Procedure B"; the same screening statistic as the
subset step of NSGS, Nelson, Swann, Goldsman & Song 2001), with an indifference zone `delta`:

* for every pair (i, l): ``W_il = t(1 - alpha / (k - 1), n_il - 1) * S_il / sqrt(n_il)``, S_il the
  standard deviation of the paired differences X_i - X_l over their n_il common replications;
* setting i **cannot be excluded** (may be within delta of the best) unless some l beats it by
  more than delta with confidence: ``mean_l - mean_i - W_il > delta``;
* the sample best b is **within delta of the best** with probability >= 1 - alpha when
  ``mean_b - mean_l + delta >= W_bl`` for every l (the lower MCB bound on mu_b - max_l mu_l is at
  least -delta). `probability` reports the largest confidence at which that statement holds:
  ``1 - sum_l P(T_{n_bl - 1} > (mean_b - mean_l + delta) / (S_bl / sqrt(n_bl)))`` (Bonferroni);
* replications needed for the statement at 1 - alpha (Nelson & Matejcik's second-stage size):
  ``N_i = max_l ceil((t * S_il / delta) ** 2)`` over the settings that cannot be excluded.

Feasibility of a constraint under noise follows the tolerance idea of Andradottir & Kim (2010): a
constraint `KPI >= q` is `met` when its one-sided lower confidence bound clears ``q - tolerance``,
`unmet` when its upper bound is below ``q - tolerance``, otherwise `undecided` (more replications
decide it); the one-sided bounds are Bonferroni-corrected over settings x constraints.

References
----------
Hsu, J. C. (1996). *Multiple Comparisons: Theory and Methods*. Chapman & Hall.
Nelson, B. L. & Matejcik, F. J. (1995). Using common random numbers for indifference-zone selection
and multiple comparisons in simulation. *Management Science* 41(12), 1935-1945.
Nelson, B. L., Swann, J., Goldsman, D. & Song, W. (2001). Simple procedures for selecting the best
simulated system when the number of alternatives is large. *Operations Research* 49(6), 950-963.
Andradottir, S. & Kim, S.-H. (2010). Fully sequential procedures for comparing constrained systems
via simulation. *Naval Research Logistics* 57(5), 403-421.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import ndtri, stdtrit

MAX_PAIRS = 300     # above this many settings, rivals are the top MAX_PAIRS by mean (conservative)


@dataclass
class Selection:
    """Outcome of `select_best` (indices refer to the columns of the array given)."""

    best: int | None
    means: np.ndarray
    n: np.ndarray                      # finite replications per setting
    cannot_exclude: list[int]
    probability: float                 # P(best is within delta of the best) >= this
    delta: float
    alpha: float
    needed: dict[int, int] = field(default_factory=dict)   # setting -> replications for the claim

    @property
    def claim(self) -> bool:
        """The best is within delta of the best with probability >= 1 - alpha."""
        return self.best is not None and self.probability >= 1 - self.alpha - 1e-12


def _claim(b: np.ndarray, others: np.ndarray, delta: float) -> float:
    """Largest confidence (Bonferroni) of 'mu_b >= mu_l - delta for every l': one minus the summed
    chances that each paired t bound misses ``mean(b - l) + delta``."""
    D = b[:, None] - others
    ok = np.isfinite(D)
    nn = ok.sum(axis=0)
    if (nn < 2).any():
        return 0.0
    d = np.where(ok, D, 0.0).sum(axis=0) / nn
    sd = np.sqrt((np.where(ok, D - d, 0.0) ** 2).sum(axis=0) / (nn - 1))
    gap = d + delta
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, gap / (sd / np.sqrt(nn)), np.where(gap >= 0, np.inf, -np.inf))
    return max(0.0, 1.0 - float(stats.t.sf(z, nn - 1).sum()))


def select_best(X: np.ndarray, maximise: bool = True, delta: float = 0.0, alpha: float = 0.05,
                rivals: list[int] | None = None) -> Selection:
    """Multiple comparisons with the best on CRN-paired data.

    Parameters
    ----------
    X : ndarray, shape (n, k)
        One KPI per replication (rows, the same world in a row) and setting (columns); NaN missing.
    maximise : bool
        Larger is better (else smaller).
    delta : float
        Indifference zone (>= 0, in the KPI's units): settings within delta of the best are as good.
    alpha : float
        1 - alpha is the confidence of the statements.
    rivals : list of int, optional
        Settings that may beat a candidate (default: all columns). Columns outside `rivals` are
        candidates only for `cannot_exclude` (e.g. settings whose feasibility is undecided).

    Returns
    -------
    Selection
        The sample best among `rivals`, the settings that cannot be excluded from being within
        delta of the best, the probability bound and the replications needed per setting.

    References
    ----------
    Nelson & Matejcik (1995), Procedure B; Hsu (1996), ch. 4 (constrained MCB intervals).
    """
    X = np.asarray(X, float)
    if X.ndim != 2:
        raise ValueError("X must be replications x settings")
    k = X.shape[1]
    sign = 1.0 if maximise else -1.0
    Y = sign * X
    n = np.isfinite(Y).sum(axis=0)
    with np.errstate(invalid="ignore"):
        means = np.array([np.nanmean(Y[:, i]) if n[i] else np.nan for i in range(k)])
    rivals = [i for i in (range(k) if rivals is None else rivals) if np.isfinite(means[i])]
    cols = [i for i in range(k) if np.isfinite(means[i])]
    if not rivals:
        return Selection(None, sign * means, n, cols, 0.0, delta, alpha)
    best = max(rivals, key=lambda i: means[i])
    compared = sorted(set(rivals) | set(cols), key=lambda i: -means[i])
    m = len(compared)
    if m == 1:
        return Selection(best, sign * means, n, [best], 1.0, delta, alpha)
    # pairwise paired statistics, one row per candidate against the rivals (limited to the top
    # MAX_PAIRS by mean for very large k: fewer rivals can only exclude fewer settings, so
    # cannot_exclude stays a superset)
    top = [i for i in compared if i in set(rivals)][:MAX_PAIRS]
    Yt = Y[:, top]
    keep, needed, sds = [], {}, {}
    probability = 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in compared:
            D = Y[:, [i]] - Yt                                     # Y_i - Y_l per replication
            ok = np.isfinite(D)
            nn = ok.sum(axis=0)
            Dz = np.where(ok, D, 0.0)
            d = Dz.sum(axis=0) / np.maximum(nn, 1)
            var = (np.where(ok, D - d, 0.0) ** 2).sum(axis=0) / np.maximum(nn - 1, 1)
            sd = np.where(nn >= 2, np.sqrt(var), np.nan)
            self_ = np.array([k == i for k in top])
            tq = np.where(nn >= 2, stdtrit(np.maximum(nn - 1, 1), 1 - alpha / (m - 1)), np.inf)
            w = np.where(np.isfinite(sd), tq * sd / np.sqrt(np.maximum(nn, 1)), np.inf)
            beaten = (nn > 0) & ~self_ & (-d - w > delta)
            if not beaten.any():
                keep.append(i)
            if i == best:     # against every setting that may be feasible, rivals or not
                probability = _claim(Y[:, best], Y[:, [k for k in compared if k != best]], delta)
            sds[i] = sd
    if delta > 0:       # replications for W <= delta between the settings left in contention
        pos = {k: j for j, k in enumerate(top)}
        for i in keep:
            cols = [pos[k] for k in keep if k != i and k in pos]
            sd = sds[i][cols] if cols else np.array([])
            worst = float(np.nanmax(sd)) if sd.size and np.isfinite(sd).any() else math.nan
            needed[i] = max(int(n[i]), replications_for(worst, delta, alpha / (m - 1)) if math.isfinite(worst)
                            else (2 if sd.size else int(n[i])))
    return Selection(best, sign * means, n, keep, probability, delta, alpha, needed)


@dataclass(frozen=True)
class Feasibility:
    """A constraint on one setting judged under noise."""

    status: str          # met | unmet | undecided
    mean: float
    lower: float         # one-sided (Bonferroni) confidence bounds
    upper: float
    n: int
    needed: int | None   # replications that would likely decide an undecided constraint


def feasibility(y: np.ndarray, op: str, bound: float, tolerance: float = 0.0, alpha: float = 0.05,
                tests: int = 1) -> Feasibility:
    """Is ``mean(y) op bound`` (op one of >=, >, <=, <) with confidence?

    Parameters
    ----------
    y : ndarray
        The constrained KPI per replication of one setting (NaN ignored).
    op, bound : str, float
        The constraint.
    tolerance : float
        Andradottir & Kim's epsilon: a setting whose true value misses the bound by less than
        this still counts as meeting it (acceptable); it makes every setting decidable.
    alpha : float
        Error shared by `tests` one-sided bounds (Bonferroni: each uses alpha / tests).
    tests : int
        Number of (setting, constraint) judgements made together.

    Returns
    -------
    Feasibility
        `met` when the bound on the bad side clears ``bound -/+ tolerance``, `unmet` when the
        bound on the good side misses it, else `undecided`.
    """
    y = np.asarray(y, float)
    y = y[np.isfinite(y)]
    nn = y.size
    upward = op.startswith(">")
    if nn == 0:
        return Feasibility("undecided", math.nan, math.nan, math.nan, 0, 2)
    m = float(y.mean())
    if nn < 2:
        return Feasibility("undecided", m, math.nan, math.nan, nn, 2)
    sd = float(y.std(ddof=1))
    h = float(stats.t.ppf(1 - alpha / max(tests, 1), nn - 1))
    hw = h * sd / math.sqrt(nn)
    lo, hi = m - hw, m + hw
    edge = bound - tolerance if upward else bound + tolerance
    if upward:
        status = "met" if lo >= edge else "unmet" if hi < edge else "undecided"
    else:
        status = "met" if hi <= edge else "unmet" if lo > edge else "undecided"
    needed = None
    if status == "undecided":
        gap = max(abs(m - edge), tolerance, 1e-12 * max(1.0, abs(bound)))
        needed = max(nn + 1, replications_for(sd, gap, alpha / max(tests, 1)))
    return Feasibility(status, m, lo, hi, nn, needed)


def replications_for(sd: float, half_width: float, a: float, cap: int = 1_000_000) -> int:
    """The smallest N with ``t(1 - a, N - 1) * sd / sqrt(N) <= half_width`` (at least 2): how many
    replications make a one-sided bound that tight, if the standard deviation stays `sd`.
    (Nelson & Matejcik's second-stage size uses the first stage's t quantile, which over-asks
    when the first stage was small; this is the planning estimate.)"""
    if not (math.isfinite(sd) and half_width > 0):
        return cap if not sd == 0 else 2
    if sd == 0:
        return 2
    def enough(nn: int) -> bool:     # monotone in nn: the bound tightens as nn grows
        return float(stdtrit(nn - 1, 1 - a)) * sd / math.sqrt(nn) <= half_width

    lo = max(2, math.ceil((float(ndtri(1 - a)) * sd / half_width) ** 2))   # the normal answer: a lower bound
    if lo >= cap:
        return cap
    if enough(lo):
        return lo
    hi = lo
    while not enough(hi):
        if hi >= cap:
            return cap
        lo, hi = hi, min(cap, 2 * hi)
    while hi - lo > 1:                # enough(hi), not enough(lo)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi
