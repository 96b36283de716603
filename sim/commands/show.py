"""Printing saved or in-memory results: rich tables for people, one JSON object for programs."""
from __future__ import annotations

import math
from typing import Any

import click
import pandas as pd
from rich.markup import escape
from rich.table import Table

from sim import format as F
from sim.experiment.results import Results
from sim.experiment.store import dumps
from sim.present import console, halve_note, print_tables, replicated_table, with_status

SWEEP_KPIS = ["mqls", "mql_to_sql_rate", "sqls", "won", "bookings", "sla_compliance_standard", "rep_utilisation",
              "first_touch_p90_business_hours"]
SWEEP_COLUMNS = 4      # KPI columns per sweep table (the factor columns repeat in each)


def print_results(res: Results, as_json: bool) -> None:
    if as_json:
        from sim.experiment.results_json import results_json
        click.echo(dumps(results_json(res)))
        return
    summary, diffs = res.summary(), res.differences()
    if summary.empty:
        click.echo("no completed runs")
        return
    con = console()
    n = int(res.manifest.get("replications") or summary["n"].max())
    reps = F.plural(n, "replication")
    precision = bool(res.manifest.get("precision"))
    for scen, s_df in summary.groupby("scenario", sort=False):
        if not res.factors:
            d_df = diffs[diffs["scenario"] == scen] if len(diffs) else diffs
            title = escape(f"{scen}: {F.plural(len(res.policies), 'policy', 'policies')} x {reps}")
            print_tables(con, replicated_table(s_df, d_df, title, precision=precision, family=diffs))
        else:
            print_tables(con, sweep_table(s_df, res.factors, res.manifest.get("kpis") or SWEEP_KPIS,
                                          escape(f"{scen}: {F.plural(s_df['point'].nunique(), 'point')} x {reps}"),
                                          precision=precision))
    if res.recommendation is not None:
        print_recommendation(res.recommendation, False)
    from sim.measure.steady import flagged_lines
    for line in flagged_lines(res):
        click.echo(f"warning: {line}")


def sweep_table(summary: pd.DataFrame, factors: list[str], kpis: list[str], title: str,
                precision: bool = False) -> list[Table]:
    """One row per point (and policy): the factor values, then mean ± half-width of each KPI; more
    KPIs than fit in 100 columns continue in further tables (factor columns repeated)."""
    summary = with_status(summary)
    kpis = [k for k in kpis if k in set(summary["kpi"])]
    multi = summary["policy"].nunique() > 1
    few = "; too few = too few worlds (n) or items for an interval" if (summary["status"] != "ok").any() else ""
    s = summary.set_index(["point", "policy", "kpi"])
    groups = [kpis[i:i + SWEEP_COLUMNS] for i in range(0, max(len(kpis), 1), SWEEP_COLUMNS)]
    halve = halve_note(summary, precision)
    tables = []
    for g, chunk in enumerate(groups):
        last = g == len(groups) - 1
        cap = "mean ± half-width of the 95% CI (the ends where it is not symmetric); every point ran on the same " \
              "worlds" + few + \
            (f". {halve}" if halve and last else "") + ("" if last else ". More KPIs below.")
        t = Table(title=title if g == 0 else f"{title} (continued)", caption=cap)
        for f in factors:
            t.add_column(escape(F.setting_name(f).split(" (")[0]), justify="right")
        if multi:
            t.add_column("policy")
        for k in chunk:
            t.add_column(escape(F.kpi_format(k)[0]), justify="right")
        for (point, policy), df in summary.groupby(["point", "policy"], sort=False):
            cells = [escape(F.setting(df[f].iloc[0])) for f in factors] + ([escape(str(policy))] if multi else [])
            for k in chunk:
                _, kind, unit = F.kpi_format(k)
                cells.append(F.cell(s.loc[(point, policy, k)], kind, unit))  # type: ignore[index]  # group keys
            t.add_row(*cells)
        tables.append(t)
    return tables


def print_recommendation(rec: dict[str, Any], as_json: bool) -> None:
    """The recommendation: the guarantee (or what cannot be told apart), the recommended setting's
    numbers from the replications that did not choose it, and how many more replications would
    settle it. (Its `warnings` go to stderr from the commands.)"""
    if as_json:
        click.echo(dumps(rec))
        return
    goals = rec.get("objectives") or [{"name": rec["objective"], "direction": rec["direction"]}]
    goal = ", then ".join(f"{'maximise' if o['direction'] == 'max' else 'minimise'} {o['name']}" for o in goals)
    cons = "; subject to " + ", ".join(rec["constraints"]) if rec["constraints"] else ""
    und = f" ({rec['undecided']} undecided)" if rec.get("undecided") else ""
    click.echo(f"recommendation ({goal}{cons}): {rec['feasible']} of {rec['candidates']} settings feasible{und}")
    best = rec.get("best")
    if best is None:
        click.echo(f"  {rec.get('message', 'nothing feasible')}")
        _print_more(rec)
        return
    click.echo(f"  {rec.get('message', '')}")
    reps = rec.get("replications") or {}
    held = f"{reps.get('report')} replication{'s' if reps.get('report') != 1 else ''} not used to choose it" \
        if reps.get("report") else \
        f"all {reps.get('choose')} replications: " + reps.get("split", "")
    if "mean" in best and best.get("mean") is not None and not (isinstance(best["mean"], float) and math.isnan(best["mean"])):
        kpi = next((o["name"] for o in goals if o.get("kind", "kpi") == "kpi"), rec["objective"])
        ci = (f"95% CI {by_kpi(best.get('lower'), kpi)} to {by_kpi(best.get('upper'), kpi)}"
              if not F.missing(best.get("lower")) else f"too few for an interval (n={best.get('n')})")
        click.echo(f"  best: {describe(best)}: {kpi} {by_kpi(best['mean'], kpi)} ({ci}; from {held})")
    else:
        click.echo(f"  best: {describe(best)} (numbers from {held})")
    for c in best.get("constraints", []):
        sure = "holds across its interval" if c["met_across_interval"] else "met on average only: borderline"
        k = c.get("kpi") or str(c["constraint"]).split()[0].split(">")[0].split("<")[0]
        ci = (f"95% CI {by_kpi(c['lower'], k)} to {by_kpi(c['upper'], k)}" if not F.missing(c["lower"])
              else "too few for an interval")
        click.echo(f"    {c['constraint']}: {by_kpi(c['mean'], k)} ({ci}; {sure})")
    ce = rec.get("cannot_exclude") or []
    if len(ce) > 1:
        within = f" (may be within delta = {num(rec.get('delta'))} of the best)" if rec.get("delta") else ""
        click.echo(f"  cannot be told apart{within}: "
                   + "; ".join(c.get("label", describe(c)) for c in ce[:12]) + (" ..." if len(ce) > 12 else ""))
    _print_more(rec)


def _print_more(rec: dict[str, Any]) -> None:
    more = rec.get("more_replications") or {}
    if more.get("per_setting"):
        click.echo(f"  to settle it: up to {more['per_setting']} more replications for each of "
                   f"{len(more['settings'])} settings ({more['total']} in all); run them with "
                   "`funnelsim recommend FOLDER --add`")


def describe(c: dict[str, Any]) -> str:
    skip = {"scenario", "point", "policy", "mean", "lower", "upper", "n", "feasible", "constraints", "label",
            "feasibility", "selection_mean", "more", "status"}
    vals = ", ".join(f"{k}={v}" for k, v in c.items() if k not in skip)
    return f"{c['policy']}" + (f" with {vals}" if vals else "") + f" ({c['scenario']})"


def by_kpi(x: Any, name: str) -> str:
    """A KPI's value formatted by its kind (a share as '99.4%', money as '1.57M')."""
    if F.missing(x):
        return "n/a"
    _, kind, unit = F.kpi_format(name)
    return F.value(x, kind, unit)


def num(x: Any) -> str:
    """One number rule for a value and its interval ends (`sim.format.number`: '9,970 to 11,839',
    not '9970.02 to 11,839')."""
    return F.number(x)
