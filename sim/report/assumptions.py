"""The assumptions section of a report: the scenario and the policies as tables, from the manifest
(what the run really used, defaults included), plus the swept settings and a per-point table of
a sweep's key KPIs."""
from __future__ import annotations

import ast
import html
from typing import Any, cast

import pandas as pd

from sim import format as F
from sim.present import with_status
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
    ("routing.assignment", "routing: assignment (if not the short form)"),
    ("routing.order", "routing: order (if not the short form)"), ("routing.daily_cap", "new MQLs per rep per day (cap)"), ("sla.reassign_after", "reassign untouched after"),
)


def _get(d: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a nested dict (None if absent)."""
    node: Any = d
    for k in path.split("."):
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return node


def _show(v: Any) -> str:
    return F.setting(v)


# command-line overrides and what they change, in words
OVERRIDE_WORDS = {"leads": "leads per year", "reps": "SDRs", "days": "measurement window (days)"}


def overrides(manifest: dict[str, Any]) -> list[str]:
    """What the command changed on top of the scenario and policy files, in words ('leads per year
    9,000', 'mql.threshold = 70'), from the recorded command line or Python call."""
    cmd = [str(c) for c in manifest.get("command") or []]
    found: list[tuple[str, object]] = []
    if len(cmd) >= 3 and cmd[0] == "python" and cmd[1] == "-c":
        try:
            call = next(n for n in ast.walk(ast.parse(cmd[2])) if isinstance(n, ast.Call) and n.keywords)
            for kw in call.keywords:
                v = ast.literal_eval(kw.value)
                if kw.arg in OVERRIDE_WORDS and v is not None:
                    found.append((kw.arg, v))
                elif kw.arg == "sets":
                    found += [("set", x) for x in v]
        except (StopIteration, ValueError, SyntaxError):
            pass
    else:       # '--leads 9000' or '--leads=9000', in the order typed
        for i, a in enumerate(cmd):
            key, eq, val = a.removeprefix("--").partition("=")
            if not a.startswith("--") or (key not in OVERRIDE_WORDS and key != "set"):
                continue
            if not eq:
                if i + 1 >= len(cmd):
                    continue
                val = cmd[i + 1]
            found.append(("set", val) if key == "set" else (key, _number(val)))
    return [f"{OVERRIDE_WORDS[k]} {F.setting(v)}" if k in OVERRIDE_WORDS else str(v).replace("=", " = ", 1)
            for k, v in found]


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def swept(manifest: dict[str, Any]) -> dict[str, list[Any]]:
    """{path as written in the design: values} of the swept settings."""
    return {f.get("path"): list(f.get("values", [])) for f in (manifest.get("design") or {}).get("factors") or []
            if f.get("path")}


def _swept_at(sweeps: dict[str, list[Any]], path: str, side: str) -> list[Any] | None:
    """The values swept for a scenario (`side`='scenario') or policy row's path, if it was swept."""
    for p, vals in sweeps.items():
        if p == path or p == f"{side}.{path}":
            return vals
    return None


def _cell(d: dict[str, Any], path: str, sweeps: dict[str, list[Any]], side: str) -> str:
    vals = _swept_at(sweeps, path, side)
    return f"swept: {F.span(vals)}" if vals is not None else _show(_get(d, path))


def _full(flat: dict[str, str], key: str, sweeps: dict[str, list[Any]], side: str) -> str:
    vals = _swept_at(sweeps, key, side)
    return f"swept: {F.span(vals)}" if vals is not None else flat.get(key, "-")


def scenario_tables(scenarios: dict[str, dict[str, Any]], manifest: dict[str, Any] | None = None) -> str:
    """The scenario as it ran: swept settings show their range, and the description says what the
    command line overrode (a '4k leads/year' description after `--leads 9000` would mislead)."""
    names = list(scenarios)
    sweeps, changed = swept(manifest or {}), overrides(manifest or {})
    note = ("; as run: " + ", ".join(changed)) if changed else ""
    note += ("; swept: " + ", ".join(f"{pretty(p).split(' (')[0]} {F.span(v)}" for p, v in sweeps.items())) \
        if sweeps else ""
    rows = [(label, [(_show(_get(scenarios[n], path)) + note) if path == "description" else
                     _cell(scenarios[n], path, sweeps, "scenario") for n in names]) for path, label in SCENARIO_ROWS]
    spikes = [[f"{s.get('name') or s.get('channel') or 'all'}: x{F.setting(s.get('multiplier'))} from {s.get('start')} for "
               f"{s.get('duration')}" for s in (_get(scenarios[n], "arrivals.spikes") or [])] for n in names]
    rows.append(("campaign spikes", ["; ".join(s) or "none" for s in spikes]))
    out = "<h3>Scenario: what the world does</h3>" + key_value_table(rows, names)
    full = [flatten(scenarios[n]) for n in names]
    keys = list(dict.fromkeys(k for f in full for k in f))
    out += ("<details><summary>Every scenario setting</summary>"
            + key_value_table([(k, [_full(f, k, sweeps, "scenario") for f in full]) for k in keys], names)
            + "</details>")
    return out


def policy_tables(policies: dict[str, dict[str, Any]], order: list[str], palette: dict[str, str],
                  manifest: dict[str, Any] | None = None) -> str:
    names = [p for p in order if p in policies] + [p for p in policies if p not in order]
    sweeps = swept(manifest or {})
    rows = [(label, [_cell(policies[n], path, sweeps, "policy") for n in names]) for path, label in POLICY_ROWS]
    out = "<h3>Policies: what the company decides</h3>" + key_value_table(rows, names, palette)
    full = [flatten(policies[n]) for n in names]
    keys = list(dict.fromkeys(k for f in full for k in f))
    differ = [(k, [_full(f, k, sweeps, "policy") for f in full]) for k in keys if len({f.get(k, "-") for f in full}) > 1]
    if len(names) > 1 and differ:
        out += ("<details><summary>Every setting in which the policies differ</summary>"
                + key_value_table(differ, names, palette) + "</details>")
    return out


def design_table(manifest: dict[str, Any]) -> str:
    factors = (manifest.get("design") or {}).get("factors") or []
    if not factors:
        return ""
    rows = "".join(f"<tr><td>{html.escape(pretty(f.get('path', '?')))}</td><td><code>{html.escape(str(f.get('path')))}"
                   f"</code></td><td style=\"text-align:left\">{html.escape(F.span(f.get('values', [])))}</td></tr>"
                   for f in factors)
    return ("<h3>Swept settings</h3><table><thead><tr><th>setting</th><th>path</th><th style=\"text-align:left\">values"
            f"</th></tr></thead><tbody>{rows}</tbody></table>")


SWEEP_TABLE_KPIS = ("mqls", "mql_to_sql_rate", "bookings", "sla_compliance", "rep_utilisation")


def sweep_table(summary: pd.DataFrame, factors: list[str], recommended: dict[str, Any] | None,
                kpis: list[str] | None = None, note: str = "") -> str:
    """One row per (scenario, point, policy): the key KPIs (and the experiment's own `kpis`), mean
    [95% CI] or 'too few (n=..)'; the recommended row marked. Only for sweeps and multi-scenario
    experiments."""
    if summary.empty or (not factors and summary["scenario"].nunique() < 2):
        return ""
    summary = with_status(summary)
    shown = list(SWEEP_TABLE_KPIS) + [k for k in (kpis or []) if k not in SWEEP_TABLE_KPIS and k in set(summary["kpi"])]
    keys = ["scenario", "point", "policy", *factors]
    head = "".join(f"<th>{html.escape(pretty(f))}</th>" for f in factors) + "<th>policy</th>" + \
        "".join(f"<th>{html.escape(F.kpi_format(k)[0])}</th>" for k in shown)
    multi = summary["scenario"].nunique() > 1
    if multi:
        head = "<th>scenario</th>" + head
    rows = []
    for key, df in summary.groupby(keys, sort=False):
        k = dict(zip(keys, key))
        s = df.set_index("kpi")
        cells = []
        for kpi in shown:
            if kpi not in s.index:
                cells.append("<td>-</td>")
                continue
            row = cast("pd.Series[Any]", s.loc[kpi])   # one row per KPI in a group
            cells.append(f"<td>{_sweep_cell(row, *F.kpi_format(kpi)[1:])}</td>")
        rec = recommended and recommended.get("point") == k["point"] and recommended.get("policy") in (None, k["policy"]) \
            and recommended.get("scenario", k["scenario"]) == k["scenario"]
        lead = (f"<td>{html.escape(str(k['scenario']))}</td>" if multi else "") + \
            "".join(f"<td>{html.escape(F.setting(k[f]))}</td>" for f in factors)
        star = " &#9733; recommended" if rec else ""
        cls = ' class="sig"' if rec else ""
        rows.append(f"<tr{cls}>{lead}<td>{html.escape(str(k['policy']))}{star}</td>{''.join(cells)}</tr>")
    note = f'<p class="note">{html.escape(note)}</p>' if note else ""
    return (f"<h3>Every {'setting of the sweep' if factors else 'scenario'}</h3><table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
            f"</tbody></table>{note}")


def _sweep_cell(r: pd.Series, kind: str, unit: str) -> str:
    """mean<br><small>[lower to upper]</small>, or 'too few (n=..)' with no interval."""
    st = F.status_of(r)
    if st == "too_few":
        return html.escape(F.too_few(r.get("n"), r.get("n_total"), r.get("count")))
    if st == "undefined":
        return "n/a"
    ci = F.interval(r["lower"], r["upper"], kind, unit)
    small = "" if ci == "no interval" else f"<br><small>[{html.escape(ci)}]</small>"
    note = F.n_note(r.get("n"), r.get("n_total"))
    return html.escape(F.value(r["mean"], kind, unit)) + small + (f"<br><small>{html.escape(note.strip())}</small>" if note else "")
