"""Account rules of the sales stage: who owns an account, at most one opportunity per account and
buying window, and a win chance that depends on how much of the buying group sales reached.

Both outcome rules are scenario facts (`[accounts]`), applied after the lead-level outcomes
(`sim.sales.outcomes.play_out`) with the same pre-drawn luck, so every policy meets the same luck:

* an opportunity of a lead whose account already opened one in the same buying window (or, out of
  market, at all) is merged into the first: the lead stays an SQL;
* P(won) is multiplied by (1 - w) + w x coverage, where coverage = buying-group members of the
  window reached by a rep before the opportunity / the group's size (w = win_coverage_weight).
  Opportunities of accounts that were not in a window keep their chance.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from sim.config.accounts import ROLES
from sim.config.scenario import Scenario
from sim.decisions.accounts import points
from sim.vocab import ALL_TERMINAL_STATES, CHANNELS, codes
from sim.world.model import World

if TYPE_CHECKING:
    from sim.sales.log import SalesLog
    from sim.sales.outcomes import LeadOutcomes

OUTSIDE = ROLES.index("outside")
STATE = codes(ALL_TERMINAL_STATES)


def lead_owners(world: World, workers: int) -> np.ndarray:
    """int64[n]: the owner rep of each lead's CRM account (accounts dealt to reps in turn by id, as a
    territory split would; orphans are accounts of their own). Without accounts, each lead is one."""
    if workers <= 0:
        return np.full(world.n, -1, dtype=np.int64)
    crm = world.accounts.lead_crm if world.accounts is not None else np.arange(world.n, dtype=np.int64)
    return crm % workers


def win_probability(world: World, scenario: Scenario, leads: np.ndarray) -> np.ndarray:
    """P(won | opportunity) of the given leads, as `play_out` draws it (buyer or not, by channel)."""
    o = scenario.outcomes
    p = np.where(world.buyer[leads], o.win_buyer, o.win_non_buyer)
    if o.win_by_channel:
        by_channel = points(o.win_by_channel, CHANNELS, np.nan)[world.channel[leads]]
        p = np.where(np.isnan(by_channel), p, by_channel)
    return np.asarray(p, dtype=np.float64)


def reached_time(n: int, log: SalesLog) -> np.ndarray:
    """float64[n]: when an attempt that called each contact first reached them (nan if never). With a
    multi-threaded cadence the contact called (`log.at_target`), not the item's own lead, is the
    one reached; without, this is the contact time of `play_out`."""
    target = log.at_target if log.at_target is not None else log.at_lead
    hit = np.asarray(log.at_contact, bool)
    out = np.full(n, np.inf)
    np.minimum.at(out, target[hit], log.at_start[hit])
    out[np.isinf(out)] = np.nan
    return out


def coverage_at(world: World, out: LeadOutcomes, leads: np.ndarray,
                reached_at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(members reached, group size) of the buying window open at each lead's arrival, counting
    members reached by a rep at or before the lead's opportunity; (0, 0) out of market. `reached_at`
    (multi-threaded cadences, `reached_time`): when each contact was reached; default
    `out.reached_at` if set, else the leads' contact times."""
    book = world.accounts
    assert book is not None
    if reached_at is None:
        reached_at = out.reached_at
    contact_time = out.contact_time if reached_at is None else reached_at
    w = book.lead_window_at_arrival[leads]
    reached = np.zeros(leads.shape[0], dtype=np.int64)
    group = np.where(w >= 0, book.w_group[np.maximum(w, 0)], 0)
    members = np.flatnonzero((book.lead_window >= 0) & (book.lead_role != OUTSIDE) & ~np.isnan(contact_time))
    inside = np.flatnonzero(w >= 0)
    if members.size and inside.size:
        # pairs (opportunity lead, member of the same window), via a sort of the members by window
        mw = book.lead_window[members]
        order = np.argsort(mw, kind="stable")
        mw, members = mw[order], members[order]
        lo = np.searchsorted(mw, w[inside], side="left")
        hi = np.searchsorted(mw, w[inside], side="right")
        cnt = hi - lo
        rows = np.repeat(np.arange(inside.shape[0]), cnt)
        pos = np.repeat(lo - np.cumsum(np.append(0, cnt[:-1])), cnt) + np.arange(int(cnt.sum()))
        ok = contact_time[members[pos]] <= out.opportunity_time[leads[inside[rows]]]
        reached[inside] = np.bincount(rows[ok], minlength=inside.shape[0])
    return reached, np.minimum(np.maximum(group, reached), np.iinfo(np.int64).max)


def account_outcomes(world: World, scenario: Scenario, out: LeadOutcomes, log: SalesLog | None = None,
                     in_place: bool = False) -> LeadOutcomes:
    """The lead outcomes with the account rules applied (one opportunity per account and window;
    win chance by buying-group coverage). Identity for a world without accounts. `log`: with a
    multi-threaded cadence (`log.at_target` set), coverage counts the contacts its attempts reached
    (kept as `reached_at` in the result, so every later coverage reading agrees). `in_place`: change
    `out`'s columns instead of copies of them, for a caller that owns `out` and drops it (a copy of
    six per-lead columns is 27 bytes a lead: 270 MiB at 10M leads, at the run's peak)."""
    book, cfg = world.accounts, scenario.accounts
    if book is None or cfg is None:
        return out
    if log is not None and log.at_target is not None:      # coverage counts whom the calls reached
        out = dataclasses.replace(out, reached_at=reached_time(world.n, log))
    def own(a: np.ndarray) -> np.ndarray:
        return a if in_place else a.copy()
    opp_time, close_time = own(out.opportunity_time), own(out.close_time)
    won, lost, amount, state = own(out.won), own(out.lost), own(out.amount), own(out.state)
    opp = np.flatnonzero(~np.isnan(opp_time))
    if cfg.one_opportunity_per_window and opp.size:
        key_w = book.lead_window_at_arrival[opp]
        order = np.lexsort((opp_time[opp], key_w, book.lead_account[opp]))
        acc, kw = book.lead_account[opp][order], key_w[order]
        dup = np.zeros(order.size, dtype=bool)
        dup[1:] = (acc[1:] == acc[:-1]) & (kw[1:] == kw[:-1])
        merged = opp[order][dup]
        opp_time[merged] = np.nan
        close_time[merged] = np.nan
        won[merged] = False
        lost[merged] = False
        amount[merged] = 0.0
        state[merged] = STATE["sql"]
    closed = np.flatnonzero(won | lost)
    if cfg.win_coverage_weight > 0 and closed.size:
        tmp = dataclasses.replace(out, opportunity_time=opp_time)
        reached, group = coverage_at(world, tmp, closed)
        in_market = group > 0
        cov = np.where(in_market, reached / np.maximum(group, 1), 1.0)
        factor = (1.0 - cfg.win_coverage_weight) + cfg.win_coverage_weight * cov
        p = win_probability(world, scenario, closed) * factor
        is_won = world.luck.win[closed] < p
        won[closed], lost[closed] = is_won, ~is_won
        state[closed] = np.where(is_won, STATE["won"], STATE["lost"])
    return dataclasses.replace(out, opportunity_time=opp_time, close_time=close_time, won=won, lost=lost,
                               amount=amount, state=state)
