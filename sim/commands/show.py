"""Printing saved or in-memory results: rich tables for people, one JSON object for programs."""
from __future__ import annotations

import math

import click
import pandas as pd
from rich.markup import escape
from rich.table import Table

from sim.experiment.results import Results
from sim.experiment.store import dumps
from sim.present import HEADLINE, console, plus_minus, replicated_table

SWEEP_KPIS = ["mqls", "mql_to_sql_rate", "sqls", "won", "bookings", "sla_compliance_standard", "rep_utilisation",
              "first_touch_p90_business_hours"]
EXTRA = [("spike_backlog_peak", "Spike backlog peak (MQLs)", "num"),
         ("spike_cleared", "Spike backlog cleared (share of worlds)", "pct"),
         ("spike_clear_days", "Days to clear it (worlds that cleared)", "num"),
         ("first_touch_p90_business_hours", "First touch p90 (business h)", "num"),
         ("first_touch_p50_business_hours", "First touch p50 (business h)", "num"),
         ("cost_per_mql", "Cost per MQL", "money"), ("mql_to_won_rate", "MQL -> won", "pct")]
KINDS = {k: kind for k, _, kind in HEADLINE} | {k: kind for k, _, kind in EXTRA}
LABELS = {k: label for k, label, _ in HEADLINE} | {k: label for k, label, _ in EXTRA}


def results_json(res: Results) -> dict:
    """{scenario, policies: {p: {kpi: {mean, lower, upper, half_width, n}}}, differences: {p: {kpi:
    {diff, lower, upper, relative, significant}}}} per point; with factors, a list of points."""
    summary, diffs = res.summary(), res.differences()
    points = []
    for (scen, point), df in summary.groupby(["scenario", "point"], sort=False):
        entry: dict = {"scenario": scen, "point": int(point),
                       "values": {f: df[f].iloc[0] for f in res.factors}, "policies": {}, "differences": {}}
        for r in df.itertuples(index=False):
            entry["policies"].setdefault(r.policy, {})[r.kpi] = {
                "mean": r.mean, "lower": r.lower, "upper": r.upper, "half_width": r.half_width, "n": int(r.n)}
        if len(diffs):
            dd = diffs[(diffs["scenario"] == scen) & (diffs["point"] == point)]
            for r in dd.itertuples(index=False):
                entry["differences"].setdefault(r.policy, {})[r.kpi] = {
                    "baseline": r.baseline, "diff": r.diff, "lower": r.lower, "upper": r.upper,
                    "relative": r.relative, "significant": bool(r.significant), "n": int(r.n)}
        points.append(entry)
    out: dict = {"name": res.manifest.get("name"), "kind": res.manifest.get("kind"),
                 "replications": res.manifest.get("replications"), "seed": res.manifest.get("seed"),
                 "baseline": res.baseline, "factors": res.factors}
    if res.factors or len(points) > 1:
        out["points"] = points
    else:
        out.update({k: points[0][k] for k in ("scenario", "policies", "differences")} if points else {})
    if res.recommendation is not None:
        out["recommendation"] = res.recommendation
    if "precision" in res.manifest:
        out["precision"] = res.manifest["precision"]
    if res.errors:
        out["errors"] = res.errors
    from sim.measure.steady import diagnostics
    out["diagnostics"] = diagnostics(res)
    return out


def print_results(res: Results, as_json: bool) -> None:
    if as_json:
        click.echo(dumps(results_json(res)))
        return
    summary, diffs = res.summary(), res.differences()
    if summary.empty:
        click.echo("no completed runs")
        return
    con = console()
    n = res.manifest.get("replications")
    for scen, s_df in summary.groupby("scenario", sort=False):
        if not res.factors:
            d_df = diffs[diffs["scenario"] == scen] if len(diffs) else diffs
            con.print(replicated_table(s_df, d_df, escape(f"{scen}: {len(res.policies)} policies x {n} replications")))
        else:
            con.print(sweep_table(s_df, res.factors, res.manifest.get("kpis") or SWEEP_KPIS,
                                  escape(f"{scen}: {s_df['point'].nunique()} points x {n} replications")))
    if res.recommendation is not None:
        print_recommendation(res.recommendation, False)
    from sim.measure.steady import flagged_lines
    for line in flagged_lines(res):
        click.echo(f"warning: {line}")


def sweep_table(summary: pd.DataFrame, factors: list[str], kpis: list[str], title: str) -> Table:
    """One row per point (and policy): the factor values, then mean ± half-width of each KPI."""
    kpis = [k for k in kpis if k in set(summary["kpi"])]
    multi = summary["policy"].nunique() > 1
    t = Table(title=title, caption="mean ± half-width of the 95% CI; every point ran on the same worlds")
    for f in factors:
        t.add_column(escape(f), justify="right")
    if multi:
        t.add_column("policy")
    for k in kpis:
        t.add_column(escape(LABELS.get(k, k)), justify="right")
    s = summary.set_index(["point", "policy", "kpi"])
    for (point, policy), df in summary.groupby(["point", "policy"], sort=False):
        cells = [escape(str(df[f].iloc[0])) for f in factors] + ([escape(str(policy))] if multi else [])
        for k in kpis:
            r = s.loc[(point, policy, k)]
            cells.append(plus_minus(r["mean"], r["lower"], r["upper"], KINDS.get(k, "num")))
        t.add_row(*cells)
    return t


def print_recommendation(rec: dict, as_json: bool) -> None:
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
        click.echo(f"  best: {describe(best)}: {kpi} {num(best['mean'])} "
                   f"(95% CI {num(best.get('lower'))} to {num(best.get('upper'))}; from {held})")
    else:
        click.echo(f"  best: {describe(best)} (numbers from {held})")
    for c in best.get("constraints", []):
        sure = "holds across its interval" if c["met_across_interval"] else "met on average only: borderline"
        click.echo(f"    {c['constraint']}: {num(c['mean'])} (95% CI {num(c['lower'])} to {num(c['upper'])}; {sure})")
    ce = rec.get("cannot_exclude") or []
    if len(ce) > 1:
        within = f" (may be within delta = {num(rec.get('delta'))} of the best)" if rec.get("delta") else ""
        click.echo(f"  cannot be told apart{within}: "
                   + "; ".join(c.get("label", describe(c)) for c in ce[:12]) + (" ..." if len(ce) > 12 else ""))
    _print_more(rec)


def _print_more(rec: dict) -> None:
    more = rec.get("more_replications") or {}
    if more.get("per_setting"):
        click.echo(f"  to settle it: up to {more['per_setting']} more replications for each of "
                   f"{len(more['settings'])} settings ({more['total']} in all); run them with "
                   "`funnelsim recommend FOLDER --add`")


def describe(c: dict) -> str:
    skip = {"scenario", "point", "policy", "mean", "lower", "upper", "n", "feasible", "constraints", "label",
            "feasibility", "selection_mean", "more"}
    vals = ", ".join(f"{k}={v}" for k, v in c.items() if k not in skip)
    return f"{c['policy']}" + (f" with {vals}" if vals else "") + f" ({c['scenario']})"


def num(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    x = float(x)
    if abs(x) >= 1e4:
        return f"{x:,.0f}"
    if abs(x) < 1:
        return f"{x:.3f}"
    return f"{x:.2f}"
