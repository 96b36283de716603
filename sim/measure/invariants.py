"""Invariants every run must satisfy (issue 5 section 2), checked in debug mode."""
from __future__ import annotations

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.sales.outcomes import LeadOutcomes
from sim.sales.process import SalesLog
from sim.world.model import World


class InvariantError(AssertionError):
    """A run broke an invariant: a bug in the engine, never a user error."""


def violations(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
               log: SalesLog, out: LeadOutcomes, kpis: dict) -> list[str]:
    """Placeholder: the list of broken invariants (empty when the run is consistent)."""
    return []
