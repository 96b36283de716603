"""Health-check flags from the warm-up and steady-state diagnostics (`sim.measure.steady`): the
report's side of them, so measurement does not depend on the report."""
from __future__ import annotations

import math

from sim.measure.steady import BATCH_DAYS, GROWTH_CHECK, WARMUP_CHECK, SavedResults
from sim.report.narrative import Flag


def steady_flags(res: SavedResults, scenario: str | None = None, point: int | None = None) -> list[Flag]:
    """Health-check flags (`sim.report.narrative.Flag`) for the report, two per policy of the
    (scenario, point) shown (every one when not given): the queue's growth across the window at its
    second-half rate, as a share of its mean ("bad": no steady state), and the shift of the window's
    mean queue by the initial transient ("warn": warm-up too short). The diagnostics are the
    results' own (computed once, saved in the folder)."""
    out: list[Flag] = []
    for d in res.steady_state():
        if (scenario is not None and d.scenario != scenario) or (point is not None and d.point != int(point)):
            continue
        weeks = d.window_days // BATCH_DAYS
        growth = d.trend_late * max(weeks - 1, 1) / d.queue_level if d.queue_level else math.nan
        if math.isfinite(growth):
            bad = d.verdict == "no_steady_state"
            out.append(Flag(d.policy, GROWTH_CHECK, growth, "bad" if bad else "ok",
                            d.message if bad else "the queue is steady across the window"))
        if d.warmup_bias is not None and math.isfinite(d.warmup_bias):
            short = d.verdict == "warmup_too_short"
            out.append(Flag(d.policy, WARMUP_CHECK, d.warmup_bias, "warn" if short else "ok",
                            d.message if short else "the warm-up covers the initial transient"))
    return out
