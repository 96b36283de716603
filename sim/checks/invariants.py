"""Invariants every run must satisfy, checked in debug mode.

`violations(...)` returns one readable line per broken invariant (empty when the run is
consistent); `run_policy(..., check=True)` raises InvariantError on any. A broken invariant is a
bug in the engine, never a user error. Every check is vectorised numpy over the run's flat arrays
(no Python loop per lead, episode or attempt), so debug mode stays cheap on big runs.

The invariants, by family (the names are the prefixes of the messages):

* ``episodes``: each lead's MQL episodes are numbered 0, 1, ... without gaps; at most
  ``recycle.max_recycles`` of them; every episode before a lead's last was recycled (status
  unreached, breach_recycled or triaged), so at most one is open or contacted; an episode starts
  after its lead arrived and before the run ends; re-MQL episodes start no earlier than the previous
  episode ended and are in tier demo or re_engaged; statuses match what happened (contacted and
  unreached => touched at least once; breach_recycled, triaged and abandoned => never touched; only
  breach action recycle breaches, only triage triages (never a demo-tier MQL), only queueing mode
  with a patience abandons); attempts <= max_attempts;
  end time set exactly when the episode is closed (these read the parameters the engine ran with,
  `EngineParams`: in textbook queueing mode one attempt, no breach action, no triage). Given the
  scoring, every MQL it found before the end of the run is exactly one lead's first episode, with
  the same time, tier and score.
* ``attempts``: the attempt log and the episodes agree (same number per lead); each episode's
  attempts lie in [its MQL, its end]; the first is its first touch; a contacted episode ends at
  its one reaching attempt, which is its last; follow-ups respect the cadence spacing; every
  attempt starts while the calendar is open (the rep's working hours); a rep does one thing at a
  time (an attempt blocks its rep for handle / mql_time_share); no attempts without reps.
* ``queue``: the number waiting is never negative and changes by one at a time, in time order;
  every stay in the queue (an episode waiting for its first or next attempt, reconstructed from
  the episodes and attempts) is one +1 of the queue log, and the area under the queue-length
  curve equals the sum of the stays' waits (sample-path Little's law, L*T = sum W); midnight
  samples are non-negative.
* ``outcomes``: timestamps ordered for every lead, arrival <= first MQL <= first touch <= contact
  (= SAL or rejection) <= SQL <= opportunity <= close; stages never skip or reverse (close =>
  opportunity => SQL => SAL => contacted => MQL; SAL and rejection exclusive, won and lost
  exclusive and exactly the closed deals; a reason code exactly for rejections; deal amounts
  only on opportunities, finite and >= 0); every lead is in exactly one terminal state and that
  state matches its journey (lead conservation).
* ``ae`` (hand-off on, `sim.sales.handoff`): every SQL is handed to the AEs exactly once; the AE
  team obeys the team rules above (AE in range, meetings in the AEs' working hours, one meeting at
  a time); a meeting comes no earlier than the notice after the SQL; meetings per SQL within the
  rebooks; held exactly when the log says the buyer showed; an opportunity exactly on a held
  meeting, at its time; Little's law exact on the AE queue's sample path.
* ``competitor`` (competitor on): only in-market leads are taken (unless `buyers_only` is off); a
  lead taken before its first touch was an MQL, neither accepted nor rejected; one taken
  before its meeting was an SQL without an opportunity; the state says lost_to_competitor exactly then.
* ``accounts`` (worlds with `[accounts]`): every engaged account ends in exactly one state (the
  account states add up to the accounts engaged: conservation per account); with a log of whom
  each attempt called (policy `cadence.threading` set): one contact per attempt, always a
  contact of the item's own CRM account, the first attempt of every item calls the item's own
  contact; contacts touched >= accounts touched; accounts within SLA <= MQAs.
* ``kpis``: no NaN except where the KPI's denominator is zero (``DENOMINATORS``; a KPI not listed
  there must never be NaN); no infinities; rates, shares, compliance, precision, recall and
  utilisation in [0, 1]; counts non-negative and decreasing down the funnel; terminal states sum
  to the cohort; p50 <= p90; detail counts sum to their totals.
"""
from __future__ import annotations

import math

import numpy as np

from sim.calendar import BusinessCalendar
from sim.checks.feature_checks import account_violations, competitor_violations, handoff_violations
from sim.checks.kpi_checks import KpiRecord, kpi_context, kpi_violations
from sim.checks.team_checks import (
    TOL,
    attempt_episodes,
    episode_order,
    queue_area,
    queue_log_violations,
    team_violations,
)
from sim.checks.team_checks import message as _msg
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.scoring import Scored
from sim.sales.episode import ABANDONED, BREACHED, CONTACTED, OPEN, TRIAGED, UNREACHED
from sim.sales.log import SDR, SalesLog
from sim.sales.outcomes import STATE, LeadOutcomes
from sim.sales.params import EngineParams
from sim.vocab import ALL_TERMINAL_STATES, TERMINAL_STATES, TIER_CODE, TIERS
from sim.world.model import World

RECYCLED = (UNREACHED, BREACHED, TRIAGED)
ENDED = (*RECYCLED, ABANDONED)       # closed without a contact


class InvariantError(AssertionError):
    """A run broke an invariant: a bug in the engine, never a user error."""


def violations(world: World, scenario: Scenario, policy: Policy, cal: BusinessCalendar,
               log: SalesLog, out: LeadOutcomes, kpis: KpiRecord, scored: Scored | None = None) -> list[str]:
    """Every broken invariant of one run (see the module docstring); empty when consistent.
    With `scored` (the policy's scoring), also: every MQL the scoring found before the end of the
    run entered the sales process exactly once, as that lead's first episode, with its time, tier
    and score (no MQL lost or invented between the two)."""
    params = EngineParams.resolve(policy, scenario, lambda _delay: 1.0)   # what the engine ran with
    problems = _episodes(world, params, log)
    if problems:            # the later checks index attempts by episode: they need sane episodes
        return problems
    if scored is not None:
        problems += _scored(world, log, scored)
    problems += _attempts(params, cal, log)
    if not any("disagree" in x for x in problems):   # stays are rebuilt from the attempts
        problems += _queue(world, policy, cal, log, params.cover)
    problems += _outcomes(world, log, out)
    if out.meetings is not None:
        problems += handoff_violations(world, scenario, cal, log, out)
    if out.competitor is not None:
        problems += competitor_violations(world, scenario, out)
    problems += account_violations(world, log, kpis)
    problems += kpi_violations(kpis, kpi_context(world, cal, log, out))
    return problems


# ---- episodes -------------------------------------------------------------------------------

def _episodes(world: World, params: EngineParams, log: SalesLog) -> list[str]:
    p: list[str] = []
    lead, st, n = log.ep_lead, log.ep_status, log.ep_lead.size
    p += _msg("episodes", (lead < 0) | (lead >= world.n), "lead index outside the world", np.arange(n), "episode")
    if p:
        return p
    order, pos, last = episode_order(log)
    sl = lead[order]
    p += _msg("episodes", log.ep_index[order] != pos, "episode numbers of a lead are not 0, 1, 2, ...", sl)
    p += _msg("episodes", pos >= params.max_recycles,
              f"more than recycle.max_recycles = {params.max_recycles} episodes", sl)
    p += _msg("episodes", ~last & ~np.isin(st[order], ENDED),
              "an episode other than the lead's last was not recycled", sl)
    t = log.ep_mql_time
    p += _msg("episodes", ~(t >= world.arrival[lead] - TOL), "MQL before the lead arrived", lead)
    p += _msg("episodes", ~(t < world.end), "MQL at or after the end of the run", lead)
    prev_end = np.full(n, -np.inf)
    later = pos > 0
    prev_end[order[later]] = log.ep_end_time[order[np.flatnonzero(later) - 1]]
    p += _msg("episodes", ~(t >= prev_end - TOL), "re-MQL before the previous episode ended", lead)
    re_tier = np.isin(log.ep_tier, [TIER_CODE["demo"], TIER_CODE["re_engaged"]])
    p += _msg("episodes", (log.ep_index > 0) & ~re_tier, "a re-MQL outside the demo and re_engaged tiers", lead)
    p += _msg("episodes", (log.ep_tier < 0) | (log.ep_tier >= len(TIERS)), "unknown tier", lead)
    a = log.ep_attempts
    p += _msg("episodes", (a < 0) | (a > params.max_attempts),
              f"attempts outside [0, cadence.max_attempts = {params.max_attempts}]", lead)
    p += _msg("episodes", ~np.isin(st, (OPEN, CONTACTED, *ENDED)), "unknown status", lead)
    p += _msg("episodes", np.isin(st, (CONTACTED, UNREACHED)) & (a < 1), "contacted or unreached without a touch", lead)
    p += _msg("episodes", np.isin(st, (BREACHED, TRIAGED, ABANDONED)) & (a != 0),
              "breach-recycled, triaged or abandoned after a touch", lead)
    p += _msg("episodes", (st == ABANDONED) & (params.patience is None),
              "abandoned although queueing.patience is not set", lead)
    p += _msg("episodes", (st == BREACHED) & (params.breach_action != "recycle"),
              "breach-recycled although sla.breach_action is not recycle", lead)
    p += _msg("episodes", (st == TRIAGED) & ((params.triage_backlog is None) | (log.ep_tier == TIER_CODE["demo"])),
              "triaged without triage, or a demo-tier MQL triaged", lead)
    unreached_early = (st == UNREACHED) & (a < params.max_attempts)
    p += _msg("episodes", unreached_early & (params.breach_action != "recycle"),
              "unreached before max_attempts although follow-ups cannot expire", lead)
    touched = ~np.isnan(log.ep_first_touch)
    p += _msg("episodes", touched != (a > 0), "first touch set but no attempt, or the reverse", lead)
    p += _msg("episodes", touched & ~(log.ep_first_touch >= t - TOL), "first touch before the MQL", lead)
    closed = st != OPEN
    p += _msg("episodes", closed == np.isnan(log.ep_end_time), "end time missing on a closed episode or set on an open one", lead)
    p += _msg("episodes", closed & ~(log.ep_end_time >= np.where(touched, log.ep_first_touch, t) - TOL),
              "episode ended before it started or before its first touch", lead)
    return p


def _scored(world: World, log: SalesLog, scored: Scored) -> list[str]:
    first = log.ep_index == 0
    lead = log.ep_lead[first]
    entered = np.zeros(world.n, bool)
    entered[lead] = True
    p = _msg("episodes", entered != (scored.mql_time < world.end),
             "the MQLs of the scoring and the first episodes of the sales process differ")
    p += _msg("episodes", (log.ep_mql_time[first] != scored.mql_time[lead]) | (log.ep_tier[first] != scored.mql_tier[lead])
              | ~((log.ep_score[first] == scored.mql_score[lead]) | np.isnan(scored.mql_score[lead])),
              "a first episode's MQL time, tier or score differs from the scoring", lead)
    return p


# ---- attempts -------------------------------------------------------------------------------

def _attempts(params: EngineParams, cal: BusinessCalendar, log: SalesLog) -> list[str]:
    p: list[str] = []
    m = log.at_lead.size
    per_lead_at = np.bincount(log.at_lead, minlength=1)
    per_lead_ep = np.bincount(log.ep_lead, weights=log.ep_attempts, minlength=1).astype(np.int64)
    size = max(per_lead_at.size, per_lead_ep.size)
    diff = np.pad(per_lead_at, (0, size - per_lead_at.size)) != np.pad(per_lead_ep, (0, size - per_lead_ep.size))
    p += _msg("attempts", diff, "attempt log and episodes disagree on the number of attempts")
    if p:
        return p
    tz = params.people.time_zones if params.people is not None else None
    local = tz is not None and bool(tz.offsets) and bool(tz.rep_regions)   # reps keep their own local hours
    p += team_violations("attempts", log.team(SDR), cal, params.time_share, hours=not local)
    if not m:
        return p
    at_order, ep_of = attempt_episodes(log)
    start, lead = log.at_start[at_order], log.at_lead[at_order]
    p += _msg("attempts", ~(start >= log.ep_mql_time[ep_of] - TOL), "attempt before its episode's MQL", lead)
    closed = log.ep_status[ep_of] != OPEN
    contacted = log.ep_status[ep_of] == CONTACTED
    if params.cover:        # a cover cadence calls on after its first conversation (the episode's end time)
        closed = closed & ~contacted
    p += _msg("attempts", closed & ~(start <= log.ep_end_time[ep_of] + TOL), "attempt after its episode ended", lead)
    first = np.ones(m, bool)
    first[1:] = ep_of[1:] != ep_of[:-1]
    p += _msg("attempts", first & (np.abs(start - log.ep_first_touch[ep_of]) > TOL),
              "an episode's first attempt is not its first touch", lead)
    last = np.append(first[1:], True)
    contact = log.at_contact[at_order]
    if params.cover:
        # the first reaching attempt of each episode ends it as contacted; later calls may reach others
        reach_pos = np.where(contact, np.arange(m), m)
        seg = np.cumsum(first) - 1
        first_reach = np.zeros(m, bool)
        if m:
            firsts = np.full(int(seg[-1]) + 1, m)
            np.minimum.at(firsts, seg, reach_pos)
            hit = firsts[firsts < m]
            first_reach[hit] = True
        p += _msg("attempts", contact & ~contacted, "a reaching attempt in an episode that is not contacted", lead)
        p += _msg("attempts", contacted & last & ~np.isin(seg, seg[first_reach]), "a contacted episode without a "
                  "reaching attempt", lead)
        p += _msg("attempts", first_reach & (np.abs(start - log.ep_end_time[ep_of]) > TOL),
                  "a contacted episode does not end at its first reaching attempt", lead)
    else:
        p += _msg("attempts", contact != (last & contacted), "a reaching attempt that is not a contacted episode's last",
                  lead)
        p += _msg("attempts", last & contacted & (np.abs(start - log.ep_end_time[ep_of]) > TOL),
                  "a contacted episode does not end at its reaching attempt", lead)
    follow = np.flatnonzero(~first)
    if follow.size:
        due = cal.add(start[follow - 1], params.spacing)
        p += _msg("attempts", start[follow] < due - TOL, "a follow-up earlier than the cadence spacing", lead[follow])
    return p


# ---- queue ----------------------------------------------------------------------------------

def queue_stays(world: World, policy: Policy, cal: BusinessCalendar, log: SalesLog,
                cover: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(ready time, leave time) of every stay of an episode in the waiting queue, reconstructed from
    the episodes and attempts alone: waiting for the first attempt from the MQL; for each
    follow-up from its due time (last attempt + cadence spacing) to the attempt; and the stay cut
    short by a breach recycle, triage, an expired follow-up or the end of the run (leave = end).
    `cover` (cadence.threading = "cover" ran): a contacted item also waits for its next call while
    attempts are left and a contact of its rotation (rebuilt by `thread_contacts`) is not reached."""
    end, spacing = world.end, policy.cadence.spacing
    at_order, ep_of = attempt_episodes(log)
    start = log.at_start[at_order]
    m = start.size
    first = np.ones(m, bool)
    first[1:] = ep_of[1:] != ep_of[:-1]
    ready_at = np.empty(m)
    ready_at[first] = log.ep_mql_time[ep_of[first]]
    if (~first).any():
        ready_at[~first] = cal.add(start[np.flatnonzero(~first) - 1], spacing)
    # episodes never touched: waited from the MQL until withdrawn (breach, triage) or the end
    st, a = log.ep_status, log.ep_attempts
    untouched = a == 0
    leave_untouched = np.where(st[untouched] == OPEN, end, log.ep_end_time[untouched])
    # touched episodes whose next follow-up fell due (still waiting at the end, or expired)
    last = np.append(first[1:], True) if m else first
    e_last = ep_of[last]
    due = cal.add(start[last], spacing) if m else np.zeros(0)
    s_last = st[e_last]
    waiting = ((s_last == OPEN) | ((s_last == UNREACHED) & (a[e_last] < policy.cadence.max_attempts))) & (due < end)
    if cover and m:
        waiting |= _covering(world, policy, log, at_order, ep_of, e_last) & (due < end)
    leave_due = np.where((s_last[waiting] == OPEN) | (s_last[waiting] == CONTACTED), end, log.ep_end_time[e_last[waiting]])
    ready = np.concatenate([ready_at, log.ep_mql_time[untouched], due[waiting]])
    leave = np.concatenate([start, leave_untouched, leave_due])
    return ready, leave


def _covering(world: World, policy: Policy, log: SalesLog, at_order: np.ndarray, ep_of: np.ndarray,
              e_last: np.ndarray) -> np.ndarray:
    """bool per touched episode (`e_last`): contacted, attempts left, and a contact of its rotation
    not reached yet, so a cover cadence calls again."""
    from sim.decisions.account_work import engagement, thread_contacts

    assert log.at_target is not None
    st, a, n_max = log.ep_status, log.ep_attempts, policy.cadence.max_attempts
    cand = (st[e_last] == CONTACTED) & (a[e_last] < n_max)
    out = np.zeros(e_last.size, bool)
    if not cand.any():
        return out
    eps = e_last[cand]
    rot = thread_contacts(world, policy, engagement(world, policy), log.ep_lead[eps], log.ep_mql_time[eps], n_max)
    target, contact = log.at_target[at_order], log.at_contact[at_order]
    reached = {(int(e), int(c)) for e, c in zip(ep_of[contact].tolist(), target[contact].tolist())}
    out[np.flatnonzero(cand)] = [any((int(e), c) not in reached for c in r) for e, r in zip(eps.tolist(), rot)]
    return out


def _queue(world: World, policy: Policy, cal: BusinessCalendar, log: SalesLog, cover: bool = False) -> list[str]:
    p = queue_log_violations("queue", log.team(SDR))
    if p:
        return p
    q = log.q_len
    ready, leave = queue_stays(world, policy, cal, log, cover)
    pushes = int((np.diff(q) > 0).sum())
    if pushes != ready.size:
        return [f"queue: {pushes} pushes in the queue log but {ready.size} stays in the episodes and attempts"]
    p += _msg("queue", leave < ready - TOL, "left the queue before it was ready", np.arange(ready.size), "stay")
    area, waits = queue_area(log, world.end), float(np.sum(np.minimum(leave, world.end) - ready))
    if not math.isclose(area, waits, rel_tol=1e-9, abs_tol=TOL * max(1, ready.size)):
        p.append(f"queue: area under the queue length {area:.6g} != sum of waits {waits:.6g} (Little's law)")
    return p


# ---- outcomes -------------------------------------------------------------------------------

def expected_state(out: LeadOutcomes, last_status: np.ndarray) -> np.ndarray:
    """Each lead's terminal state from its journey, later stages first (exactly one each)."""
    taken = out.competitor > 0 if out.competitor is not None else np.zeros(out.state.shape, bool)
    conds = [taken, out.won, out.lost, out.opportunity, out.sql, out.sal, out.rejected, last_status == OPEN,
             last_status >= 0]
    names = ["lost_to_competitor", "won", "lost", "opportunity_open", "sql", "disqualified", "rejected", "in_queue",
             "recycled"]
    return np.select(conds, [STATE[s] for s in names], default=STATE["nurture"])


def _outcomes(world: World, log: SalesLog, out: LeadOutcomes) -> list[str]:
    p: list[str] = []
    chain = [("arrival", world.arrival), ("first MQL", out.first_mql), ("first touch", out.first_touch),
             ("contact", out.contact_time), ("SQL", out.sql_time), ("opportunity", out.opportunity_time),
             ("close", out.close_time)]
    for (na, a), (nb, b) in zip(chain, chain[1:]):
        both = np.isfinite(a) & np.isfinite(b)
        p += _msg("outcomes", both & (b < a - TOL), f"{nb} before {na}")
    p += _msg("outcomes", np.isfinite(out.contact_time) & (out.contact_time < out.first_mql - TOL), "contact before first MQL")
    mql = np.isfinite(out.first_mql)
    contacted = ~np.isnan(out.contact_time)
    closed = ~np.isnan(out.close_time)
    steps = [("close without an opportunity", closed & ~out.opportunity),
             ("opportunity without an SQL", out.opportunity & ~out.sql),
             ("SQL without a SAL", out.sql & ~out.sal),
             ("SAL without a contact", out.sal & ~contacted),
             ("rejected without a contact", out.rejected & ~contacted),
             ("contact without an MQL", contacted & ~mql),
             ("first touch without an MQL", ~np.isnan(out.first_touch) & ~mql),
             ("both accepted and rejected", out.sal & out.rejected),
             ("both won and lost", out.won & out.lost),
             ("closed but neither won nor lost, or the reverse", closed != (out.won | out.lost)),
             ("a reason code without a rejection, or the reverse", (out.reason >= 0) != out.rejected),
             ("deal amount negative, not finite, or on a lead without an opportunity",
              ~np.isfinite(out.amount) | (out.amount < 0) | ((out.amount > 0) & ~out.opportunity)),
             ("MQL episodes count differs from the sales log", out.episodes != np.bincount(log.ep_lead, minlength=world.n)),
             ("an MQL lead without episodes or the reverse", mql != (out.episodes > 0)),
             ("more recycles than episodes", out.recycles > out.episodes)]
    for what, bad in steps:
        p += _msg("outcomes", bad, what)
    order, _, last = episode_order(log)
    last_status = np.full(world.n, -1, np.int64)
    last_status[log.ep_lead[order][last]] = log.ep_status[order][last]
    states = ALL_TERMINAL_STATES if out.competitor is not None else TERMINAL_STATES
    p += _msg("outcomes", (out.state < 0) | (out.state >= len(states)), "terminal state out of range")
    p += _msg("outcomes", out.state != expected_state(out, last_status), "terminal state does not match the journey")
    return p
