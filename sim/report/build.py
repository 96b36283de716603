"""Build `report.html` and `figures/*.svg` from a saved results folder (`sim.load_results`).

The report is made only from what the folder holds (manifest, runs, timeseries, recommendation),
so it can be rebuilt at any time, on any machine, without re-running the simulation.
"""
from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd
from matplotlib.figure import Figure

from sim import format as F
from sim.experiment.results import Results, load_results
from sim.present import halve_note, holm_note, with_status
from sim.report import page as html
from sim.report.assumptions import design_table, policy_tables, scenario_tables, sweep_table
from sim.report.fig_accounts import accounts_figure, has_accounts
from sim.report.fig_capacity import capacity_figure, has_capacity
from sim.report.fig_compare import comparison_figure, funnel_figure, rejection_figure
from sim.report.fig_handoff import ae_load_figure, has_ae_load
from sim.report.fig_speed import decay_figure, load_figure, speed_figure
from sim.report.fig_sweep import heatmap_figure, quality_figure, sweep_figure
from sim.report.narrative import executive_summary, health_flags
from sim.report.steady_flags import steady_flags
from sim.report.style import FORMAT, close, colours, empty_figure, pretty, save

if TYPE_CHECKING:
    from sim.config.scenario import Scenario
    from sim.world.response import Curve

FIGURES = "figures"
REPORT = "report.html"


def build_report(folder: Path, force: bool = True) -> Path:
    """Write report.html (and figures/) into a results folder; return the html path.
    `force=False` refuses to replace an existing report (FileExistsError)."""
    folder = Path(folder)
    return render(load_results(folder), folder, force=force)


# ---- reading the manifest -------------------------------------------------------------------

def scenario_dumps(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{name: resolved scenario} whether the manifest lists several scenarios or holds one."""
    many = manifest.get("scenarios")
    if isinstance(many, dict):
        return many
    one = manifest.get("scenario")
    return {one.get("name", "scenario"): one} if isinstance(one, dict) else {}


def policy_dumps(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{name: resolved policy} from a dict or a list of policies."""
    p = manifest.get("policies")
    if isinstance(p, dict):
        return p
    return {d.get("name", f"policy {i + 1}"): d for i, d in enumerate(p or []) if isinstance(d, dict)}


def _scenario_model(dump: dict[str, Any]) -> Scenario | None:
    """The validated Scenario (for the decay curve and the calendar), or None if it no longer
    validates (a folder written by another version)."""
    from sim.config.scenario import Scenario
    try:
        return Scenario.model_validate(dump)
    except Exception:  # noqa: BLE001 - an old folder still gets a report, without the curve
        return None


# ---- choosing what to show ----------------------------------------------------------------

def focus(res: Results) -> tuple[str, int]:
    """The (scenario, point) the per-point figures show: the recommended one, else the first."""
    best = (res.recommendation or {}).get("best") or {}
    first = res.runs.iloc[0]
    scen = best.get("scenario", first["scenario"])
    point = best.get("point", first["point"])
    if not ((res.runs["scenario"] == scen) & (res.runs["point"] == point)).any():
        scen, point = first["scenario"], first["point"]
    return scen, point


def _at(df: pd.DataFrame, scen: str, point: int) -> pd.DataFrame:
    if df is None or df.empty:
        return df
    m = pd.Series(True, index=df.index)
    if "scenario" in df:
        m &= df["scenario"] == scen
    if "point" in df:
        m &= df["point"] == point
    return df[m]


def _ordered(summary: pd.DataFrame, policies: list[str]) -> pd.DataFrame:
    """Rows in the report's policy order (baseline first), as kpi_rows expects."""
    order = {p: i for i, p in enumerate(policies)}
    return summary.iloc[summary["policy"].map(order).fillna(len(order)).to_numpy().argsort(kind="stable")]


def _figures(res: Results, out: Path, policies: list[str], palette: dict[str, str],
             summary: pd.DataFrame, diffs: pd.DataFrame) -> list[html.FigureEntry]:
    """Draw every figure that the results support, save PNG + SVG, return them in report order."""
    entries: list[html.FigureEntry] = []
    scen, point = focus(res)
    s_at, d_at = _ordered(_at(summary, scen, point), policies), _at(diffs, scen, point)
    runs_at, ts_at = _at(res.runs, scen, point), _at(res.timeseries, scen, point)
    dumps, pols = scenario_dumps(res.manifest), policy_dumps(res.manifest)
    sc_dump = dumps.get(scen, next(iter(dumps.values()), {}))
    model = _scenario_model(sc_dump) if sc_dump else None
    factors = [f for f in res.factors if f in summary]
    where = _where(res, scen, point, factors)

    def add(key: str, draw: Callable[[], Figure], title: str, caption: str) -> None:
        """Draw and save one figure. A figure that fails is replaced by a panel saying so (and the
        report warns at the top): one broken figure must not cost the client the whole report."""
        problem = ""
        try:
            fig = draw()
        except Exception as e:  # noqa: BLE001 - reported in the page, never silently dropped
            problem = f"{type(e).__name__}: {e}"
            fig = empty_figure(title, f"This figure could not be drawn ({problem}).")
        files = save(fig, out, key)
        close(fig)
        entries.append(html.FigureEntry(key, title, caption, files[FORMAT], problem))

    s_scen = summary[summary["scenario"] == scen] if "scenario" in summary else summary
    if len(factors) == 1:
        add("sweep", lambda: sweep_figure(s_scen, factors[0], res.recommendation, palette=palette),
            f"Sweep: {pretty(factors[0])}",
            "Each KPI against the swept setting: line = mean over replications, band = 95% interval, one colour "
            "per policy. The star marks the recommended setting (if the sweep had an objective).")
    elif len(factors) >= 2:
        x, y = factors[0], factors[1]
        first = s_scen[s_scen["policy"] == policies[0]]
        add("sweep", lambda: sweep_figure(first, x, res.recommendation, by=y), f"Sweep: {pretty(x)} by {pretty(y)}",
            f"Each KPI against {pretty(x)} for {policies[0]}, one line per value of {pretty(y)}; bands = 95% intervals.")
        add("heatmap", lambda: heatmap_figure(s_scen, x, y, policy=policies[0], recommendation=res.recommendation),
            "Two-way sweep: bookings and SLA compliance",
            "Colour and numbers: mean bookings and SLA compliance at each combination; the orange outline encloses the "
            "settings that meet the SLA level (the sweep's constraint, else 80%). "
            "The star marks the recommended setting; hatched cells cannot be told apart from it (ranking and "
            "selection with the sweep's indifference zone). When the cells differ by less than the noise, the colour "
            "scale is widened so that noise is not painted as a difference." + (f" Further swept settings ({', '.join(factors[2:])}) are averaged."
                                                        if len(factors) > 2 else ""))
    add("funnel", lambda: funnel_figure(s_at, policies, palette), "Funnel per policy",
        f"Left: leads reaching each stage (log scale). Right: conversion from each stage to the next. Bars = mean over "
        f"replications, whiskers = 95% interval{where}.")
    if len(policies) > 1:
        add("comparison", lambda: comparison_figure(d_at, s_at, policies, palette), f"Policy comparison against {res.baseline}",
            "Paired differences on the same simulated worlds: volumes in %, rates in percentage points. Filled, thick, "
            f"starred = the 95% interval excludes zero; hollow = could be no change{where}.")
    targets = {p: (pols.get(p) or {}).get("sla", {}).get("targets", {}) for p in policies}
    workday = model_workday(model)
    add("speed", lambda: speed_figure(runs_at, targets, policies, palette, workday), "Speed to first touch per SLA tier",
        "Share of each tier's MQL episodes first touched within each business-time bucket (weekends and nights do not "
        "count), per policy; dashed lines = each policy's SLA target for the tier (clock-time targets are shown at "
        f"their nominal length){where}.")
    curve, name, ref = _decay(model, sc_dump)
    add("decay", lambda: decay_figure(runs_at, curve, name, ref, policies, palette), "Qualification by response time",
        "Share of first-touched MQLs that became SQL, by clock time from MQL to first touch (bars = mean, whiskers = "
        "95% interval). Black dashes: the scenario's response-decay curve averaged over each bucket and scaled to the "
        "simulated rate at the reference delay. The simulated bars also mix tiers and buyer shares, so they need not "
        f"follow the curve exactly{where}.")
    add("load", lambda: load_figure(ts_at, sc_dump, policies, palette), "Load over time",
        "Daily queue (MQLs waiting), the oldest wait at midnight in business hours, and rep utilisation on working days, "
        f"averaged over replications; orange = campaign spikes, dotted lines = holidays, grey = warm-up and run-out "
        f"(not measured){where}.")
    if has_capacity(ts_at):
        add("capacity", lambda: capacity_figure(ts_at, policies, palette), "Capacity over time",
            "Rep-hours available per working day (reps on the team and not away: new hires, PTO, sick days, leavers "
            "waiting for a replacement) and the utilisation of those available hours, averaged over replications; "
            f"grey = warm-up and run-out (not measured){where}.")
    if has_ae_load(ts_at):     # the hand-off stage ran
        add("ae_load", lambda: ae_load_figure(ts_at, policies, palette), "AE load",
            "Daily AE utilisation on working days, SQLs waiting for a free discovery-meeting slot, and meetings held, "
            f"averaged over replications; grey = warm-up and run-out (not measured){where}.")
    qf = next((f for f in factors if f.endswith("threshold")), None)
    s_quality = s_scen if qf else s_at
    thresholds = {p: (pols.get(p) or {}).get("mql", {}).get("threshold") for p in policies}
    add("quality", lambda: quality_figure(s_quality, qf, thresholds, policies, palette), "Quality against the hidden truth",
        "MQL precision = share of MQLs that were real buyers; buyer recall = share of real buyers that became MQLs "
        "(only a simulation knows who the buyers are). Right: what happened to each real buyer in the cohort.")
    add("rejections", lambda: rejection_figure(s_at, policies, palette), "Rejections and recycling",
        f"Left: reached MQLs rejected by sales, by reason code. Right: how MQL episodes ended; recycled leads go back "
        f"to nurture and may become MQLs again (re-MQLs){where}.")
    if has_accounts(s_at):
        add("accounts", lambda: accounts_figure(s_at, policies, palette), "Accounts",
            "Left: accounts with a cohort lead, those handed to sales (MQAs), those with an opportunity and those won "
            "(log scale). Middle: share of the buying group reps had reached at the opportunity against the account "
            "win rate. Right: lead-level precision and recall next to account-level ones, against the hidden truth"
            f"{where}.")
    return entries


def model_workday(model: Scenario | None) -> float:
    if model is None:
        return 480.0
    from sim.calendar import BusinessCalendar
    return float(BusinessCalendar.from_scenario(model).workday_minutes)


def _decay(model: Scenario | None, dump: dict[str, Any]) -> tuple[Curve | None, str, float]:
    if model is None:
        return None, "", 60.0
    from sim.world.response import ResponseModel
    r = ResponseModel.from_scenario(model.response)
    d = model.response.decay
    return r.curve, d if isinstance(d, str) else getattr(d, "kind", "custom"), r.reference


def _where(res: Results, scen: str, point: int, factors: list[str]) -> str:
    """' (at threshold = 60)' when the figure shows one point of a sweep or one of several scenarios."""
    bits = []
    if res.runs["scenario"].nunique() > 1:
        bits.append(f"scenario {scen}")
    if factors and res.runs["point"].nunique() > 1:
        row = res.runs[(res.runs["scenario"] == scen) & (res.runs["point"] == point)].iloc[0]
        bits += [f"{pretty(f).split(' (')[0]} = {row[f]}" for f in factors]
    return f". Shown at {', '.join(bits)}" if bits else ""


def render(res: Results, folder: Path, force: bool = True) -> Path:
    """Figures and report.html for `res`, written into `folder` (figures/ replaced as a whole,
    report.html replaced atomically, so a failure never leaves half a report)."""
    folder = Path(folder)
    target = folder / REPORT
    if target.exists() and not force:
        raise FileExistsError(f"{target} already exists")
    policies = [res.baseline] + [p for p in res.policies if p != res.baseline]
    palette = colours(policies)
    tmp = folder / f".{FIGURES}.tmp-{secrets.token_hex(4)}"
    part: Path | None = None
    try:
        # intervals come inside each KPI's bounds from sim.measure.stats: no display clipping here
        summary, diffs = with_status(res.summary()), with_status(res.differences())
        entries = _figures(res, tmp, policies, palette, summary, diffs)
        text = _page(res, folder, policies, palette, entries, summary, diffs)
        part = folder / f".{REPORT}.tmp-{secrets.token_hex(4)}"
        part.write_text(text, encoding="utf-8")
        final_figs = folder / FIGURES
        if final_figs.exists():
            shutil.rmtree(final_figs)
        os.rename(tmp, final_figs)
        os.replace(part, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if part is not None and part.exists():
            part.unlink()
    return target


def _page(res: Results, folder: Path, policies: list[str], palette: dict[str, str],
          entries: list[html.FigureEntry], summary: pd.DataFrame, diffs: pd.DataFrame) -> str:
    m = res.manifest
    scen, point = focus(res)
    s_at = _ordered(_at(summary, scen, point), policies)
    d_at = _at(diffs, scen, point)
    factors = [f for f in res.factors if f in summary]
    n = int(res.runs["replication"].nunique())
    flags = health_flags(s_at, policies) + steady_flags(res, scen, point)
    where = _where(res, scen, point, factors).removeprefix(". Shown at ")
    s_scen = summary[summary["scenario"] == scen] if "scenario" in summary else summary
    items = executive_summary(s_at, d_at, policies, res.baseline, n, flags, res.recommendation, factors, where,
                              s_scen)
    dumps = scenario_dumps(m)
    names = ", ".join(dumps) or str(scen)
    kind = m.get("kind", "run")
    title = f"Funnel simulation: {names}" + (f" ({m['name']})" if m.get("name") else "")
    noun = {"compare": "Comparison", "sweep": "Sweep", "experiment": "Experiment", "demo": "Demo"}.get(kind, "Run")
    lede = (f"{noun} of {F.plural(len(policies), 'policy', 'policies')} "
            f"({', '.join(policies)}) on {F.plural(n, 'simulated world')} (replications). Every policy met "
            "the same worlds, so differences are paired. Intervals are 95% confidence intervals over replications.")
    warnings = [f"The figure '{e.title}' could not be drawn ({e.problem}); please report it." for e in entries
                if e.problem]
    if res.errors:
        warnings.append(f"{F.plural(len(res.errors), 'run')} failed and are missing from these results (see errors.json).")
    assumptions = scenario_tables(dumps, m) + policy_tables(policy_dumps(m), policies, palette, m) + design_table(m)
    rec_best = (res.recommendation or {}).get("best")
    kpis = (f"<p class=\"note\">Shown at {html._e(where)}{' (the recommended setting)' if rec_best else ''}.</p>"
            if where else "") + html.kpi_table(s_at, d_at, palette) + \
        f"<p class=\"note\">{html._e(kpi_note(s_at, diffs, res.baseline, bool(m.get('precision'))))}</p>" + \
        sweep_table(summary, factors, rec_best, m.get("kpis"), halve_note(summary, bool(m.get("precision"))))
    health = html.flags_table(flags, palette) + html.manifest_warnings(m.get("warnings"))
    return html.page(title, lede, items, health, assumptions, entries, kpis, html.reproduce_block(m, folder), warnings)


def kpi_note(summary: pd.DataFrame, diffs: pd.DataFrame, baseline: str, precision: bool) -> str:
    """What the key-figures table shows: intervals, too-few cells, how the marks are adjusted and
    how many replications would halve the widest key interval."""
    bits = ["mean [95% interval]; differences are paired on the same worlds (rates in percentage points, "
            "volumes also as % change with its own interval)"]
    if diffs is not None and len(diffs):
        bits.append("highlighted " + holm_note(diffs, baseline).replace("* = ", "= ", 1))
    if len(summary) and (summary["status"] == "too_few").any():
        bits.append("too few (n=3) = defined in only 3 of the worlds, too few for an interval; too few (12 items) "
                    "= a share pooled over only 12 episodes; n=7 of 10 = defined in 7 of the 10 worlds")
    out = "; ".join(bits) + "."
    halve = halve_note(summary, precision)
    return out + (f" {halve}" if halve else "")
