"""The AE load figure: how busy the account executives were and how many SQLs waited for a
discovery meeting, day by day, per policy. Drawn only when the hand-off stage is on (the daily
series then carry the AE columns): the question it answers is "our AEs are full, do more MQLs
even help?" - a policy that sends more SQLs shows up here as a longer AE queue, not more deals.
"""
from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.report.daily_panels import rolling_panels, shade_outside_window
from sim.report.style import GREY, colours, empty_figure, new_figure, styled

AE_COLUMNS = ("ae_utilisation", "sqls_waiting_for_ae", "ae_meetings_held")


def has_ae_load(timeseries: pd.DataFrame | None) -> bool:
    """Do the daily series carry the AE team's load (the hand-off stage ran)?"""
    return (timeseries is not None and not timeseries.empty and "ae_utilisation" in timeseries
            and bool(timeseries["ae_utilisation"].notna().any()))


def ae_load_figure(timeseries: pd.DataFrame, policies: list[str] | None = None,
                   palette: dict[str, str] | None = None) -> Figure:
    """AE utilisation (working days, 5-day mean), SQLs waiting for an AE (7-day mean) and
    meetings held per week, mean over replications; outside the measurement window greyed."""
    if not has_ae_load(timeseries):
        return empty_figure("AE load", "These results have no AE stage (scenario [handoff] is off).")
    policies = policies or list(dict.fromkeys(timeseries["policy"]))
    col = palette or colours(policies)
    ts = timeseries.assign(date=pd.to_datetime(timeseries["date"]), ae_utilisation=100 * timeseries["ae_utilisation"])
    panels = (("ae_utilisation", "AE utilisation (%)\n(5-working-day mean)", 5, True),
              ("sqls_waiting_for_ae", "SQLs waiting for an AE\n(7-day mean)", 7, False),
              ("ae_meetings_held", "meetings held\n(7-day mean per day)", 7, False))
    with styled():
        fig, axes = new_figure(3, 1, width=12, height=8.5, sharex=True)
        rolling_panels(axes, ts, policies, col, panels, "ae_utilisation")
        axes[0, 0].set_ylim(0, 105)
        shade_outside_window(axes, ts, policies[0])
        leg = axes[0, 0].legend(frameon=False, loc="upper left", title="policy")
        axes[0, 0].add_artist(leg)
        axes[0, 0].legend(handles=[Patch(color=GREY, alpha=0.3, label="outside the measurement window")],
                          frameon=False, loc="upper right")
        axes[2, 0].set_xlabel("date")
        fig.suptitle("AE load (mean over replications)")
    out: Figure = fig
    return out
