"""Speed and load figures: how fast MQLs were first touched per tier (against the SLA targets), how
qualification fell with the first-touch delay (next to the scenario's decay curve), and queue,
backlog and utilisation day by day with campaign spikes shaded.

Shares and rates are computed per run from the runs table and then averaged over replications,
so their intervals are intervals over replications like every other KPI.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from numpy.typing import NDArray

from sim import format as F
from sim.config.units import Duration
from sim.measure.detail import DELAY_BUCKETS, TTFT_BUCKETS, TTFT_NEVER, bucket_lower_edges
from sim.measure.stats import estimate, share_estimate
from sim.report.daily_panels import rolling_panels, shade_outside_window
from sim.report.style import GREY, SPIKE, colours, empty_figure, new_figure, styled
from sim.vocab import TIERS
from sim.world.response import bucket_mean, shift_odds

if TYPE_CHECKING:
    from sim.world.response import Curve

Floats = NDArray[np.float64]

BUCKET_LABELS = {"0_5m": "<5m", "5_15m": "5-15m", "15_30m": "15-30m", "30_60m": "30-60m", "1_2h": "1-2h",
                 "2_4h": "2-4h", "4_8h": "4-8h", "8_16h": "8-16h", "16_40h": "16-40h", "40h_plus": ">40h",
                 "8_24h": "8-24h", "1_3d": "1-3d", "3d_plus": ">3d", "never": "never"}
LAST_BUCKET_SPAN = 4.0   # the open-ended last bucket is averaged over [lower, 4 x lower] for the curve


def _ci_per_policy(runs: pd.DataFrame, policies: list[str],
                   counts: Callable[[pd.DataFrame], tuple[Floats, Floats]]) -> dict[str, Floats]:
    """{policy: array[k, 3]} of (share, lower, upper) in %: `counts(df)` gives per-run numerators
    and denominators (arrays [runs, k]), each column pooled over worlds with the share interval of
    `sim.measure.stats` (inside 0-100%; NaN when too few)."""
    out = {}
    for p in policies:
        num, den = counts(runs[runs["policy"] == p])
        rows = []
        for j in range(num.shape[1]):
            e = share_estimate(num[:, j], den[:, j])
            m = e["mean"] if e["status"] == "ok" else np.nan     # no bar without its interval
            rows.append([100 * m, 100 * e["lower"], 100 * e["upper"]])
        out[p] = np.array(rows, float).reshape(-1, 3)
    return out


def _target_position(minutes: float, edges: np.ndarray) -> float:
    """Where a time falls on a categorical bucket axis (bar j spans j-0.5 .. j+0.5)."""
    j = int(np.searchsorted(edges, minutes, side="right") - 1)
    if j >= len(edges) - 1:
        return len(edges) - 1.0
    return float(j - 0.5 + (minutes - edges[j]) / (edges[j + 1] - edges[j]))


def _met(runs: pd.DataFrame, kpi: str, policy: str) -> str:
    """'seed-example 40% ± 27 pp' (or 'too few (n=1)'): the tier's SLA compliance with the interval
    the summary tables give it."""
    return f"{policy} " + F.cell(estimate(runs, kpi), "share")


def speed_figure(runs: pd.DataFrame, targets: dict[str, dict[str, str]], policies: list[str] | None = None,
                 palette: dict[str, str] | None = None, workday_minutes: float = 480.0) -> Figure:
    """Time to first touch per SLA tier: share of the tier's MQL episodes first touched within each
    business-time bucket (or never), one line per policy, the policy's SLA target drawn as a dashed
    vertical line. `targets` is {policy: {tier: "5bm", ...}} from the manifest."""
    policies = policies or list(dict.fromkeys(runs["policy"]))
    col = palette or colours(policies)
    names = [b for b, _ in TTFT_BUCKETS] + [TTFT_NEVER]
    tiers = [t for t in TIERS if f"ttft_{t}_{names[0]}" in runs and runs[[f"ttft_{t}_{b}" for b in names]].to_numpy().sum() > 0]
    if not tiers:
        return empty_figure("Speed to first touch", "No MQL episodes in the measured cohort.")
    edges = bucket_lower_edges(TTFT_BUCKETS)
    with styled():
        fig, axes = new_figure(len(tiers), 1, width=12, height=2.9 * len(tiers) + 0.8, sharex=True)
        for ax, tier in zip(axes[:, 0], tiers):
            cols = [f"ttft_{tier}_{b}" for b in names]

            def counts(df: pd.DataFrame, cols: list[str] = cols) -> tuple[Floats, Floats]:
                c = df[cols].to_numpy(float)                    # share of the tier's episodes per bucket
                return c, np.repeat(c.sum(axis=1, keepdims=True), c.shape[1], axis=1)

            stats = _ci_per_policy(runs, policies, counts)
            x = np.arange(len(names))
            w = 0.8 / len(policies)
            for i, p in enumerate(policies):
                m, lo, hi = stats[p].T
                err = np.vstack([np.nan_to_num(m - lo), np.nan_to_num(hi - m)]).clip(min=0)
                ax.bar(x + (i - (len(policies) - 1) / 2) * w, np.nan_to_num(m), w, yerr=err, capsize=2,
                       color=col[p], label=p, error_kw={"elinewidth": 1, "ecolor": "#444"})
            shown = {targets.get(p, {}).get(tier) for p in policies}
            for i, p in enumerate(policies):
                target = targets.get(p, {}).get(tier)
                if not target or (len(shown) == 1 and i > 0):
                    continue
                d = Duration.parse(target)
                mins = d.business_minutes(workday_minutes)
                pos = _target_position(mins, edges)
                same = len(shown) == 1 and len(policies) > 1
                c = "black" if same else col[p]
                ax.axvline(pos, color=c, ls="--", lw=2, gid=f"target:{p}:{tier}")
                ax.annotate(f"SLA target {target}" + ("" if d.is_business else " (clock)") + ("" if same or len(policies) == 1 else f" ({p})"),
                            (pos, 1), xycoords=("data", "axes fraction"), xytext=(5, -4 - 15 * i),
                            textcoords="offset points", color=c, fontsize=10.5, va="top")
            met = [_met(runs.loc[runs["policy"] == p], f"sla_compliance_{tier}", p) for p in policies
                   if f"sla_compliance_{tier}" in runs and runs.loc[runs["policy"] == p, f"sla_compliance_{tier}"].notna().any()]
            ax.set_title(f"{tier.replace('_', '-')} tier" + (f"  (SLA met: {', '.join(met)})" if met else ""),
                         loc="left", fontsize=12)
            ax.set_ylabel("% of episodes")
            ax.set_xticks(x, [BUCKET_LABELS[b] for b in names])
        axes[-1, 0].set_xlabel("time from MQL to first touch (business time: working hours only)")
        axes[0, 0].legend(frameon=False, loc="upper right", title="policy")
        fig.suptitle("How fast MQLs were first touched, per SLA tier (mean, 95% interval)")
    return fig


def decay_figure(runs: pd.DataFrame, curve: Curve | None = None, curve_name: str = "", reference_minutes: float = 60.0,
                 policies: list[str] | None = None, palette: dict[str, str] | None = None) -> Figure:
    """Share of first-touched MQLs that became SQL, by the clock delay from MQL to first touch (bars,
    per policy), next to the scenario's decay curve q(t) (black line, bucket-averaged, scaled to
    the model's pooled rate in the bucket holding the reference delay by moving its odds, as the
    model does)."""
    policies = policies or list(dict.fromkeys(runs["policy"]))
    col = palette or colours(policies)
    names = [b for b, _ in DELAY_BUCKETS]
    if f"touched_{names[0]}" not in runs:
        return empty_figure("Qualification by response time", "These results have no delay-bucket KPIs.")

    def rates(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return df[[f"sql_{b}" for b in names]].to_numpy(float), df[[f"touched_{b}" for b in names]].to_numpy(float)

    stats = _ci_per_policy(runs, policies, rates)
    x = np.arange(len(names))
    with styled():
        fig, axes = new_figure(width=12, height=5.2)
        ax = axes[0, 0]
        w = 0.8 / len(policies)
        for i, p in enumerate(policies):
            m, lo, hi = stats[p].T
            err = np.vstack([np.nan_to_num(m - lo), np.nan_to_num(hi - m)]).clip(min=0)
            ax.bar(x + (i - (len(policies) - 1) / 2) * w, np.nan_to_num(m), w, yerr=err, capsize=2, color=col[p],
                   label=p, error_kw={"elinewidth": 1, "ecolor": "#444"})
        if curve is not None:
            lower = bucket_lower_edges(DELAY_BUCKETS)
            upper = np.append(lower[1:], lower[-1] * LAST_BUCKET_SPAN)
            qb = np.array([bucket_mean(curve, a, b) for a, b in zip(lower, upper)])
            touched = runs[[f"touched_{b}" for b in names]].to_numpy(float).sum(axis=0)
            sqls = runs[[f"sql_{b}" for b in names]].to_numpy(float).sum(axis=0)
            pooled = np.divide(sqls, touched, out=np.full_like(sqls, np.nan), where=touched > 0)
            ref = int(np.clip(np.searchsorted(lower, reference_minutes, side="right") - 1, 0, len(names) - 1))
            if not (touched[ref] > 0):
                ref = int(np.argmax(touched))
            if touched[ref] > 0 and qb[ref] > 0:
                expected = shift_odds(pooled[ref], qb / qb[ref])   # the model moves odds, not rates
                ax.plot(x, 100 * expected, color="black", ls="--", marker="D", ms=6,
                        label=f"decay curve '{curve_name}' applied to the odds at {BUCKET_LABELS[DELAY_BUCKETS[ref][0]]}",
                        gid="preset-curve")
        ax.set_xticks(x, [BUCKET_LABELS[b] for b in names])
        ax.set_xlabel("time from MQL to first touch (clock time)")
        ax.set_ylabel("first-touched MQLs that became SQL (%)")
        ax.set_ylim(0, 100)
        ax.legend(frameon=False)
        ax.set_title("Qualification falls as leads wait (mean, 95% interval)")
    return fig


def _spikes(scenario: dict[str, Any]) -> list[tuple[pd.Timestamp, pd.Timestamp, str]]:
    """(start, end, label) of the scenario's campaign spikes, from its manifest entry."""
    out = []
    for s in (scenario or {}).get("arrivals", {}).get("spikes", []) or []:
        try:
            start = pd.Timestamp(s["start"])
            end = start + pd.Timedelta(minutes=Duration.parse(s.get("duration", "7d")).minutes)
        except (KeyError, ValueError, TypeError):
            continue
        label = f"{s.get('name') or s.get('channel') or 'campaign'} x{s.get('multiplier', '')}"
        out.append((start, end, label))
    return out


def load_figure(timeseries: pd.DataFrame, scenario: dict[str, Any] | None = None, policies: list[str] | None = None,
                palette: dict[str, str] | None = None) -> Figure:
    """Queue length, backlog age and rep utilisation by day (mean over replications, smoothed),
    campaign spikes shaded, outside the measurement window greyed."""
    if timeseries is None or timeseries.empty:
        return empty_figure("Load over time", "These results have no daily series.")
    policies = policies or list(dict.fromkeys(timeseries["policy"]))
    col = palette or colours(policies)
    ts = timeseries.assign(date=pd.to_datetime(timeseries["date"]))
    ts = ts.assign(rep_utilisation=100 * ts["rep_utilisation"])
    panels = (("queue_mean", "MQLs waiting\n(7-day mean)", 7, False),
              ("oldest_wait_business_hours", "oldest wait\n(business hours)", 1, True),
              ("rep_utilisation", "rep utilisation (%)\n(5-working-day mean)", 5, True))
    with styled():
        fig, axes = new_figure(3, 1, width=12, height=8.5, sharex=True)
        rolling_panels(axes, ts, policies, col, panels, "rep_utilisation")
        axes[2, 0].set_ylim(0, 105)
        first = shade_outside_window(axes, ts, policies[0])
        handles: list[Artist] = []
        for ax in axes[:, 0]:
            for start, end, _ in _spikes(scenario or {}):
                ax.axvspan(start, end, color=SPIKE, alpha=0.25, lw=0, gid="spike")
        holidays = _holidays(scenario or {}, first.index.min(), axes[0, 0].get_xlim())
        for ax in axes[:, 0]:
            for h in holidays:
                ax.axvline(h, color="#555", ls=":", lw=1.2, gid="holiday")
        if _spikes(scenario or {}):
            handles.append(Patch(color=SPIKE, alpha=0.35, label="campaign spike"))
        if holidays:
            handles.append(Line2D([], [], color="#555", ls=":", lw=1.2, label="holiday (no one works)"))
        handles.append(Patch(color=GREY, alpha=0.3, label="outside the measurement window"))
        leg1 = axes[0, 0].legend(frameon=False, loc="upper left", title="policy")
        axes[0, 0].add_artist(leg1)
        axes[0, 0].legend(handles=handles, frameon=False, loc="upper right")
        axes[2, 0].set_xlabel("date")
        fig.suptitle("Load over time (mean over replications)")
    return fig


def _holidays(scenario: dict[str, Any], start: pd.Timestamp, xlim: tuple[float, float]) -> list[pd.Timestamp]:
    """The scenario's holidays inside the drawn range (a backlog often peaks right after one)."""
    import matplotlib.dates as mdates
    lo, hi = (pd.Timestamp(mdates.num2date(v)).tz_localize(None)  # type: ignore[no-untyped-call]  # untyped in matplotlib
              for v in xlim)
    out = []
    for h in (scenario.get("calendar") or {}).get("holidays") or []:
        try:
            t = pd.Timestamp(h)
        except (ValueError, TypeError):
            continue
        if lo <= t <= hi and t >= start:
            out.append(t)
    return out
