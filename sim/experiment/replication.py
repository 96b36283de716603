"""One replication: build the world once, then play every policy on it (common random numbers).

This is the seam between the engine (pure, in-memory) and everything that runs experiments or
writes files: it takes validated Scenario/Policy objects and returns results in memory.
"""
from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from sim.calendar import BusinessCalendar
from sim.checks.invariants import InvariantError, violations
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.account_work import NextMqa
from sim.decisions.accounts import entries
from sim.decisions.mql import compile_policy
from sim.decisions.oracle import next_mql
from sim.decisions.scoring import Scored, score_world
from sim.decisions.shared_scoring import SharedScoring
from sim.experiment.streamed import check_kept_for, drops_events, policy_fingerprint, streamed_world
from sim.measure.accounts import account_kpis
from sim.measure.detail import detail_kpis
from sim.measure.kpis import run_kpis
from sim.measure.staffing import capacity_by_day, staffing_kpis
from sim.measure.timeseries import daily
from sim.sales.accounts import account_outcomes
from sim.sales.log import SalesLog
from sim.sales.outcomes import LeadOutcomes, play_out
from sim.sales.process import EngineParams, Mqls, SalesProcess
from sim.sales.roster import Roster
from sim.sales.staffing import qualify_multipliers
from sim.sales.threads import thread_plan
from sim.world.generate import generate_world
from sim.world.model import World
from sim.world.response import ResponseModel

if TYPE_CHECKING:
    import pandas as pd

LARGE_RUN_EPISODES = 100_000   # MQL episodes from which a run's garbage is collected at once


@dataclass
class PolicyRun:
    """Everything one policy did on one world."""

    policy: Policy
    scored: Scored | None       # None when the run was told not to keep it (run_policy keep_scored)
    log: SalesLog
    outcomes: LeadOutcomes
    kpis: dict[str, Any]
    _daily: pd.DataFrame | None = field(default=None, repr=False)
    roster: Roster | None = field(default=None, repr=False)    # reps as people (scenario [sales] roster)

    def daily(self, world: World, scenario: Scenario, cal: BusinessCalendar) -> pd.DataFrame:
        if self._daily is None:
            self._daily = daily(world, scenario, cal, self.log, self.outcomes)
            if self.roster is not None:     # capacity over time: available rep-hours per day
                d = self._daily
                cap = capacity_by_day(self.roster, self.log.reps, cal, len(d))
                every = capacity_by_day(None, self.log.reps, cal, len(d))    # what daily() divided by
                busy = d["rep_utilisation"].to_numpy() * every
                d["rep_hours_available"] = cap
                d["rep_hours_effective"] = capacity_by_day(self.roster, self.log.reps, cal, len(d), ramped=True)
                d["rep_utilisation"] = np.divide(busy, cap, out=np.full(len(d), np.nan), where=cap > 0)
        return self._daily


def run_policy(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
               check: bool = False, scored: Scored | None = None, keep_scored: bool = True,
               scores: SharedScoring | None = None) -> PolicyRun:
    """Score the world under the policy, play the sales process, measure. `check=True` (debug
    mode) verifies every invariant of the run and raises InvariantError if one breaks. `scored`:
    `score_world(world, policy)` when already known (a streamed world scored its chunks).
    `keep_scored=False`: the scores are dropped once sales has run (only `explain` reads them
    afterwards; 30 bytes a lead: 290 MiB at 10M leads, freed before outcomes and KPIs). `scores`
    (built on `world`) shares the threshold-free part of scoring with other policies."""
    check_kept_for(world, policy)
    if scored is None:
        scored = score_world(world, policy, shared=scores)
    response = ResponseModel.from_scenario(scenario.response)
    rules = compile_policy(policy)
    params = EngineParams.resolve(policy, scenario, response.scalar_contact_probability())
    entry = entries(world, policy, scored)   # lead MQLs, or what the account rule hands to sales
    entry, threads = thread_plan(world, policy, entry)   # cadence.threading: whom each item's attempts call
    # a recycled item comes back at the lead's next MQL, or (account, hybrid) when its account qualifies again
    re_mql = ((lambda lead, after: next_mql(world, policy, lead, after, rules=rules)) if policy.mql.unit == "lead"
              else NextMqa(world, policy, rules) if policy.recycle.requalify_accounts else (lambda lead, after: None))
    process = SalesProcess(world, Mqls(entry.time, entry.tier, entry.score), params, cal, re_mql, threads)
    log = process.run()
    roster = process.staffing.roster if process.staffing is not None else None
    moved = np.asarray(process.team.log.moved_item, np.int64)   # reassignments (sla.reassign_after)
    del process
    # what entered sales, kept only to check the invariants: an account policy's entry arrays are
    # per lead (17 bytes a lead), freed here before outcomes and KPIs (a lead policy's are `scored`'s)
    entered = (scored if policy.mql.unit == "lead" else dataclasses.replace(
        scored, mql_time=entry.time, mql_tier=entry.tier, mql_score=entry.score)) if check else None
    del entry, threads, re_mql
    kept = scored if keep_scored else None
    del scored
    # No name holds the finished process, but it is one reference cycle (SimPy environment, pending
    # timers, episodes, queue) that only the cyclic GC frees, and the run paused the GC. In a large
    # run, collect it now so outcomes and KPIs reuse that memory (1M leads: about 230k objects,
    # -100 MiB peak, 0.2 s); a full collection costs about 30 ms, too much for small runs.
    if log.ep_lead.size >= LARGE_RUN_EPISODES:
        gc.collect()
    rep_qualify = (qualify_multipliers(roster, world.n, log.at_lead, log.at_rep, log.at_contact)
                   if roster is not None and params.people is not None else None)
    # qualify_probability maps arrays to arrays; its annotation (world/response.py) says float | array
    outcomes = account_outcomes(world, scenario, play_out(
        world, scenario, log, response.qualify_probability, cal, rep_qualify), log,  # type: ignore[arg-type]
        in_place=True)      # play_out's result is ours alone
    if outcomes.meetings is not None:      # the hand-off stage ran: the AE team joins the log
        log = log.with_team(outcomes.meetings.team)
    kpis = run_kpis(world, scenario, policy, cal, log, outcomes)
    kpis.update(detail_kpis(world, scenario, policy, cal, log, outcomes))
    kpis.update(staffing_kpis(world, scenario, cal, log, moved, roster, kpis))
    if world.accounts is not None:
        kpis.update(account_kpis(world, scenario, cal, log, outcomes, policy))
    if entered is not None:
        broken = violations(world, scenario, policy, cal, log, outcomes, kpis, entered)
        if broken:
            raise InvariantError(f"policy {policy.name!r}: " + "; ".join(broken))
    run = PolicyRun(policy, kept, log, outcomes, kpis)
    if params.people is not None and roster is not None:
        run.roster = roster
    return run


@dataclass
class Replication:
    """One world and every policy's run on it."""

    scenario: Scenario
    world: World
    calendar: BusinessCalendar
    runs: dict[str, PolicyRun]

    def kpis(self) -> dict[str, dict[str, Any]]:
        return {name: r.kpis for name, r in self.runs.items()}

    def daily(self, name: str) -> pd.DataFrame:
        return self.runs[name].daily(self.world, self.scenario, self.calendar)


def run_replication(scenario: Scenario, policies: list[Policy], seed: int, replication: int = 0,
                    on_policy_done: Callable[[str], None] | None = None, check: bool = False,
                    world: World | None = None, calendar: BusinessCalendar | None = None,
                    keep_scored: bool = True, scores: SharedScoring | None = None) -> Replication:
    """Every policy on the same world (same seed and replication): a paired comparison.
    `on_policy_done(name)` is called after each policy (for progress bars). `world` and `calendar`,
    when given, must be `generate_world(scenario, seed, replication)` and the scenario's calendar
    (a sweep reuses them across points that change only policies; the engine never modifies them).
    A streamed scenario (scenario [stream]) with lead-unit policies gets a world that kept only the
    engagement events of the leads these policies make MQLs (sim.experiment.streamed).
    `keep_scored=False`: the runs do not keep their scores (see run_policy). `scores`, when given,
    must be a SharedScoring built on `world` with (at least) these policies (a sweep's group of
    tasks shares one across its points); by default the replication makes its own, so policies
    that differ only in MQL thresholds score the world once."""
    names = [p.name for p in policies]
    if len(set(names)) != len(names):
        raise ValueError(f"policy names must be unique, got {names}")
    scored: dict[str, Scored] = {}      # a streamed world's chunk scoring, by policy fingerprint
    if world is None:   # a streamed world drops the events of leads no policy makes an MQL
        world = (streamed_world(scenario, policies, seed, replication, scored=scored)
                 if drops_events(scenario, policies) else generate_world(scenario, seed, replication))
    cal = calendar if calendar is not None else BusinessCalendar.from_scenario(scenario)
    scores = scores if scores is not None else SharedScoring(world, policies)
    runs = {}
    for p in policies:
        runs[p.name] = run_policy(world, scenario, p, cal, check=check,
                                  scored=scored.pop(policy_fingerprint(p), None) if scored else None,
                                  keep_scored=keep_scored, scores=scores)
        if on_policy_done:
            on_policy_done(p.name)
    return Replication(scenario, world, cal, runs)
