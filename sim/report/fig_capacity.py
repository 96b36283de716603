"""Capacity over time: the rep-hours the team had available each working day (ramp-up of hires,
PTO, sick days and leavers waiting for a replacement all show as dips or steps), next to the
utilisation of those available hours. Drawn only when the scenario's roster is not today's team of
identical, ever-present reps (the daily series then has a `rep_hours_available` column)."""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from sim.report.style import GREY, colours, empty_figure, new_figure, styled

COLUMN = "rep_hours_available"
EFFECTIVE = "rep_hours_effective"     # the same hours weighted by each rep's ramp productivity


def has_capacity(timeseries: pd.DataFrame | None) -> bool:
    """Does the daily series carry a roster's capacity (reps as people)?"""
    return timeseries is not None and COLUMN in timeseries and bool(timeseries[COLUMN].notna().any())


def capacity_figure(timeseries: pd.DataFrame, policies: list[str] | None = None,
                    palette: dict[str, str] | None = None) -> Figure:
    """Top: available rep-hours per working day, and dashed the same hours weighted by each rep's
    ramp productivity (mean over replications; the roster is the world's, so every policy has the
    same lines unless headcount differs). Bottom: utilisation of the
    available hours, 5-working-day mean."""
    if not has_capacity(timeseries):
        return empty_figure("Capacity over time", "These results have no roster (reps as people).")
    policies = policies or list(dict.fromkeys(timeseries["policy"]))
    col = palette or colours(policies)
    ts = timeseries.assign(date=pd.to_datetime(timeseries["date"]))
    ts = ts[ts[COLUMN] > 0]                       # working days only
    with styled():
        fig: Figure
        fig, axes = new_figure(2, 1, width=12, height=6.5, sharex=True)
        for p in policies:
            df = ts[ts["policy"] == p]
            hours = df.groupby("date", sort=True)[COLUMN].mean()
            util = 100 * df.groupby("date", sort=True)["rep_utilisation"].mean()
            axes[0, 0].step(hours.index, hours.to_numpy(), where="post", color=col[p], label=p, lw=1.6)
            if EFFECTIVE in df:
                eff = df.groupby("date", sort=True)[EFFECTIVE].mean()
                axes[0, 0].step(eff.index, eff.to_numpy(), where="post", color=col[p], lw=1.2, ls="--")
            axes[1, 0].plot(util.index, util.rolling(5, min_periods=1).mean(), color=col[p], label=p, lw=1.6)
        first = ts[ts["policy"] == policies[0]].groupby("date")["in_window"].first()
        win = first[first.astype(bool)]
        if len(win):
            for ax in axes[:, 0]:
                ax.axvspan(first.index.min(), win.index.min(), color=GREY, alpha=0.15, lw=0)
                ax.axvspan(win.index.max(), first.index.max(), color=GREY, alpha=0.15, lw=0)
        axes[0, 0].set_ylabel("rep-hours available\nper working day\n(dashed: ramp-weighted)")
        axes[0, 0].set_ylim(bottom=0)
        axes[1, 0].set_ylabel("utilisation of available\nhours (%, 5-day mean)")
        axes[1, 0].set_ylim(0, 105)
        axes[1, 0].set_xlabel("date")
        axes[0, 0].legend(frameon=False, loc="lower right", title="policy")
        fig.suptitle("Capacity over time: hires ramping, PTO, sick days and leavers (mean over replications)")
    return fig
