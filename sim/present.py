"""Terminal presentation: KPI tables per policy (rich), with intervals where there are
replications. Labels, kinds and units come from the KPI registry and every number is formatted by
`sim.format`, so the terminal, the JSON flags and the report read the same. Tables fit 100
columns: wide ones continue in a second table (said in the caption)."""
from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any, Iterator, TypeAlias, overload

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim import format as F
from sim.vocab import TIERS

if TYPE_CHECKING:   # pandas stays out of the CLI's start-up path
    import pandas as pd

    # One row of a summary or differences table (mean or diff, lower, upper, n, status, ...)
    Row: TypeAlias = pd.Series[Any]
    # (kpi, label, kind, unit, summary row per policy, difference row or None per later policy)
    Headline: TypeAlias = tuple[str, str, str, str, list[Row], list[Row | None]]

WIDTH = 100            # terminal tables never need more than this

# the KPIs users read first, in funnel order; labels and kinds come from the registry
HEADLINE_KPIS = [
    "leads", "mqls", "lead_to_mql_rate", "sals", "mql_to_sal_rate", "rejection_rate", "sqls", "mql_to_sql_rate",
    "opportunities", "won", "win_rate", "bookings", "pipeline", "first_touch_p50_hours", "first_touch_p90_hours",
    "first_touch_p50_business_hours", "first_touch_p90_business_hours",
    *[f"sla_compliance_{t}" for t in TIERS], "never_touched_share", "recycled_share", "rep_utilisation",
    "queue_mean", "backlog_age_max_business_hours", "overload_days", "cost_per_won", "mql_precision",
    "buyer_recall", "buyers_in_nurture",
    # queueing mode only (teaching): the simulated queue next to Erlang C / A
    "queue_p_wait", "erlang_p_wait", "queue_mean_wait_minutes", "erlang_mean_wait_minutes", "queue_service_level",
    "erlang_service_level", "queue_p_abandon", "erlang_p_abandon",
    # the hand-off to AEs and the competitor, when the scenario turns them on
    "ae_utilisation", "meeting_lead_time_p50_business_hours", "sqls_waiting_for_ae", "sql_to_meeting_rate",
    "no_show_rate", "lost_to_competitor", "lost_to_competitor_share",
    # scenarios with [accounts] only
    "accounts_engaged", "mqas", "mqa_to_opportunity_rate", "account_win_rate", "bookings_per_account",
    "buying_group_coverage", "duplicate_touches", "account_first_touch_p50_hours", "account_precision",
    "account_recall", "orphan_leads",
    # account work (policy cadence.threading set)
    "contacts_touched_per_account", "account_sla_compliance",
]
# the intervals the "replications to halve it" note looks at
KEY_KPIS = ("bookings", "won", "mqls", "mql_to_sql_rate", "sla_compliance", "rep_utilisation")


def fmt(value: float, kind: str) -> str:
    """One number by kind (old kind names accepted): see `sim.format`."""
    return F.value(value, kind)


def single_run_table(kpis: dict[str, dict[str, Any]], title: str) -> list[Table]:
    """One replication: the KPI table, policies side by side (continued when there are many)."""
    names = list(kpis)
    tables = []
    groups = [[names[j] for j in g] for g in _fit_widths([max(len(n), 9) for n in names], 38)]
    for part, chunk in enumerate(groups):
        more = " Continued below." if part < len(groups) - 1 else ""
        t = Table(title=title if part == 0 else f"{title} (continued)",
                  caption="One replication: an anecdote, no intervals. Use --replications N (5 or more) for 95% "
                          "intervals." + more)
        t.add_column("KPI")
        for name in chunk:
            t.add_column(escape(name), justify="right")
        for key in HEADLINE_KPIS:
            if not any(key in k for k in kpis.values()):
                continue            # e.g. the queueing-mode rows outside queueing mode
            label, kind, unit = F.kpi_format(key)
            t.add_row(label, *[F.value(kpis[n].get(key), kind, unit) for n in chunk])
        tables.append(t)
    return tables


@overload
def with_status(table: "pd.DataFrame") -> "pd.DataFrame": ...
@overload
def with_status(table: None) -> None: ...
def with_status(table: "pd.DataFrame | None") -> "pd.DataFrame | None":
    """A summary or differences table with `n_total` and `status` (tables from before the stats
    layer gave them: the worlds run are the most that define any KPI of the point and policy;
    fewer than `MIN_N` defining worlds out of more is 'too_few', none is 'undefined')."""
    if table is None or table.empty or ("n_total" in table and "status" in table):
        return table
    out = table.copy()
    value = "mean" if "mean" in out else "diff"
    if "n_total" not in out:
        keys = [c for c in ("scenario", "point", "policy") if c in out]
        out["n_total"] = out.groupby(keys, sort=False)["n"].transform("max") if keys else out["n"].max()
    if "status" not in out:
        few = (out["n"] < out["n_total"]) & (out["n"] < F.MIN_N)
        out["status"] = "ok"
        out.loc[few, "status"] = "too_few"
        out.loc[out[value].isna() | (out["n"] == 0), "status"] = "undefined"
    return out


def headline_values(summary: "pd.DataFrame", diffs: "pd.DataFrame | None") -> Iterator[Headline]:
    """The headline KPIs present in `summary`: yields (kpi, label, kind, unit, [summary row per
    policy], [difference row or None per later policy vs the first])."""
    policies = list(summary["policy"].unique())
    s = summary.set_index(["policy", "kpi"])
    d = diffs.set_index(["policy", "kpi"]) if diffs is not None and len(diffs) else None
    for key in HEADLINE_KPIS:
        if (policies[0], key) not in s.index:
            continue
        label, kind, unit = F.kpi_format(key)
        rows = [s.loc[(p, key)] for p in policies]
        deltas = [d.loc[(p, key)] if d is not None and (p, key) in d.index else None for p in policies[1:]]
        yield key, label, kind, unit, rows, deltas


def holm_note(diffs: "pd.DataFrame | None", baseline: str) -> str:
    """'* = differs from A after Holm adjustment over k comparisons' (the stats layer adjusts over
    every comparison of the same KPI in the table: policies vs the baseline at every point; pass
    the whole differences table). Older tables without p-values say their marks are unadjusted."""
    if diffs is None or not len(diffs):
        return ""
    if "p_holm" not in diffs:
        return "* = the 95% interval excludes zero (not adjusted for multiple comparisons)"
    col = "p_value" if "p_value" in diffs else "p_holm"
    k = int(diffs.groupby("kpi")[col].count().max())
    return f"* = differs from {baseline} after Holm adjustment over {F.plural(k, 'comparison')} (per KPI)"


def halve_note(summary: "pd.DataFrame | None", precision: bool = False) -> str:
    """For the widest key interval (half-width relative to its mean), about how many replications
    would halve it; '' when a precision target was set or nothing has an interval."""
    if precision or summary is None or summary.empty:
        return ""
    best: tuple[float, Any] | None = None
    r: Any                  # a row of the summary table (namedtuple of its columns)
    for r in summary[summary["kpi"].isin(KEY_KPIS)].itertuples(index=False):
        if F.status_of(r._asdict()) != "ok" or F.missing(r.lower) or F.missing(r.upper) or not r.mean:
            continue
        rel = (r.upper - r.lower) / 2 / abs(r.mean)
        if best is None or rel > best[0]:
            best = (rel, r)
    if best is None:
        return ""
    rel, r = best
    label, kind, unit = F.kpi_format(r.kpi)
    halve: Any = getattr(r, "n_to_halve", None)
    if F.missing(halve):
        halve = 4 * int(r.n)        # half-widths shrink as 1/sqrt(n)
    hw = (r.upper - r.lower) / 2
    return (f"Widest key interval: {label} ({r.policy}) ± {F.spread(hw, kind, unit, max(abs(r.mean), hw))}; "
            f"about {F.plural(int(halve), 'replication')} would halve it.")


def replicated_table(summary_in: "pd.DataFrame", diffs_in: "pd.DataFrame | None", title: str,
                     precision: bool = False, family: "pd.DataFrame | None" = None) -> list[Table]:
    """Mean ± half-width of the 95% CI per policy (the ends when the interval is skewed), then the
    paired difference of each later policy vs the first (* when Holm-adjusted significant).
    Columns that would not fit in 100 continue in further tables, said in the caption. Half-widths
    are shown so users see when they need more replications; 'too few (n=..)' where an interval
    cannot be given."""
    summary, diffs = with_status(summary_in), with_status(diffs_in)
    policies = list(summary["policy"].unique())
    n = int(summary["n_total"].max() if "n_total" in summary else summary["n"].max()) if len(summary) else 0
    rows = list(headline_values(summary, diffs))
    names = policies + [f"{p} - {policies[0]}" for p in policies[1:]]
    labels = [label for _, label, *_ in rows]
    cells = [[F.cell(r, kind, unit) for r in levels] +
             ["" if r is None else F.cell(r, kind, unit, diff=True) + ("*" if significant(r) else "") for r in deltas]
             for _, _, kind, unit, levels, deltas in rows]
    widths = [max([len(names[j])] + [len(c[j]) for c in cells]) for j in range(len(names))]
    groups = _fit_widths(widths, max([3] + [len(x) for x in labels]) + 4)
    base = f"mean ± half-width of the 95% CI over {F.plural(n, 'replication')}"
    if any(F.asymmetric(r.get("mean"), r.get("lower"), r.get("upper")) for *_, levels, _ in rows for r in levels):
        base += " (the interval's ends where it is not symmetric)"
    if len(policies) > 1:
        base += f"; differences are paired on the same worlds; {holm_note(diffs if family is None else family, policies[0])}"
    if any(F.status_of(r) != "ok" for _, _, _, _, rr, _ in rows for r in rr):
        base += "; too few = too few worlds (n) or items for an interval"
    halve = halve_note(summary, precision)
    tables = []
    for g, group in enumerate(groups):
        last = g == len(groups) - 1
        cap = base + ((". " + halve) if halve and last else "") + ("" if last else ". Continued below.")
        t = Table(title=title if g == 0 else f"{title} (continued)", caption=cap)
        t.add_column("KPI")
        for j in group:
            t.add_column(escape(names[j]), justify="right")
        for label, row in zip(labels, cells):
            t.add_row(label, *[row[j] for j in group])
        tables.append(t)
    return tables


def _fit_widths(widths: list[int], first: int, width: int = WIDTH) -> list[list[int]]:
    """Column indices grouped in order so that each table (label column of `first` characters,
    each column its width plus 3 for borders and padding) fits `width`."""
    groups: list[list[int]] = [[]]
    used = first
    for j, w in enumerate(widths):
        if groups[-1] and used + w + 3 > width:
            groups.append([])
            used = first
        groups[-1].append(j)
        used += w + 3
    return groups


def significant(r: Row | dict[str, Any]) -> bool:
    """Starred: Holm-significant and its interval excludes zero (a test and an interval from
    different methods can disagree near the edge; a star beside an interval through zero reads as
    a contradiction, so both must agree)."""
    lo: Any = r.get("lower")
    hi: Any = r.get("upper")
    crosses = not (F.missing(lo) or F.missing(hi)) and float(lo) <= 0 <= float(hi)
    return F.status_of(r) == "ok" and bool(r.get("significant", False)) and not crosses


def kpi_rows(summary: "pd.DataFrame", diffs: "pd.DataFrame | None") -> Iterator[
        tuple[str, list[tuple[str, str, str]], list[tuple[str, str, str, bool]]]]:
    """The headline KPIs as formatted cells for the report: yields (label, [(mean, interval, note)]
    per policy, [(diff, interval, note, significant)] per later policy vs the first); `note` is
    'too few (n=..)', 'n=7 of 10' or ''. Shared with the terminal's rules via `sim.format`."""
    for _key, label, kind, unit, rows, deltas in headline_values(summary, diffs):
        means = [_report_cell(r, kind, unit, diff=False) for r in rows]
        cells: list[tuple[str, str, str, bool]] = []
        for r in deltas:
            if r is None:
                cells.append(("n/a", "", "", False))
                continue
            cells.append((*_report_cell(r, kind, unit, diff=True), significant(r)))
        yield label, means, cells


def _report_cell(r: Row, kind: str, unit: str, diff: bool) -> tuple[str, str, str]:
    """(value, '[lower, upper]' or '', note) for one report cell; relative changes of volumes get
    their own interval beside the absolute one."""
    st = F.status_of(r)
    n, n_total = r.get("n"), r.get("n_total")
    if st == "too_few":
        return F.too_few(n, n_total if not diff else r.get("n_total", n), r.get("count")), "", ""
    if st == "undefined":
        return "n/a", "", "no world defines it"
    m = r["diff"] if diff else r["mean"]
    head = F.signed(m, kind, unit) if diff else F.value(m, kind, unit)
    ci = F.interval(r["lower"], r["upper"], kind, unit, diff=diff)
    ci = "" if ci == "no interval" else ci
    if diff and F.kind_of(kind) != "share" and not F.missing(r.get("relative")):
        rel = F.relative(r.get("relative"), r.get("relative_lower"), r.get("relative_upper"))
        head += f" ({rel.split(' (')[0]})"
        if "(" in rel and ci:       # the relative change's own interval beside the absolute one
            ci += f"; {rel[rel.index('(') + 1:-1].replace('95% CI ', '')}"
        elif ci and "relative_lower" in r:      # the stats layer found it unbounded (Fieller)
            ci += "; relative: unbounded"
    ci = f"[{ci}]" if ci else ""
    note = F.n_note(n, n_total if not diff else r.get("n_total")).strip(" ()")
    return head, ci, note


def console(stderr: bool = False) -> Console:
    """Stdout tables at most 100 columns wide (narrower terminals get their own width)."""
    if stderr:
        return Console(stderr=True)
    return Console(width=min(WIDTH, shutil.get_terminal_size((WIDTH, 24)).columns))


def print_tables(con: Console, tables: list[Table]) -> None:
    for t in tables:
        con.print(t)
