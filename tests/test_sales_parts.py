"""The sales stage's parts: the routing and breach registries agree with the schema, a new routing
rule is one class, the team works any item through any registered rule, textbook mode is resolved
once into the engine parameters."""
from __future__ import annotations

import dataclasses
import typing

import pytest

from sim.config.policy import Policy, Routing, Sla
from sim.config.scenario import Scenario
from sim.experiment.run import run_replication
from sim.sales import routing as routing_mod
from sim.sales.episode import Episode
from sim.sales.params import EngineParams
from sim.sales.process import Mqls, SalesProcess
from sim.sales.routing import DISCIPLINES, ORDERINGS, KeyOrdering, ordering, routing
from sim.sales.rules import BREACH_ACTIONS

from test_funnel import _nest as nest  # noqa: E402

SMALL = {"horizon": {"warmup": "14d", "window": "28d", "runout": "30d"},
         "arrivals": {"leads_per_year": 20000}, "sales": {"reps": 2}}


def _literal(model, field: str) -> set[str]:
    return set(typing.get_args(model.model_fields[field].annotation))


def test_schema_values_are_exactly_the_registered_rules():
    assert _literal(Routing, "discipline") == set(DISCIPLINES)
    assert _literal(Sla, "breach_action") == set(BREACH_ACTIONS)


@pytest.mark.parametrize("discipline", DISCIPLINES)
def test_every_discipline_builds_its_queues(discipline):
    a = routing(discipline, 3)
    assert len(a.queues) == (3 if discipline == "round_robin" else 1)
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
    assert (q.routing, q.triage_backlog, q.breach_action, q.max_attempts, q.patience) == ("round_robin", 2, "recycle", 5, None)


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
