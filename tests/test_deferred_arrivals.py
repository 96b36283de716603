"""Deferred arrivals: where the rules allow it, waiting initial MQLs are kept as positions and made
into episodes only when a rep takes one (sim.sales.arrivals). The sales log must be exactly the one
the engine gives with every MQL an object from its arrival on, backlog or not."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_funnel import _nest as nest  # noqa: E402
from test_sales_parts import _sales_logs_equal as _same  # noqa: E402

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.mql import compile_policy
from sim.decisions.oracle import next_mql
from sim.decisions.scoring import score_world
from sim.sales.log import SalesLog
from sim.sales.params import EngineParams
from sim.sales.process import Mqls, SalesProcess
from sim.world.generate import generate_world

SMALL = {"horizon": {"warmup": "14d", "window": "28d", "runout": "30d"},
         "arrivals": {"leads_per_year": 20000}, "sales": {"reps": 2}}


def _runs(scenario: dict, policy: dict, seed: int) -> tuple[SalesProcess, SalesLog, SalesLog]:
    """The same run with deferred arrivals (where allowed) and without: (deferred process, its log, the eager log)."""
    sc = Scenario.model_validate(nest({**SMALL, **scenario}))
    pol = Policy.model_validate(nest(policy))
    world = generate_world(sc, seed)
    cal = BusinessCalendar.from_scenario(sc)
    s = score_world(world, pol)
    params = EngineParams.resolve(pol, sc, lambda t: 0.35 * math.exp(-t / 600.0))
    rules = compile_policy(pol)
    logs = []
    for defer in (True, False):
        proc = SalesProcess(world, Mqls(s.mql_time, s.mql_tier, s.mql_score), params, cal,
                            lambda lead, after: next_mql(world, pol, lead, after, rules=rules), defer=defer)
        logs.append((proc, proc.run()))
    return logs[0][0], logs[0][1], logs[1][1]


@pytest.mark.parametrize("scenario, policy", [
    ({}, {}),                                                                    # a backlog that never clears
    ({"sales": {"reps": 12}}, {}),                                               # reps keep up
    ({}, {"cadence": {"max_attempts": 1}, "recycle": {"max_recycles": 3}}),      # many recycles and re-MQLs
    ({}, {"routing": {"triage_backlog": 5, "triage_min_score": 70}}),            # triage pops and skips
    ({"queueing": {"enabled": True}}, {}),                                       # textbook queueing, 24/7
])
def test_deferred_arrivals_give_exactly_the_eager_sales_log(scenario, policy, monkeypatch):
    from sim.sales import arrivals, log
    monkeypatch.setattr(arrivals, "MIN_CHUNK", 1)     # closed episodes written back at every midnight
    monkeypatch.setattr(log, "MIN_CHUNK", 1)
    proc, deferred, eager = _runs(scenario, policy, seed=5)
    assert proc.deferred is not None
    assert len(proc.deferred.first.items) < int((deferred.ep_attempts[deferred.ep_index == 0] > 0).sum())
    assert deferred.ep_lead.size > 50 and deferred.at_lead.size > 50
    _same(deferred, eager)


def test_deferred_log_is_the_same_across_every_block_boundary(monkeypatch):
    """Tiny blocks (feeder, luck and fields, the switch to positions): every boundary is crossed
    many times, positions are taken below the current block, and the log is still the eager one."""
    from sim.sales import arrivals, process
    monkeypatch.setattr(arrivals, "LUCK_BLOCK", 3)
    monkeypatch.setattr(process, "EAGER_BELOW", 2)
    monkeypatch.setattr(process, "FEED_BLOCK", 5)
    proc, deferred, eager = _runs({}, {"cadence": {"max_attempts": 2}, "recycle": {"max_recycles": 2}}, seed=8)
    assert proc.deferred is not None and deferred.ep_lead.size > 100
    _same(deferred, eager)


def test_re_mql_episodes_keep_their_place_in_opening_order():
    proc, deferred, eager = _runs({}, {"cadence": {"max_attempts": 1}, "recycle": {"max_recycles": 3}}, seed=2)
    assert proc.deferred is not None and (deferred.ep_index > 0).sum() > 5
    _same(deferred, eager)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), reps=st.integers(1, 8))
def test_deferred_log_equals_eager_log_for_any_world_and_team(seed, reps):
    _, deferred, eager = _runs({"sales": {"reps": reps}}, {"cadence": {"max_attempts": 2}}, seed=seed)
    _same(deferred, eager)


@pytest.mark.parametrize("policy", [
    {"sla": {"breach_action": "escalate"}},       # a timer escalates waiting items
    {"sla": {"breach_action": "recycle"}},        # a timer withdraws them
    {"routing": {"discipline": "priority"}},      # not one FIFO
    {"routing": {"discipline": "round_robin"}},   # a queue per rep
])
def test_rules_that_touch_waiting_items_keep_them_as_objects(policy):
    proc, _, _ = _runs({}, policy, seed=1)
    assert proc.deferred is None


def test_a_backlog_keeps_waiting_mqls_out_of_python_objects():
    """In a backlog that never clears, almost every initial MQL is still waiting at the end: only the
    ones a rep took became episode objects."""
    proc, log, _ = _runs({"arrivals": {"leads_per_year": 80000}, "sales": {"reps": 1}}, {}, seed=3)
    assert proc.deferred is not None
    waiting = int(((log.ep_attempts == 0) & (log.ep_status == 0)).sum())
    assert waiting > 0.5 * log.ep_lead.size
    assert len(proc.deferred.first.items) <= log.ep_lead.size - waiting


def test_deferral_by_default_only_from_defer_from_initial_mqls(monkeypatch):
    """Below DEFER_FROM initial MQLs the objects cost little and the eager engine is faster: the
    default (defer=None) keeps it; from DEFER_FROM on, it defers."""
    from sim.sales import process as process_mod

    sc = Scenario.model_validate(nest(SMALL))
    pol = Policy()
    world = generate_world(sc, 0)
    s = score_world(world, pol)
    params = EngineParams.resolve(pol, sc, lambda t: 0.3)
    cal = BusinessCalendar.from_scenario(sc)

    def proc() -> SalesProcess:
        return SalesProcess(world, Mqls(s.mql_time, s.mql_tier, s.mql_score), params, cal, lambda lead, after: None)

    n = int(np.isfinite(s.mql_time).sum())
    assert 0 < n < process_mod.DEFER_FROM and proc().deferred is None
    monkeypatch.setattr(process_mod, "DEFER_FROM", n)
    assert proc().deferred is not None
