"""The sales stage's parts: the routing and breach registries agree with the schema, a new routing
rule is one class, the team works any item through any registered rule, textbook mode is resolved
once into the engine parameters."""
from __future__ import annotations

import dataclasses
import typing

import pytest
from test_funnel import _nest as nest  # noqa: E402

from sim.config.policy import Policy, Routing, Sla
from sim.config.scenario import Scenario
from sim.experiment.replication import run_replication
from sim.sales import routing as routing_mod
from sim.sales.episode import Episode
from sim.sales.params import EngineParams
from sim.sales.process import Mqls, SalesProcess
from sim.sales.routing import ASSIGNMENTS, DISCIPLINES, ORDERINGS, KeyOrdering, ordering, routing
from sim.sales.rules import BREACH_ACTIONS

SMALL = {"horizon": {"warmup": "14d", "window": "28d", "runout": "30d"},
         "arrivals": {"leads_per_year": 20000}, "sales": {"reps": 2}}


def _literal(model, field: str) -> set[str]:
    ann = model.model_fields[field].annotation
    if typing.get_origin(ann) is not typing.Literal:          # Literal[...] | None
        ann = next(a for a in typing.get_args(ann) if typing.get_origin(a) is typing.Literal)
    return set(typing.get_args(ann))


def test_schema_values_are_exactly_the_registered_rules():
    assert _literal(Routing, "discipline") == set(DISCIPLINES)
    assert _literal(Routing, "assignment") == set(ASSIGNMENTS)
    assert _literal(Routing, "order") == set(ORDERINGS)
    assert _literal(Sla, "breach_action") == set(BREACH_ACTIONS)


@pytest.mark.parametrize("discipline", DISCIPLINES)
def test_every_discipline_builds_its_queues(discipline):
    a = routing(discipline, 3)
    assert len(a.queues) == (3 if discipline in ("round_robin", "owner") else 1)   # per-worker queues
    with pytest.raises(ValueError, match="unknown routing discipline"):
        routing("nope", 3)


def test_textbook_mode_is_resolved_once_into_the_parameters():
    pol = Policy.model_validate(nest({"routing": {"discipline": "round_robin", "triage_backlog": 2},
                                      "sla": {"breach_action": "recycle"}, "cadence": {"max_attempts": 5}}))
    sc = Scenario.model_validate(nest({"queueing": {"enabled": True, "patience": "15m"}}))
    p = EngineParams.resolve(pol, sc, lambda t: 0.2)
    assert (p.routing, p.triage_backlog, p.breach_action, p.max_attempts) == ("fifo", None, "none", 1)
    assert p.contact_probability(1e9) == 1.0 and p.handle.dist == "exponential" and p.patience == 15.0
    q = EngineParams.resolve(pol, Scenario(), lambda t: 0.2)
    got = (q.routing, q.triage_backlog, q.breach_action, q.max_attempts, q.patience)
    assert got == ("round_robin", 2, "recycle", 5, None)


def test_a_new_ordering_is_one_class(monkeypatch):
    """Register a rule (lowest score first) and run the engine with it: no other module changes."""
    monkeypatch.setattr(routing_mod, "ORDERINGS", dict(ORDERINGS))

    @ordering("lowest_score")
    class LowestScore(KeyOrdering):
        @staticmethod
        def key(ep: Episode, ready: float) -> tuple:
            return (ep.score, ready)

    sc = Scenario.model_validate(nest(SMALL))
    pol = Policy(name="p")
    rep = run_replication(sc, [pol], seed=4)
    s = rep.runs["p"].scored
    base = EngineParams.resolve(pol, sc, lambda t: 0.3)
    logs = {}
    for rule in ("fifo", "priority", "lowest_score"):
        proc = SalesProcess(rep.world, Mqls(s.mql_time, s.mql_tier, s.mql_score),
                            dataclasses.replace(base, routing=rule), rep.calendar, lambda lead, after: None)
        logs[rule] = proc.run()
    assert logs["lowest_score"].q_len.max() > 1          # a queue formed, so the order mattered
    first = {r: log.at_lead.tolist() for r, log in logs.items()}
    assert first["lowest_score"] != first["fifo"] and first["lowest_score"] != first["priority"]
    assert sorted(logs["lowest_score"].ep_lead.tolist()) == sorted(logs["fifo"].ep_lead.tolist())


class Account:
    """A work item that is not a lead: what a second stage (account work) would queue."""

    __slots__ = ("lead", "tier", "score", "mql_time", "attempts", "status", "rep", "ready", "queued",
                 "version", "pushes")

    def __init__(self, ident: int, tier: int, score: float):
        self.lead, self.tier, self.score, self.mql_time = ident, tier, score, 0.0
        self.attempts = self.status = self.version = self.pushes = 0
        self.rep, self.ready, self.queued = -1, 0.0, False


@pytest.mark.parametrize("discipline", ["priority", "round_robin"])
def test_a_team_is_reusable_for_another_kind_of_work(discipline):
    """A Team with its own routing and log works items of another stage: the stage only supplies
    the worker callbacks (here: 30 minutes per account)."""
    import simpy
    from simpy.events import Timeout

    from sim.calendar import BusinessCalendar
    from sim.sales.team import Team

    sc = Scenario.model_validate(nest({"queueing": {"enabled": True}}))      # a 24/7 calendar
    env = simpy.Environment()
    team = Team(env, BusinessCalendar.from_scenario(sc), 2, routing(discipline, 2), end=600.0)

    def worker(r: int):
        queue = team.routing.queue_for(r)

        def free(_ev=None):
            item = queue.pop()
            if item is None:
                team.idle[r] = True
                team.idle_stack.append(r)
                return
            team.log.dequeued(env.now)
            team.log.item.append(item.lead)
            team.log.worker.append(r)
            team.log.start.append(env.now)
            Timeout(env, 30.0).callbacks.append(free)
        return free

    accounts = [Account(i, tier=i % 3, score=float(i)) for i in range(6)]
    for a in accounts:
        team.routing.assign(a)
        team.push(a, 0.0)
    team.start([worker(r) for r in range(2)])
    env.run(until=600.0)
    log = team.log
    assert sorted(log.item) == list(range(6)) and sum(log.q_change) == 0 and log.day_queue == []
    if discipline == "priority":     # best tier first, then highest score, two at a time
        assert log.item == [3, 0, 4, 1, 5, 2] and log.start == [0.0, 0.0, 30.0, 30.0, 60.0, 60.0]
    else:                            # in turn: worker 0 gets accounts 0, 2, 4, oldest first
        assert [a for a, w in zip(log.item, log.worker) if w == 0] == [0, 2, 4]
