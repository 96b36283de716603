"""Figures across a sweep of settings (curves with interval bands and the recommended point marked,
a heatmap for two-way sweeps) and against the hidden truth (MQL precision and buyer recall,
where buyers were lost).

Inputs are the summary table of a results folder (scenario, policy, point, <factor columns>,
kpi, mean, lower, upper) for one scenario, and the recommendation (`recommendation.json`).
"""
from __future__ import annotations

from typing import Any, Iterable, cast

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter
from numpy.typing import NDArray

from sim.measure.detail import BUYER_FATES
from sim.report.style import PALETTE, colours, declutter, empty_figure, new_figure, pretty, styled, value_ticks

Floats = NDArray[np.float64]

SWEEP_KPIS = (("mqls", "MQLs", 1, " (cohort)"), ("mql_to_sql_rate", "MQL -> SQL", 100, " (%)"),
              ("bookings", "Bookings", 1, " (won deal value)"), ("sla_compliance", "SLA compliance", 100, " (%)"),
              ("rep_utilisation", "Rep utilisation", 100, " (%)"))


def money(v: float, _pos: int | None = None) -> str:
    """Axis ticks for money: 250k, 1.2M."""
    return f"{v / 1e6:.1f}M" if abs(v) >= 1e6 else f"{v / 1e3:.0f}k" if abs(v) >= 1e3 else f"{v:.0f}"


def _band(lo: Iterable[float] | pd.Series[Any], hi: Iterable[float] | pd.Series[Any], scale: float) -> tuple[Floats, Floats]:
    """An interval band kept inside what the KPI can be: shares in [0, 100] %, counts >= 0."""
    lo, hi = scale * np.asarray(lo, float), scale * np.asarray(hi, float)
    return np.clip(lo, 0, 100 if scale == 100 else None), np.clip(hi, 0, 100 if scale == 100 else None)
DEFAULT_SLA_LEVEL = 0.8     # outline level on heatmaps when no constraint names one
FATE_LABELS = {"sql": "became SQL", "lost_never_mql": "never an MQL", "lost_never_touched": "MQL, never touched",
               "lost_rejected": "rejected by sales", "lost_touched_late": "touched after the SLA",
               "lost_not_qualified": "touched in time, no SQL"}
FATE_COLOURS = {"sql": "#009E73", "lost_never_mql": "#BBBBBB", "lost_never_touched": "#D55E00",
                "lost_rejected": "#CC79A7", "lost_touched_late": "#E69F00", "lost_not_qualified": "#56B4E9"}


def _wide(summary: pd.DataFrame, kpi: str, x: str, group: str) -> pd.DataFrame:
    """mean, lower, upper of one KPI by (group, x), in axis order of x."""
    s = summary[summary["kpi"] == kpi]
    w = s.groupby([group, x], sort=False)[["mean", "lower", "upper"]].mean().reset_index()
    xmap, _ = axis_positions(summary[x])
    return w.iloc[w[x].map(xmap).to_numpy(float).argsort(kind="stable")]


def recommended_point(recommendation: dict[str, Any] | None, factors: list[str]) -> dict[str, Any] | None:
    """The recommended setting {factor: value, 'policy': name}, or None when there is none."""
    best = (recommendation or {}).get("best")
    if not best or not all(f in best for f in factors):
        return None
    return {**{f: best[f] for f in factors}, "policy": best.get("policy")}


def _numeric(values: Iterable[Any]) -> bool:
    """Numbers (not booleans) sit on a real axis; anything else (routing.discipline = fifo, ...)
    on a categorical one."""
    vals = [v for v in values if v is not None]
    return bool(vals) and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                              for v in vals)


def axis_positions(values: Iterable[Any]) -> tuple[dict[Any, float], bool]:
    """{swept value: x position} in design order, and whether the axis is numeric."""
    vals = list(dict.fromkeys(values))
    if _numeric(vals):
        return {v: float(v) for v in vals}, True
    return {v: float(i) for i, v in enumerate(vals)}, False


def show(v: Any) -> str:
    """A swept value as text: 60 not 60.0, names as they are."""
    return f"{v:g}" if _numeric([v]) else str(v)


def constraint_bounds(recommendation: dict[str, Any] | None) -> dict[str, list[tuple[str, float]]]:
    """{kpi: [(op, bound)]} from the recommendation's constraints ("kpi >= 0.9")."""
    from sim.experiment.recommend import parse_constraint
    out: dict[str, list[tuple[str, float]]] = {}
    for text in (recommendation or {}).get("constraints") or []:
        try:
            c = parse_constraint(str(text))
        except ValueError:
            continue
        out.setdefault(c.kpi, []).append((c.op, c.bound))
    return out


def indistinguishable(recommendation: dict[str, Any] | None, factors: list[str], policy: str | None = None) -> list[dict[str, Any]]:
    """The settings the recommendation cannot tell apart from the best (its `cannot_exclude`), as
    {factor: value, 'policy': name}, for one policy if given."""
    out = []
    for c in (recommendation or {}).get("cannot_exclude") or []:
        if all(f in c for f in factors) and (policy is None or c.get("policy") in (None, policy)):
            out.append({**{f: c[f] for f in factors}, "policy": c.get("policy")})
    return out


def colour_limits(values: np.ndarray, half_width: float, kpi: str) -> tuple[float, float, bool]:
    """Colour range of a heatmap that does not paint noise: the range of the means, widened to at
    least +/- 2 typical 95% half-widths around its middle (kept inside the KPI's possible values),
    so that cells whose differences are inside the noise get nearly the same colour. Returns
    (vmin, vmax, widened)."""
    from sim.experiment.recommend import kpi_range
    v = values[np.isfinite(values)]
    if not v.size:
        return 0.0, 1.0, False
    lo, hi = float(v.min()), float(v.max())
    if not (np.isfinite(half_width) and hi - lo < 4 * half_width):
        return lo, hi, False
    mid = (lo + hi) / 2
    lo, hi = mid - 2 * half_width, mid + 2 * half_width
    rng = kpi_range(kpi)
    if rng is not None:
        shift_up = max(0.0, rng[0] - lo)
        shift_down = max(0.0, hi - rng[1])
        lo, hi = lo + shift_up - shift_down, hi + shift_up - shift_down
    return lo, hi, True


def sweep_figure(summary: pd.DataFrame, factor: str, recommendation: dict[str, Any] | None = None,
                 by: str = "policy", palette: dict[str, str] | None = None) -> Figure:
    """The key KPIs against one swept setting: mean line and 95% band per `by` group (policy, or a
    second factor), the recommended point marked with a star."""
    if factor not in summary:
        return empty_figure("Sweep", f"{factor} is not a column of the summary.")
    groups = list(dict.fromkeys(summary[by]))
    col = palette if palette and all(g in palette for g in groups) else \
        {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(groups)}
    rec = recommended_point(recommendation, [factor] + ([by] if by != "policy" else []))
    keys = [factor] + ([by] if by != "policy" else [])
    alike = [c for c in indistinguishable(recommendation, keys)
             if rec is None or any(c[f] != rec[f] for f in keys) or (by == "policy" and c.get("policy") != rec.get("policy"))]
    bounds = constraint_bounds(recommendation)
    panels = list(SWEEP_KPIS)
    sla = [k for k in bounds if k.startswith("sla_compliance_")]
    if sla:      # show the SLA the recommendation was constrained on, not the all-tier average
        tier = sla[0][len("sla_compliance_"):].replace("_", "-")
        panels[3] = (sla[0], f"SLA compliance, {tier} tier", 100, " (%)")
    with styled():
        fig, axes = new_figure(2, 3, width=14, height=8.2)
        flat = axes.ravel()
        xmap, numeric = axis_positions(summary[factor])
        for ax, (kpi, label, scale, unit) in zip(flat, panels):
            w = _wide(summary, kpi, factor, by)
            for g in groups:
                d = w[w[by] == g]
                xs = d[factor].map(xmap).to_numpy(float)
                ax.plot(xs, scale * d["mean"], color=col[g], marker="o", ms=5, label=str(g), gid=f"line:{g}")
                ax.fill_between(xs, *_band(d["lower"], d["upper"], scale), color=col[g], alpha=0.18, lw=0)
            if not numeric:
                ax.set_xticks(list(xmap.values()), [show(v) for v in xmap])
            else:
                value_ticks(ax, xmap)       # presentation: SDRs tick at 2, 3, 4, never 2.5
            if rec is not None and rec[factor] in xmap:
                pick = w[w[factor].map(xmap) == xmap[rec[factor]]]
                want = rec.get("policy") if by == "policy" else rec.get(by)
                if want is not None and (pick[by] == want).any():
                    pick = pick[pick[by] == want]
                if len(pick):
                    ax.plot([xmap[rec[factor]]], [scale * float(pick["mean"].iloc[0])], marker="*", ms=20,
                            color="black", mfc="#F0E442", mew=1.5, ls="none", zorder=5, label="recommended",
                            gid="recommended")
            for c in alike:
                if c[factor] not in xmap:
                    continue
                pick = w[w[factor].map(xmap) == xmap[c[factor]]]
                want = c.get("policy") if by == "policy" else c.get(by)
                if want is not None and (pick[by] == want).any():
                    pick = pick[pick[by] == want]
                if len(pick):
                    ax.plot([xmap[c[factor]]], [scale * float(pick["mean"].iloc[0])], marker="o", ms=15, mfc="none",
                            mec="black", mew=1.5, ls="none", zorder=5, gid="indistinguishable")
            for op, bound in bounds.get(kpi, []):
                ax.axhline(scale * bound, color="#D55E00", ls=":", lw=2, gid=f"constraint:{kpi}")
                ax.annotate(f"constraint {op} {scale * bound:g}{'%' if scale == 100 else ''}", (1, scale * bound),
                            xycoords=("axes fraction", "data"), xytext=(-4, -4), textcoords="offset points",
                            color="#D55E00", fontsize=10, ha="right", va="top",
                            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
            ax.set_title(label)
            ax.set_xlabel(pretty(factor))
            ax.set_ylabel(label + unit)
            if kpi == "bookings":
                ax.yaxis.set_major_formatter(FuncFormatter(money))
        legend_ax = flat[len(panels)]
        legend_ax.axis("off")
        handles = [Line2D([], [], color=col[g], marker="o", label=str(g)) for g in groups]
        if rec is not None:
            handles.append(Line2D([], [], marker="*", ms=16, color="black", mfc="#F0E442", ls="none",
                                  label="recommended: " + ", ".join(
                                      f"{pretty(f)} = {show(rec[f])}" for f in [factor, by] if f in rec)))
        if alike:
            handles.append(Line2D([], [], marker="o", ms=12, mfc="none", mec="black", ls="none",
                                  label="cannot be told apart from the recommended"))
        handles.append(Line2D([], [], color="#888", lw=8, alpha=0.3, label="95% interval"))
        legend_ax.legend(handles=handles, loc="center", frameon=False, title=pretty(by) if by != "policy" else "policy")
        fig.suptitle(f"How the key KPIs move with {pretty(factor).split(' (')[0]} (mean, band = 95% interval)")
    return fig


def heatmap_figure(summary: pd.DataFrame, x: str, y: str, value: str = "bookings",
                   contour: str = "sla_compliance", policy: str | None = None,
                   recommendation: dict[str, Any] | None = None, level: float | None = None) -> Figure:
    """Two-way sweep: `value` (mean) as colour over the grid of two settings, each cell also giving
    `contour` (mean, %); an orange outline encloses the cells where `contour` reaches `level` (the
    recommendation's constraint on it, else 80%): on a coarse grid an outline of cells is honest
    where interpolated contour lines would invent values between points. The recommended point
    is starred."""
    bounds = constraint_bounds(recommendation)
    sla = next((k for k in bounds if k.startswith("sla_compliance")), None)
    if sla is not None and contour == "sla_compliance":
        contour = sla
    if level is None:
        level = next((b for op, b in bounds.get(contour, []) if op.startswith(">")), DEFAULT_SLA_LEVEL)
    s = summary if policy is None else summary[summary["policy"] == policy]
    policy = policy or str(s["policy"].iloc[0])
    s = s[s["policy"] == policy]
    grid = s[s["kpi"] == value].pivot_table(index=y, columns=x, values="mean", aggfunc="mean").sort_index()
    grid = grid.reindex(sorted(grid.columns), axis=1)
    if grid.empty:
        return empty_figure("Two-way sweep", f"No {value} values to draw.")
    hw = (s[s["kpi"] == value]["upper"] - s[s["kpi"] == value]["lower"]) / 2
    vmin, vmax, widened = colour_limits(grid.to_numpy(float), float(np.nanmedian(hw)) if hw.notna().any() else np.nan,
                                        value)
    with styled():
        fig, axes = new_figure(width=11, height=6.8)
        ax = axes[0, 0]
        xs, ys = list(grid.columns), list(grid.index)
        mesh = ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, grid.to_numpy(float),
                             cmap="cividis", shading="flat", vmin=vmin, vmax=vmax)
        cb = fig.colorbar(mesh, ax=ax, format=FuncFormatter(money) if value == "bookings" else None)
        cb.set_label(f"{pretty(value)} (mean)" + ("\nscale widened to +/- 2 typical CI half-widths: "
                                                  "differences inside the noise look alike" if widened else ""))
        cgrid = s[s["kpi"] == contour].pivot_table(index=y, columns=x, values="mean").reindex(index=grid.index,
                                                                                             columns=grid.columns)
        cname = "SLA" if contour.startswith("sla_compliance") else pretty(contour)
        mid = (vmin + vmax) / 2
        for i in range(len(ys)):
            for j in range(len(xs)):
                v, c = float(grid.iat[i, j]), float(cgrid.iat[i, j])   # type: ignore[arg-type]  # numeric pivot
                if np.isfinite(v):
                    label = money(v) if value == "bookings" else f"{v:,.3g}"
                    label += f"\n{cname} {100 * c:.0f}%" if np.isfinite(c) else ""
                    ax.text(j, i, label, ha="center", va="center", fontsize=10.5,
                            color="white" if v < mid else "black", gid="cell")
        meets = (cgrid.to_numpy(float) >= level)
        for (i, j), ok in np.ndenumerate(meets):
            if not ok:
                continue
            for di, dj, seg in ((0, -1, ([j - .5, j - .5], [i - .5, i + .5])), (0, 1, ([j + .5, j + .5], [i - .5, i + .5])),
                                (-1, 0, ([j - .5, j + .5], [i - .5, i - .5])), (1, 0, ([j - .5, j + .5], [i + .5, i + .5]))):
                ni, nj = i + di, j + dj
                if not (0 <= ni < meets.shape[0] and 0 <= nj < meets.shape[1] and meets[ni, nj]):
                    ax.plot(*seg, color="#D55E00", lw=3.5, solid_capstyle="projecting", gid="sla-outline")
        rec = recommended_point(recommendation, [x, y])
        alike = 0
        for alt in indistinguishable(recommendation, [x, y], policy):
            if alt[x] in xs and alt[y] in ys and not (rec is not None and (alt[x], alt[y]) == (rec[x], rec[y])):
                j, i = xs.index(alt[x]), ys.index(alt[y])
                ax.add_patch(Rectangle((j - 0.47, i - 0.47), 0.94, 0.94, fill=False, hatch="//", edgecolor="white",
                                       lw=2, ls="--", gid="indistinguishable", zorder=4))
                alike += 1
        if rec is not None and rec[x] in xs and rec[y] in ys:
            # in the cell's corner, clear of its numbers
            ax.plot([xs.index(rec[x]) - 0.34], [ys.index(rec[y]) + 0.3], marker="*", ms=24, mew=2,
                    color="black", mfc="white", ls="none", gid="recommended", label="recommended", zorder=5)
        ax.set_xticks(range(len(xs)), [show(v) for v in xs])
        ax.set_yticks(range(len(ys)), [show(v) for v in ys])
        ax.set_ylabel(pretty(y))
        ax.grid(False)
        ax.set_xlim(-0.5, len(xs) - 0.5)
        ax.set_ylim(-0.5, len(ys) - 0.5)
        ax.set_title(f"{pretty(value)} by {pretty(x).split(' (')[0]} and {pretty(y).split(' (')[0]} ({policy})")
        ax.set_xlabel(pretty(x) + f"\ncells: mean {pretty(value).lower()} and {pretty(contour).split(' (')[0]}; "
                      f"orange outline: {cname} at least {100 * level:.0f}%" + ("; star: recommended" if rec else "")
                      + ("; hatched: cannot be told apart from it" if alike else ""))
    return fig


def quality_figure(summary: pd.DataFrame, factor: str | None = None, thresholds: dict[str, float] | None = None,
                   policies: list[str] | None = None, palette: dict[str, str] | None = None) -> Figure:
    """Ground truth: MQL precision and buyer recall against the swept setting (left, when there is
    one) or per policy as a precision/recall map labelled with each policy's MQL threshold; and
    where the cohort's buyers were lost (right, share of buyers)."""
    policies = policies or list(dict.fromkeys(summary["policy"]))
    col = palette or colours(policies)
    mean = summary.groupby(["policy", "kpi"], sort=False)["mean"].mean()
    with styled():
        fig, axes = new_figure(1, 2, width=14, height=5.6, gridspec_kw={"width_ratios": [1, 1.1]})
        a1, a2 = axes[0]
        if factor and factor in summary:
            one = len(policies) == 1
            xmap, numeric = axis_positions(summary[factor])
            if not numeric:
                a1.set_xticks(list(xmap.values()), [show(v) for v in xmap])
            else:
                value_ticks(a1, xmap)       # presentation: integer settings tick at integers
            for p in policies:
                for kpi, ls, name, c1 in (("mql_precision", "-", "MQL precision", PALETTE[0]),
                                          ("buyer_recall", "--", "buyer recall", PALETTE[5])):
                    w = _wide(summary[summary["policy"] == p], kpi, factor, "policy")
                    xs = w[factor].map(xmap).to_numpy(float)
                    c = c1 if one else col[p]
                    a1.plot(xs, 100 * w["mean"], color=c, ls=ls, marker="o", label=name if one else f"{name} ({p})",
                            gid=f"{kpi}:{p}")
                    a1.fill_between(xs, *_band(w["lower"], w["upper"], 100), color=c, alpha=0.15, lw=0)
            a1.set_xlabel(pretty(factor))
            a1.set_ylabel("%")
            a1.set_ylim(0, 100)
            a1.legend(frameon=False, fontsize=10)
            a1.set_title("MQL precision and buyer recall")
        else:
            s = summary.set_index(["policy", "kpi"])
            labels = []
            for p in policies:
                r = cast("pd.Series[Any]", s.loc[(p, "buyer_recall")])
                pr = cast("pd.Series[Any]", s.loc[(p, "mql_precision")])
                a1.errorbar(100 * r["mean"], 100 * pr["mean"],
                            xerr=[[100 * max(r["mean"] - r["lower"], 0)], [100 * max(r["upper"] - r["mean"], 0)]] if np.isfinite(r["lower"]) else None,
                            yerr=[[100 * max(pr["mean"] - pr["lower"], 0)], [100 * max(pr["upper"] - pr["mean"], 0)]] if np.isfinite(pr["lower"]) else None,
                            marker="o", ms=10, color=col[p], capsize=3, ls="none", label=p, gid=f"pr:{p}")
                t = (thresholds or {}).get(p)
                labels.append(a1.annotate(f"{p}" + (f" (threshold {t:g})" if t is not None else ""),
                                          (100 * r["mean"], 100 * pr["mean"]), xytext=(8, 6), textcoords="offset points",
                                          fontsize=10, color=col[p], gid=f"label:{p}",
                                          bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85}))
            a1.set_xlim(0, 100)
            a1.set_ylim(0, 100)
            a1.set_xlabel("buyer recall: buyers who became MQLs (%)")
            a1.set_ylabel("MQL precision: MQLs who were buyers (%)")
            a1.set_title("Who the MQL definition catches")
        if factor and factor in summary:      # one bar per swept value (first policy)
            sub = summary[summary["policy"] == policies[0]]
            vals = sorted(sub[factor].unique())
            rows = [(show(v), sub[sub[factor] == v].groupby("kpi")["mean"].mean()) for v in vals]
            a2.set_ylabel(pretty(factor) + ("" if len(policies) == 1 else f" ({policies[0]})"))
        else:
            rows = [(p, mean.loc[p]) for p in policies]
        y = np.arange(len(rows))
        left = np.zeros(len(rows))
        buyers = np.array([m.get("buyers", np.nan) for _, m in rows], dtype=float)
        for f in BUYER_FATES:
            if f"buyers_{f}" not in rows[0][1].index:
                continue
            v = np.array([m.get(f"buyers_{f}", np.nan) for _, m in rows], dtype=float)
            share = 100 * np.nan_to_num(np.divide(v, buyers, out=np.zeros_like(v), where=buyers > 0))
            a2.barh(y, share, left=left, color=FATE_COLOURS[f], label=FATE_LABELS[f], height=0.6, gid=f"fate:{f}")
            left += share
        a2.set_yticks(y, [label for label, _ in rows])
        a2.invert_yaxis()
        a2.set_xlim(0, 100)
        a2.set_xlabel("% of the cohort's real buyers")
        a2.set_title("Where real buyers were lost")
        a2.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=10)
        fig.suptitle("Quality against the hidden truth (means over replications)")
        if factor is None or factor not in summary:
            declutter(fig, labels)      # presentation: policies at the same spot stack their labels
    return fig
