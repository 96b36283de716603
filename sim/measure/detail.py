"""Detail KPIs for figures (speed by tier and delay bucket, qualification by delay, where buyers
were lost, why MQLs went back to nurture): flat {name: number} merged into each run's KPIs, so
they get intervals over replications for free like every other KPI.

Cohort leads only, like `run_kpis`. Buckets are fixed (not data-driven) so runs, policies and
replications share them and their counts can be averaged. Vectorised: it runs on every run.
"""
from __future__ import annotations

import numpy as np

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.measure.kpis import ever_touched, sla_deadlines
from sim.measure.queueing import queueing_kpis
from sim.sales.episode import ABANDONED, BREACHED, OPEN, TRIAGED, UNREACHED
from sim.sales.log import SalesLog
from sim.sales.outcomes import LeadOutcomes
from sim.vocab import TIERS
from sim.world.model import World

# Time to first touch per tier, in *business* minutes (SLA targets are mostly business time and a
# weekend is not a slow response): (bucket name, upper edge). The last bucket is open-ended;
# episodes never touched are counted in `never`.
TTFT_BUCKETS: tuple[tuple[str, float], ...] = (
    ("0_5m", 5), ("5_15m", 15), ("15_30m", 30), ("30_60m", 60), ("1_2h", 120), ("2_4h", 240),
    ("4_8h", 480), ("8_16h", 960), ("16_40h", 2400), ("40h_plus", np.inf))
TTFT_NEVER = "never"

# Qualification by first-touch delay, in *clock* minutes (the response decay q(t) runs on the
# clock: interest fades overnight too).
DELAY_BUCKETS: tuple[tuple[str, float], ...] = (
    ("0_5m", 5), ("5_15m", 15), ("15_30m", 30), ("30_60m", 60), ("1_2h", 120), ("2_4h", 240),
    ("4_8h", 480), ("8_24h", 1440), ("1_3d", 4320), ("3d_plus", np.inf))

# Every cohort buyer ends in exactly one of these (they sum to `buyers`).
BUYER_FATES = ("sql", "lost_never_mql", "lost_never_touched", "lost_rejected", "lost_touched_late",
               "lost_not_qualified")

# Why an MQL episode went back to nurture (episode end states that recycle).
RECYCLE_CAUSES = (("unreached", UNREACHED), ("breached", BREACHED), ("triaged", TRIAGED))


def bucket_lower_edges(buckets: tuple[tuple[str, float], ...]) -> np.ndarray:
    """Lower edge (minutes) of each bucket, for drawing and for comparing with a curve."""
    return np.array([0.0] + [b for _, b in buckets[:-1]])


def _bucket_index(t: np.ndarray, buckets: tuple[tuple[str, float], ...]) -> np.ndarray:
    """Bucket of each (finite, >= 0) time: right-open intervals [lower, upper)."""
    edges = np.array([b for _, b in buckets[:-1]])
    return np.searchsorted(edges, t, side="right")


def detail_kpis(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
                log: SalesLog, out: LeadOutcomes) -> dict[str, float]:
    """Counts behind the speed, decay, lost-buyer and recycle figures (see module doc)."""
    k: dict[str, float] = {}
    cohort = world.in_cohort
    ep = cohort[log.ep_lead]

    # time to first touch per tier, every cohort MQL episode, business time
    tier = log.ep_tier[ep]
    mql_t, touch_t = log.ep_mql_time[ep], log.ep_first_touch[ep]
    touched = ~np.isnan(touch_t)
    wait = np.zeros(touch_t.shape)
    if touched.any():
        wait[touched] = cal.business_between(mql_t[touched], touch_t[touched])
    idx = np.where(touched, _bucket_index(wait, TTFT_BUCKETS), len(TTFT_BUCKETS))
    nb = len(TTFT_BUCKETS) + 1
    counts = np.bincount(tier.astype(np.int64) * nb + idx, minlength=len(TIERS) * nb).reshape(len(TIERS), nb)
    names = [n for n, _ in TTFT_BUCKETS] + [TTFT_NEVER]
    for code, t in enumerate(TIERS):
        for j, b in enumerate(names):
            k[f"ttft_{t}_{b}"] = int(counts[code, j])

    # qualification by first-touch delay (first episode, clock time): touched and SQL per bucket
    c = np.flatnonzero(cohort)
    first_touched = c[np.isfinite(out.first_mql[c]) & ~np.isnan(out.first_touch[c])]
    delay = out.first_touch[first_touched] - out.first_mql[first_touched]
    di = _bucket_index(np.maximum(delay, 0.0), DELAY_BUCKETS)
    nd = len(DELAY_BUCKETS)
    n_touched = np.bincount(di, minlength=nd)
    n_sql = np.bincount(di, weights=~np.isnan(out.sql_time[first_touched]), minlength=nd)   # out.sql of these
    for j, (b, _) in enumerate(DELAY_BUCKETS):
        k[f"touched_{b}"] = int(n_touched[j])
        k[f"sql_{b}"] = int(n_sql[j])

    # where buyers were lost: one fate per cohort buyer, checked in funnel order
    cb = c[world.buyer[c]]                            # the cohort's buyers (sorted)
    mql = np.isfinite(out.first_mql[cb])
    touched = ever_touched(world, log)[cb]
    # the SLA deadline of each buyer's first episode (a lead has one; never an MQL: no deadline)
    first_ep = np.flatnonzero((log.ep_index == 0) & cohort[log.ep_lead] & world.buyer[log.ep_lead])
    deadline = np.full(cb.size, np.inf)
    deadline[np.searchsorted(cb, log.ep_lead[first_ep])] = sla_deadlines(
        cal, policy, log.ep_mql_time[first_ep], log.ep_tier[first_ep])
    late = ~(out.first_touch[cb] <= deadline)         # untouched first episode counts as late
    fate = np.select(
        [~np.isnan(out.sql_time[cb]), ~mql, ~touched, out.rejected[cb], late],
        [0, 1, 2, 3, 4], default=5)
    fates = np.bincount(fate, minlength=len(BUYER_FATES))
    for j, f in enumerate(BUYER_FATES):
        k[f"buyers_{f}"] = int(fates[j])
    k["buyers_won"] = int(out.won[cb].sum())

    # why MQL episodes went back to nurture, and how many came back as re-MQLs
    status = log.ep_status[ep]
    for name, code in RECYCLE_CAUSES:
        k[f"recycled_{name}"] = int((status == code).sum())
    k["episodes_open_at_end"] = int((status == OPEN).sum())
    # queueing mode with patience: went cold and left while waiting (not a recycle)
    k["abandoned_episodes"] = int((status == ABANDONED).sum())
    k["re_mql_episodes"] = int((log.ep_index[ep] > 0).sum())
    k.update(queueing_kpis(world, scenario, policy, cal, log))
    return k
