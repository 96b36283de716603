"""The sales stage's parameters, resolved once from Scenario and Policy into one frozen record.

Mode differences are settled here and nowhere else: textbook queueing (`scenario.queueing`, sales
"textbook") becomes one attempt that always reaches the lead, exponential handling, fifo from one
pool, no SLA action and no triage. The engine's parts only read these fields, never the config.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.config.units import Duration
from sim.sales.draws import Handle, always
from sim.sales.load_quality import Shorten, rushed_for
from sim.vocab import TIERS

if TYPE_CHECKING:
    from sim.calendar import BusinessCalendar
    from sim.sales.team import TeamLog


@dataclass(frozen=True)
class EngineParams:
    """Everything the sales stage needs to know about the team, the routing and the rules."""

    workers: int                                    # reps (the policy's headcount, else the scenario's)
    time_share: float                               # share of a rep's time for MQL work: attempt blocks h / share
    handle: Handle                                  # handling-time draws (reached / not reached)
    contact_probability: Callable[[float], float]   # chance an attempt `delay` after the MQL reaches the lead
    max_attempts: int                               # cadence: touches before giving up
    spacing: Duration                               # cadence: wait between attempts
    routing: str                                    # a routing discipline (sim.sales.routing.DISCIPLINES)
    triage_backlog: int | None                      # waiting items above which low scorers are skipped
    triage_min_score: float
    breach_action: str                              # a key of sim.sales.rules.BREACH_ACTIONS
    sla_targets: tuple[Duration, ...]               # time-to-first-touch target by tier code
    recycle_after: Duration
    max_recycles: int
    patience: float | None                          # mean patience in minutes (queueing mode), None = infinite
    # load quality (scenario.load_quality): builds the per-run conversation shortener, None = off
    rushed: Callable[[TeamLog, BusinessCalendar], Shorten] | None = None

    @classmethod
    def resolve(cls, policy: Policy, scenario: Scenario,
                contact_probability: Callable[[float], float]) -> EngineParams:
        """`contact_probability(delay)`: non-increasing in the delay
        (`ResponseModel.scalar_contact_probability()`); ignored in textbook mode."""
        q = scenario.queueing
        textbook = q.textbook
        share = scenario.sales.mql_time_share
        ht = scenario.sales.handle_time
        if textbook:   # an attempt blocks its rep for handle / share: exponential, mean queueing.handle_time
            m = q.handle_time.minutes * share
            handle = Handle("exponential", m, m, 0.0)
        else:
            handle = Handle(ht.dist, ht.mean.minutes, ht.conversation_mean.minutes, ht.cv)
        return cls(
            workers=policy.reps if policy.reps is not None else scenario.sales.reps,
            time_share=share,
            handle=handle,
            contact_probability=always if textbook else contact_probability,
            max_attempts=1 if textbook else policy.cadence.max_attempts,
            spacing=policy.cadence.spacing,
            routing="fifo" if textbook else policy.routing.discipline,
            triage_backlog=None if textbook else policy.routing.triage_backlog,
            triage_min_score=policy.routing.triage_min_score,
            breach_action="none" if textbook else policy.sla.breach_action,
            sla_targets=tuple(getattr(policy.sla.targets, t) for t in TIERS),
            recycle_after=policy.sla.recycle_after,
            max_recycles=policy.recycle.max_recycles,
            patience=q.patience.minutes if q.enabled and q.patience is not None else None,
            rushed=rushed_for(scenario),
        )
