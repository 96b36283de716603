"""One lead's story under one policy, read from that policy's run of the replication: the score
path (sim.story.scoring_path), each MQL episode from the sales log (queue, SLA target, attempts
with their rep and their chance, breach action, recycle, re-MQL) and the outcome from LeadOutcomes.

Nothing here estimates: every time, rep and outcome is the run's own, and each attempt's
"reached or not" is re-derived from the lead's counter-based luck and checked against the log.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from sim import format as F
from sim.calendar import BusinessCalendar
from sim.config.scenario import Scenario
from sim.decisions.mql import compile_policy
from sim.decisions.oracle import next_mql
from sim.decisions.scoring import score_world
from sim.experiment.replication import PolicyRun
from sim.measure.kpis import sla_deadlines
from sim.sales.episode import ABANDONED, BREACHED, CONTACTED, OPEN, TRIAGED, UNREACHED
from sim.sales.log import SalesLog
from sim.sales.params import EngineParams
from sim.story.accounts import (
    AccountView,
    account_view,
    attempt_luck,
    membership_event,
    moved_items,
    mqa_text,
    reassignment_events,
    requalified_text,
    why_not_entered,
)
from sim.story.handoff import competitor_events, handoff_events
from sim.story.model import KIND_ORDER, PolicyStory, StoryEvent
from sim.story.outcome import outcome_events
from sim.story.scoring_path import ScorePaths, pts
from sim.vocab import ALL_TERMINAL_STATES, CHANNELS, EVENT_TYPES, REJECTION_REASONS, TIERS
from sim.world.model import World
from sim.world.response import ResponseModel

HOUR = 60.0
WEEKDAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class Clock:
    """Minutes since the scenario's start as 'Tue 2026-02-03 10:15' (floored to the minute, so a
    touch at 16:59.7 never reads as the 17:00 close)."""

    def __init__(self, start: dt.date):
        self.start = dt.datetime.combine(start, dt.time(0, 0))

    def __call__(self, t: float) -> str:
        if not math.isfinite(t):
            return "never"
        when = self.start + dt.timedelta(minutes=math.floor(t + 1e-6))
        return f"{WEEKDAY[when.weekday()]} {when:%Y-%m-%d %H:%M}"


def hours(minutes: float) -> str:
    """A wait as the KPI tables show it ('4.9 min', '16.2 h', '120 h')."""
    if abs(minutes) < HOUR:
        return F.duration(minutes, "minutes")
    return F.duration(minutes / HOUR, "clock hours")


def waiting_when_queued(log: SalesLog, t: float) -> int | None:
    """Items waiting (every queue of the team) just before an item was queued at t: the level of
    the team log before the first +1 change at exactly t (None if the log has none)."""
    q_time, q_len = log.q_time, log.q_len
    i = max(int(np.searchsorted(q_time, t, side="left")), 1)
    while i < q_time.size and q_time[i] == t:
        if q_len[i] - q_len[i - 1] == 1:
            return int(q_len[i - 1])
        i += 1
    return None


@dataclass
class Context:
    """What every part of one policy's story reads."""

    world: World
    scenario: Scenario
    cal: BusinessCalendar
    run: PolicyRun
    params: EngineParams
    response: ResponseModel
    lead: int
    at: Callable[[float], str]
    accounts: AccountView | None = None     # the policy's account decisions (account or hybrid MQL unit)

    def event(self, t: float, kind: str, text: str, episode: int | None = None, **data: Any) -> StoryEvent:
        return StoryEvent(float(t), self.at(t), kind, text, episode, data)

    def business_hours(self, t0: float, t1: float) -> float:
        return float(self.cal.business_between(t0, t1)) / HOUR


def policy_story(world: World, scenario: Scenario, cal: BusinessCalendar, run: PolicyRun, lead: int,
                 cache: dict[str, Any] | None = None) -> PolicyStory:
    """The lead's timeline under the policy of `run` (a PolicyRun of this world). `cache`: a dict
    kept across leads of the same run (account decisions and reassignments are computed once)."""
    policy, log, out = run.policy, run.log, run.outcomes
    response = ResponseModel.from_scenario(scenario.response)
    params = EngineParams.resolve(policy, scenario, response.scalar_contact_probability())
    cache = {} if cache is None else cache
    if "scored" not in cache:      # a run that did not keep its scores: scored again, once per run
        cache["scored"] = run.scored if run.scored is not None else score_world(world, policy)
    scored = cache["scored"]
    if "accounts" not in cache:
        cache["accounts"] = account_view(world, policy, scored)
        cache["moved"] = moved_items(world, scenario, policy, cal, scored)
    cx = Context(world, scenario, cal, run, params, response, lead, Clock(scenario.start_date), cache["accounts"])
    rows = np.flatnonzero(log.ep_lead == lead)
    rows = rows[np.argsort(log.ep_index[rows], kind="stable")]
    recycled_at = [float(log.ep_end_time[e]) for e in rows
                   if int(log.ep_status[e]) not in (CONTACTED, OPEN, ABANDONED)]
    rules = compile_policy(policy)
    paths = ScorePaths(world, policy, rules, lead, recycled_at)

    in_sales = [(float(log.ep_mql_time[e]), float(log.ep_end_time[e]) if int(log.ep_status[e]) not in (CONTACTED, OPEN)
                 else math.inf) for e in rows]
    events = [cx.event(world.arrival[lead], "arrival", "lead created", channel=_channel(world, lead))]
    events += membership_event(cx.event, world, lead)
    events += _engagement(cx, paths, in_sales)
    attempts = np.flatnonzero(log.at_lead == lead)          # in the order they started
    used = 0
    for e in rows:
        n = int(log.ep_attempts[e])
        events += _episode(cx, paths, int(e), attempts[used:used + n], rules)
        used += n
    if used != attempts.size:
        raise RuntimeError(f"lead {lead}: {attempts.size} attempts in the log, {used} in its episodes")
    events += outcome_events(cx.event, world, scenario, response, out, lead, cx.at)
    events += handoff_events(cx.event, scenario, cal, log, out, lead, cx.at, float(world.end))
    events += competitor_events(cx.event, world, scenario, cal, log, out, lead, cx.at)

    def episode_of(t: float) -> int | None:
        inside = [int(log.ep_index[e]) for e in rows if float(log.ep_mql_time[e]) <= t]
        return inside[-1] if inside else None

    events += reassignment_events(cx.event, cache["moved"], policy, lead, episode_of)
    events.sort(key=lambda ev: (ev.t, KIND_ORDER[ev.kind]))

    is_mql = bool(np.isfinite(out.first_mql[lead]))
    why = None
    if not is_mql:
        t = float(scored.mql_time[lead])
        if cx.accounts is not None:
            why = why_not_entered(cx.accounts, policy, lead, scored, cx.at, float(world.end))
        elif not world.mql_at_arrival:
            why = paths.why_not_mql(cx.at, t if math.isfinite(t) else None)
        else:
            why = f"its arrival comes after the run's end ({cx.at(world.end)})"
    tier = int(out.first_tier[lead])
    reason = int(out.reason[lead])
    return PolicyStory(
        policy=policy.name, mql=is_mql, first_mql=float(out.first_mql[lead]) if is_mql else None,
        tier=TIERS[tier] if tier >= 0 else None, episodes=int(out.episodes[lead]), attempts=int(attempts.size),
        recycles=int(out.recycles[lead]), state=ALL_TERMINAL_STATES[int(out.state[lead])],
        reason=REJECTION_REASONS[reason] if reason >= 0 else None, amount=float(out.amount[lead]),
        why_not_mql=why, events=events)


def _channel(world: World, lead: int) -> str:
    return CHANNELS[int(world.channel[lead])]


def _engagement(cx: Context, paths: ScorePaths, in_sales: list[tuple[float, float]]) -> list[StoryEvent]:
    """One event per engagement event of the lead, with its score on the path in force then
    (`in_sales`: the (MQL, end) spans of its episodes, when its score decides nothing)."""
    w, lead = cx.world, cx.lead
    out = []
    for g in range(int(w.event_offsets[lead]), int(w.event_offsets[lead + 1])):
        t, kind = float(w.event_time[g]), EVENT_TYPES[int(w.event_type[g])]
        p = paths.point(g, t)
        if p is None:
            out.append(cx.event(t, "engagement", f"{kind}: not scored (at or before a recycle's reset)",
                                event=kind))
            continue
        text = f"{kind}: {paths.score_text(p)}"
        if any(start < t < stop for start, stop in in_sales):
            text += " (in sales: the score decides nothing now)"
        elif p.mql and not (cx.accounts is not None and cx.accounts.unit == "account"):   # account: lead rules decide nothing
            text += "; the MQL rule holds" if p.rule_holds else "; fast lane"
        out.append(cx.event(t, "engagement", text, event=kind, score=p.total, fit=p.fit, behaviour=p.behaviour,
                            penalty=p.penalty, rule_holds=p.rule_holds, fast_lane=p.fast_lane))
    return out


def _trigger(cx: Context, paths: ScorePaths, index: int, t: float, after: float | None) -> tuple[str, str | None]:
    """(why the MQL of episode `index` at t happened, the triggering event type)."""
    if cx.world.mql_at_arrival:
        return "queueing mode: every lead is an MQL when it arrives (no scoring)", None
    if cx.accounts is not None and index > 0 and after is not None:      # a recycled account item came back
        return requalified_text(cx.run.policy, t, after, cx.at), None
    if cx.accounts is not None:
        return mqa_text(cx.accounts, cx.run.policy, cx.world, cx.lead, cx.at), None
    w, lead = cx.world, cx.lead
    a, b = int(w.event_offsets[lead]), int(w.event_offsets[lead + 1])
    for g in range(a, b):
        if float(w.event_time[g]) != t or (after is not None and not t > after):
            continue
        p = paths.point(g, t)
        if p is not None and p.mql:
            return paths.rule_text(p), EVENT_TYPES[p.kind]
    return "the scorer's MQL (the scalar scoring oracle finds no MQL event at this time)", None


def _episode(cx: Context, paths: ScorePaths, e: int, attempts: np.ndarray, rules: Any) -> list[StoryEvent]:
    """MQL, queue, SLA, attempts and how the episode ended."""
    log, p, policy = cx.run.log, cx.params, cx.run.policy
    index = int(log.ep_index[e])
    mql, tier_code, score = float(log.ep_mql_time[e]), int(log.ep_tier[e]), float(log.ep_score[e])
    tier = TIERS[tier_code]
    first_touch, end_time, status = float(log.ep_first_touch[e]), float(log.ep_end_time[e]), int(log.ep_status[e])
    after = float(log.ep_end_time[_previous(log, e)]) if index > 0 else None
    rule, trigger = _trigger(cx, paths, index, mql, after)
    head = "MQL" if index == 0 else f"re-MQL (episode {index + 1}, after the recycle at {cx.at(after or 0.0)})"
    by = f" at its {trigger}" if trigger else ""
    tier_text = (f"tier {tier}" if cx.world.mql_at_arrival else
                 f"tier {tier} (score {pts(score)} handed to sales)" if cx.accounts is not None else
                 paths.tier_text(tier, score, index > 0))
    ev = [cx.event(mql, "mql", f"{head}{by}: {rule}; {tier_text}", index,
                   tier=tier, score=score, rule=rule, trigger=trigger)]

    target = getattr(policy.sla.targets, tier)
    deadline = float(sla_deadlines(cx.cal, policy, np.array([mql]), np.array([tier_code]))[0])
    waiting = waiting_when_queued(log, mql)
    due = f"first touch due by {cx.at(deadline)} (SLA target {target} for tier {tier})"
    if p.workers == 0:
        due += "; the team has no reps"
    met = not math.isnan(first_touch) and first_touch <= deadline
    if math.isnan(first_touch):
        touch, wait_b = "never touched", None
    else:
        wait_b = cx.business_hours(mql, first_touch)
        touch = (f"first touch {cx.at(first_touch)}, {wait_b:.1f} business hours ({hours(first_touch - mql)} clock) "
                 f"later: SLA {'met' if met else 'missed'}")
    ev.append(cx.event(mql, "queued", f"queued behind {_waiting(waiting)} ({p.routing} routing); {due}; {touch}",
                       index, waiting=waiting, routing=p.routing, sla_target=str(target), sla_deadline=deadline,
                       first_touch=first_touch, wait_business_hours=wait_b, sla_met=met))

    if not met:
        ev.append(_missed(cx, index, deadline, first_touch, end_time, str(target)))

    spacing = cx.cal.adder(p.spacing)
    for k, a in enumerate(attempts.tolist()):
        ev.append(_attempt(cx, e, index, k, int(a), mql, spacing))

    ev += _ending(cx, e, index, status, end_time, mql, first_touch, deadline, rules)
    return ev


def _waiting(n: int | None) -> str:
    return "an unknown number of MQLs" if n is None else F.plural(n, "waiting MQL")


def _previous(log: SalesLog, e: int) -> int:
    """The row of the same lead's previous episode."""
    rows = np.flatnonzero((log.ep_lead == log.ep_lead[e]) & (log.ep_index == log.ep_index[e] - 1))
    return int(rows[0])


def _missed(cx: Context, index: int, deadline: float, first_touch: float, end_time: float, target: str) -> StoryEvent:
    """The SLA target passed untouched, and what the policy's breach action did about it."""
    action, end = cx.params.breach_action, cx.world.end
    when = deadline if math.isfinite(deadline) and deadline < end else end
    late = "" if math.isnan(first_touch) else f" (first touch {hours(first_touch - deadline)} late)"
    text = f"SLA missed: untouched at the {target} target{late}"
    if not (math.isfinite(deadline) and deadline < end):
        text = f"SLA missed: the {target} deadline falls after the run's end and no touch came before it"
    still_waiting = math.isnan(end_time) or end_time > deadline
    if action == "escalate" and deadline < end and still_waiting and (math.isnan(first_touch) or first_touch > deadline):
        return cx.event(when, "escalated", text + "; breach action escalate: moved to the front of the queue",
                        index, action=action)
    if action == "recycle":
        text += f"; breach action recycle acts {cx.params.recycle_after} after the MQL if still untouched"
    elif action == "none":
        text += "; breach action none: it keeps its place in the queue"
    return cx.event(when, "sla_missed", text, index, action=action)


def _attempt(cx: Context, e: int, index: int, k: int, a: int, mql: float,
             spacing: Callable[[float], float]) -> StoryEvent:
    """Attempt k of the episode: who, when, and the chance that decided it (re-derived from the
    lead's counter-based luck and checked against the log)."""
    log, p = cx.run.log, cx.params
    t, rep, handle, reached = float(log.at_start[a]), int(log.at_rep[a]), float(log.at_handle[a]), bool(log.at_contact[a])
    delay = t - mql
    chance = float(p.contact_probability(delay))
    called, u = attempt_luck(cx.world, log, cx.lead, a, index, k, mql)    # another contact's luck if multi-threaded
    if (u < chance) != reached:
        raise RuntimeError(f"lead {cx.lead}: attempt {k + 1} of episode {index + 1} does not re-derive from its luck "
                           f"(drew {u:.4f}, chance {chance:.4f}, log says reached={reached})")
    bh = cx.business_hours(mql, t)
    wait = f"{bh:.1f} business hours ({hours(delay)} clock) after the MQL"
    n = f"attempt {k + 1} of {p.max_attempts} by rep {rep}" + (f" (called contact {called})" if called != cx.lead else "")
    if reached:
        text = (f"{n}: reached at contact probability {chance:.2f}, {wait} (drew {u:.2f}); the call took "
                f"{F.duration(handle, 'minutes')}")
    else:
        text = f"{n}: not reached at contact probability {chance:.2f}, {wait} (drew {u:.2f} >= {chance:.2f})"
        if k + 1 < p.max_attempts:
            nxt = spacing(t)
            text += (f"; next attempt due {cx.at(nxt)} ({p.spacing} later)" if nxt < cx.world.end
                     else "; the next attempt would fall due after the run's end")
    return cx.event(t, "attempt", text, index, attempt=k + 1, rep=rep, reached=reached, contact_probability=chance,
                    uniform=u, delay_minutes=delay, delay_business_hours=bh, handle_minutes=handle)


def _ending(cx: Context, e: int, index: int, status: int, end_time: float, mql: float, first_touch: float,
            deadline: float, rules: Any) -> list[StoryEvent]:
    """How the episode ended: reached, recycled (and whether a re-MQL follows), or still open."""
    log, p = cx.run.log, cx.params
    if status == CONTACTED:
        bh = cx.business_hours(mql, end_time)
        return [cx.event(end_time, "contact", f"reached {bh:.1f} business hours ({hours(end_time - mql)} clock) after "
                                              "the MQL",
                         index, wait_business_hours=bh, wait_hours=(end_time - mql) / HOUR)]
    if status == OPEN:
        return [cx.event(cx.world.end, "open_at_end", "still in the queue or between attempts when the run ended",
                         index)]
    if status == ABANDONED:
        return [cx.event(end_time, "abandoned", f"went cold after waiting {hours(end_time - mql)} for a first touch "
                                                "and left (queueing mode patience)", index)]
    n_attempts = int(log.ep_attempts[e])
    if status == BREACHED:
        why = (f"SLA breach: untouched {p.recycle_after} after the MQL; breach action recycle sent it back "
               "to nurture")
    elif status == TRIAGED:
        why = (f"triaged: {p.triage_backlog} or more MQLs waiting and its score {pts(float(log.ep_score[e]))} is below "
               f"routing.triage_min_score {pts(p.triage_min_score)}, so a rep skipped it (back to nurture)")
    elif n_attempts >= p.max_attempts:
        why = f"unreached after all {p.max_attempts} attempts of the cadence: back to nurture"
    else:
        why = (f"its follow-up waited {p.recycle_after} in the queue untouched: the cadence ended after "
               f"{n_attempts} attempts (breach action recycle), back to nurture")
    recycle_no = index + 1        # every earlier episode of the lead ended in a recycle too
    nxt_row = np.flatnonzero((log.ep_lead == cx.lead) & (log.ep_index == index + 1))
    if nxt_row.size:
        then = f"; re-MQL at {cx.at(float(log.ep_mql_time[nxt_row[0]]))}"
    elif recycle_no >= p.max_recycles:
        then = f"; it stays in nurture for good (recycle.max_recycles = {p.max_recycles} used)"
    else:
        nxt = next_mql(cx.world, cx.run.policy, cx.lead, end_time, rules=rules)
        if nxt is None:
            then = "; no later engagement makes it an MQL again"
        else:
            then = f"; its next MQL would come at {cx.at(nxt[0])}, after the run's end"
    return [cx.event(end_time, "recycled", why + then, index, status=_STATUS[status], recycle=recycle_no)]


_STATUS = {BREACHED: "breached", TRIAGED: "triaged", UNREACHED: "unreached"}
