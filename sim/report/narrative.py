"""Words from numbers: the executive summary sentences and the health flags of a report.

Every sentence is generated from the summary / differences tables, so it can never disagree with
the figures and tables next to it. Health flags compare KPIs with published benchmarks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from sim.present import fmt
from sim.report.style import pct, pretty
from sim.vocab import TIERS

# Benchmarks, copied from the project's REFERENCES.md ("From the seed articles", "Funnel
# benchmarks"; the seed MQL guides, 2026) so the package runs without it. Utilisation: the
# queueing rule of thumb that waits grow steeply above ~85% busy (Erlang C; issue 4's example).
MQL_TO_SQL_BROKEN = 0.05        # "5% or less = broken"
MQL_TO_SQL_LOW = 0.20           # "<20% definition too loose or leads not worked"
MQL_TO_SQL_HIGH = 0.40          # ">40-50% threshold may be too strict" (healthy 25-40%)
MQL_TO_SAL_LOW = 0.50           # "MQL->SAL (acceptance) >50%, best 60-70%"
REJECTION_HIGH = 0.20           # "Rejected MQLs <20%"
RESPONSE_HOURS = 8.0            # "Response under 8 business hours"
NEVER_TOUCHED_HIGH = 0.05   # our rule of thumb (not from REFERENCES): an MQL that is never worked is a lost lead
LEAD_TO_MQL = (0.15, 0.40)      # "start where 15-25% of leads qualify"; funnel benchmark 20-40%
UTILISATION_HIGH = 0.85


@dataclass(frozen=True)
class Flag:
    policy: str
    kpi: str
    value: float
    level: str          # "bad", "warn" or "ok"
    message: str


def health_flags(summary: pd.DataFrame, policies: list[str]) -> list[Flag]:
    """One flag per (policy, check): the KPI's mean against its benchmark."""
    s = summary.groupby(["policy", "kpi"], sort=False)["mean"].mean()
    flags: list[Flag] = []

    def add(p: str, kpi: str, rules: list[tuple[Callable[[float], bool], str, str]], ok: str) -> None:
        v = float(s.get((p, kpi), math.nan))
        if not math.isfinite(v):
            return
        for hit, level, msg in rules:
            if hit(v):
                flags.append(Flag(p, kpi, v, level, msg))
                return
        flags.append(Flag(p, kpi, v, "ok", ok))

    for p in policies:
        add(p, "mql_to_sql_rate", [
            (lambda v: v <= MQL_TO_SQL_BROKEN, "bad", "MQL -> SQL at or under 5%: the funnel is broken"),
            (lambda v: v < MQL_TO_SQL_LOW, "warn", "MQL -> SQL under 20%: MQL definition too loose, or leads not worked"),
            (lambda v: v > MQL_TO_SQL_HIGH, "warn", "MQL -> SQL over 40%: the threshold may be too strict (buyers left in nurture)")],
            "MQL -> SQL within 20-40% (healthy 25-40%)")
        add(p, "mql_to_sal_rate", [(lambda v: v < MQL_TO_SAL_LOW, "warn", "sales accepts under half of the MQLs (healthy: over 50%, best 60-70%)")],
            "sales accepts over half of the MQLs")
        add(p, "rejection_rate", [(lambda v: v > REJECTION_HIGH, "warn", "over 20% of reached MQLs rejected by sales")],
            "under 20% of reached MQLs rejected")
        add(p, "first_touch_p50_business_hours", [(lambda v: v > RESPONSE_HOURS, "warn", "median first touch slower than 8 business hours")],
            "median first touch within 8 business hours (of the MQLs touched)")
        # the median is over touched MQLs: a team that drops leads can look fast, so say so
        add(p, "never_touched_share", [(lambda v: v > NEVER_TOUCHED_HIGH, "warn",
                                        "over 5% of MQLs never touched: the team cannot keep up (the speed figures "
                                        "count only the leads it reached)")],
            "at most 5% of MQLs never touched")
        add(p, "rep_utilisation", [(lambda v: v > UTILISATION_HIGH, "warn", "reps over 85% busy: queues and waits grow steeply")],
            "reps at or under 85% busy")
        lo, hi = LEAD_TO_MQL
        add(p, "lead_to_mql_rate", [(lambda v: v < lo, "warn", "under 15% of leads become MQLs: definition may be too strict"),
                                    (lambda v: v > hi, "warn", "over 40% of leads become MQLs: definition may be too loose")],
            "15-40% of leads become MQLs")
    return flags


def _ci_pct(lo: float, hi: float) -> str:
    return f"95% CI {lo:+.0f}% to {hi:+.0f}%" if math.isfinite(lo) and math.isfinite(hi) else "no interval: one replication"


def _ci_pp(lo: float, hi: float) -> str:
    return f"95% CI {100 * lo:+.1f} to {100 * hi:+.1f} pp" if math.isfinite(lo) and math.isfinite(hi) else "no interval"


def _verb(diff: float, up: str, down: str) -> str:
    return up if diff > 0 else down if diff < 0 else "leaves unchanged"


def policy_sentence(p: str, baseline: str, s: pd.Series, d: pd.DataFrame) -> str:
    """'Policy B raises bookings by 12% (95% CI 8% to 16%) while standard-tier SLA compliance falls
    from 94% to 71%; reps at 88% utilisation (70% under A).'"""
    parts = []
    if (p, "bookings") in d.index:
        r = d.loc[(p, "bookings")]
        base = float(s.get((baseline, "bookings"), math.nan))
        if base and math.isfinite(base):
            rel, lo, hi = 100 * r["diff"] / base, 100 * r["lower"] / base, 100 * r["upper"] / base
            sure = "" if r["significant"] or not math.isfinite(lo) else ", not distinguishable from no change"
            parts.append(f"{_verb(r['diff'], 'raises', 'lowers')} bookings by {abs(rel):.0f}% ({_ci_pct(lo, hi)}{sure})")
    # the SLA tier that moved most (among tiers with episodes under both)
    best = None
    for t in TIERS:
        k = f"sla_compliance_{t}"
        a, b = float(s.get((baseline, k), math.nan)), float(s.get((p, k), math.nan))
        if math.isfinite(a) and math.isfinite(b) and (best is None or abs(b - a) > abs(best[2] - best[1])):
            best = (t, a, b)
    if best is not None:
        t, a, b = best
        move = "rises" if b > a + 0.005 else "falls" if b < a - 0.005 else "stays"
        tail = f"from {pct(a)} to {pct(b)}" if move != "stays" else f"at {pct(b)}"
        key = (p, f"sla_compliance_{t}")
        if key in d.index:
            tail += f" ({_ci_pp(d.loc[key]['lower'], d.loc[key]['upper'])})"
        parts.append(f"{t.replace('_', '-')}-tier SLA compliance {move} {tail}")
    if (p, "mql_to_sql_rate") in d.index:
        r = d.loc[(p, "mql_to_sql_rate")]
        parts.append(f"MQL -> SQL {pct(s.get((p, 'mql_to_sql_rate'), math.nan))} vs {pct(s.get((baseline, 'mql_to_sql_rate'), math.nan))} "
                     f"({_ci_pp(r['lower'], r['upper'])})")
    util = float(s.get((p, "rep_utilisation"), math.nan))
    tail = f"; reps at {pct(util)} utilisation ({pct(s.get((baseline, 'rep_utilisation'), math.nan))} under {baseline}" \
        if math.isfinite(util) else ""
    if tail and (p, "rep_utilisation") in d.index:
        r = d.loc[(p, "rep_utilisation")]
        tail += f"; difference {_ci_pp(r['lower'], r['upper'])}"
    tail += ")" if tail else ""
    if not parts:
        return f"{p}: no paired differences from {baseline}."
    lead = parts[0] if len(parts) < 2 else f"{parts[0]} while {parts[1]}"
    rest = "".join(f", {x}" for x in parts[2:])
    return f"{p} {lead}{rest}{tail}."


def level_sentence(p: str, s: pd.Series) -> str:
    """One policy on its own: volumes, conversion, speed and load."""
    g = lambda k: float(s.get((p, k), math.nan))  # noqa: E731
    return (f"Under {p}: {fmt(g('mqls'), 'int')} MQLs from {fmt(g('leads'), 'int')} leads ({pct(g('lead_to_mql_rate'))}), "
            f"MQL -> SQL {pct(g('mql_to_sql_rate'))}, bookings {fmt(g('bookings'), 'money')}, "
            f"SLA met for {pct(g('sla_compliance'))} of MQL episodes, reps {pct(g('rep_utilisation'))} busy.")


def _value(v: float) -> str:
    return fmt(v, "num") if abs(v or 0) < 1e4 or not math.isfinite(v) else fmt(v, "money")


def recommendation_sentence(rec: dict | None, factors: list[str]) -> str | None:
    """The sweep's recommended setting in words: what the selection procedure can say (within delta
    of the best with probability >= 95%, or which settings cannot be told apart), and its numbers
    from the replications that did not choose it; or why there is none."""
    if not rec:
        return None
    goals = rec.get("objectives") or [{"name": rec.get("objective", "?"), "direction": rec.get("direction", "max"),
                                       "kind": "kpi"}]
    goal = ", then ".join(f"{'maximises' if o['direction'] == 'max' else 'minimises'} {pretty(o['name']).lower()}"
                          for o in goals)
    cons = rec.get("constraints") or []
    subject = f" subject to {', '.join(cons)}" if cons else ""
    best = rec.get("best")
    if not best:
        return f"No recommended setting (goal: {goal}{subject}): {rec.get('message', 'no setting meets every constraint')}."
    where = ", ".join(f"{pretty(f).split(' (')[0]} = {best[f]:g}" if isinstance(best.get(f), (int, float)) else
                      f"{pretty(f)} = {best.get(f)}" for f in factors if f in best)
    who = f" under {best['policy']}" if best.get("policy") else ""
    caveat = "" if rec.get("claim", True) else "; the best estimate, not yet a pick at 95%"
    out = f"Recommended setting: {where or 'point ' + str(best.get('point'))}{who} (goal: {goal}{subject}{caveat})."
    if rec.get("message") and "cannot_exclude" in rec:
        out += " " + rec["message"]
    else:       # a recommendation.json from before the selection procedure
        ws = rec.get("win_share")
        out += f" Best in {pct(ws)} of replications." if ws is not None and math.isfinite(ws) else ""
    m = best.get("mean", math.nan)
    if m is not None and math.isfinite(m):
        reps = rec.get("replications") or {}
        k = reps.get("report")
        src = f" (from {k} replication{'s' if k != 1 else ''} not used to choose it)" if k else ""
        kpi = next((o["name"] for o in goals if o.get("kind", "kpi") == "kpi"), rec.get("objective"))
        out += f" Its {pretty(kpi).lower()}: {_value(m)} on average, 95% CI {_value(best.get('lower', math.nan))} " \
               f"to {_value(best.get('upper', math.nan))}{src}."
    return out


def _joined(at: str, sentence: str) -> str:
    return at + sentence[0].lower() + sentence[1:] if at and sentence.startswith("Under") else at + sentence


def sweep_sentence(summary: pd.DataFrame, factor: str, policy: str) -> str | None:
    """How the key KPIs move across a swept setting, for one policy (other swept settings averaged):
    'Across MQL threshold 40 to 80 (seed-example): bookings are highest at 50 (1.83M) and lowest at
    40 (270k); MQL -> SQL 2% to 29%; SLA compliance 1% to 80%; reps 32% to 100% busy.'"""
    s = summary[(summary["policy"] == policy)] if "policy" in summary else summary
    if factor not in s or s[factor].nunique() < 2:
        return None
    m = s.groupby([factor, "kpi"], sort=False)["mean"].mean().unstack("kpi")
    name = pretty(factor).split(" (")[0]
    vals = list(dict.fromkeys(s[factor]))
    show = lambda v: f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)  # noqa: E731
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
    span = (f"{show(vals[0])} to {show(vals[-1])}" if numeric and len(vals) > 2 else
            ", ".join(map(show, vals[:-1])) + f" and {show(vals[-1])}")
    parts = []
    if "bookings" in m and m["bookings"].notna().any():
        b = m["bookings"]
        if b.max() - b.min() <= 0.005 * abs(b.max()):
            parts.append(f"bookings about the same at every value ({fmt(b.max(), 'money')})")
        else:
            parts.append(f"bookings are highest at {show(b.idxmax())} ({fmt(b.max(), 'money')}) and lowest at "
                         f"{show(b.idxmin())} ({fmt(b.min(), 'money')})")
    for k, label, tail in (("mql_to_sql_rate", "MQL -> SQL", ""), ("sla_compliance", "SLA compliance", ""),
                           ("rep_utilisation", "reps", " busy")):
        if k in m and m[k].notna().any():
            lo, hi = pct(m[k].min()), pct(m[k].max())
            parts.append(f"{label} {lo}{tail} throughout" if lo == hi else f"{label} {lo} to {hi}{tail}")
    return f"Across {name} {span} ({policy}): " + "; ".join(parts) + "." if parts else None


def executive_summary(summary: pd.DataFrame, differences: pd.DataFrame, policies: list[str], baseline: str,
                      replications: int, flags: list[Flag], recommendation: dict | None = None,
                      factors: list[str] | None = None, where: str = "",
                      sweep: pd.DataFrame | None = None) -> list[str]:
    """Plain sentences, most important first. `where` ("MQL threshold = 60") says which point of
    a sweep the policy sentences describe; `sweep` (the whole sweep's summary) adds how the key
    KPIs move across the first swept setting."""
    at = f"At {where}, " if where else ""
    s = summary.groupby(["policy", "kpi"], sort=False)["mean"].mean()
    out: list[str] = []
    rec = recommendation_sentence(recommendation, factors or [])
    if rec:
        out.append(rec)
    if factors and sweep is not None:
        moved = sweep_sentence(sweep, factors[0], baseline)
        if moved:
            out.append(moved)
    if len(policies) > 1 and differences is not None and len(differences):
        d = differences.groupby(["policy", "kpi"], sort=False)[["diff", "lower", "upper"]].mean()
        d["significant"] = differences.groupby(["policy", "kpi"], sort=False)["significant"].all()
        out.append(_joined(at, level_sentence(baseline, s)))
        out += [at + policy_sentence(p, baseline, s, d) for p in policies if p != baseline]
    else:
        out += [_joined(at, level_sentence(p, s)) for p in policies]
    bad = [f for f in flags if f.level != "ok"]
    if bad:
        worst = "; ".join(f"{f.policy}: {f.message} ({pct(f.value) if f.kpi != 'first_touch_p50_business_hours' else f'{f.value:.1f} h'})"
                          for f in bad[:4])
        more = f"; and {len(bad) - 4} more (see Health checks)" if len(bad) > 4 else ""
        out.append(f"{len(bad)} health flag{'s' if len(bad) > 1 else ''}: {worst}{more}.")
    else:
        out.append("Every health check is within the published benchmarks.")
    if replications < 2:
        out.append("One replication only: the numbers are an anecdote, with no intervals. Run more replications.")
    return out
