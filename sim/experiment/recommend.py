"""Recommend a setting: the design point (and policy) that maximises (or minimises) one KPI subject
to constraints on others, with how sure we can be.

Feasibility is judged on the replication means; the report also says whether each constraint holds
across the whole 95% interval. Confidence comes from common random numbers: in each replication
(the same world for every candidate) we see which feasible candidate did best; the share of
replications it wins, and the paired difference to the runner-up with its interval, say how sure
the recommendation is.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.config.experiment import CONSTRAINT
from sim.measure.stats import mean_ci

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}


@dataclass(frozen=True)
class Constraint:
    kpi: str
    op: str
    bound: float

    def holds(self, value: float) -> bool:
        return bool(np.isfinite(value) and _OPS[self.op](value, self.bound))

    def __str__(self) -> str:
        return f"{self.kpi} {self.op} {self.bound:g}"


def parse_constraint(text: str) -> Constraint:
    """`sla_compliance_standard>=0.9` or `mql_to_sql_rate<=40%` (a % suffix divides by 100)."""
    m = CONSTRAINT.match(text)
    if not m:
        raise ValueError(f"{text!r}: write KPI>=VALUE or KPI<=VALUE, e.g. sla_compliance_standard>=0.9")
    kpi, op, raw = m.groups()
    try:
        bound = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ValueError(f"{text!r}: {raw!r} is not a number") from None
    return Constraint(kpi, op, bound)


def recommend(runs: pd.DataFrame, objective: str, constraints: list[Constraint], factors: list[str],
              maximise: bool = True) -> dict:
    """The best feasible candidate (scenario x point x policy) and the runner-up, as plain data."""
    for k in [objective, *(c.kpi for c in constraints)]:
        if k not in runs.columns:
            raise ValueError(f"unknown KPI {k!r}; KPIs are the columns of runs.csv (e.g. bookings, mqls, "
                             "mql_to_sql_rate, sla_compliance_standard, rep_utilisation)")
    keys = ["scenario", "point", "policy"]
    table = []
    for key, df in runs.groupby(keys, sort=False):
        m, lo, hi, n = mean_ci(df[objective].to_numpy(float))
        checks = []
        for c in constraints:
            cm, clo, chi, _ = mean_ci(df[c.kpi].to_numpy(float))
            sure = c.holds(clo) and c.holds(chi) if np.isfinite(clo) else c.holds(cm)
            checks.append({"constraint": str(c), "mean": cm, "lower": clo, "upper": chi, "met": c.holds(cm),
                           "met_across_interval": bool(sure)})
        table.append({**dict(zip(keys, key)), **{f: df[f].iloc[0] for f in factors},
                      "mean": m, "lower": lo, "upper": hi, "n": n,
                      "feasible": all(ch["met"] for ch in checks), "constraints": checks})
    feasible = [t for t in table if t["feasible"] and np.isfinite(t["mean"])]
    result: dict = {"objective": objective, "direction": "max" if maximise else "min",
                    "constraints": [str(c) for c in constraints], "candidates": len(table),
                    "feasible": len(feasible)}
    if not feasible:
        result["best"] = None
        result["message"] = "no setting meets every constraint on average; relax a constraint or widen the sweep"
        return result
    sign = 1.0 if maximise else -1.0
    feasible.sort(key=lambda t: sign * t["mean"], reverse=True)
    best = feasible[0]
    result["best"] = _public(best, factors)
    result["win_share"], result["win_share_replications"], result["replications"] = \
        _win_share(runs, keys, feasible, objective, sign)
    if len(feasible) > 1:
        second = feasible[1]
        result["runner_up"] = _public(second, factors)
        d = _paired_gap(runs, keys, best, second, objective)
        result["gap_to_runner_up"] = {"mean": d[0], "lower": d[1], "upper": d[2], "n": d[3],
                                      "significant": bool(np.isfinite(d[1]) and (d[1] > 0 or d[2] < 0))}
    return result


def _public(c: dict, factors: list[str]) -> dict:
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in c.items()}


def _select(runs: pd.DataFrame, keys: list[str], cand: dict) -> pd.Series:
    m = np.ones(len(runs), bool)
    for k in keys:
        m &= (runs[k] == cand[k]).to_numpy()
    return runs.loc[m].set_index("replication")


def _win_share(runs, keys, feasible, objective, sign) -> tuple[float, int, int]:
    """(share of replications in which the best candidate has the best objective among the
    feasible, replications compared, replications in all). A replication where some candidate's
    objective is undefined cannot be compared and is left out (and counted as such)."""
    cols = {i: _select(runs, keys, c)[objective] for i, c in enumerate(feasible)}
    wide = pd.DataFrame(cols)
    total = len(wide)
    wide = wide.dropna()
    if wide.empty:
        return float("nan"), 0, total
    winners = (sign * wide).idxmax(axis=1)
    return float((winners == 0).mean()), len(wide), total


def _paired_gap(runs, keys, a, b, objective):
    x, y = _select(runs, keys, a)[objective], _select(runs, keys, b)[objective]
    common = x.index.intersection(y.index)
    return mean_ci((x.loc[common] - y.loc[common]).to_numpy(float))
