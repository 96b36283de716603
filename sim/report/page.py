"""The HTML of a report: one self-contained file (images embedded as data URIs, no scripts, no
external fonts or styles) that opens offline and prints cleanly to PDF.

Everything user-supplied (names, descriptions, command lines) is escaped.
"""
from __future__ import annotations

import base64
import html
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim import format as F
from sim.present import kpi_rows
from sim.report.narrative import Flag

SECTIONS = (("summary", "Executive summary"), ("health", "Health checks"), ("assumptions", "Assumptions"),
            ("figures", "Figures"), ("kpis", "Key figures with intervals"), ("reproduce", "How to reproduce"))

CSS = """
:root{--ink:#1d1d1d;--muted:#5d5d5d;--rule:#d9d9d9;--accent:#0072B2;--warn:#E69F00;--bad:#D55E00;--ok:#009E73}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);
 max-width:1180px;margin:0 auto;padding:1.5em 2em 4em;line-height:1.45}
h1{font-size:1.9em;margin:.2em 0 .1em}h2{font-size:1.4em;margin-top:2em;border-bottom:2px solid var(--rule);padding-bottom:.2em}
h3{font-size:1.1em;margin:1.6em 0 .4em}
.lede{color:var(--muted);margin-top:0}
nav{font-size:.95em;margin:1em 0 0;padding:.5em 0;border-top:1px solid var(--rule);border-bottom:1px solid var(--rule)}
nav a{margin-right:1.2em;color:var(--accent);text-decoration:none}
.summary li{margin:.45em 0;font-size:1.08em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0 1em;width:auto}
th,td{border-bottom:1px solid var(--rule);padding:4px 10px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}thead th{border-bottom:2px solid #999;background:#f6f6f6}
td small{color:var(--muted)}th.left,td.left{text-align:left}
.sig{background:#fbeee6;font-weight:600}
.flag-bad{color:var(--bad);font-weight:700}.flag-warn{color:#9a6300;font-weight:700}.flag-ok{color:var(--ok)}
.flag-unsure{color:#555;font-weight:700}.warnings li{color:#9a6300}
.swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;margin-right:.35em;vertical-align:-1px}
figure{margin:1.2em 0 2em}figure img{max-width:100%;height:auto;display:block;border:1px solid #eee}
figcaption{color:var(--muted);font-size:.92em;margin-top:.4em;max-width:70em}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f6f6f6;padding:.7em 1em;white-space:pre-wrap;word-break:break-all;border-radius:4px}
details{margin:.5em 0}summary{cursor:pointer;color:var(--accent)}
.note{color:var(--muted);font-size:.92em}
@media print{
 @page{size:A4;margin:14mm 12mm}
 body{max-width:none;padding:0;font-size:10pt}
 nav{display:none}
 h2{break-after:avoid;page-break-after:avoid}h3{break-after:avoid}
 figure,table,.summary{break-inside:avoid;page-break-inside:avoid}
 figure img{border:none;max-height:240mm;width:auto;max-width:100%}
 a{color:inherit;text-decoration:none}
 details>summary{display:none}details{display:block}
}
"""


@dataclass(frozen=True)
class FigureEntry:
    key: str            # file stem under figures/
    title: str
    caption: str
    image: Path         # the saved figure (SVG), embedded in the page
    problem: str = ""   # why the figure could not be drawn, if it could not


def _e(x: object) -> str:
    return html.escape(str(x))


MIME = {".svg": "image/svg+xml", ".png": "image/png"}


def img_tag(image: Path, alt: str) -> str:
    """The figure embedded in the page (the report is one self-contained file)."""
    data = base64.b64encode(image.read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:{MIME.get(image.suffix.lower(), "image/png")};base64,{data}">'


SIG = ' class="sig"'


def kpi_table(summary: pd.DataFrame, diffs: pd.DataFrame, palette: dict[str, str]) -> str:
    """Mean [95% CI] per policy and the paired difference of each later policy from the first."""
    policies = list(dict.fromkeys(summary["policy"]))
    head = "".join(f"<th>{_swatch(palette, p)}{_e(p)}</th>" for p in policies)
    head += "".join(f"<th>{_e(p)} &minus; {_e(policies[0])}</th>" for p in policies[1:])
    rows = []
    for label, means, deltas in kpi_rows(summary, diffs if diffs is not None else pd.DataFrame()):
        cells = [f"<td>{_cell(m, ci, note)}</td>" for m, ci, note in means]
        cells += [f"<td{SIG if sig else ''}>{_cell(m + (' *' if sig else ''), ci, note)}</td>" for m, ci, note, sig in deltas]
        rows.append(f"<tr><td>{_e(label)}</td>{''.join(cells)}</tr>")
    return f"<table><thead><tr><th>KPI</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell(value: str, ci: str, note: str) -> str:
    """A value, its interval below it (small) and a note ('n=7 of 10') when there is one."""
    return _e(value) + (f"<br><small>{_e(ci)}</small>" if ci else "") + (f"<br><small>{_e(note)}</small>" if note else "")


def _swatch(palette: dict[str, str], p: str) -> str:
    c = palette.get(p)
    return f'<span class="swatch" style="background:{c}"></span>' if c else ""


CHECKS = {"mql_to_sql_rate": ("MQL -> SQL", "25-40% healthy; under 20% loose or not worked; 5% or less broken"),
          "mql_to_sal_rate": ("MQL -> SAL (accepted)", "over 50%, best 60-70%"),
          "rejection_rate": ("Rejected by sales", "under 20% of reached MQLs"),
          "first_touch_p50_business_hours": ("Median first touch (touched MQLs, business hours)", "under 8 business hours"),
          "never_touched_share": ("MQLs never touched", "at most 5% (our rule of thumb)"),
          "rep_utilisation": ("Rep utilisation", "at or under 85%"),
          "lead_to_mql_rate": ("Lead -> MQL", "15-40% of leads")}


def flags_table(flags: list[Flag], palette: dict[str, str]) -> str:
    """Checks as rows, policies as columns: the value with its interval, ok / check / problem /
    inconclusive (the interval straddles the benchmark), and why when not ok."""
    if not flags:
        return "<p>No KPI available to check.</p>"
    mark = {"bad": ("flag-bad", "&#9888; problem"), "warn": ("flag-warn", "&#9888; check"), "ok": ("flag-ok", "&#10003; ok"),
            "inconclusive": ("flag-unsure", "? inconclusive")}
    policies = list(dict.fromkeys(f.policy for f in flags))
    by = {(f.kpi, f.policy): f for f in flags}
    rows = []
    for kpi in dict.fromkeys(f.kpi for f in flags):
        label, bench = CHECKS.get(kpi, (kpi, ""))
        cells = []
        for p in policies:
            f = by.get((kpi, p))
            if f is None:
                cells.append("<td>-</td>")
                continue
            cls, word = mark[f.level]
            v = f.shown()
            why = "" if f.level == "ok" else f"<br><small>{_e(f.message)}</small>"
            cells.append(f'<td class="left">{_e(v)} <span class="{cls}">{word}</span>{why}</td>')
        rows.append(f"<tr><td>{_e(label)}</td><td class=\"left note\">{_e(bench)}</td>{''.join(cells)}</tr>")
    head = "".join(f'<th class="left">{_swatch(palette, p)}{_e(p)}</th>' for p in policies)
    return (f'<table><thead><tr><th>check</th><th class="left">benchmark</th>{head}</tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


def manifest_warnings(warnings: list[str] | None) -> str:
    """Warnings recorded with the results (`manifest["warnings"]`, one line each), if any."""
    if not warnings:
        return ""
    items = "".join(f"<li>{_e(w)}</li>" for w in warnings)
    return f'<h3>Warnings recorded with these results</h3><ul class="warnings">{items}</ul>'


def key_value_table(rows: list[tuple[str, list[Any]]], columns: list[str], palette: dict[str, str] | None = None) -> str:
    head = "".join(f'<th class="left">{_swatch(palette or {}, c)}{_e(c)}</th>' for c in columns)
    body = "".join("<tr><td>" + _e(k) + "</td>" + "".join(f'<td class="left">{_e(v)}</td>' for v in vals) + "</tr>"
                   for k, vals in rows)
    return f"<table><thead><tr><th>setting</th>{head}</tr></thead><tbody>{body}</tbody></table>"


def flatten(d: Any, prefix: str = "") -> dict[str, str]:
    """A nested dict as {dotted.path: text}, for 'every setting' tables."""
    out: dict[str, str] = {}
    if isinstance(d, dict):
        for k, v in d.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        for i, v in enumerate(d):
            out.update(flatten(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = F.setting(d)
    return out


def reproduce_block(manifest: dict[str, Any], folder: Path) -> str:
    cmd = manifest.get("command") or []
    if cmd:
        first = f"<p>Re-run exactly these results (same seed, same inputs):</p><pre>{_e(shlex.join(map(str, cmd)))}</pre>"
    else:
        first = ("<p>These results were made from Python (no command line recorded): re-run the same call with "
                 f"seed <code>{_e(manifest.get('seed', 'n/a'))}</code>, or pass the resolved scenario and policies "
                 "saved in <code>manifest.json</code>.</p>")
    bits = [first,
            f"<p>Seed <code>{_e(manifest.get('seed', 'n/a'))}</code>; {_e(manifest.get('replications', 'n/a'))} "
            f"replications; created {_e(manifest.get('created', 'n/a'))}; code version "
            f"<code>{_e((manifest.get('git_commit') or 'unknown')[:12])}</code>"
            f"{' (with uncommitted changes)' if manifest.get('git_dirty') else ''}.</p>",
            f"<p>Rebuild this report from the saved results: <code>funnelsim report {_e(shlex.quote(str(folder)))} --force</code>. "
            "Every resolved input is in <code>manifest.json</code>; every run's KPIs in the runs table.</p>"]
    versions = manifest.get("versions") or {}
    if versions:
        bits.append("<p class=\"note\">Package versions: " + ", ".join(f"{_e(k)} {_e(v)}" for k, v in versions.items() if v)
                    + f"; Python {_e(manifest.get('python', '?'))}.</p>")
    return "".join(bits)


def page(title: str, lede: str, summary_items: list[str], health: str, assumptions: str,
         figures: list[FigureEntry], kpis: str, reproduce: str, warnings: list[str]) -> str:
    nav = "".join(f'<a href="#{k}">{_e(v)}</a>' for k, v in SECTIONS)
    warn = "".join(f'<p class="flag-warn">{_e(w)}</p>' for w in warnings)
    figs = "".join(f'<figure id="fig-{_e(f.key)}"><h3>{_e(f.title)}</h3>{img_tag(f.image, f.title)}'
                   f"<figcaption>{_e(f.caption)}</figcaption></figure>" for f in figures)
    items = "".join(f"<li>{_e(s)}</li>" for s in summary_items)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head><body>
<header><h1>{_e(title)}</h1><p class="lede">{_e(lede)}</p>{warn}<nav>{nav}</nav></header>
<section id="summary"><h2>Executive summary</h2><ul class="summary">{items}</ul></section>
<section id="health"><h2>Health checks</h2><p class="note">KPIs against published benchmarks (seed MQL guides,
2026; funnel benchmark ranges; definitions vary). Each check compares the KPI's 95% interval with the benchmark:
inconclusive = the interval straddles it (more replications would settle it). A flag is a prompt to look closer, not a
verdict.</p>{health}</section>
<section id="assumptions"><h2>Assumptions</h2>{assumptions}</section>
<section id="figures"><h2>Figures</h2>{figs}</section>
<section id="kpis"><h2>Key figures with intervals</h2>{kpis}</section>
<section id="reproduce"><h2>How to reproduce</h2>{reproduce}</section>
</body></html>
"""
