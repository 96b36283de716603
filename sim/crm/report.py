"""The report pages of the CRM commands (calibration and backtest folders): figures saved beside
report.html, tables as HTML. Built here, beside the figures, so the command layer only decides what
goes in a folder."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.crm.figures import (
    arrivals_figure,
    close_figure,
    conversion_figure,
    gain_figure,
    html_page,
    save,
    table_html,
)
from sim.crm.simcheck import comparison_table

if TYPE_CHECKING:
    from sim.crm.calibrate import Calibration
    from sim.crm.simcheck import SimSample


def write_calibration_report(tmp: Path, cal: Calibration, result: dict[str, Any], sim: SimSample) -> None:
    """report.html of a calibration folder: the checks against the export, the figures, the
    conversion by origin, the time-to-close fit and what the export cannot calibrate."""
    figs = []
    figs.append(save(arrivals_figure(cal.observed.daily.to_numpy(), sim.daily,
                                     result["arrivals_per_day"]["ks_statistic"]), tmp / "arrivals.png"))
    if result["time_to_close"]:
        figs.append(save(close_figure(cal.observed.close_days, sim.close_days,
                                      result["time_to_close"]["ks_statistic"]), tmp / "time_to_close.png"))
    rows = comparison_table(result)
    if len(rows):
        figs.append(save(conversion_figure(rows), tmp / "conversion_by_origin.png"))
    ttc = cal.fits.get("time_to_close", {})
    a = result["arrivals_per_day"]
    summary = pd.DataFrame([
        {"check": "arrivals per day (KS)", "value": a["ks_statistic"],
         "observed": a["observed_variance_to_mean"], "simulated": a["simulated_variance_to_mean"],
         "note": "observed / simulated: variance-to-mean of daily counts"},
        *([{"check": "time to close (KS)", "value": result["time_to_close"]["ks_statistic"],
            "observed": result["time_to_close"]["observed_median_days"],
            "simulated": result["time_to_close"]["simulated_median_days"], "note": "medians in days"}]
          if result["time_to_close"] else []),
    ])
    sections = [("Checks", table_html(summary)),
                ("Figures", "".join(f"<p><img src='{f}' alt='{f}'></p>" for f in figs)),
                ("Conversion by origin (>= 100 MQLs)", table_html(rows) if len(rows) else "<p>no outcome</p>"),
                ("Time to close fit", "<pre>" + "\n".join(f"{k}: {v}" for k, v in ttc.items()) + "</pre>"),
                ("What the export cannot calibrate", "<ul>" + "".join(f"<li>{c}</li>" for c in cal.cannot) + "</ul>")]
    (tmp / "report.html").write_text(html_page("Calibration report", sections), encoding="utf-8")


def write_backtest_report(tmp: Path, table: pd.DataFrame, gains: pd.DataFrame, title: str,
                          extra: list[tuple[str, str]] | None = None) -> None:
    """backtest.csv, gains.csv, the gain curve and report.html of a backtest or fit-scoring folder."""
    table.to_csv(tmp / "backtest.csv", index=False)
    gains.to_csv(tmp / "gains.csv", index=False)
    img = save(gain_figure(gains), tmp / "gain.png")
    deciles = gains[np.isclose(gains["share_of_leads"] * 10, np.round(gains["share_of_leads"] * 10))]
    wide = deciles.pivot(index="share_of_leads", columns="policy", values="share_of_conversions").reset_index()
    (tmp / "report.html").write_text(html_page(title, [("Policies on real leads", table_html(table)),
                                                       ("Gain curve", f"<img src='{img}' alt='gain curve'>"),
                                                       ("Share of conversions in the top x of leads",
                                                        table_html(wide)), *(extra or [])]), encoding="utf-8")
