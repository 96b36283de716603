"""Detail KPIs for figures (speed by tier and delay bucket, where buyers were lost): flat
{name: number} merged into each run's KPIs, so they get intervals over replications for free."""
from __future__ import annotations

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.sales.outcomes import LeadOutcomes
from sim.sales.process import SalesLog
from sim.world.model import World


def detail_kpis(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
                log: SalesLog, out: LeadOutcomes) -> dict[str, float]:
    """Placeholder until the figures work lands: no detail KPIs yet."""
    return {}
