"""How a team absorbs a campaign spike: the backlog's peak and how many days it takes to clear.

"Cleared" means the MQL queue at midnight is back to its normal level, taken as the 90th
percentile of the 28 midnights before the spike began (at least 1 lead, so a team that normally
clears its queue daily must get back to at most 1 waiting). A backlog that never clears has no
clearing time: `spike_clear_days` is then undefined (NaN, left out of its mean, so the mean is over
the worlds that cleared) and `spike_cleared` = 0 says how often that happened. Averaging a
censored "days left in the run" with real clearing times would be a number that means nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from sim.config.scenario import Scenario

if TYPE_CHECKING:
    import pandas as pd

NORMAL_DAYS = 28


def spike_kpis(daily: pd.DataFrame | Mapping[str, Any], scenario: Scenario) -> dict[str, float]:
    """Recovery from the scenario's first campaign spike (nothing when it has none). `daily`: a
    run's daily series, numpy columns (`sim.measure.timeseries.daily_columns`) or a DataFrame."""
    spikes = sorted(scenario.arrivals.spikes, key=lambda s: s.start)
    if not spikes:
        return {}
    s = spikes[0]
    start = (s.start - scenario.start_date).days
    end = start + int(np.ceil(s.duration.minutes / 1440.0))
    q = np.asarray(daily["queue_at_midnight"], float)
    n = q.size
    if start >= n or start < 0:
        return {}
    before = q[max(0, start - NORMAL_DAYS):start]
    before = before[np.isfinite(before)]
    normal = max(1.0, float(np.quantile(before, 0.9))) if before.size else 1.0
    during = q[start:]
    finite = np.isfinite(during)
    peak = float(np.max(during[finite])) if finite.any() else float("nan")
    after = np.arange(max(end, start), n)
    ok = after[np.isfinite(q[after]) & (q[after] <= normal)] if after.size else after
    cleared = bool(ok.size)
    return {"spike_backlog_peak": peak, "spike_normal_queue": normal,
            "spike_clear_days": float(ok[0] - start) if cleared else float("nan"), "spike_cleared": float(cleared)}
