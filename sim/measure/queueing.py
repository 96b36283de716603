"""Queueing-mode KPIs (teaching): what the simulated queue did - P(wait), mean wait, service level,
P(abandon) - next to what Erlang C / Erlang A says for the same team, so a workshop can compare
the two in one table (`funnelsim run mmc-teaching -p seed-example -n 10`).

Measured on the first MQL episode of each cohort lead: it joins the queue at its MQL time, a rep
takes it at its first touch (never, if it went cold and left, or the run ended first). The service
level is P(first touch within the policy's standard-tier SLA target). The analytic values need the
textbook process (24/7 reps, exponential handling, FIFO) and are omitted otherwise.
"""
from __future__ import annotations

import math

import numpy as np

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.measure.erlang import erlang_a, erlang_c, mmc_mean_wait, mmc_service_level, observe
from sim.sales.episode import ABANDONED
from sim.sales.log import SalesLog
from sim.world.model import World


def queueing_kpis(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
                  log: SalesLog) -> dict[str, float]:
    """Measured queue KPIs (and Erlang's, for the textbook process); {} outside queueing mode."""
    q = scenario.queueing
    if not q.enabled:
        return {}
    first = (log.ep_index == 0) & world.in_cohort[log.ep_lead]
    left = np.where(log.ep_status[first] == ABANDONED, log.ep_end_time[first], np.nan)
    t = policy.sla.targets.standard.business_minutes(cal.workday_minutes)   # 24/7 textbook: = clock
    obs = observe(log.ep_mql_time[first], log.ep_first_touch[first], left, t, world.end)
    k: dict[str, float | None] = {"queue_p_wait": obs.p_wait, "queue_mean_wait_minutes": obs.mean_wait,
         "queue_service_level": obs.service_level, "queue_p_abandon": obs.p_abandon}
    if q.sales == "textbook" and log.reps > 0:
        lam, mu = q.mql_rate / 60.0, 1.0 / q.handle_time.minutes
        if q.patience is not None:
            a = erlang_a(log.reps, lam, mu, 1.0 / q.patience.minutes, t=t)
            k.update(erlang_p_wait=a.p_wait, erlang_mean_wait_minutes=a.mean_wait, erlang_service_level=a.sl_at_t,
                     erlang_p_abandon=a.p_abandon)
        elif lam < log.reps * mu:
            k.update(erlang_p_wait=erlang_c(log.reps, lam / mu), erlang_mean_wait_minutes=mmc_mean_wait(log.reps, lam, mu),
                     erlang_service_level=mmc_service_level(log.reps, lam, mu, t), erlang_p_abandon=0.0)
    return {name: float(v) if v is not None and math.isfinite(v) else float("nan") for name, v in k.items()}
