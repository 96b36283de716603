"""The assumptions section of a report: the scenario and the policies as tables, from the manifest
(what the run really used, defaults included), plus the swept settings and a per-point table of
a sweep's key KPIs."""
from __future__ import annotations

import html
import math

import pandas as pd

from sim.present import HEADLINE, fmt
from sim.report.page import flatten, key_value_table
from sim.report.style import pretty

# (dotted path in the scenario, label)
SCENARIO_ROWS = (
    ("description", "what it is"), ("start_date", "start date"), ("horizon.warmup", "warm-up (not measured)"),
    ("horizon.window", "measurement window (the cohort)"), ("horizon.runout", "run-out (deals may close)"),
    ("arrivals.leads_per_year", "leads per year"), ("calendar.open", "working hours from"),
    ("calendar.close", "working hours to"), ("sales.reps", "SDRs"), ("sales.mql_time_share", "share of SDR time on MQLs"),
    ("sales.handle_time.mean", "attempt handling time (mean)"),
    ("sales.handle_time.conversation_mean", "conversation handling time (mean)"),
    ("truth.base_rate", "share of leads really in market (base)"), ("response.decay", "response decay curve"),
    ("response.reference_delay", "delay at which base chances hold"), ("response.contact_rate", "chance an attempt reaches the lead"),
    ("outcomes.sql_buyer", "P(SQL | accepted buyer)"), ("outcomes.win_buyer", "P(win | buyer opportunity)"),
    ("outcomes.cycle", "opportunity to close (median)"),
)
POLICY_ROWS = (
    ("description", "what it is"), ("mql.rule", "MQL rule"), ("mql.threshold", "MQL threshold"),
    ("mql.high_intent", "high-intent tier from"), ("mql.gates.business_email_only", "business email only"),
    ("mql.gates.icp_only", "ICP only"), ("mql.fast_lane.demo_request", "demo request fast lane"),
    ("sla.targets.demo", "SLA: demo"), ("sla.targets.high_intent", "SLA: high intent"),
    ("sla.targets.standard", "SLA: standard"), ("sla.targets.re_engaged", "SLA: re-engaged"),
    ("sla.breach_action", "on SLA breach"), ("cadence.max_attempts", "attempts per MQL"), ("cadence.spacing", "attempt spacing"),
    ("routing.discipline", "routing"), ("routing.triage_backlog", "triage when backlog over"),
    ("recycle.max_recycles", "max recycles"), ("reps", "SDRs (policy override)"),
)


def _get(d: dict, path: str):
    for k in path.split("."):
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _show(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_show(x)}" for k, x in v.items()) or "-"
    if isinstance(v, list):
        return ", ".join(_show(x) for x in v) or "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return str(v)


def scenario_tables(scenarios: dict[str, dict]) -> str:
    names = list(scenarios)
    rows = [(label, [_show(_get(scenarios[n], path)) for n in names]) for path, label in SCENARIO_ROWS]
    spikes = [[f"{s.get('name') or s.get('channel') or 'all'}: x{s.get('multiplier')} from {s.get('start')} for "
               f"{s.get('duration')}" for s in (_get(scenarios[n], "arrivals.spikes") or [])] for n in names]
    rows.append(("campaign spikes", ["; ".join(s) or "none" for s in spikes]))
    out = "<h3>Scenario: what the world does</h3>" + key_value_table(rows, names)
    full = [flatten(scenarios[n]) for n in names]
    keys = list(dict.fromkeys(k for f in full for k in f))
    out += ("<details><summary>Every scenario setting</summary>"
            + key_value_table([(k, [f.get(k, "-") for f in full]) for k in keys], names) + "</details>")
    return out


def policy_tables(policies: dict[str, dict], order: list[str], palette: dict[str, str]) -> str:
    names = [p for p in order if p in policies] + [p for p in policies if p not in order]
    rows = [(label, [_show(_get(policies[n], path)) for n in names]) for path, label in POLICY_ROWS]
    out = "<h3>Policies: what the company decides</h3>" + key_value_table(rows, names, palette)
    full = [flatten(policies[n]) for n in names]
    keys = list(dict.fromkeys(k for f in full for k in f))
    differ = [(k, [f.get(k, "-") for f in full]) for k in keys if len({f.get(k, "-") for f in full}) > 1]
    if len(names) > 1 and differ:
        out += ("<details><summary>Every setting in which the policies differ</summary>"
                + key_value_table(differ, names, palette) + "</details>")
    return out


def design_table(manifest: dict) -> str:
    factors = (manifest.get("design") or {}).get("factors") or []
    if not factors:
        return ""
    rows = "".join(f"<tr><td>{html.escape(pretty(f.get('path', '?')))}</td><td><code>{html.escape(str(f.get('path')))}"
                   f"</code></td><td style=\"text-align:left\">{html.escape(', '.join(map(str, f.get('values', []))))}</td></tr>"
                   for f in factors)
    return ("<h3>Swept settings</h3><table><thead><tr><th>setting</th><th>path</th><th style=\"text-align:left\">values"
            f"</th></tr></thead><tbody>{rows}</tbody></table>")


SWEEP_TABLE_KPIS = (("mqls", "MQLs", "int"), ("mql_to_sql_rate", "MQL -> SQL", "pct"), ("bookings", "Bookings", "money"),
                    ("sla_compliance", "SLA met", "pct"), ("rep_utilisation", "Rep utilisation", "pct"))


def kpi_kind(kpi: str) -> str:
    """How to format a KPI: the terminal table's kind when it has one, else guessed from the name."""
    known = {k: kind for k, _, kind in HEADLINE}
    if kpi in known:
        return known[kpi]
    if any(w in kpi for w in ("rate", "share", "compliance", "utilisation", "precision", "recall")):
        return "pct"
    if any(w in kpi for w in ("bookings", "pipeline", "cost")):
        return "money"
    return "num" if any(w in kpi for w in ("hours", "mean", "days")) else "int"


def sweep_table(summary: pd.DataFrame, factors: list[str], recommended: dict | None,
                kpis: list[str] | None = None) -> str:
    """One row per (scenario, point, policy): the key KPIs (and the experiment's own `kpis`), mean
    [95% CI]; the recommended row marked. Only for sweeps and multi-scenario experiments."""
    if summary.empty or (not factors and summary["scenario"].nunique() < 2):
        return ""
    shown = list(SWEEP_TABLE_KPIS) + [(k, pretty(k), kpi_kind(k)) for k in (kpis or [])
                                      if k not in {x for x, _, _ in SWEEP_TABLE_KPIS} and k in set(summary["kpi"])]
    keys = ["scenario", "point", "policy", *factors]
    head = "".join(f"<th>{html.escape(pretty(f))}</th>" for f in factors) + "<th>policy</th>" + \
        "".join(f"<th>{html.escape(lbl)}</th>" for _, lbl, _ in shown)
    multi = summary["scenario"].nunique() > 1
    if multi:
        head = "<th>scenario</th>" + head
    rows = []
    for key, df in summary.groupby(keys, sort=False):
        k = dict(zip(keys, key))
        s = df.set_index("kpi")
        cells = []
        for kpi, _, kind in shown:
            if kpi not in s.index:
                cells.append("<td>-</td>")
                continue
            r = s.loc[kpi]
            ci = "" if not math.isfinite(r["lower"]) else f"<br><small>[{fmt(r['lower'], kind)}, {fmt(r['upper'], kind)}]</small>"
            cells.append(f"<td>{fmt(r['mean'], kind)}{ci}</td>")
        rec = recommended and recommended.get("point") == k["point"] and recommended.get("policy") in (None, k["policy"]) \
            and recommended.get("scenario", k["scenario"]) == k["scenario"]
        lead = (f"<td>{html.escape(str(k['scenario']))}</td>" if multi else "") + \
            "".join(f"<td>{html.escape(str(k[f]))}</td>" for f in factors)
        star = " &#9733; recommended" if rec else ""
        cls = ' class="sig"' if rec else ""
        rows.append(f"<tr{cls}>{lead}<td>{html.escape(str(k['policy']))}{star}</td>{''.join(cells)}</tr>")
    return (f"<h3>Every {'setting of the sweep' if factors else 'scenario'}</h3><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
            "</tbody></table>")
