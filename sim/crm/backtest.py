"""What a policy would have done to real historical leads: who it would have made an MQL, and how
those leads really ended.

Per policy: MQL count and share, conversion among MQLs and among the rest, precision and recall
against the real outcome, conversions left in nurture, the ranking quality of its score (AUC) and a
gain curve (share of conversions captured by the top x% of leads by score).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sim.config.policy import Policy
from sim.crm.realworld import score_leads
from sim.measure.stats import proportion_ci

GAIN_POINTS = np.linspace(0.0, 1.0, 21)


def auc(score: np.ndarray, won: np.ndarray) -> float:
    """P(a converted lead scores above a non-converted one), ties counted half (Mann-Whitney)."""
    pos, neg = score[won], score[~won]
    if not pos.size or not neg.size:
        return float("nan")
    return float(stats.mannwhitneyu(pos, neg).statistic / (pos.size * neg.size))


def auc_interval(a: float, n_pos: int, n_neg: int) -> tuple[float, float]:
    """Approximate 95% interval of an AUC (Hanley & McNeil 1982 standard error), clipped to [0, 1]."""
    if not (np.isfinite(a) and n_pos and n_neg):
        return float("nan"), float("nan")
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    half = stats.norm.ppf(0.975) * np.sqrt(max(var, 0.0))
    return max(0.0, a - half), min(1.0, a + half)


def gain_curve(score: np.ndarray, won: np.ndarray) -> pd.DataFrame:
    """Share of conversions among the top `share_of_leads` by score (tied scores split evenly), and
    lift = that share / share of leads."""
    n, total = score.size, max(int(won.sum()), 1)
    order = np.argsort(-score, kind="stable")
    s, w = score[order], won[order].astype(float)
    # leads with tied scores share their conversions evenly, so ties cannot flatter the curve
    _, first, size = np.unique(-s, return_index=True, return_counts=True)
    group_rate = np.add.reduceat(w, first) / size
    w_even = np.repeat(group_rate, size)
    cum = np.concatenate([[0.0], np.cumsum(w_even)]) / total
    x = GAIN_POINTS
    captured = np.interp(x * n, np.arange(n + 1), cum)
    lift = np.where(x > 0, captured / np.maximum(x, 1e-12), np.nan)
    return pd.DataFrame({"share_of_leads": x, "share_of_conversions": captured, "lift": lift})


def proportion(name: str, k: int, n: int) -> dict[str, float]:
    """k/n with its exact 95% interval (a rate without its uncertainty invites over-reading)."""
    lo, hi = proportion_ci(k, n)
    return {name: k / n if n else float("nan"), f"{name}_lower": lo, f"{name}_upper": hi}


def backtest(leads: pd.DataFrame, policies: list[Policy]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per policy, gain curves of every policy) on leads with a known outcome."""
    known = leads[leads["won"].notna()].reset_index(drop=True)
    won = known["won"].astype(bool).to_numpy()
    rows, gains = [], []
    for p in policies:
        mql, score = score_leads(known, p)
        tp = int((mql & won).sum())
        rest = ~mql
        row = {"policy": p.name, "leads": int(known.shape[0]), "conversions": int(won.sum()),
               "mqls": int(mql.sum()), "mql_share": float(mql.mean())}
        row.update(proportion("conversion_mql", int(won[mql].sum()), int(mql.sum())))
        row.update(proportion("conversion_rest", int(won[rest].sum()), int(rest.sum())))
        row.update(proportion("precision", tp, int(mql.sum())))
        row.update(proportion("recall", tp, int(won.sum())))
        a = auc(score, won)
        lo, hi = auc_interval(a, int(won.sum()), int((~won).sum()))
        row.update({"conversions_left_in_nurture": int((rest & won).sum()), "auc": a, "auc_lower": lo,
                    "auc_upper": hi})
        rows.append(row)
        gains.append(gain_curve(score, won).assign(policy=p.name))
    return pd.DataFrame(rows), pd.concat(gains, ignore_index=True)
