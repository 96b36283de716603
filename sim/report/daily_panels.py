"""Daily series drawn as stacked panels over time, shared by the load figures (queue and reps, AE
load): one rolling-mean line per policy and panel, and the days outside the measurement window
shaded (the run-out only in its first weeks, where the cohort's deals close)."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from sim.report.style import GREY

RUNOUT_SHOWN = 28        # days of run-out drawn in the load figures
Panel = tuple[str, str, int, bool]   # column, y label, rolling window (days), working days only


def rolling_panels(axes: np.ndarray[Any, Any], ts: pd.DataFrame, policies: Sequence[str], col: dict[str, str],
                   panels: Sequence[Panel], workday_column: str) -> None:
    """One line per policy in each panel: the daily mean over replications, smoothed by a rolling
    mean; a working-days-only panel drops the days where `workday_column` is NaN (nobody works)."""
    for ax, (key, label, roll, workdays) in zip(axes[:, 0], panels):
        for p in policies:
            df = ts[ts["policy"] == p]
            if workdays and workday_column in df:
                df = df[df[workday_column].notna()]
            daily = df.groupby("date", sort=True)[key].mean()
            ax.plot(daily.index, daily.rolling(roll, min_periods=1).mean(), color=col[p], label=p, lw=1.8)
        ax.set_ylabel(label)


def shade_outside_window(axes: np.ndarray[Any, Any], ts: pd.DataFrame, policy: str) -> pd.Series:
    """Shade warm-up and run-out on every panel and stop the x axis RUNOUT_SHOWN days into the
    run-out; returns the policy's `in_window` flag by date."""
    first: pd.Series = ts[ts["policy"] == policy].groupby("date")["in_window"].first()
    win = first[first.astype(bool)]
    if len(win):
        day = pd.Timedelta(days=1)
        end = min(first.index.max(), win.index.max() + pd.Timedelta(days=RUNOUT_SHOWN))
        for ax in axes[:, 0]:
            ax.set_xlim(first.index.min(), end + day)
            ax.axvspan(first.index.min(), win.index.min(), color=GREY, alpha=0.15, lw=0)
            ax.axvspan(win.index.max() + day, end + day, color=GREY, alpha=0.15, lw=0)
    return first
