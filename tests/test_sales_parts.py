"""The sales stage's parts: the routing and breach registries agree with the schema, a new routing
rule is one class, the team works any item through any registered rule, textbook mode is resolved
once into the engine parameters."""
from __future__ import annotations

import dataclasses
import typing

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
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


def _sales_logs_equal(a, b) -> None:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
        else:
            assert x == y, f.name


@pytest.mark.parametrize("changes", [{}, {"sla": {"breach_action": "recycle"}, "routing": {"discipline": "priority"}}])
def test_closed_episodes_and_attempts_compacted_at_midnight_give_the_same_log(monkeypatch, changes):
    """Closed episodes turned into columns (every midnight, from the first closed one on) and the team
    log's lists moved into typed arrays leave the SalesLog exactly as when everything stays objects."""
    from sim.sales import arrivals as arrivals_mod
    from sim.sales import log as log_mod
    from sim.sales.team import TeamLog

    sc = Scenario.model_validate(nest(SMALL))
    pol = Policy.model_validate(nest(changes))
    rep = run_replication(sc, [pol], seed=3)
    s = rep.runs[pol.name].scored
    params = EngineParams.resolve(pol, sc, lambda t: 0.3)

    def run() -> tuple[SalesProcess, object]:
        proc = SalesProcess(rep.world, Mqls(s.mql_time, s.mql_tier, s.mql_score), params, rep.calendar,
                            lambda lead, after: None)
        return proc, proc.run()

    monkeypatch.setattr(log_mod, "MIN_CHUNK", 1)
    monkeypatch.setattr(arrivals_mod, "MIN_CHUNK", 1)
    proc, compacted = run()
    if proc.deferred is not None:    # the default rules: initial episodes are columns, taken ones written back
        assert len(proc.deferred.first.items) < int((compacted.ep_attempts > 0).sum())
    else:
        assert len(proc.episodes.chunks) > 1 and proc.episodes.chunks[0][0].size > 0
    monkeypatch.setattr(log_mod.EpisodeLog, "compact", lambda self: None)
    monkeypatch.setattr(arrivals_mod.FirstEpisodes, "compact", lambda self: None)
    monkeypatch.setattr(TeamLog, "compact", lambda self: None)
    _, kept = run()
    assert kept.ep_lead.size > 0 and kept.at_lead.size > 0
    _sales_logs_equal(compacted, kept)


class _Item:
    __slots__ = ("lead", "tier", "score", "mql_time", "attempts", "status", "rep", "ready", "queued",
                 "version", "pushes")

    def __init__(self, ident: int):
        self.lead, self.tier, self.score, self.mql_time = ident, 0, 0.0, 0.0
        self.attempts = self.status = self.version = self.pushes = 0
        self.rep, self.ready, self.queued = -1, 0.0, False


@given(st.lists(st.tuples(st.sampled_from(["push", "pop", "remove", "escalate", "oldest"]), st.integers(0, 3)), max_size=60))
@example([("push", 0), ("push", 1), ("remove", 0), ("push", 0), ("pop", 0), ("pop", 0)])     # re-pushed: at the back
@example([("push", 0), ("push", 1), ("escalate", 1), ("pop", 0), ("push", 1), ("pop", 0), ("pop", 0)])
def test_fifo_queue_serves_in_push_order_escalated_first(ops):
    """Against a plain model: waiting items in push order (a re-push goes to the back), removed ones
    gone, escalated ones first by deadline; `live` agrees throughout, the oldest ready time when asked."""
    from sim.sales.queues import FifoQueue

    q, items = FifoQueue(), [_Item(i) for i in range(6)]
    order: list[int] = []                   # the model: waiting, not escalated, in push order
    escalated: list[tuple[float, int, int]] = []   # (deadline, escalation number, item)
    for t, (op, i) in enumerate(ops):
        it = items[i]
        waiting = set(order) | {e[2] for e in escalated}
        if op == "push" and i not in waiting:
            q.push(it, float(t))
            order.append(i)
        elif op == "remove":
            q.remove(it)
            order = [j for j in order if j != i]
            escalated = [e for e in escalated if e[2] != i]
        elif op == "escalate" and i in waiting:
            q.escalate(it, float(-t % 7))
            order = [j for j in order if j != i]
            escalated = [e for e in escalated if e[2] != i] + [(float(-t % 7), t, i)]
        elif op == "pop":
            got = q.pop()
            if escalated:
                want = min(escalated)[2]
                escalated.remove(min(escalated))
            elif order:
                want = order.pop(0)
            else:
                want = None
            assert (got.lead if got is not None else None) == want
        elif op == "oldest":
            ready = [items[j].ready for j in order] + [items[e[2]].ready for e in escalated]
            assert q.oldest_ready_time() == min(ready, default=float("inf"))
        assert q.live == len(order) + len(escalated)
