"""Words from numbers: the executive summary sentences and the health flags of a report.

Every sentence is generated from the summary / differences tables, so it can never disagree with
the figures and tables next to it, and a claim is written only when its 95% interval supports it
(else the sentence says how many replications it would take). Health flags compare a KPI's
interval, not only its mean, with published benchmarks.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd

from sim import format as F
from sim.present import significant
from sim.report.style import pct, pretty
from sim.vocab import TIERS

# Benchmarks from the seed MQL guides (2026) and published funnel benchmark ranges, quoted next to
# each constant. Utilisation: the queueing rule of thumb that waits grow steeply above ~85% busy
# (Erlang C: the mean wait grows like 1 / (1 - utilisation)).
MQL_TO_SQL_BROKEN = 0.05        # "5% or less = broken"
MQL_TO_SQL_LOW = 0.20           # "<20% definition too loose or leads not worked"
MQL_TO_SQL_HIGH = 0.40          # ">40-50% threshold may be too strict" (healthy 25-40%)
MQL_TO_SAL_LOW = 0.50           # "MQL->SAL (acceptance) >50%, best 60-70%"
REJECTION_HIGH = 0.20           # "Rejected MQLs <20%"
RESPONSE_HOURS = 8.0            # "Response under 8 business hours"
NEVER_TOUCHED_HIGH = 0.05   # our rule of thumb (not from the guides): an MQL that is never worked is a lost lead
LEAD_TO_MQL = (0.15, 0.40)      # "start where 15-25% of leads qualify"; funnel benchmark 20-40%
UTILISATION_HIGH = 0.85
MAX_NEEDED = 10_000             # replications beyond this are "over 10,000"


@dataclass(frozen=True)
class Flag:
    policy: str
    kpi: str
    value: float
    level: str          # "bad", "warn", "inconclusive" (the interval straddles a benchmark) or "ok"
    message: str
    lower: float = math.nan
    upper: float = math.nan
    n: int | None = None
    few: str = ""       # 'too few (n=2)' / 'too few (12 items)' when there is no interval to judge

    def shown(self) -> str:
        """The value with its interval and unit: '0.8 business h (95% CI 0.5 to 1.1)', '37.5% (95%
        CI 30.1% to 44.9%)', or 'too few (n=2)'."""
        if self.few:
            return self.few
        from sim.measure.registry import KPIS
        # checks that are not KPIs (the steady-state diagnostics) report shares, as the page always did
        _, kind, unit = F.kpi_format(self.kpi) if self.kpi in KPIS else ("", "share", "")
        v = F.value(self.value, kind, unit)
        if kind == "duration":
            v = f"{v} ({unit})" if unit else v
        ci = F.interval(self.lower, self.upper, kind, unit)
        return v if ci == "no interval" else f"{v}, 95% CI {ci}"


# (kpi, [(op, threshold, level, message)], ok message): op "<=", "<", ">" against the threshold
CHECKS: list[tuple[str, list[tuple[str, float, str, str]], str]] = [
    ("mql_to_sql_rate", [("<=", MQL_TO_SQL_BROKEN, "bad", "MQL -> SQL at or under 5%: the funnel is broken"),
                         ("<", MQL_TO_SQL_LOW, "warn", "MQL -> SQL under 20%: MQL definition too loose, or leads not worked"),
                         (">", MQL_TO_SQL_HIGH, "warn", "MQL -> SQL over 40%: the threshold may be too strict (buyers left in nurture)")],
     "MQL -> SQL within 20-40% (healthy 25-40%)"),
    ("mql_to_sal_rate", [("<", MQL_TO_SAL_LOW, "warn", "sales accepts under half of the MQLs (healthy: over 50%, best 60-70%)")],
     "sales accepts over half of the MQLs"),
    ("rejection_rate", [(">", REJECTION_HIGH, "warn", "over 20% of reached MQLs rejected by sales")],
     "under 20% of reached MQLs rejected"),
    ("first_touch_p50_business_hours", [(">", RESPONSE_HOURS, "warn", "median first touch slower than 8 business hours")],
     "median first touch within 8 business hours (of the MQLs touched)"),
    # the median is over touched MQLs: a team that drops leads can look fast, so say so
    ("never_touched_share", [(">", NEVER_TOUCHED_HIGH, "warn", "over 5% of MQLs never touched: the team cannot keep up "
                                                              "(the speed figures count only the leads it reached)")],
     "at most 5% of MQLs never touched"),
    ("rep_utilisation", [(">", UTILISATION_HIGH, "warn", "reps over 85% busy: queues and waits grow steeply")],
     "reps at or under 85% busy"),
    ("lead_to_mql_rate", [("<", LEAD_TO_MQL[0], "warn", "under 15% of leads become MQLs: definition may be too strict"),
                          (">", LEAD_TO_MQL[1], "warn", "over 40% of leads become MQLs: definition may be too loose")],
     "15-40% of leads become MQLs"),
]


def _verdict(op: str, t: float, mean: float, lo: float, hi: float) -> str:
    """'yes' when the whole interval breaks the rule, 'no' when none of it does, else 'maybe'.
    Without an interval (one replication) the mean decides."""
    def hit(v: float) -> bool:
        return v <= t if op == "<=" else v < t if op == "<" else v > t
    if F.missing(lo) or F.missing(hi):
        return "yes" if hit(mean) else "no"
    a, b = hit(lo), hit(hi)
    return "yes" if a and b else "no" if not (a or b) else "maybe"


def health_flags(summary: pd.DataFrame, policies: list[str]) -> list[Flag]:
    """One flag per (policy, check): the KPI's 95% interval against its benchmark. 'inconclusive'
    when the interval straddles a threshold or too few worlds define the KPI."""
    s = summary.drop_duplicates(["policy", "kpi"]).set_index(["policy", "kpi"])
    flags: list[Flag] = []
    for p in policies:
        for kpi, rules, ok in CHECKS:
            if (p, kpi) not in s.index:
                continue
            r = cast("pd.Series[Any]", s.loc[(p, kpi)])     # one row per (policy, KPI): duplicates dropped
            st = F.status_of(r)
            n_at: Any = r.get("n")
            n = None if F.missing(n_at) else int(n_at)
            if st == "undefined":
                continue
            if st == "too_few":
                few = F.too_few(n, r.get("n_total"), r.get("count"))
                flags.append(Flag(p, kpi, float(r["mean"]), "inconclusive",
                                  "too few worlds (or episodes) for an interval to judge", n=n, few=few))
                continue
            m, lo, hi = float(r["mean"]), float(r.get("lower", math.nan)), float(r.get("upper", math.nan))
            verdicts = [(_verdict(op, t, m, lo, hi), op, t, level, msg) for op, t, level, msg in rules]
            sure = next((v for v in verdicts if v[0] == "yes"), None)
            maybe = next((v for v in verdicts if v[0] == "maybe"), None)
            if sure is not None:
                flags.append(Flag(p, kpi, m, sure[3], sure[4], lo, hi, n))
            elif maybe is not None:
                _, op, t, _, msg = maybe
                flags.append(Flag(p, kpi, m, "inconclusive", f"inconclusive: the 95% interval straddles the benchmark "
                                                             f"({_threshold(kpi, t)}); {msg.split(':')[0]}?", lo, hi, n))
            else:
                flags.append(Flag(p, kpi, m, "ok", ok, lo, hi, n))
    return flags


def _threshold(kpi: str, t: float) -> str:
    _, kind, unit = F.kpi_format(kpi)
    return F.share(t, 0) if kind == "share" else F.value(t, kind, unit) + (f" ({unit})" if unit else "")


# ---- sentences ----------------------------------------------------------------------------


def _row(d: pd.DataFrame | None, key: tuple[Any, ...]) -> Any:
    if d is None or key not in d.index:
        return None
    r = d.loc[key]
    return r.iloc[0] if isinstance(r, pd.DataFrame) else r


def needed(r: Any, target: float) -> str:
    """About how many replications would give a half-width of `target` (it shrinks as 1/sqrt(n))."""
    lo, hi, n = r.get("lower"), r.get("upper"), r.get("n")
    if F.missing(lo) or F.missing(hi) or F.missing(n) or not target:
        return "more"
    k = math.ceil(float(n) * ((float(hi) - float(lo)) / 2 / abs(target)) ** 2)
    return f"over {MAX_NEEDED:,}" if k > MAX_NEEDED else f"about {max(k, int(n) + 1):,}"


def too_few_to_say(what: str, r: Any, target: float, target_text: str) -> str:
    """'bookings (about 40 needed for ±5%)': one item of 'too few replications to say whether it
    changes ...'. The target is the change seen (an interval that narrow would settle it); when
    almost no change is seen, half the present half-width."""
    if F.status_of(r) == "too_few":
        return f"{what} ({F.too_few(r.get('n'), r.get('n_total', r.get('n')), r.get('count'))} for an interval)"
    lo, hi = r.get("lower"), r.get("upper")
    if F.missing(lo) or F.missing(hi):
        return f"{what} (no interval)"
    hw = (float(hi) - float(lo)) / 2
    if abs(target) < hw / 10:
        return f"{what} (about {needed(r, hw / 2).removeprefix('about ')} needed to halve the interval)"
    return f"{what} (about {needed(r, target).removeprefix('about ')} needed for ±{target_text})"


UNSURE = "too few replications to say whether it changes "


def _relative(r: Any, base: float) -> tuple[float, float, float]:
    """Relative change and its interval: the stats layer's own (`relative_lower/upper`), else the
    difference's interval over the baseline mean; never below -100%."""
    rel = r.get("relative", math.nan)
    if F.missing(rel) and base and not F.missing(base):
        rel = r["diff"] / base
    lo, hi = r.get("relative_lower", math.nan), r.get("relative_upper", math.nan)
    if "relative_lower" not in r and base and not F.missing(base):     # tables from before relative intervals
        lo, hi = r["lower"] / base, r["upper"] / base
    return float(rel), max(float(lo), -1.0) if not F.missing(lo) else math.nan, float(hi)


def _supported(r: Any) -> bool:
    """A change is claimed only when its interval exists and excludes zero (Holm-adjusted)."""
    return r is not None and not F.missing(r.get("lower")) and significant(r)


def _same(r: Any) -> bool:
    """The difference is zero in every world (a zero-width interval at zero)."""
    return (F.status_of(r) == "ok" and not F.missing(r.get("lower")) and float(r["lower"]) == 0.0
            and float(r["upper"]) == 0.0)


def _verb(diff: float, up: str, down: str) -> str:
    return up if diff > 0 else down if diff < 0 else "leaves unchanged"


def _bookings_part(p: str, baseline: str, s: pd.Series, d: pd.DataFrame) -> str | None:
    r = _row(d, (p, "bookings"))
    if r is None:
        return None
    rel, lo, hi = _relative(r, float(s.get((baseline, "bookings"), math.nan)))
    if F.missing(rel):
        return None
    if _same(r):
        return "leaves bookings unchanged in every world"
    if _supported(r):
        ci = f"95% CI {F.relative(lo)} to {F.relative(hi)}" if not (F.missing(lo) or F.missing(hi)) else \
            f"95% CI {F.interval(r['lower'], r['upper'], 'money', diff=True)}; the relative interval is unbounded at this n"
        return f"{_verb(r['diff'], 'raises', 'lowers')} bookings by {F.share(abs(rel), 0)} ({ci})"
    return UNSURE + too_few_to_say("bookings", r, r["diff"], F.share(abs(rel), 0))


def _sla_part(p: str, baseline: str, s: pd.Series, d: pd.DataFrame) -> str | None:
    """The SLA tier that moved most (among tiers with episodes under both)."""
    best = None
    for t in TIERS:     # tiers with an interval first, then the largest move
        a, b = float(s.get((baseline, f"sla_compliance_{t}"), math.nan)), float(s.get((p, f"sla_compliance_{t}"), math.nan))
        r = _row(d, (p, f"sla_compliance_{t}"))
        if r is None or not (math.isfinite(a) and math.isfinite(b)):
            continue
        key = (F.status_of(r) == "ok", abs(b - a))
        if best is None or key > best[0]:
            best = (key, t, a, b, r)
    if best is None:
        return None
    _, t, a, b, r = best
    what = f"{t.replace('_', '-')}-tier SLA compliance"
    if _same(r):
        return f"{what} the same in every world ({pct(b)})"
    if not _supported(r):
        return UNSURE + too_few_to_say(what, r, r["diff"], F.pp(abs(r["diff"]), 0)) if abs(b - a) >= 0.005 else \
            f"{what} at {pct(b)} under both (difference {F.signed(r['diff'], 'share')}, 95% CI " \
            f"{F.interval(r['lower'], r['upper'], 'share', diff=True)})" if not F.missing(r.get("lower")) else None
    move = "rises" if b > a else "falls"
    return f"{what} {move} from {pct(a)} to {pct(b)} (95% CI {F.interval(r['lower'], r['upper'], 'share', diff=True)})"


def _rate_part(p: str, baseline: str, s: pd.Series, d: pd.DataFrame, kpi: str, label: str) -> str | None:
    r = _row(d, (p, kpi))
    if r is None or _same(r):
        return None
    if not _supported(r):
        return UNSURE + too_few_to_say(label, r, r["diff"], F.pp(abs(r["diff"]), 1)) if abs(r["diff"]) > 0 else None
    return (f"{label} {pct(s.get((p, kpi), math.nan))} vs {pct(s.get((baseline, kpi), math.nan))} "
            f"(95% CI {F.interval(r['lower'], r['upper'], 'share', diff=True)})")


def policy_sentence(p: str, baseline: str, s: pd.Series, d: pd.DataFrame) -> str:
    """'Policy B raises bookings by 12% (95% CI +8% to +16%) while standard-tier SLA compliance falls
    from 94% to 71% (95% CI ...); reps at 88% utilisation (70% under A; ...).' Each claim only
    when its interval supports it, else how many replications it would take."""
    found = [x for x in (_bookings_part(p, baseline, s, d), _sla_part(p, baseline, s, d),
                         _rate_part(p, baseline, s, d, "mql_to_sql_rate", "MQL -> SQL")) if x]
    parts = [x for x in found if not x.startswith(UNSURE)]
    unsure = [x.removeprefix(UNSURE) for x in found if x.startswith(UNSURE)]
    if unsure:      # one clause for every change the intervals cannot settle
        parts.append(UNSURE + (unsure[0] if len(unsure) == 1 else ", ".join(unsure[:-1]) + " or " + unsure[-1]))
    util = float(s.get((p, "rep_utilisation"), math.nan))
    tail = ""
    if math.isfinite(util):
        r = _row(d, (p, "rep_utilisation"))
        tail = f"; reps at {pct(util)} utilisation ({pct(s.get((baseline, 'rep_utilisation'), math.nan))} under {baseline}"
        if r is not None and not F.missing(r.get("lower")):
            tail += f"; difference 95% CI {F.interval(r['lower'], r['upper'], 'share', diff=True)}"
        tail += ")"
    if not parts:
        return f"{p}: no paired differences from {baseline}."
    if parts[0].startswith(UNSURE):
        return f"{p}: {parts[0]}{tail}."
    lead = parts[0] if len(parts) < 2 or parts[1].startswith(UNSURE) else f"{parts[0]} while {parts[1]}"
    rest = "".join(f"; {x}" if x.startswith(UNSURE) else f", {x}" for x in parts[(1 if lead == parts[0] else 2):])
    who = f"{p}" if lead.startswith(("raises", "lowers", "leaves")) else f"Under {p},"
    return f"{who} {lead}{rest}{tail}."


def level_sentence(p: str, s: pd.Series, rows: pd.DataFrame | None = None) -> str:
    """One policy on its own: volumes, conversion, speed and load, each with its half-width when
    `rows` (the summary indexed by policy, kpi) is given."""
    def g(k: str, sentence: bool = True) -> str:
        r = _row(rows, (p, k)) if rows is not None else None
        _, kind, unit = F.kpi_format(k)
        if r is not None:
            return F.cell(r, kind, unit)
        v = float(s.get((p, k), math.nan))
        return pct(v) if kind == "share" else F.value(v, kind, unit)
    return (f"Under {p}: {g('mqls')} MQLs from {g('leads')} leads (lead -> MQL {g('lead_to_mql_rate')}), "
            f"MQL -> SQL {g('mql_to_sql_rate')}, bookings {g('bookings')}, "
            f"SLA met for {g('sla_compliance')} of MQL episodes, reps {g('rep_utilisation')} busy.")


def _value(v: float) -> str:
    """One rule for a value and its interval ends (not '9970.02 to 11,839')."""
    return F.number(v)


def recommendation_sentence(rec: dict[str, Any] | None, factors: list[str]) -> str | None:
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
        kpi: Any = next((o["name"] for o in goals if o.get("kind", "kpi") == "kpi"), rec.get("objective"))
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
    def show(v: Any) -> str:
        return f"{v:g}" if isinstance(v, (int, float)) and not isinstance(v, bool) else str(v)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
    span = (f"{show(vals[0])} to {show(vals[-1])}" if numeric and len(vals) > 2 else
            ", ".join(map(show, vals[:-1])) + f" and {show(vals[-1])}")
    parts = []
    one = s[s["kpi"] == "bookings"].drop_duplicates(factor).set_index(factor) \
        if (s[s["kpi"] == "bookings"].groupby(factor).size() == 1).all() else None

    def money(v: float, at: Any) -> str:
        """Bookings at one swept value, with its half-width when the value is one row of the table."""
        r = None if one is None or at not in one.index or "lower" not in one else one.loc[at]
        return F.money(v) if r is None else F.cell(r, "money")
    if "bookings" in m and m["bookings"].notna().any():
        b = m["bookings"]
        if b.max() - b.min() <= 0.005 * abs(b.max()):
            parts.append(f"bookings about the same at every value ({F.money(b.max())})")
        else:
            parts.append(f"bookings are highest at {show(b.idxmax())} ({money(b.max(), b.idxmax())}) and lowest at "
                         f"{show(b.idxmin())} ({money(b.min(), b.idxmin())})")
    for k, label, tail in (("mql_to_sql_rate", "MQL -> SQL", ""), ("sla_compliance", "SLA compliance", ""),
                           ("rep_utilisation", "reps", " busy")):
        if k in m and m[k].notna().any():
            lo, hi = pct(m[k].min()), pct(m[k].max())
            parts.append(f"{label} {lo}{tail} throughout" if lo == hi else f"{label} {lo} to {hi}{tail}")
    ranges = " (means; every setting's interval is in the table below)" if len(parts) > 1 else ""
    return f"Across {name} {span} ({policy}): " + "; ".join(parts) + ranges + "." if parts else None


def executive_summary(summary: pd.DataFrame, differences: pd.DataFrame, policies: list[str], baseline: str,
                      replications: int, flags: list[Flag], recommendation: dict[str, Any] | None = None,
                      factors: list[str] | None = None, where: str = "",
                      sweep: pd.DataFrame | None = None) -> list[str]:
    """Plain sentences, most important first. `where` ("MQL threshold = 60") says which point of
    a sweep the policy sentences describe; `sweep` (the whole sweep's summary) adds how the key
    KPIs move across the first swept setting."""
    at = f"At {where}, " if where else ""
    s = summary.groupby(["policy", "kpi"], sort=False)["mean"].mean()
    rows = summary.drop_duplicates(["policy", "kpi"]).set_index(["policy", "kpi"]) if "lower" in summary else None
    out: list[str] = []
    rec = recommendation_sentence(recommendation, factors or [])
    if rec:
        out.append(rec)
    if factors and sweep is not None:
        moved = sweep_sentence(sweep, factors[0], baseline)
        if moved:
            out.append(moved)
    if len(policies) > 1 and differences is not None and len(differences):
        d = differences.drop_duplicates(["policy", "kpi"]).set_index(["policy", "kpi"])
        out.append(_joined(at, level_sentence(baseline, s, rows)))
        out += [_joined(at, policy_sentence(p, baseline, s, d)) for p in policies if p != baseline]
    else:
        out += [_joined(at, level_sentence(p, s, rows)) for p in policies]
    bad = [f for f in flags if f.level in ("bad", "warn")]
    unsure = [f for f in flags if f.level == "inconclusive"]
    if bad:
        worst = "; ".join(f"{f.policy}: {f.message} ({f.shown()})" for f in bad[:4])
        more = f"; and {len(bad) - 4} more (see Health checks)" if len(bad) > 4 else ""
        out.append(f"{F.plural(len(bad), 'health flag')}: {worst}{more}.")
    elif not unsure:
        out.append("Every health check is within the published benchmarks.")
    if unsure:
        names = ", ".join(dict.fromkeys(pretty(f.kpi) for f in unsure))
        out.append(f"{F.plural(len(unsure), 'health check')} inconclusive (the interval straddles the benchmark, or "
                   f"too few worlds): {names}; more replications would settle {'it' if len(unsure) == 1 else 'them'}.")
    if replications < 2:
        out.append("One replication only: the numbers are an anecdote, with no intervals. Run more replications.")
    return out
