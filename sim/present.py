"""Terminal presentation: KPI tables per policy (rich), with intervals where there are
replications. Interface layer only."""
from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.vocab import TIERS

# (kpi, label, format) in the order users read a funnel
HEADLINE = [
    ("leads", "Leads (cohort)", "int"),
    ("mqls", "MQLs", "int"),
    ("lead_to_mql_rate", "Lead -> MQL", "pct"),
    ("sals", "SALs", "int"),
    ("mql_to_sal_rate", "MQL -> SAL", "pct"),
    ("rejection_rate", "Rejected (of reached)", "pct"),
    ("sqls", "SQLs", "int"),
    ("mql_to_sql_rate", "MQL -> SQL", "pct"),
    ("opportunities", "Opportunities", "int"),
    ("won", "Won", "int"),
    ("win_rate", "Win rate", "pct"),
    ("bookings", "Bookings", "money"),
    ("pipeline", "Pipeline", "money"),
    ("first_touch_p50_hours", "First touch p50 (h)", "num"),
    ("first_touch_p90_hours", "First touch p90 (h)", "num"),
    *[(f"sla_compliance_{t}", f"SLA met: {t.replace('_', ' ')}", "pct") for t in TIERS],
    ("never_touched_share", "Never touched", "pct"),
    ("recycled_share", "Recycled", "pct"),
    ("rep_utilisation", "Rep utilisation", "pct"),
    ("queue_mean", "Queue (mean)", "num"),
    ("backlog_age_max_business_hours", "Oldest wait (max, business h)", "num"),
    ("overload_days", "Overload days", "int"),
    ("cost_per_won", "Cost per won deal", "money"),
    ("mql_precision", "MQL precision (truth)", "pct"),
    ("buyer_recall", "Buyer recall (truth)", "pct"),
    ("buyers_in_nurture", "Buyers left in nurture", "int"),
    # queueing mode only (teaching): the simulated queue next to Erlang C / A
    ("queue_p_wait", "Queue: P(wait) simulated", "pct"),
    ("erlang_p_wait", "Queue: P(wait) Erlang", "pct"),
    ("queue_mean_wait_minutes", "Queue: mean wait (min) simulated", "num"),
    ("erlang_mean_wait_minutes", "Queue: mean wait (min) Erlang", "num"),
    ("queue_service_level", "Queue: touched within SLA simulated", "pct"),
    ("erlang_service_level", "Queue: touched within SLA Erlang", "pct"),
    ("queue_p_abandon", "Queue: P(abandon) simulated", "pct"),
    ("erlang_p_abandon", "Queue: P(abandon) Erlang", "pct"),
]


def fmt(value: float, kind: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "pp":
        return f"{100 * value:.1f} pp"
    if kind == "money":
        return f"{value / 1e6:.2f}M" if abs(value) >= 1e6 else f"{value / 1e3:.0f}k" if abs(value) >= 1e4 else f"{value:.0f}"
    if kind == "int":
        return f"{value:,.0f}"
    return f"{value:.1f}"


def single_run_table(kpis: dict[str, dict], title: str) -> Table:
    """One replication: the KPI table, policies side by side."""
    t = Table(title=title, caption="One replication: an anecdote. Use --replications N for 95% intervals.")
    t.add_column("KPI")
    for name in kpis:
        t.add_column(escape(name), justify="right")
    for key, label, kind in HEADLINE:
        if not any(key in k for k in kpis.values()):
            continue            # e.g. the queueing-mode rows outside queueing mode
        t.add_row(label, *[fmt(k.get(key), kind) for k in kpis.values()])
    return t


def headline_values(summary: pd.DataFrame, diffs: pd.DataFrame):
    """The headline KPIs present in `summary`, as numbers: yields (label, kind, [summary row per
    policy], [difference row or None per later policy vs the first])."""
    policies = list(summary["policy"].unique())
    s = summary.set_index(["policy", "kpi"])
    d = diffs.set_index(["policy", "kpi"]) if len(diffs) else None
    for key, label, kind in HEADLINE:
        if (policies[0], key) not in s.index:
            continue
        rows = [s.loc[(p, key)] for p in policies]
        deltas = [d.loc[(p, key)] if d is not None and (p, key) in d.index else None for p in policies[1:]]
        yield label, kind, rows, deltas


def kpi_rows(summary: pd.DataFrame, diffs: pd.DataFrame):
    """The headline KPIs as formatted cells: yields (label, [(mean, lower, upper)] per policy,
    [(diff, lower, upper, significant)] per later policy vs the first). Shared by the terminal
    table and the HTML report so both show the same numbers the same way."""
    for label, kind, rows, deltas in headline_values(summary, diffs):
        means = [tuple(fmt(r[c], kind) for c in ("mean", "lower", "upper")) for r in rows]
        cells = []
        for r in deltas:
            if r is None:
                cells.append(("n/a", "n/a", "n/a", False))
                continue
            k2 = diff_kind(kind, r["diff"])
            cells.append((*(_signed(r[c], k2) for c in ("diff", "lower", "upper")), bool(r["significant"])))
        yield label, means, cells


def replicated_table(summary: pd.DataFrame, diffs: pd.DataFrame, title: str) -> Table:
    """Mean +- half-width of the 95% CI per policy, and the paired difference of each later policy
    vs the first (* when its interval excludes zero). Half-widths are shown so users see when they
    need more replications."""
    policies = list(summary["policy"].unique())
    n = int(summary["n"].max()) if len(summary) else 0
    t = Table(title=title, caption=f"mean ± half-width of the 95% CI over {n} replications; differences are "
                                   f"paired on the same worlds; * = interval excludes zero")
    t.add_column("KPI")
    for p in policies:
        t.add_column(escape(p), justify="right")
    for p in policies[1:]:
        t.add_column(escape(f"{p} - {policies[0]}"), justify="right")
    for label, kind, rows, deltas in headline_values(summary, diffs):
        cells = [plus_minus(r["mean"], r["lower"], r["upper"], kind) for r in rows]
        for r in deltas:
            cells.append("" if r is None else plus_minus(r["diff"], r["lower"], r["upper"], diff_kind(kind, r["diff"]),
                                                         signed=True) + ("*" if r["significant"] else ""))
        t.add_row(label, *cells)
    return t


def plus_minus(mean: float, lower: float, upper: float, kind: str, signed: bool = False) -> str:
    """`24.7% ± 0.8 pp`: a value with the half-width of its interval (omitted when unknown)."""
    m = _signed(mean, kind) if signed else fmt(mean, kind)
    if lower is None or upper is None or not (math.isfinite(lower) and math.isfinite(upper)):
        return m
    hw = (upper - lower) / 2
    return f"{m} ± {fmt(hw, 'pp' if kind in ('pct', 'pp') else kind)}"


def diff_kind(kind: str, diff: float) -> str:
    """Differences of rates are in percentage points; small count differences keep a decimal."""
    if kind == "pct":
        return "pp"
    return "num" if kind == "int" and abs(diff) < 100 else kind


def _signed(v: float, kind: str) -> str:
    s = fmt(v, kind)
    return s if s.startswith("-") or s == "n/a" else f"+{s}"


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, width=200 if not stderr else None)
