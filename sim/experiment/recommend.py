"""Recommend a setting: the design point (and policy) that is best for an objective subject to
constraints, chosen by a ranking-and-selection procedure with a stated guarantee.

What is compared: every candidate (scenario x point x policy) of a results folder, replication by
replication (replication r of every candidate ran on the same world: common random numbers).

* Objectives are a KPI (`bookings`) and/or swept settings, i.e. decision variables
  (`sales.reps`: a dotted path). Decision variables come first, in the order given, then the KPI
  breaks the remaining ties: `--minimise sales.reps --maximise bookings` is "the smallest feasible
  team, and among settings with that team the one with the most bookings".
* Constraints are judged under noise (`selection.feasibility`, Andradottir & Kim 2010): `met`,
  `unmet` or `undecided`; only `met` settings can be recommended; an `undecided` one that could be
  better stays in `cannot_exclude` until more replications decide it.
* A KPI objective is ranked by multiple comparisons with the best on paired differences with an
  indifference zone `delta` (`selection.select_best`, Nelson & Matejcik 1995; Hsu 1996).
* Selection bias: the replications are split by index. Even-numbered replications (0, 2, 4, ...)
  choose; the recommended setting's reported numbers (mean and interval of the objective and of
  every constraint) come from the odd-numbered ones, which played no part in choosing it, so they
  are unbiased (the mean of the winner over the choosing replications is biased upwards: with K
  identical settings it is the maximum of K noisy means). The choosing replications' mean is kept
  as `selection_mean` for reference.

Error is shared by Bonferroni: with constraints, alpha/2 for feasibility and alpha/2 for the
ranking; without, all of alpha for the ranking.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from sim.config.experiment import CONSTRAINT, DEFAULT_DELTA, ObjectiveSpec, parse_delta  # noqa: F401 (re-exported)
from sim.experiment.selection import Feasibility, feasibility, select_best
from sim.measure.stats import estimate

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
ALPHA = 0.05                 # 95% statements
SHARE_TOLERANCE = 0.01       # constraints on shares: 1 percentage point of tolerance
RELATIVE_TOLERANCE = 0.01    # other constraints: 1% of the bound
KEYS = ["scenario", "point", "policy"]


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


# ---- what values a KPI can take (one place: the KPI registry) -----------------------------------

def kpi_range(kpi: str) -> tuple[float, float] | None:
    """(low, high) a KPI can take: shares 0..1, counts, money, durations and ratios >= 0
    (`sim.measure.registry`); None for a name the registry does not know."""
    from sim.measure.registry import KPIS
    from sim.measure.registry import kpi as entry
    if kpi not in KPIS and entry(kpi).kind == "number":
        return None
    return entry(kpi).bounds


def constraint_warnings(constraints: list[Constraint]) -> list[str]:
    """A warning per constraint whose bound lies outside what its KPI can be (e.g. a share >= 90)."""
    out = []
    for c in constraints:
        rng = kpi_range(c.kpi)
        if rng is None:
            continue
        lo, hi = rng
        never = (c.op.startswith(">") and c.bound > hi) or (c.op.startswith("<") and c.bound < lo)
        always = (c.op.startswith(">") and c.bound < lo) or (c.op.startswith("<") and c.bound > hi)
        if not (never or always):
            continue
        what = "a share between 0 and 1" if hi == 1.0 else f"never below {lo:g}"
        fate = "no setting can meet it" if never else "every setting meets it trivially"
        hint = ""
        if hi == 1.0 and 1 < abs(c.bound) <= 100:
            hint = f"; did you mean {c.kpi}{c.op}{c.bound / 100:.2f} (or {c.bound:g}%)?"
        out.append(f"constraint {c}: {c.kpi} is {what}, so {fate}{hint}")
    return out


# ---- recommendation ------------------------------------------------------------------------

def recommend_from_spec(runs: pd.DataFrame, spec: ObjectiveSpec | None, factors: list[str]) -> dict[str, Any] | None:
    """`recommend` from an objective spec as the plan and manifest keep it (Objective.spec())."""
    if not spec or runs.empty:
        return None
    cons = [parse_constraint(c) if isinstance(c, str) else c for c in spec.get("constraints", [])]
    decisions = [(d["path"], d.get("direction", "min") == "max") for d in spec.get("decisions", [])]
    return recommend(runs, spec.get("kpi"), cons, factors, maximise=spec.get("direction", "max") == "max",
                     decisions=decisions, delta=spec.get("delta"))


def recommend(runs: pd.DataFrame, objective: str | None, constraints: list[Constraint], factors: list[str],
              maximise: bool = True, *, decisions: Sequence[tuple[str, bool]] = (), delta: str | float | None = None,
              alpha: float = ALPHA, holdout: bool = True) -> dict[str, Any]:
    """The recommended candidate (scenario x point x policy), what cannot be told apart from it,
    and how sure we are, as plain data (see the module docstring and docs/how-to/choose-a-setting.md).

    `objective` is the KPI to maximise (or minimise); `decisions` [(factor path, maximise)] are
    swept settings to optimise first (lexicographically), the KPI breaking their ties.
    """
    decisions = sorted(decisions, key=lambda d: factors.index(d[0]) if d[0] in factors else len(factors))
    if objective is None and not decisions:
        raise ValueError("give a KPI or a swept setting to maximise or minimise")
    for name in [*([objective] if objective else []), *(c.kpi for c in constraints)]:
        if name not in runs.columns or name in factors:
            raise ValueError(f"unknown KPI {name!r}; KPIs are the columns of runs.csv (e.g. bookings, mqls, "
                             "mql_to_sql_rate, sla_compliance_standard, rep_utilisation)")
    for path, _ in decisions:
        if path not in factors:
            raise ValueError(f"{path!r} is not a swept setting of these results; swept: {', '.join(factors) or 'none'}")
    d_value, d_relative = parse_delta(delta)
    warnings = constraint_warnings(constraints)
    cands = runs[KEYS].drop_duplicates().reset_index(drop=True)
    k = len(cands)
    col = runs.groupby(KEYS, sort=False, dropna=False).ngroup().to_numpy()     # numbered in order of appearance
    reps = np.sort(runs["replication"].unique())
    row = {r: j for j, r in enumerate(reps)}
    rr = runs["replication"].map(row).to_numpy()

    def wide(kpi: str) -> NDArray[np.float64]:
        a = np.full((len(reps), k), np.nan)
        a[rr, col] = pd.to_numeric(runs[kpi], errors="coerce").to_numpy(float)
        return a

    first = runs.groupby(col, sort=True).first()
    values = {f: [first.loc[i, f] for i in range(k)] for f in factors}
    # the split removes selection bias from the reported KPI; a swept setting's value is exact, so
    # with no KPI objective every replication judges feasibility (and the numbers shown are those)
    holdout = holdout and objective is not None
    choose = (reps % 2 == 0) if holdout and len(reps) > 1 else np.ones(len(reps), bool)
    report = ~choose if choose.sum() < len(reps) else choose
    n_choose = int(choose.sum())
    kpis = {c.kpi for c in constraints} | ({objective} if objective else set())
    W = {q: wide(q) for q in kpis}

    # feasibility on the choosing replications, Bonferroni over settings x constraints
    a_feas = alpha / 2 if constraints else 0.0
    a_sel = alpha - a_feas
    tests = max(1, k * len(constraints))
    feas = [[feasibility(W[c.kpi][choose, i], c.op, c.bound, tolerance(c), a_feas, tests) for c in constraints]
            for i in range(k)]
    status = ["unmet" if any(f.status == "unmet" for f in fs) else
              "met" if all(f.status == "met" for f in fs) else "undecided" for fs in feas]
    met = [i for i in range(k) if status[i] == "met"]
    undecided = [i for i in range(k) if status[i] == "undecided"]
    provisional = False
    if not met:     # nothing known feasible: a provisional pick among those meeting the bounds on average
        on_average = [i for i in undecided if all(c.holds(f.mean) for c, f in zip(constraints, feas[i]))]
        if on_average:
            provisional, met = True, on_average
            undecided = [i for i in undecided if i not in on_average]
    direction = "max" if maximise else "min"
    primary: str | None = objective
    if decisions:
        p0, up0 = decisions[0]
        primary, direction = p0, "max" if up0 else "min"
    result: dict[str, Any] = {
        "objective": primary, "direction": direction,
        "objectives": [{"name": p, "direction": "max" if up else "min", "kind": "setting"} for p, up in decisions]
        + ([{"name": objective, "direction": "max" if maximise else "min", "kind": "kpi"}] if objective else []),
        "constraints": [str(c) for c in constraints], "candidates": k, "feasible": 0 if provisional else len(met),
        "undecided": status.count("undecided"), "alpha": alpha, "confidence": 1 - alpha,
        "tolerances": {str(c): tolerance(c) for c in constraints},
        "replications": {"choose": n_choose, "report": int(report.sum()) if report is not choose else 0,
                         "split": "even replications choose, odd ones report" if report is not choose else
                         "too few replications to hold any out: reported means are biased upwards" if holdout else
                         "every replication judges feasibility (no KPI objective: a setting's value is exact, so no selection bias)"},
        "warnings": warnings,
    }
    label = _labeller(cands, factors, values)

    def entry(i: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        e: dict[str, Any] = {**{c: _plain(cands.at[i, c]) for c in KEYS}, **{f: _plain(values[f][i]) for f in factors},
             "label": label(i), "feasibility": status[i]}
        return {**e, **(extra or {})}

    # decision variables first: the best value among met settings; settings still undecided with a
    # better value cannot be excluded
    pool = list(met)
    ahead: list[int] = []
    for path, up in decisions:
        if not pool:
            break
        v = np.array([_num(values[path][i]) for i in range(k)], float)
        target = (max if up else min)(v[i] for i in pool)
        ahead += [i for i in undecided if (v[i] > target if up else v[i] < target) and i not in ahead]
        pool = [i for i in pool if v[i] == target]
        undecided = [i for i in undecided if v[i] == target]
    if objective:
        X = W[objective][choose]
        scale = max((abs(np.nanmean(X[:, i])) for i in pool if np.isfinite(X[:, i]).any()), default=0.0)
        dlt = d_value * scale if d_relative else d_value
        result["delta"] = dlt
        result["delta_rule"] = f"{100 * d_value:g}% of the largest mean {objective} among feasible settings" \
            if d_relative else f"{dlt:g} {objective} (given)"
        sub = pool + [i for i in undecided if i not in pool]
        sel = select_best(X[:, sub], maximise, dlt, a_sel, rivals=list(range(len(pool)))) if pool else None
    else:
        result["delta"], result["delta_rule"], sel, sub = 0.0, "no KPI objective: settings are compared exactly", None, []
    if not pool:
        result.update(best=None, probability=0.0, claim=False, cannot_exclude=[entry(i) for i in undecided],
                      more_replications=_more(feas, undecided, {}, n_choose, holdout, entry))
        result["message"] = ("no setting meets every constraint with confidence; " +
                             (f"{len(undecided)} are undecided: add replications" if undecided else
                              "relax a constraint or widen the sweep") +
                             (f" (warning: {warnings[0]})" if warnings else ""))
        return result
    if sel is not None:
        if sel.best is None:     # every candidate's objective is undefined (NaN) on the choosing replications
            raise ValueError(f"{objective} is undefined in every replication of the feasible settings: "
                             "nothing to maximise or minimise")
        best = sub[sel.best]
        keep = [sub[j] for j in sel.cannot_exclude]
        p_sel = sel.probability
        needed = {sub[j]: v for j, v in sel.needed.items()}
    else:
        best, keep, p_sel, needed = pool[0], list(pool), 1.0, {}
    keep = [*ahead, *[i for i in keep if i not in ahead]]
    probability = None if ahead or provisional else max(0.0, p_sel - a_feas)
    result["probability"] = probability
    result["provisional"] = provisional
    result["claim"] = bool(probability is not None and probability >= 1 - alpha - 1e-12)
    def held_out(i: int) -> pd.DataFrame:          # candidate i's runs on the reporting replications
        held: pd.DataFrame = runs[(col == i) & report[rr]]
        return held

    result["best"] = _best(entry(best), objective, constraints, W[objective][choose, best] if objective else None,
                           held_out(best))
    result["cannot_exclude"] = [entry(i, {"selection_mean": _m(W[objective][choose, i]) if objective else None})
                                for i in keep]
    result["distinguished"] = keep == [best]
    # more replications only while the statement cannot be made (once it holds, the settings left in
    # cannot_exclude are within delta of each other: telling them apart is not worth it)
    result["more_replications"] = _more(feas, [] if result["claim"] else [i for i in keep if status[i] == "undecided"],
                                        {} if result["claim"] else {i: v for i, v in needed.items() if i in keep},
                                        n_choose, holdout, entry)
    result["message"] = headline(result)
    return result


def tolerance(c: Constraint) -> float:
    """How far a setting may miss a constraint's bound and still count as meeting it."""
    rng = kpi_range(c.kpi)
    return SHARE_TOLERANCE if rng == (0.0, 1.0) else RELATIVE_TOLERANCE * abs(c.bound)


def _best(e: dict[str, Any], objective: str | None, constraints: list[Constraint],
          chosen_on: NDArray[np.float64] | None, held: pd.DataFrame) -> dict[str, Any]:
    """The recommended setting's numbers, from the replications that did not choose it (`held`),
    each with the interval of its KPI kind (`sim.measure.stats.estimate`: a share stays in [0, 1]);
    `selection_mean` is the biased mean on the choosing replications, for comparison."""
    out = dict(e)
    if objective and chosen_on is not None:
        est = estimate(held, objective)
        out.update(mean=est["mean"], lower=est["lower"], upper=est["upper"], n=est["n"], status=est["status"],
                   selection_mean=_m(chosen_on))
    else:
        out.update(mean=math.nan, lower=math.nan, upper=math.nan, n=len(held))
    checks = []
    for c in constraints:
        est = estimate(held, c.kpi)
        clo, chi = est["lower"], est["upper"]
        sure = bool(np.isfinite(clo) and c.holds(clo) and c.holds(chi))
        checks.append({"constraint": str(c), "kpi": c.kpi, "mean": est["mean"], "lower": clo, "upper": chi,
                       "met": c.holds(est["mean"]), "met_across_interval": sure, "status": est["status"]})
    out["constraints"] = checks
    out["feasible"] = True
    return out


def _more(feas: list[list[Feasibility]], undecided: list[int], needed: dict[int, int], n_choose: int, holdout: bool,
          entry: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """Replications to add per setting (in all: with the split, half of them choose)."""
    per = {}
    for i, total in needed.items():
        per[i] = max(0, total - n_choose)
    for i in undecided:
        want = max((f.needed or 0) for f in feas[i])
        per[i] = max(per.get(i, 0), max(0, want - n_choose))
    factor = 2 if holdout else 1
    settings = [{**entry(i), "more": factor * v} for i, v in per.items() if v > 0]
    return {"per_setting": max((s["more"] for s in settings), default=0), "settings": settings,
            "total": sum(s["more"] for s in settings)}


def headline(rec: dict[str, Any]) -> str:
    """The recommendation in one sentence: the guarantee, or what cannot be told apart."""
    best = rec.get("best")
    if not best:
        return str(rec.get("message", "no recommendation"))
    conf = f"{rec.get('confidence', 1 - ALPHA):.0%}"
    ce = rec.get("cannot_exclude") or []
    kpi = next((o["name"] for o in rec.get("objectives", []) if o["kind"] == "kpi"), None)
    dl = f"{_short(rec.get('delta', 0))} {kpi}" if kpi else "its value"
    more = (rec.get("more_replications") or {}).get("per_setting") or 0
    add = f" Up to {more} more replications per setting would settle it." if more else ""
    if rec.get("provisional"):
        return (f"No setting is known to meet every constraint at {conf} ({rec.get('undecided', 0)} undecided); "
                f"provisionally {best['label']}: it meets them on average and has the best estimate.{add}")
    dec = [o for o in rec.get("objectives", []) if o["kind"] == "setting"]
    if dec:
        what = " then ".join(f"{'smallest' if o['direction'] == 'min' else 'largest'} {o['name']}" for o in dec)
        cons = " that meets every constraint" if rec.get("constraints") else ""
        tie = f" (ties broken by {kpi}, within {dl})" if kpi else ""
        if rec.get("claim"):
            others = [c["label"] for c in ce if c["label"] != best["label"]]
            alike = f"; cannot be told apart from {_list(others)}" if others else ""
            return f"{best['label']} is the {what}{cons}{tie} with probability >= {conf}{alike}."
        return (f"{best['label']} is the {what} known to meet every constraint, but it cannot be named at {conf}: "
                f"{len(ce)} settings cannot be excluded ({_list([c['label'] for c in ce])}).{add}")
    if rec.get("claim") and rec.get("distinguished"):
        return f"{best['label']} is the best setting (within {dl}) with probability >= {conf}."
    if rec.get("claim"):
        others = [c["label"] for c in ce if c["label"] != best["label"]]
        return (f"{best['label']} is within {dl} of the best with probability >= {conf}; "
                f"{len(ce)} settings cannot be told apart within {dl}: {_list([best['label'], *others])}.")
    return (f"No setting can be named the best at {conf}: {len(ce)} cannot be excluded "
            f"({_list([c['label'] for c in ce])}); {best['label']} has the best estimate.{add}")


def _list(items: list[str], limit: int = 8) -> str:
    return "; ".join(items[:limit]) + (f"; and {len(items) - limit} more" if len(items) > limit else "")


def _short(x: float) -> str:
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


def _labeller(cands: pd.DataFrame, factors: list[str], values: dict[str, list[Any]]) -> Callable[[int], str]:
    multi_pol = cands["policy"].nunique() > 1
    multi_scen = cands["scenario"].nunique() > 1

    def label(i: int) -> str:
        parts = [f"{f}={_show(values[f][i])}" for f in factors]
        if multi_pol or not parts:
            parts.append(f"policy {cands.at[i, 'policy']!s}")
        if multi_scen:
            parts.append(f"scenario {cands.at[i, 'scenario']!s}")
        return ", ".join(parts)
    return label


def _show(v: object) -> str:
    p = _plain(v)
    return f"{p:g}" if isinstance(p, float) else str(p)


def _plain(v: object) -> object:
    """A numpy scalar as the Python number it holds (for JSON and labels)."""
    return v.item() if hasattr(v, "item") else v


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{v!r} is not a number: only numeric swept settings can be minimised or maximised") from None


def _m(x: NDArray[np.float64]) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan
