"""Figures that compare policies at one setting: the funnel, the paired differences of the key KPIs,
and why MQLs were rejected or sent back to nurture.

Each function takes the tables of a results folder (summary: policy, kpi, mean, lower, upper;
differences: policy, kpi, diff, lower, upper, relative, significant; runs: one row per run) for
one scenario and one design point, and returns a matplotlib Figure.
"""
from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from numpy.typing import NDArray

from sim.present import significant
from sim.report.narrative import REJECTION_HIGH as REJECTION_BENCHMARK
from sim.report.style import GREY, SIGNIFICANT, colours, empty_figure, new_figure, styled
from sim.vocab import REJECTION_REASONS

STAGES = (("leads", "Leads"), ("mqls", "MQLs"), ("sals", "SALs"), ("sqls", "SQLs"),
          ("opportunities", "Opportunities"), ("won", "Won"))
STAGE_RATES = (("lead_to_mql_rate", "Lead -> MQL"), ("mql_to_sal_rate", "MQL -> SAL"),
               ("sal_to_sql_rate", "SAL -> SQL"), ("sql_to_opportunity_rate", "SQL -> Opp"),
               ("win_rate", "Win rate"))
# (kpi, label, unit): volumes as relative change, rates as percentage points
KEY_KPIS = (("bookings", "Bookings", "rel"), ("mqls", "MQLs", "rel"), ("mql_to_sql_rate", "MQL -> SQL", "pp"),
            ("sla_compliance", "SLA compliance", "pp"), ("rep_utilisation", "Rep utilisation", "pp"))


def _policies(table: pd.DataFrame, order: list[str] | None) -> list[str]:
    found = list(dict.fromkeys(table["policy"]))
    return [p for p in order if p in found] if order else found


def _stat(s: pd.DataFrame, p: str, kpis: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Means and [below, above] whisker lengths (NaN intervals -> no whisker)."""
    rows = s.loc[p].reindex(kpis)
    m = rows["mean"].to_numpy(float)
    err = np.vstack([np.nan_to_num(m - rows["lower"].to_numpy(float), nan=0.0),
                     np.nan_to_num(rows["upper"].to_numpy(float) - m, nan=0.0)]).clip(min=0)
    return m, err


def _grouped_bars(ax: Axes, s: pd.DataFrame, policies: list[str], kpis: list[str], col: dict[str, str],
                  scale: float = 1.0) -> NDArray[np.int_]:
    x = np.arange(len(kpis))
    w = 0.8 / max(len(policies), 1)
    for i, p in enumerate(policies):
        m, err = _stat(s, p, kpis)
        ax.bar(x + (i - (len(policies) - 1) / 2) * w, m * scale, w, yerr=err * scale, capsize=3,
               color=col[p], label=p, error_kw={"elinewidth": 1.2, "ecolor": "#333"})
    return x


def funnel_figure(summary: pd.DataFrame, policies: list[str] | None = None,
                  palette: dict[str, str] | None = None) -> Figure:
    """Stage volumes (left, log scale) and stage-to-stage rates (right), one bar per policy,
    whiskers = 95% interval over replications."""
    policies = _policies(summary, policies)
    col = palette or colours(policies)
    s = summary.set_index(["policy", "kpi"])
    with styled():
        fig, axes = new_figure(1, 2, width=13, height=5.2, gridspec_kw={"width_ratios": [1.15, 1]})
        a1, a2 = axes[0]
        x = _grouped_bars(a1, s, policies, [k for k, _ in STAGES], col)
        a1.set_xticks(x, [lbl for _, lbl in STAGES], rotation=20)
        a1.set_yscale("log")
        a1.set_ylabel("cohort leads reaching the stage (log scale)")
        a1.set_title("How many leads reach each stage")
        x = _grouped_bars(a2, s, policies, [k for k, _ in STAGE_RATES], col, scale=100)
        a2.set_xticks(x, [lbl for _, lbl in STAGE_RATES], rotation=20)
        a2.set_ylabel("conversion to the next stage (%)")
        a2.set_title("Stage-to-stage conversion")
        a2.set_ylim(0, 100)
        a1.legend(frameon=False, title="policy")
        fig.suptitle("Funnel per policy (mean, whiskers = 95% interval)")
    return fig


def _relative_interval(r: pd.Series, base: float) -> tuple[float, float, float]:
    """Relative change (%) and its own interval (`relative_lower/upper` from the stats layer, else
    the difference's interval over the baseline mean), never below -100%."""
    if "relative_lower" in r and np.isfinite(r.get("relative", np.nan)):    # NaN ends: unbounded at this n
        return 100 * r["relative"], 100 * max(r["relative_lower"], -1.0), 100 * r["relative_upper"]
    if not np.isfinite(base) and np.isfinite(r["relative"]) and r["relative"] != 0:
        base = r["diff"] / r["relative"]
    if not np.isfinite(base) or base == 0:
        return np.nan, np.nan, np.nan
    return 100 * r["diff"] / base, max(100 * r["lower"] / base, -100.0), 100 * r["upper"] / base


def comparison_figure(differences: pd.DataFrame, summary: pd.DataFrame | None = None,
                      policies: list[str] | None = None, palette: dict[str, str] | None = None) -> Figure:
    """Paired differences from the baseline policy: volumes as % change (left), rates in percentage
    points (right), 95% intervals, a zero line; intervals that exclude zero are drawn filled and
    thick with a star, the others hollow and thin. `summary` gives the baseline means for the %
    changes (else they are recovered from the `relative` column)."""
    if differences is None or differences.empty:
        return empty_figure("Policy comparison", "Only one policy: there is nothing to compare.")
    baseline = str(differences["baseline"].iloc[0])
    others = _policies(differences, policies)
    col = palette or colours([baseline, *others])
    d = differences.set_index(["policy", "kpi"])
    base = {} if summary is None else summary[summary["policy"] == baseline].set_index("kpi")["mean"].to_dict()
    panels = [[k for k in KEY_KPIS if k[2] == "rel"], [k for k in KEY_KPIS if k[2] == "pp"]]
    with styled():
        fig, axes = new_figure(1, 2, width=13, height=1.6 + 1.0 * max(len(p) for p in panels) * max(1, len(others)) ** 0.5)
        for ax, kpis in zip(axes[0], panels):
            ylabels = []
            for row, (k, label, unit) in enumerate(kpis):
                ylabels.append(label)
                for i, p in enumerate(others):
                    if (p, k) not in d.index:
                        continue
                    r = cast("pd.Series[Any]", d.loc[(p, k)])   # one row per (policy, KPI)
                    if r.get("status", "ok") == "too_few":
                        ax.annotate(f"too few (n={int(r['n'])})", (0, row + (i - (len(others) - 1) / 2) * 0.22),
                                    xytext=(5, 0), textcoords="offset points", va="center", fontsize=10, color="#555")
                        continue
                    m, lo, hi = _relative_interval(r, float(base.get(k, np.nan))) if unit == "rel" else (100 * r["diff"], 100 * r["lower"], 100 * r["upper"])
                    if not np.isfinite(m):
                        continue
                    y = row + (i - (len(others) - 1) / 2) * 0.22
                    sig = significant(r)
                    if np.isfinite(lo):
                        ax.plot([lo, hi], [y, y], color=col[p], lw=3.2 if sig else 1.4, alpha=1 if sig else 0.7,
                                solid_capstyle="butt", gid=f"ci:{p}:{k}")
                    ax.plot([m], [y], marker="o", ms=9 if sig else 7, color=col[p],
                            mfc=col[p] if sig else "white", mew=2, ls="none", gid=f"{'sig' if sig else 'ns'}:{p}:{k}")
                    text = f"{m:+.0f}%" if unit == "rel" else f"{m:+.1f} pp"
                    if not np.isfinite(lo) and r.get("status", "ok") == "ok":
                        text += " (interval unbounded)"
                    ax.annotate(text + (" *" if sig else ""), (hi if np.isfinite(hi) else m, y), xytext=(5, 0),
                                textcoords="offset points", va="center", fontsize=10.5,
                                color=SIGNIFICANT if sig else "#555", fontweight="bold" if sig else "normal")
            ax.axvline(0, color="#333", lw=1.2, zorder=0)
            ax.margins(x=0.15)
            ax.set_yticks(range(len(kpis)), ylabels)
            ax.set_ylim(len(kpis) - 0.5, -0.5)
            ax.grid(axis="y", visible=False)
            unit = kpis[0][2]
            ax.set_xlabel(f"change vs {baseline} (%)" if unit == "rel" else f"change vs {baseline} (percentage points)")
            ax.set_title("Volumes" if unit == "rel" else "Rates")
        handles = [Line2D([], [], color=col[p], marker="o", lw=2, label=p) for p in others]
        handles += [Line2D([], [], color=GREY, marker="o", mfc=GREY, lw=3.2, label="differs after Holm adjustment (*)" if "p_holm" in differences
                           else "interval excludes zero (*)"),
                    Line2D([], [], color=GREY, marker="o", mfc="white", lw=1.4, label="could be zero")]
        fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
        what = "95% intervals" if differences["lower"].notna().any() else "one replication: no intervals"
        fig.suptitle(f"What changes against {baseline} (paired differences, {what})")
    return fig


def rejection_figure(summary: pd.DataFrame, policies: list[str] | None = None,
                     palette: dict[str, str] | None = None) -> Figure:
    """Why reached MQLs were rejected (left, share of reached leads by reason) and how MQL episodes
    ended (right: reached, or back to nurture because unreached / SLA breach / triage), with how many
    came back as re-MQLs."""
    policies = _policies(summary, policies)
    s = summary.set_index(["policy", "kpi"])["mean"]

    def get(p: str, k: str) -> float:
        return float(s.get((p, k), np.nan))

    reason_colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"]
    end_parts = (("reached", "reached by a rep", "#009E73"), ("recycled_unreached", "not reached (cadence used up)", "#E69F00"),
                 ("recycled_breached", "SLA breach, recycled", "#D55E00"), ("recycled_triaged", "triaged (overload)", "#CC79A7"),
                 ("episodes_open_at_end", "still open at the end", "#BBBBBB"))
    with styled():
        fig, axes = new_figure(1, 2, width=13, height=1.8 + 0.7 * len(policies))
        a1, a2 = axes[0]
        y = np.arange(len(policies))
        left = np.zeros(len(policies))
        for j, r in enumerate(REJECTION_REASONS):
            reached = np.array([get(p, "rejected") / get(p, "rejection_rate") if get(p, "rejection_rate") else np.nan
                                for p in policies])
            v = np.array([100 * get(p, f"reason_{r}") for p in policies]) / reached
            v = np.nan_to_num(v)
            a1.barh(y, v, left=left, color=reason_colours[j], label=r.replace("_", " "), height=0.6)
            left += v
        a1.axvline(100 * REJECTION_BENCHMARK, color="#333", ls=":", lw=1.8, label="benchmark: under 20%",
                   gid="benchmark")
        a1.set_yticks(y, policies)
        a1.invert_yaxis()
        a1.set_xlabel("rejected, % of reached MQLs")
        a1.set_title("Why sales rejected MQLs")
        a1.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.05 * (len(policies) < 3)), ncol=2, fontsize=10)
        left = np.zeros(len(policies))
        total = np.array([get(p, "mql_episodes") for p in policies])
        for key, label, c in end_parts:
            if key == "reached":
                v = total - sum(np.nan_to_num([get(p, k) for p in policies]) for k, _, _ in end_parts[1:])
            else:
                v = np.nan_to_num(np.array([get(p, key) for p in policies]))
            share = 100 * np.divide(v, total, out=np.zeros_like(v), where=total > 0)
            a2.barh(y, share, left=left, color=c, label=label, height=0.6)
            left += share
        for i, p in enumerate(policies):
            a2.annotate(f"{get(p, 're_mql_episodes'):,.0f} re-MQLs of {total[i]:,.0f} episodes",
                        (100, y[i]), xytext=(6, 0), textcoords="offset points", va="center", fontsize=10)
        a2.set_yticks(y, policies)
        a2.invert_yaxis()
        a2.set_xlim(0, 100)
        a2.set_xlabel("% of MQL episodes")
        a2.set_title("How MQL episodes ended (recycle flow)")
        a2.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25 - 0.05 * (len(policies) < 3)), ncol=2, fontsize=10)
        fig.suptitle("Rejections and recycling (means over replications)")
    return fig
