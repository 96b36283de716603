"""A self-contained HTML report of a comparison: KPI table with intervals, paired differences,
a funnel figure and the load-over-time figure, images embedded so the file opens offline.

This is the first report; the pictures-and-report issue extends it (sweeps, decay, ground truth).
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: figures are files, never windows
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.present import kpi_rows  # noqa: E402

# Okabe-Ito: colour-blind-safe, one colour per policy throughout
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
STAGES = [("leads", "Leads"), ("mqls", "MQLs"), ("sals", "SALs"), ("sqls", "SQLs"),
          ("opportunities", "Opps"), ("won", "Won")]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def funnel_figure(summary: pd.DataFrame):
    """Stage volumes per policy (log scale) with 95% interval whiskers."""
    policies = list(summary["policy"].unique())
    s = summary.set_index(["policy", "kpi"])
    fig, ax = plt.subplots(figsize=(8, 4.2))
    x = np.arange(len(STAGES))
    w = 0.8 / len(policies)
    for i, p in enumerate(policies):
        m = np.array([s.loc[(p, k), "mean"] for k, _ in STAGES])
        lo = np.array([s.loc[(p, k), "lower"] for k, _ in STAGES])
        hi = np.array([s.loc[(p, k), "upper"] for k, _ in STAGES])
        err = np.vstack([np.nan_to_num(m - lo), np.nan_to_num(hi - m)])
        ax.bar(x + (i - (len(policies) - 1) / 2) * w, m, w, yerr=err, capsize=3, label=p, color=PALETTE[i % 8])
    ax.set_xticks(x, [label for _, label in STAGES])
    ax.set_yscale("log")
    ax.set_ylabel("leads in the cohort (log scale)")
    ax.set_title("Funnel per policy (mean, 95% CI)")
    ax.legend(frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return fig


def load_figure(daily: pd.DataFrame):
    """Queue length and rep utilisation per day (first replication)."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for i, (p, df) in enumerate(daily.groupby("policy", sort=False)):
        a1.plot(df["date"], df["queue_mean"].rolling(7, min_periods=1).mean(), color=PALETTE[i % 8], label=p, lw=1.4)
        work = df.dropna(subset=["rep_utilisation"])  # working days only
        a2.plot(work["date"], 100 * work["rep_utilisation"].rolling(5, min_periods=1).mean(), color=PALETTE[i % 8], lw=1.4)
    a1.set_ylabel("MQLs waiting\n(7-day mean)")
    a2.set_ylabel("rep utilisation (%)\n(5-working-day mean)")
    a2.set_ylim(0, 105)
    a1.set_title("Load over time (replication 1; shaded = outside the measurement window)")
    first = daily[daily["policy"] == daily["policy"].iloc[0]]
    win = first[first["in_window"]]
    if len(win):
        for ax in (a1, a2):
            ax.axvspan(first["date"].min(), win["date"].min(), color="grey", alpha=0.12)
            ax.axvspan(win["date"].max(), first["date"].max(), color="grey", alpha=0.12)
            ax.grid(alpha=0.3)
    a1.legend(frameon=False)
    fig.autofmt_xdate()
    return fig


SIG = ' class="sig"'


def _kpi_table(summary: pd.DataFrame, diffs: pd.DataFrame) -> str:
    policies = list(summary["policy"].unique())
    head = "".join(f"<th>{html.escape(p)}</th>" for p in policies)
    head += "".join(f"<th>{html.escape(p)} vs {html.escape(policies[0])}</th>" for p in policies[1:])
    rows = []
    for label, means, deltas in kpi_rows(summary, diffs):
        cells = [f"<td>{m}<br><small>[{lo}, {hi}]</small></td>" for m, lo, hi in means]
        cells += [f"<td{SIG if sig else ''}>{m}<br><small>[{lo}, {hi}]</small></td>" for m, lo, hi, sig in deltas]
        rows.append(f"<tr><th>{label}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>KPI</th>{head}</tr>{''.join(rows)}</table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;font-size:14px}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:right}
th:first-child{text-align:left}.sig{background:#e8f3fb;font-weight:600}small{color:#666}img{max-width:100%}
@media print{body{margin:0}img{page-break-inside:avoid}}"""


def write_report(folder: Path, scenario, policies, comp) -> Path:
    """Write report.html (and the figures as PNG) into `folder`."""
    summary, diffs = comp.summary(), comp.differences()
    n = int(comp.runs["replication"].nunique())
    figs = {"funnel": funnel_figure(summary), "load": load_figure(comp.daily)}
    imgs = {}
    for name, fig in figs.items():
        fig.savefig(folder / f"{name}.png", dpi=110, bbox_inches="tight")
        imgs[name] = _png(fig)
    pol = "".join(f"<li><b>{html.escape(p.name)}</b>: {html.escape(p.description)}</li>" for p in policies)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>funnelsim: {html.escape(scenario.name)}</title>
<style>{CSS}</style></head><body>
<h1>Funnel simulation: {html.escape(scenario.name)}</h1>
<p>{html.escape(scenario.description)}. {n} replications; every policy met the same simulated worlds,
so differences are paired. Intervals are 95% confidence intervals over replications;
highlighted differences exclude zero.</p>
<h2>Policies</h2><ul>{pol}</ul>
<h2>Funnel</h2><img alt="funnel per policy" src="data:image/png;base64,{imgs['funnel']}">
<h2>Key figures</h2>{_kpi_table(summary, diffs)}
<h2>Load over time</h2><img alt="load over time" src="data:image/png;base64,{imgs['load']}">
<h2>Reproduce</h2><p>See <code>manifest.json</code> in this folder for the exact inputs, seed and command.</p>
</body></html>"""
    out = folder / "report.html"
    out.write_text(page)
    return out
