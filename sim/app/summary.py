"""What the page shows, computed from the worlds finished so far: each KPI card (reference,
changed, paired difference with its interval), the funnel, load over time and speed to lead by
tier. Pure functions of plain data (no web framework), so they are tested directly.

Every number comes from `sim.measure.stats` (which says "too few" below 5 worlds or 30 items) and
is formatted by `sim.format`; this module only decides what the page says about it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim import format as fmt
from sim.measure.registry import kpi
from sim.measure.stats import Difference, difference, estimate, share_estimate
from sim.vocab import TIERS

# The KPI cards, in the order people ask about them.
CARDS = ("pipeline", "bookings", "mql_to_sql_rate", "sla_compliance", "sla_compliance_standard", "rep_utilisation",
         "overload_days", "mql_precision", "buyer_recall", "mqls", "won", "first_touch_p90_business_hours")
FUNNEL = ("leads", "mqls", "sals", "sqls", "opportunities", "won")
FAST_BUCKETS = ("0_5m", "5_15m", "15_30m", "30_60m")      # touched within one business hour
TOO_FEW = "too few worlds to say"
UNDEFINED = "not defined: nothing to count in these worlds"

Row = dict[str, float]


@dataclass
class Card:
    """One KPI: both sides' estimates and the paired difference, as text and as numbers."""

    name: str
    label: str
    reference: str
    changed: str
    difference: str
    verdict: str                 # "higher", "lower", "no clear difference", TOO_FEW
    better: bool | None          # the change is an improvement (None: no direction, or no claim)
    help: str
    diff: Difference             # the paired difference (sim.measure.stats.difference)


@dataclass
class View:
    """Everything the page draws for one generation of settings."""

    generation: int
    done: int
    total: int
    cards: list[Card] = field(default_factory=list)
    funnel: list[tuple[str, float, float]] = field(default_factory=list)
    days: list[int] = field(default_factory=list)
    series: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    speed: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    arrived: bool = False       # every world of the setting came back (some may have failed: `errors`)

    @property
    def finished(self) -> bool:
        """Nothing more will come for this setting: every world drawn, or every one back, failed or not."""
        return self.done >= self.total or self.arrived


def _columns(rows: list[Row], names: set[str] | None = None) -> dict[str, np.ndarray]:
    keys = names if names is not None else {k for r in rows for k in r}
    return {k: np.array([r.get(k, math.nan) for r in rows], dtype=float) for k in keys}


def verdict(diff: Difference, higher_is_better: bool | None) -> tuple[str, bool | None]:
    """What the paired difference supports: a direction only when its interval excludes 0."""
    if diff.get("status") == "undefined":
        return UNDEFINED, None
    if diff.get("status") != "ok":
        return TOO_FEW, None
    lo, hi = diff["lower"], diff["upper"]
    if lo > 0 or hi < 0:
        up = lo > 0
        return ("higher" if up else "lower"), (None if higher_is_better is None else up == higher_is_better)
    return "no clear difference", None


def card(name: str, ref: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> Card:
    info = kpi(name)
    label, kind, unit = fmt.kpi_format(name)
    e_ref, e_new = estimate(ref, name), estimate(new, name)
    d = difference(ref, new, name)
    word, better = verdict(d, info.higher_is_better)
    dtext = TOO_FEW + fmt.too_few(d.get("n")).removeprefix("too few") if d["status"] == "too_few" else \
        UNDEFINED if d["status"] == "undefined" else fmt.cell(d, kind, unit, diff=True)
    return Card(name, label, fmt.cell(e_ref, kind, unit), fmt.cell(e_new, kind, unit), dtext, word, better,
                info.help, d)


def speed_by_tier(ref: dict[str, np.ndarray], new: dict[str, np.ndarray]) -> list[dict[str, str]]:
    """Per tier: share of MQL episodes touched within one business hour, and SLA compliance, each
    side with its interval."""
    out = []
    for t in TIERS:
        den = f"sla_episodes_{t}"
        if den not in ref or not np.nansum(ref[den]) + np.nansum(new.get(den, np.zeros(1))) > 0:
            continue
        row = {"tier": t.replace("_", " ")}
        for side, cols in (("reference", ref), ("changed", new)):
            fast = np.sum([cols.get(f"ttft_{t}_{b}", np.zeros_like(cols[den])) for b in FAST_BUCKETS], axis=0)
            row[f"{side}_1h"] = fmt.cell(share_estimate(fast, cols[den]), "share")
            row[f"{side}_sla"] = fmt.cell(estimate(cols, f"sla_compliance_{t}"), "share")
        row["sla_difference"] = fmt.cell(difference(ref, new, f"sla_compliance_{t}"), "share", diff=True)
        out.append(row)
    return out


def build_view(generation: int, total: int, pairs: list[tuple[Row, Row]],
               series: list[tuple[dict[str, list[float]], dict[str, list[float]]]], errors: list[str]) -> View:
    """The view from the (reference, changed) KPI rows of the worlds finished so far (same order
    on both sides: world i of one is world i of the other)."""
    view = View(generation, len(pairs), total, errors=list(errors))
    if not pairs:
        return view
    ref, new = _columns([p[0] for p in pairs]), _columns([p[1] for p in pairs])
    view.cards = [card(n, ref, new) for n in CARDS if n in ref and n in new]
    view.funnel = [(fmt.kpi_format(n)[0], float(np.nanmean(ref[n])), float(np.nanmean(new[n])))
                   for n in FUNNEL if n in ref and n in new]
    view.speed = speed_by_tier(ref, new)
    if series:
        for name in series[0][0]:
            a = _mean_series([s[0][name] for s in series])
            b = _mean_series([s[1][name] for s in series])
            view.series[name] = (a, b)
        view.days = list(range(len(next(iter(view.series.values()))[0]))) if view.series else []
    return view


def _mean_series(runs: list[list[float]]) -> list[float]:
    n = min(len(r) for r in runs) if runs else 0
    if n == 0:
        return []
    return [round(float(x), 3) for x in np.mean(np.array([r[:n] for r in runs], dtype=float), axis=0)]
