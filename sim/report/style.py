"""One look for every figure: readable at slide size, plain-word titles, units on the axes, a
colour-blind-safe palette (Okabe-Ito) and one colour per policy throughout a report.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot: no backend to choose, no global
figure registry to leak into) and styling is applied with `matplotlib.rc_context` around each
figure, so importing or using this package changes nothing for the user's own plots.
"""
from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Iterable, Iterator

import matplotlib
from matplotlib.figure import Figure

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision
# deficiency. Yellow last: it is weak on white.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
GREY = "#9A9A9A"
SIGNIFICANT = "#D55E00"     # vermillion: an interval that excludes zero
SPIKE = "#E69F00"           # campaign spikes shaded in load figures

RC = {
    "font.size": 12, "axes.titlesize": 14, "axes.titleweight": "bold", "axes.labelsize": 12,
    "xtick.labelsize": 11, "ytick.labelsize": 11, "legend.fontsize": 11, "figure.titlesize": 15,
    "figure.titleweight": "bold", "axes.spines.top": False, "axes.spines.right": False,
    "axes.grid": True, "grid.alpha": 0.3, "grid.linewidth": 0.8, "lines.linewidth": 2.0,
    "svg.fonttype": "none", "figure.dpi": 100, "savefig.bbox": "tight",
}


def colours(policies: Iterable[str]) -> dict[str, str]:
    """One fixed colour per policy, in the order given (the report's policy order)."""
    return {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(dict.fromkeys(policies))}


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """The report style for the figures created inside the block."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(rows: int = 1, cols: int = 1, width: float = 10.0, height: float = 5.0, **kw):
    """(figure, 2-D array of axes) in the report style (call inside `styled()`), constrained layout."""
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(rows, cols, squeeze=False, **kw)


def empty_figure(title: str, message: str) -> Figure:
    """A figure that says plainly why there is nothing to draw (e.g. no replications)."""
    with styled():
        fig, ax = new_figure(width=8, height=2.5)
        a = ax[0, 0]
        a.axis("off")
        a.set_title(title)
        a.text(0.5, 0.5, message, ha="center", va="center", transform=a.transAxes, fontsize=12, color="#444")
    return fig


def save(fig: Figure, folder: Path, name: str) -> dict[str, Path]:
    """Write `name`.png (for the HTML page) and `name`.svg (for slides) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    with styled():
        for ext, kw in (("png", {"dpi": 110}), ("svg", {})):
            path = folder / f"{name}.{ext}"
            fig.savefig(path, format=ext, bbox_inches="tight", **kw)
            out[ext] = path
    return out


def close(fig: Figure) -> None:
    """Free a figure's memory once saved (pyplot-free figures need no deregistration)."""
    fig.clear()


def pct(x: float, digits: int = 0) -> str:
    """0.123 -> '12%' (n/a for NaN)."""
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.{digits}f}%"


def pretty(name: str) -> str:
    """A KPI or setting name in plain words: 'policy.mql.threshold' -> 'MQL threshold (points)',
    'routing.discipline' -> 'routing discipline'."""
    name = str(name)
    short = name.removeprefix("policy.").removeprefix("scenario.")
    if name in LABELS or short in LABELS:
        return LABELS.get(name, LABELS.get(short, name))
    parts = short.split(".")
    if short.startswith("sla.targets.") and len(parts) == 3:
        return f"{parts[2].replace('_', '-')}-tier SLA target"
    return " ".join(parts[-2:]).replace("_", " ")


LABELS = {
    "policy.mql.threshold": "MQL threshold (points)", "mql.threshold": "MQL threshold (points)",
    "scenario.sales.reps": "SDRs (headcount)", "sales.reps": "SDRs (headcount)", "policy.reps": "SDRs (headcount)",
    "reps": "SDRs (headcount)", "mqls": "MQLs", "bookings": "Bookings", "mql_to_sql_rate": "MQL -> SQL",
    "sla_compliance": "SLA compliance (all tiers)", "sla_compliance_standard": "SLA compliance, standard tier",
    "rep_utilisation": "Rep utilisation", "mql_precision": "MQL precision", "buyer_recall": "Buyer recall",
    "mql.high_intent": "high-intent tier from (points)", "arrivals.leads_per_year": "leads per year",
    "response.decay": "response decay curve", "sla.breach_action": "action on SLA breach",
    "cadence.max_attempts": "attempts per MQL", "sales.mql_time_share": "share of SDR time on MQLs",
}
