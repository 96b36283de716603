"""The one JSON shape of results, printed by `run --json`, `compare --json`, `sweep --json` and
`experiment --json` (documented with an example in docs/reference/json.md).

Every key is always present, so a program reads one shape whatever command made it:

    {"json_version": 2, "kind", "name", "seed", "replications", "baseline", "factors",
     "points": [{"scenario", "point", "values", "policies", "differences"}, ...],
     "scenario", "policies", "differences",      # the only point's; null when there are several
     "recommendation", "precision", "warnings", "errors", "diagnostics"}

`policies` is {policy: {KPI: estimate}} and nothing else (KPI names are the columns of
runs.csv: nested counts are `state_<name>` and `reason_<name>`); `differences` is {policy:
{KPI: paired difference from the baseline}}. One replication gives the same shape: its value is
the `mean` of one world, without an interval (`status` "too_few"). NaN and infinities become null
when serialised (sim.experiment.store.dumps)."""
from __future__ import annotations

import math
from typing import Any, Hashable, Mapping, TypedDict

import pandas as pd

from sim.experiment.results import Results
from sim.measure.registry import kpi as registry_entry

JSON_VERSION = 2    # 1: `run --json` {policy: KPIs, "diagnostics": ...}, `compare --json` without `points`


class KpiEntry(TypedDict, total=False):
    """One KPI of one policy at one point: the summary.csv row, with the registry's kind and unit."""
    mean: float                 # the estimate (one world: its value)
    lower: float                # 95% interval; null when status is not "ok"
    upper: float
    half_width: float
    n: int                      # worlds that define the KPI
    n_total: int                # worlds run
    status: str                 # "ok", "too_few" or "undefined"
    too_few: bool               # status == "too_few" (no interval)
    kind: str                   # count, share, money, duration, number or ratio
    unit: str
    method: str                 # how the interval was made
    n_to_halve: int             # worlds that would halve the interval
    count: int                  # pooled items of a share


class DifferenceEntry(TypedDict, total=False):
    """One KPI of one policy minus the baseline's, paired on the same worlds."""
    baseline: str
    diff: float
    lower: float
    upper: float
    relative: float             # change relative to the baseline's mean
    relative_lower: float
    relative_upper: float
    p_value: float              # unadjusted
    p_holm: float               # Holm-adjusted over every comparison of the KPI
    significant: bool           # p_holm < 5% and the interval excludes zero
    n: int
    status: str
    too_few: bool
    kind: str
    unit: str
    method: str


def _finite(v: Any) -> bool:
    return not (v is None or (isinstance(v, float) and not math.isfinite(v)))


def estimate_entry(r: Mapping[Hashable, Any]) -> KpiEntry:
    """A summary row as its JSON entry."""
    info = registry_entry(str(r["kpi"]))
    status = str(r["status"])
    out: KpiEntry = {"mean": r["mean"], "lower": r["lower"], "upper": r["upper"],
                     "half_width": r.get("half_width", (r["upper"] - r["lower"]) / 2),
                     "n": int(r["n"]), "n_total": int(r.get("n_total", r["n"])), "status": status,
                     "too_few": status == "too_few", "kind": info.kind, "unit": info.unit}
    if _finite(r.get("method")):
        out["method"] = str(r["method"])
    if _finite(r.get("n_to_halve")):
        out["n_to_halve"] = int(r["n_to_halve"])
    if _finite(r.get("count")):
        out["count"] = int(r["count"])
    return out


def difference_entry(r: Mapping[Hashable, Any]) -> DifferenceEntry:
    """A differences row as its JSON entry."""
    info = registry_entry(str(r["kpi"]))
    status = str(r["status"])
    out: DifferenceEntry = {"baseline": str(r["baseline"]), "diff": r["diff"], "lower": r["lower"], "upper": r["upper"],
                       "relative": r["relative"], "relative_lower": r["relative_lower"],
                       "relative_upper": r["relative_upper"], "p_value": r["p_value"], "p_holm": r["p_holm"],
                       "significant": bool(r["significant"]), "n": int(r["n"]), "status": status,
                       "too_few": status == "too_few", "kind": info.kind, "unit": info.unit}
    if _finite(r.get("method")):
        out["method"] = str(r["method"])
    return out


def _points(res: Results, summary: pd.DataFrame, diffs: pd.DataFrame) -> list[dict[str, Any]]:
    points = []
    for (scen, point), df in summary.groupby(["scenario", "point"], sort=False):
        policies: dict[str, dict[str, KpiEntry]] = {}
        for r in df.to_dict("records"):
            policies.setdefault(str(r["policy"]), {})[str(r["kpi"])] = estimate_entry(r)
        differences: dict[str, dict[str, DifferenceEntry]] = {}
        if len(diffs):
            dd = diffs[(diffs["scenario"] == scen) & (diffs["point"] == point)]
            for r in dd.to_dict("records"):
                differences.setdefault(str(r["policy"]), {})[str(r["kpi"])] = difference_entry(r)
        points.append({"scenario": scen, "point": int(point),   # type: ignore[call-overload]  # a group key
                       "values": {f: df[f].iloc[0] for f in res.factors},
                       "policies": policies, "differences": differences})
    return points


def results_json(res: Results) -> dict[str, Any]:
    """The results as one JSON-ready dict (see the module docstring for the shape)."""
    from sim.measure.steady import diagnostics
    mf = res.manifest
    points = _points(res, res.summary(), res.differences())
    one = points[0] if len(points) == 1 else None
    return {
        "json_version": JSON_VERSION,
        "kind": mf.get("kind"), "name": mf.get("name"), "seed": mf.get("seed"),
        "replications": mf.get("replications"), "baseline": res.baseline, "factors": res.factors,
        "points": points,
        "scenario": one["scenario"] if one else None,
        "policies": one["policies"] if one else None,
        "differences": one["differences"] if one else None,
        "recommendation": res.recommendation,
        "precision": mf.get("precision"),
        "warnings": list(mf.get("warnings") or []),      # inputs valid but probably not meant
        "errors": list(res.errors),
        "diagnostics": diagnostics(res),
    }
