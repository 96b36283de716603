"""What happens after a rep reaches an MQL: SAL or rejection (with a reason that follows the lead's
true attributes), SQL, opportunity, won/lost, when, and for how much.

Vectorised over leads: these stages do not compete for rep time in the model, so they need no
SimPy. Each chance uses the lead's own pre-drawn uniform (`world.luck`), and the chance of
qualifying falls with the time the lead waited since its MQL (the qualify part of the decay).

Three switches, all off by default (then the results are today's exactly):

* the hand-off (`scenario.handoff`): SQL -> opportunity needs a discovery meeting held by an AE
  (`sim.sales.handoff`, a second SimPy stage run here on the SQL times); the opportunity opens at
  the held meeting's time;
* a competitor (`scenario.competitor`, `sim.sales.competitor`): a buyer still waiting for the
  first touch of an MQL episode when its competitor time (since that MQL, clock time) comes ends
  `lost_to_competitor`, and so does an SQL still waiting for its AE meeting when its competitor
  time (since the SQL) comes;
* load-dependent quality (`scenario.load_quality`): a conversation held after a working day of SDR
  utilisation above the level qualifies less (the SDR stage has already shortened it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.typing import NDArray

from sim.calendar import BusinessCalendar
from sim.config.scenario import Scenario
from sim.normal import ndtri
from sim.sales.competitor import CompetitorClock
from sim.sales.episode import ABANDONED, CONTACTED, OPEN
from sim.sales.handoff import COMPETITOR as COMPETITOR_AT_AE
from sim.sales.handoff import HELD, HandoffParams, HandoffStage, Meetings
from sim.sales.load_quality import under_load
from sim.sales.log import SalesLog
from sim.vocab import (
    ALL_TERMINAL_STATES,
    CHANNELS,
    COMPANY_SIZES,
    EMAIL_KINDS,
    REGIONS,
    REJECTION_REASONS,
    SENIORITIES,
    codes,
)
from sim.world.model import World

STATE = codes(ALL_TERMINAL_STATES)      # the codes of TERMINAL_STATES, then lost_to_competitor

# Up to this many MQL episodes of one lead, its last episode is found index by index (a pass over the
# episodes each) rather than by sorting them all (0.18 s at 10M leads). Chosen without a source.
_FEW_EPISODES = 16

# LeadOutcomes.competitor: where a competitor took the lead
TAKEN_NONE, TAKEN_FIRST_TOUCH, TAKEN_MEETING = 0, 1, 2


@dataclass(frozen=True)
class LeadOutcomes:
    """One row per lead of the world: its journey through the funnel and where it ended."""

    first_mql: np.ndarray       # float64, inf if never an MQL
    first_tier: np.ndarray      # int8, -1 if never
    first_touch: np.ndarray     # float64, nan if never touched (first episode's first attempt)
    episodes: np.ndarray        # int64: MQL episodes (1 + re-MQLs)
    recycles: np.ndarray        # int64: times sent back to nurture
    contact_time: np.ndarray    # float64, nan if never reached
    contact_delay: np.ndarray   # float64: contact time - that episode's MQL time
    rejected: np.ndarray        # bool
    reason: np.ndarray          # int8 into REJECTION_REASONS, -1 if not rejected
    sal: np.ndarray             # bool: accepted by sales
    sql_time: NDArray[np.float64]           # nan if not (yet) SQL by the end of the run
    opportunity_time: NDArray[np.float64]
    close_time: np.ndarray
    won: np.ndarray             # bool
    lost: np.ndarray            # bool
    amount: np.ndarray          # float64 deal size of opportunities (0 otherwise)
    state: np.ndarray           # int8 into ALL_TERMINAL_STATES (TERMINAL_STATES unless a competitor is on)
    competitor: np.ndarray | None = None   # int8 TAKEN_*: where a competitor took it (None: competitor off)
    meetings: Meetings | None = None       # the AE stage's record (None: hand-off off)
    # when each contact was first reached by a call aimed at them (a multi-threaded cadence calls
    # other contacts than the item's lead; sim.sales.accounts.account_outcomes sets it); None: contact_time
    reached_at: np.ndarray | None = None

    @property
    def sql(self) -> NDArray[np.bool_]:
        return ~np.isnan(self.sql_time)

    @property
    def opportunity(self) -> NDArray[np.bool_]:
        return ~np.isnan(self.opportunity_time)


def _lognormal(median_minutes: float, sigma: float, u: np.ndarray) -> np.ndarray:
    return median_minutes * np.exp(sigma * ndtri(np.clip(u, 1e-12, 1 - 1e-12)))


def rejection_probabilities(world: World, scenario: Scenario, leads: np.ndarray) -> np.ndarray:
    """P(each rejection reason applies) for the given leads: float[len(leads), len(REASONS)]."""
    o = scenario.outcomes
    title = np.array([o.reject_wrong_title.get(s, 0.0) for s in SENIORITIES])  # type: ignore[call-overload]  # sim.vocab types the names tuple[str, ...], not its Literal
    bad = np.array([o.bad_contact_data.get(e, 0.0) for e in EMAIL_KINDS])  # type: ignore[call-overload]  # sim.vocab types the names tuple[str, ...], not its Literal
    served = np.array([r in scenario.sales.territories for r in REGIONS])
    p = np.zeros((leads.size, len(REJECTION_REASONS)))
    p[:, 0] = title[world.seniority[leads]]
    p[:, 1] = ~served[world.region[leads]]
    p[:, 2] = np.where(world.open_deal[leads], o.reject_already_in_deal, 0.0)
    p[:, 3] = np.where(world.buyer[leads], 0.0, o.reject_non_buyer)
    p[:, 4] = bad[world.email_kind[leads]]
    return p


def first_touch_losses(world: World, log: SalesLog, clock: CompetitorClock) -> np.ndarray:
    """The leads a competitor took while one of their MQL episodes waited for its first touch: the
    episode's competitor time (its own draw, since its MQL) came before that touch, or before the
    untouched episode ended (recycled, abandoned) or the run did."""
    touched = ~np.isnan(log.ep_first_touch)
    until = np.where(touched, log.ep_first_touch,
                     np.where(log.ep_status == OPEN, world.end, log.ep_end_time))
    t_c = clock.times(world.luck.key[log.ep_lead], world.buyer[log.ep_lead], log.ep_index)
    gone = until - log.ep_mql_time > t_c
    return np.unique(log.ep_lead[gone])


def play_out(world: World, scenario: Scenario, log: SalesLog,
             qualify: Callable[[np.ndarray, np.ndarray], np.ndarray],
             cal: BusinessCalendar | None = None, rep_qualify: np.ndarray | None = None) -> LeadOutcomes:
    """Turn the sales log into each lead's outcome and terminal state. `qualify(p, delay)` turns a
    reference chance of SQL into the chance for a lead reached `delay` after its MQL. `cal` (the
    scenario's calendar) is needed by the hand-off and load-dependent quality when they are on.
    `rep_qualify` (per lead, reps as people): the qualification skill of the rep who reached it, a
    multiplier."""
    n, end, o, luck = world.n, world.end, scenario.outcomes, world.luck
    clock = CompetitorClock.from_scenario(scenario)
    if (scenario.handoff.enabled or scenario.load_quality.enabled) and cal is None:
        raise ValueError("play_out needs the business calendar when the hand-off or load quality is on")
    first_mql = np.full(n, np.inf)
    first_tier = np.full(n, -1, np.int8)
    first_touch = np.full(n, np.nan)
    episodes = np.bincount(log.ep_lead, minlength=n).astype(np.int64, copy=False)
    # sent back to nurture: ended without a contact (a lead that went cold and left in queueing mode
    # with patience was abandoned, not recycled)
    recycled = (log.ep_status != CONTACTED) & (log.ep_status != OPEN) & (log.ep_status != ABANDONED)
    recycles = np.bincount(log.ep_lead[recycled], minlength=n).astype(np.int64, copy=False)   # counted, not summed as floats
    first = log.ep_index == 0
    fl = log.ep_lead[first]
    first_mql[fl] = log.ep_mql_time[first]
    first_tier[fl] = log.ep_tier[first]
    first_touch[fl] = log.ep_first_touch[first]

    # the last episode of each lead decides its state in the sales stage
    last_status = np.full(n, -1, np.int8)
    top = int(log.ep_index.max()) if log.ep_index.size else -1
    if top < _FEW_EPISODES:    # a lead has one episode per index: index by index, the last one written wins
        for index in range(top + 1):
            at = log.ep_index == index
            last_status[log.ep_lead[at]] = log.ep_status[at]
    else:
        order = np.lexsort((log.ep_index, log.ep_lead))
        lead_sorted = log.ep_lead[order]
        is_last = np.append(lead_sorted[1:] != lead_sorted[:-1], True)
        last_status[lead_sorted[is_last]] = log.ep_status[order][is_last]  # each lead's highest episode

    reached = log.ep_status == CONTACTED
    c_lead = log.ep_lead[reached]
    contact_time = np.full(n, np.nan)
    contact_delay = np.full(n, np.nan)
    contact_time[c_lead] = log.ep_end_time[reached]
    contact_delay[c_lead] = log.ep_end_time[reached] - log.ep_mql_time[reached]

    # competitor: a buyer still waiting for the first touch of an MQL episode when its competitor
    # time comes is taken (the truth: whether or not a rep reaches it later, and then the
    # conversation finds it gone)
    taken = np.zeros(n, np.int8) if clock is not None else None
    if clock is not None and taken is not None:
        taken[first_touch_losses(world, log, clock)] = TAKEN_FIRST_TOUCH
        c_lead = c_lead[taken[c_lead] == 0]

    # acceptance: every reason that applies may reject; the reason drawn among them by weight
    p = rejection_probabilities(world, scenario, c_lead)
    p_accept = np.prod(1.0 - p, axis=1)
    rej = luck.reject[c_lead] >= p_accept
    rejected = np.zeros(n, bool)
    rejected[c_lead] = rej
    reason = np.full(n, -1, np.int8)
    if rej.any():
        w = p[rej]
        cum = np.cumsum(w, axis=1) / w.sum(axis=1, keepdims=True)
        reason[c_lead[rej]] = (luck.reason[c_lead[rej], None] >= cum).sum(axis=1).clip(0, len(REJECTION_REASONS) - 1)
    sal = np.zeros(n, bool)
    sal[c_lead[~rej]] = True

    # SQL, opportunity, won: buyer-dependent chances; SQL decays with the wait before contact
    s = np.flatnonzero(sal)
    buyer = world.buyer[s]
    p_sql = qualify(np.where(buyer, o.sql_buyer, o.sql_non_buyer), contact_delay[s])
    if rep_qualify is not None:
        p_sql = np.minimum(p_sql * rep_qualify[s], 1.0)
    if scenario.load_quality.enabled and cal is not None:
        lq = scenario.load_quality
        loaded = under_load(log, cal, scenario.sales.mql_time_share, contact_time[s], lq.above)
        p_sql = np.where(loaded, p_sql * lq.qualify_factor, p_sql)
    t_sql = contact_time[s] + _lognormal(o.sql_delay.minutes, o.delay_sigma, luck.sql_delay[s])
    is_sql = (luck.sql[s] < p_sql) & (t_sql < end)
    p_opp = np.where(buyer, o.opportunity_buyer, o.opportunity_non_buyer)
    meetings = None
    if scenario.handoff.enabled and cal is not None:
        # an AE meeting decides: the opportunity opens at the held meeting, with the same chance
        meetings = _hand_off(world, scenario, cal, s, is_sql, t_sql, clock)
        t_opp = np.full(s.size, np.nan)
        held = meetings.status == HELD
        pos = np.searchsorted(s, meetings.lead)            # s is sorted (flatnonzero)
        t_opp[pos[held]] = meetings.meeting_time[held]
        is_opp = ~np.isnan(t_opp) & (luck.opportunity[s] < p_opp)
        if taken is not None:
            taken[meetings.lead[meetings.status == COMPETITOR_AT_AE]] = TAKEN_MEETING
    else:
        t_opp = t_sql + _lognormal(o.opportunity_delay.minutes, o.delay_sigma, luck.opportunity_delay[s])
        is_opp = is_sql & (luck.opportunity[s] < p_opp) & (t_opp < end)
    p_win = np.where(buyer, o.win_buyer, o.win_non_buyer)
    if o.win_by_channel:   # calibrated per channel: replaces the buyer-dependent chance
        by_channel = np.array([o.win_by_channel.get(c, np.nan) for c in CHANNELS])[world.channel[s]]  # type: ignore[call-overload]  # sim.vocab types the names tuple[str, ...], not its Literal
        p_win = np.where(np.isnan(by_channel), p_win, by_channel)
    cycle_sigma = o.delay_sigma if o.cycle_sigma is None else o.cycle_sigma
    t_close = t_opp + _lognormal(o.cycle.minutes, cycle_sigma, luck.cycle[s])
    closed = is_opp & (t_close < end)
    is_won = closed & (luck.win[s] < p_win)
    sizes = np.array([o.deal_size.get(c, 0.0) for c in COMPANY_SIZES])  # type: ignore[call-overload]  # sim.vocab types the names tuple[str, ...], not its Literal
    amt = sizes[world.company_size[s]] * np.exp(o.deal_size_sigma * ndtri(np.clip(luck.deal_size[s], 1e-12, 1 - 1e-12)))

    sql_time = np.full(n, np.nan)
    opp_time = np.full(n, np.nan)
    close_time = np.full(n, np.nan)
    won = np.zeros(n, bool)
    lost = np.zeros(n, bool)
    amount = np.zeros(n)
    sql_time[s[is_sql]] = t_sql[is_sql]
    opp_time[s[is_opp]] = t_opp[is_opp]
    close_time[s[closed]] = t_close[closed]
    won[s[is_won]] = True
    lost[s[closed & ~is_won]] = True
    amount[s[is_opp]] = amt[is_opp]

    state = np.full(n, STATE["nurture"], np.int8)
    state[last_status >= 0] = STATE["recycled"]
    state[last_status == OPEN] = STATE["in_queue"]
    state[rejected] = STATE["rejected"]
    state[sal] = STATE["disqualified"]
    state[~np.isnan(sql_time)] = STATE["sql"]
    state[~np.isnan(opp_time)] = STATE["opportunity_open"]
    state[won] = STATE["won"]
    state[lost] = STATE["lost"]
    if taken is not None:
        state[taken > 0] = STATE["lost_to_competitor"]
    return LeadOutcomes(first_mql, first_tier, first_touch, episodes, recycles, contact_time, contact_delay,
                        rejected, reason, sal, sql_time, opp_time, close_time, won, lost, amount, state,
                        taken, meetings)


def _hand_off(world: World, scenario: Scenario, cal: BusinessCalendar, s: np.ndarray, is_sql: np.ndarray,
              t_sql: np.ndarray, clock: CompetitorClock | None) -> Meetings:
    """Play the AE stage on the SQLs (`s[is_sql]` at `t_sql[is_sql]`), in SQL time order."""
    sq = s[is_sql]
    order = np.argsort(t_sql[is_sql], kind="stable")
    sq, ts = sq[order], t_sql[is_sql][order]
    after = clock.times(world.luck.key[sq], world.buyer[sq], 0, meeting=True) if clock is not None else None
    stage = HandoffStage(HandoffParams.resolve(scenario), cal, world.end, world.luck.key)
    return stage.run(sq, ts, after)
