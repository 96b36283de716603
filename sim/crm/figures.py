"""Figures of the calibration and backtest reports: observed vs simulated, side by side, with the KS
distance in the title; gain curves of the policies on real leads.

Uses the report's style (`sim.report.style`: palette, fonts, no pyplot) when it is there, so these
figures look like the rest of the reports; plain matplotlib otherwise.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import NDArray

from sim.report.style import PALETTE, new_figure, styled

OBSERVED, SIMULATED = PALETTE[0], PALETTE[1]


def _fig(cols: int = 1, width: float = 9.0, height: float = 4.5) -> tuple[Figure, NDArray[Any]]:
    fig, axes = new_figure(1, cols, width, height)
    return fig, axes[0]


def arrivals_figure(observed: np.ndarray, simulated: np.ndarray, ks: float) -> Figure:
    with styled():
        fig, (ax,) = _fig()
        hi = max(observed.max(), np.percentile(simulated, 99.5)) + 1
        bins = np.linspace(0, hi, 40)
        ax.hist(observed, bins=bins, density=True, histtype="step", color=OBSERVED, linewidth=2, label="observed")
        ax.hist(simulated, bins=bins, density=True, histtype="step", color=SIMULATED, linewidth=2, label="simulated")
        ax.set_xlabel("leads per day")
        ax.set_ylabel("share of days")
        ax.set_title(f"Arrivals per day (KS distance {ks:.3f})")
        ax.legend()
    return fig


def close_figure(observed: np.ndarray, simulated: np.ndarray, ks: float) -> Figure:
    with styled():
        fig, (ax,) = _fig()
        for x, c, lab in ((observed, OBSERVED, "observed"), (simulated, SIMULATED, "simulated")):
            x = np.sort(x[x > 0])
            ax.step(x, np.arange(1, x.size + 1) / x.size, where="post", color=c, label=f"{lab} (n={x.size})")
        ax.set_xscale("log")
        ax.set_xlabel("time to close, days (log scale)")
        ax.set_ylabel("share of won deals closed")
        ax.set_title(f"Time to close, MQL -> won (KS distance {ks:.3f})")
        ax.legend()
    return fig


def conversion_figure(rows: pd.DataFrame) -> Figure:
    """Each origin's observed MQL->won with its 95% interval, and its channel's simulated rate."""
    with styled():
        fig, (ax,) = _fig(height=0.5 * max(len(rows), 4) + 1.5)
        y = np.arange(len(rows))[::-1]
        obs = rows["observed"].to_numpy() * 100
        ax.errorbar(obs, y, xerr=[obs - rows["lo"] * 100, rows["hi"] * 100 - obs], fmt="o", color=OBSERVED,
                    capsize=4, label="observed, 95% interval")
        ax.plot(rows["simulated"] * 100, y, "D", color=SIMULATED, label="simulated (its channel)")
        ax.set_yticks(y, [f"{s} ({c}, n={n})" for s, c, n in zip(rows["source"], rows["channel"], rows["n"])])
        ax.set_xlabel("MQL -> won, %")
        ax.set_title("Conversion by origin")
        ax.legend(loc="lower right")
    return fig


def gain_figure(gains: pd.DataFrame) -> Figure:
    with styled():
        fig, (ax,) = _fig(width=7, height=5.5)
        for i, (p, g) in enumerate(gains.groupby("policy", sort=False)):
            ax.plot(g["share_of_leads"] * 100, g["share_of_conversions"] * 100, color=PALETTE[i % len(PALETTE)],
                    label=p)
        ax.plot([0, 100], [0, 100], color="#9A9A9A", linestyle="--", label="random")
        ax.set_xlabel("top % of leads by score")
        ax.set_ylabel("% of all conversions captured")
        ax.set_title("Gain curve on real leads")
        ax.legend()
    return fig


def save(fig: Figure, path: Path) -> str:
    fig.savefig(path, dpi=100)
    return path.name


def html_page(title: str, sections: list[tuple[str, str]]) -> str:
    """A self-contained page: each section is (heading, inner HTML)."""
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{inner}" for h, inner in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
            "th{background:#f4f4f4}img{max-width:100%}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>\n{body}</body></html>\n")


def table_html(df: pd.DataFrame, digits: int = 3) -> str:
    return df.to_html(index=False, float_format=lambda x: f"{x:.{digits}f}", border=0, escape=True)
