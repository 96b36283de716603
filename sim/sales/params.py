"""The sales stage's parameters, resolved once from Scenario and Policy into one frozen record.

Mode differences are settled here and nowhere else: textbook queueing (`scenario.queueing`, sales
"textbook") becomes one attempt that always reaches the lead, exponential handling, fifo from one
pool, no SLA action and no triage. The engine's parts only read these fields, never the config.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, TypedDict

from sim.config.policy import Policy
from sim.config.scenario import Sales, Scenario
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
    # reps as people and routing like the routers (sim.sales.staffing); the defaults are today's team
    assignment: str | None = None                   # with it, `routing` is the order: the pair (assignment, order)
    weights: tuple[float, ...] = ()                 # weighted round robin: per rep
    ramp_weight: float = 1.0
    daily_cap: int | None = None                    # new MQLs per rep per calendar day
    skip_unavailable: bool = True
    by_region: bool = False                         # round robin within the lead's region first
    reassign_after: Duration | None = None          # an untouched MQL goes to another rep after this long
    people: Sales | None = None                     # the scenario's [sales] when its roster is not today's team
    cover: bool = False                             # cadence.threading = "cover": calls go on after a conversation

    @property
    def staffed(self) -> bool:
        """Reps as people (sim.sales.staffing) rather than today's identical, ever-present reps."""
        return self.people is not None or self.daily_cap is not None or self.assignment == "weighted_round_robin"

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
            routing="fifo" if textbook else policy.routing.discipline or policy.routing.pair[1],
            triage_backlog=None if textbook else policy.routing.triage_backlog,
            triage_min_score=policy.routing.triage_min_score,
            breach_action="none" if textbook else policy.sla.breach_action,
            sla_targets=tuple(getattr(policy.sla.targets, t) for t in TIERS),
            recycle_after=policy.sla.recycle_after,
            max_recycles=policy.recycle.max_recycles,
            patience=q.patience.minutes if q.enabled and q.patience is not None else None,
            rushed=rushed_for(scenario),
            cover=policy.cadence.threading == "cover" and not textbook,
            **_people(policy, scenario, textbook),
        )


class _People(TypedDict, total=False):
    """The EngineParams fields `_people` may set (absent: the field's default)."""

    assignment: str
    weights: tuple[float, ...]
    ramp_weight: float
    daily_cap: int
    skip_unavailable: bool
    by_region: bool
    reassign_after: Duration
    people: Sales


def _people(policy: Policy, scenario: Scenario, textbook: bool) -> _People:
    """The routing pair and the roster fields; empty (the defaults) for today's team and routing."""
    from sim.sales.roster import is_default

    r = policy.routing
    out: _People = {}
    if textbook:
        return out
    if r.discipline is None:                     # a pair with no short form: `routing` is its order
        out["assignment"] = r.pair[0]
    if r.weights:
        out["weights"] = tuple(r.weights)
    if r.ramp_weight != 1.0:
        out["ramp_weight"] = r.ramp_weight
    if r.daily_cap is not None:
        out["daily_cap"] = r.daily_cap
    if not r.skip_unavailable:
        out["skip_unavailable"] = False
    if r.by_region:
        out["by_region"] = True
    if policy.sla.reassign_after is not None:
        out["reassign_after"] = policy.sla.reassign_after
    if not is_default(scenario.sales):
        out["people"] = scenario.sales
    return out
