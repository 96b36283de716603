"""Accounts and reps as people in a lead's story, read from the engine's own functions.

Under `mql.unit = "account" | "hybrid"` a lead enters sales through its CRM account's MQA, so its
story names the account (true account, buying-group role, whether the CRM matched it), the MQA
(time, score vs threshold, engaged contacts vs required, decision role, demo fast lane) and what
the lead was to sales (the account's work item, a duplicate, or an MQL let through by its MQA).
Everything comes from `sim.decisions.accounts` run on the same world and policy as the run
(`account_mqas`, `entries`, `engagement_intervals`, `active_count`), computed once per policy run.

Reassignments (`sla.reassign_after`, sim.sales.team) are read from the SDR team log's moved items
of the same sales process re-run (the run keeps their count only; the process is deterministic).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from sim.calendar import BusinessCalendar
from sim.config.accounts import ROLES
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.accounts import (
    Entries,
    Mqas,
    account_mqas,
    active_count,
    crm_accounts,
    engagement_intervals,
    entries,
    event_scores,
)
from sim.decisions.mql import DEMO, TOL, compile_policy, decay_factor
from sim.decisions.scoring import Scored
from sim.sales.draws import ATTEMPTS_PER_EPISODE
from sim.sales.log import SalesLog
from sim.story.model import StoryEvent
from sim.vocab import SENIORITIES
from sim.world.model import PURPOSE_CONTACT, World, lead_uniform

MakeEvent = Callable[..., StoryEvent]     # (t, kind, text, episode=None, **data) -> StoryEvent


@dataclass(frozen=True)
class AccountView:
    """One policy's account decisions on a world: MQAs, sales entries, engaged spans."""

    unit: str
    mqa: Mqas
    entry: Entries
    crm: np.ndarray
    iv_lead: np.ndarray
    iv_start: np.ndarray
    iv_end: np.ndarray


def account_view(world: World, policy: Policy, scored: Scored) -> AccountView | None:
    """The account decisions of an account or hybrid policy (None under `mql.unit = "lead"`)."""
    if policy.mql.unit == "lead":
        return None
    r = compile_policy(policy)
    es = event_scores(world, policy, r)
    mqa = account_mqas(world, policy, es, r)
    lead, t = es.lead.astype(np.int64), world.event_time
    m = lead.shape[0]
    same = np.zeros(m, dtype=bool)
    same[1:] = lead[1:] == lead[:-1]
    dt = np.zeros(m)
    dt[1:] = np.where(same[1:], t[1:] - t[:-1], 0.0)
    prev = np.where(same, np.roll(es.behaviour, 1), 0.0) * decay_factor(r, dt)
    scored_ev = (es.behaviour > prev + TOL) & es.eligible[lead]
    iv = engagement_intervals(lead, t, scored_ev, policy.mql.account.engaged_window.minutes)
    return AccountView(policy.mql.unit, mqa, entries(world, policy, scored), crm_accounts(world), *iv)


def membership_event(event: MakeEvent, world: World, lead: int) -> list[StoryEvent]:
    """Which account the lead belongs to, its role in the buying group, and the CRM's match."""
    book = world.accounts
    if book is None:
        return []
    acc, crm, role = int(book.lead_account[lead]), int(book.lead_crm[lead]), ROLES[int(book.lead_role[lead])]
    matched = crm < book.count
    who = "outside the buying group" if role == "outside" else f"the buying group's {role.replace('_', ' ')}"
    crm_text = ("the CRM matched it to its account" if matched else
                f"the CRM did not match it: an orphan, counted as an account of its own (CRM id {crm})")
    w = int(book.lead_window_at_arrival[lead])
    window = " (in a buying window)" if w >= 0 else ""
    return [event(float(world.arrival[lead]), "account", f"contact of account {acc}{window}, {who}; {crm_text}",
                  account=acc, crm_account=crm, role=role, matched=matched, in_window=w >= 0)]


def _mqa_row(view: AccountView, lead: int) -> int | None:
    rows = np.flatnonzero(view.mqa.account == view.crm[lead])
    return int(rows[0]) if rows.size else None


def _rule(policy: Policy) -> str:
    a = policy.mql.account
    parts = [f"score >= {a.threshold:g}"]
    if a.min_engaged_contacts > 0:
        parts.append(f"{a.min_engaged_contacts}+ engaged contacts")
    text = f" {a.combine} ".join(parts)
    if a.decision_role:
        text = f"({text}) and an engaged {'/'.join(a.decision_seniorities)} contact"
    return text


def mqa_text(view: AccountView, policy: Policy, world: World, lead: int, at: Callable[[float], str]) -> str:
    """Why the lead entered sales: its account's MQA (the rule that held) and what the lead was."""
    i = _mqa_row(view, lead)
    if i is None:
        raise RuntimeError(f"lead {lead} entered sales under an account policy but its account has no MQA")
    a, mq = policy.mql.account, view.mqa
    acc, t, score, tier = int(mq.account[i]), float(mq.time[i]), float(mq.score[i]), int(mq.tier[i])
    q = np.array([acc]), np.array([t])
    engaged = int(active_count(view.crm[view.iv_lead], view.iv_start, view.iv_end, *q)[0])
    holds_score = score >= a.threshold - TOL
    holds_breadth = a.min_engaged_contacts <= 0 or engaged >= a.min_engaged_contacts
    if tier == DEMO:
        why = f"a demo request by lead {int(mq.lead[i])} took the fast lane"
    else:
        why = (f"rule {_rule(policy)}: account score {score:.0f} {'>=' if holds_score else '<'} {a.threshold:g}, "
               f"{engaged} engaged contacts {'>=' if holds_breadth else '<'} {a.min_engaged_contacts} required")
        if a.decision_role:
            dec = np.isin(np.arange(len(SENIORITIES)), [SENIORITIES.index(s) for s in a.decision_seniorities])
            keep = dec[world.seniority[view.iv_lead]]
            n_dec = int(active_count(view.crm[view.iv_lead[keep]], view.iv_start[keep], view.iv_end[keep], *q)[0])
            why += f", {n_dec} engaged decision-role contacts"
    head = f"account {acc} qualified as an MQA at {at(t)} ({why})"
    spread = ("; its attempts rotate through the account's engaged contacts, this one first "
              "(cadence.threading = spread)" if policy.cadence.threading == "spread" else "")
    if view.unit == "hybrid":
        own = float(view.entry.time[lead])
        return f"{head}; its own lead MQL enters sales once the account has qualified (at {at(own)}){spread}"
    if a.work_items == "contact":
        return f"{head}; one work item per contact engaged then: this lead is one of them"
    return (f"{head}; this lead is the account's one work item (its most engaged contact"
            f"{' and demo requester' if tier == DEMO else ''}){spread}")


def why_not_entered(view: AccountView, policy: Policy, lead: int, scored: Scored,
                    at: Callable[[float], str], run_end: float) -> str:
    """The account-level condition that kept the lead out of sales."""
    i = _mqa_row(view, lead)
    acc = int(view.crm[lead])
    if i is None:
        return f"its account (CRM {acc}) never qualified as an MQA by the run's end (rule {_rule(policy)})"
    t = float(view.mqa.time[i])
    if not t < run_end:
        return f"its account (CRM {acc}) qualified as an MQA only at {at(t)}, after the run's end"
    if view.unit == "hybrid" and policy.cadence.threading == "spread" and view.entry.time[lead] < run_end:
        mates = np.flatnonzero((view.crm == acc) & (view.entry.time < run_end))
        first = int(mates[np.lexsort((mates, view.entry.time[mates]))][0])
        return (f"its account (CRM {acc}) is worked as one item (cadence.threading = spread), which went to lead "
                f"{first}, whose MQL came first; this lead is called through that item's rotation")
    if view.unit == "hybrid":
        own = float(scored.mql_time[lead])
        if not math.isfinite(own):
            return (f"its account (CRM {acc}) qualified as an MQA at {at(t)}, but the lead itself never met the "
                    "lead MQL rule (hybrid: both are needed)")
        return f"its lead MQL ({at(own)}) and account MQA ({at(t)}) come together only after the run's end"
    if policy.mql.account.work_items == "contact":
        return (f"its account (CRM {acc}) qualified as an MQA at {at(t)}, but the lead was not an engaged contact "
                "then: no work item for it")
    return (f"a duplicate: its account (CRM {acc}) qualified as an MQA at {at(t)} and its one work item went to "
            f"lead {int(view.mqa.lead[i])}")


def moved_items(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
                scored: Scored) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """(lead, time, from rep, to rep) of every reassignment of the run (None without
    `sla.reassign_after`): the SDR team log's moved items of the same sales process, re-run."""
    if policy.sla.reassign_after is None:
        return None
    from sim.decisions.account_work import NextMqa
    from sim.decisions.oracle import next_mql
    from sim.sales.params import EngineParams
    from sim.sales.process import Mqls, SalesProcess
    from sim.sales.threads import thread_plan
    from sim.world.response import ResponseModel
    response = ResponseModel.from_scenario(scenario.response)
    params = EngineParams.resolve(policy, scenario, response.scalar_contact_probability())
    rules = compile_policy(policy)
    entry, threads = thread_plan(world, policy, entries(world, policy, scored))    # as sim.experiment.replication
    re_mql: Callable[[int, float], Any] = ((lambda lead, after: next_mql(world, policy, lead, after, rules=rules))
                                           if policy.mql.unit == "lead" else NextMqa(world, policy, rules)
                                           if policy.recycle.requalify_accounts else (lambda lead, after: None))
    process = SalesProcess(world, Mqls(entry.time, entry.tier, entry.score), params, cal, re_mql, threads)
    process.run()
    log = process.team.log
    return (np.asarray(log.moved_item, np.int64), np.asarray(log.moved_time, np.float64),
            np.asarray(log.moved_from, np.int64), np.asarray(log.moved_to, np.int64))


def reassignment_events(event: MakeEvent, moved: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None,
                        policy: Policy, lead: int, episode_of: Callable[[float], int | None]) -> list[StoryEvent]:
    """One event per time the lead's waiting MQL moved to another rep."""
    if moved is None:
        return []
    item, time, old, new = moved
    return [event(float(time[k]), "reassigned", f"reassigned from rep {int(old[k])} to rep {int(new[k])}: still "
                                                f"untouched {policy.sla.reassign_after} after it was assigned "
                                                "(sla.reassign_after)", episode_of(float(time[k])),
                  from_rep=int(old[k]), to_rep=int(new[k]))
            for k in np.flatnonzero(item == lead).tolist()]


def attempt_luck(world: World, log: SalesLog, lead: int, a: int, index: int, k: int, mql: float) -> tuple[int, float]:
    """(the contact attempt row `a` called, the contact uniform that decided it): attempt k of the
    lead's episode `index` (opened at `mql`). A multi-threaded cadence (`log.at_target`) calls
    another contact with that contact's own luck, its m-th call in the episode (as
    `sim.sales.draws.AttemptLuck.threaded`); otherwise the lead's own k-th draw."""
    target = log.at_target
    if target is None:
        return lead, lead_uniform(int(world.luck.key[lead]), PURPOSE_CONTACT, index * ATTEMPTS_PER_EPISODE + k)
    called, t = int(target[a]), float(log.at_start[a])
    m = int(((log.at_lead == lead) & (log.at_start >= mql) & (log.at_start < t) & (target == called)).sum())
    return called, lead_uniform(int(world.luck.key[called]), PURPOSE_CONTACT, index * ATTEMPTS_PER_EPISODE + m)


def requalified_text(policy: Policy, t: float, after: float, at: Callable[[float], str]) -> str:
    """Why a recycled account item came back (`recycle.requalify_accounts`, `NextMqa`)."""
    since = "on engagement after the recycle" if policy.recycle.reset_behaviour else "after the recycle"
    rule = _rule(policy) + (", or a demo request" if policy.mql.fast_lane.demo_request else "")
    if policy.mql.unit == "hybrid":
        return (f"the lead's own next MQL after the recycle at {at(after)}, with its account qualified again "
                f"{since} (recycle.requalify_accounts): it enters at {at(t)}")
    return (f"its account qualified again at {at(t)} ({rule}), {since} (recycle.requalify_accounts); the "
            "item comes back on the same contact")
