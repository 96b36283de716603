"""Account KPIs of one run (worlds with `[accounts]`), cohort-based like the lead KPIs: the accounts
of the leads created in the measurement window. Mode-neutral: measured from what sales received
(the log), so lead-level and account-level policies are compared on the same definitions.

Which account: what the company sees (the CRM account; orphan leads are accounts of their own) for
MQAs, opportunities and wins; the true account for ground truth (in market or not, recall) and for
duplicate touches, because two reps calling one company is waste whether the CRM knows it or not.
"""
from __future__ import annotations

import numpy as np

from sim.calendar import BusinessCalendar
from sim.config.accounts import ROLES
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.sales.accounts import coverage_at
from sim.sales.log import SalesLog
from sim.sales.outcomes import LeadOutcomes
from sim.vocab import ALL_TERMINAL_STATES
from sim.world.model import World

HOUR = 60.0
WORKED_SPAN = 90 * 1440.0   # minutes: an account is "being worked" for 90 days after its first touch
OUTSIDE = ROLES.index("outside")
# how far an account got: its most advanced lead decides (won beats lost beats an open opportunity...)
ADVANCE = ("nurture", "recycled", "lost_to_competitor", "in_queue", "rejected", "disqualified", "sql", "opportunity_open",
           "lost", "won")
_RANK = np.array([ADVANCE.index(s) for s in ALL_TERMINAL_STATES], dtype=np.int8)


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _hours(x: np.ndarray, q: float) -> float:
    return float(np.quantile(x, q) / HOUR) if x.size else float("nan")


def _marked(ids: np.ndarray, size: int) -> np.ndarray:
    """bool[size]: which ids occur (`np.bincount(ids, minlength=size) > 0` without the counts)."""
    out = np.zeros(size, dtype=bool)
    out[ids] = True
    return out


def how_far(account: np.ndarray, state: np.ndarray) -> np.ndarray:
    """int64[len(ADVANCE)]: engaged accounts by how far they got, their most advanced lead's state
    (leads' true accounts and terminal states given). Ranks are written in rising order, so a
    higher rank overwrites a lower one: the maximum per account, without `np.maximum.at`."""
    best = np.full(int(account.max()) + 1 if account.size else 0, -1, dtype=np.int8)
    rank = _RANK[state]
    for r in range(len(ADVANCE)):
        best[account[rank == r]] = r
    return np.bincount(best[best >= 0], minlength=len(ADVANCE))


def _first_by(key: np.ndarray, value: np.ndarray, size: int) -> np.ndarray:
    """float64[size]: the minimum value per key (inf where a key has none)."""
    out = np.full(size, np.inf)
    np.minimum.at(out, key, value)
    return out


def duplicate_attempts(world: World, log: SalesLog) -> np.ndarray:
    """bool[attempts]: the attempt was on a lead of a (true) account that another of its leads'
    attempts had started working less than WORKED_SPAN before."""
    book = world.accounts
    assert book is not None
    acc = book.lead_account[log.at_lead]
    if acc.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((log.at_start, acc))
    a_s, t_s, l_s = acc[order], log.at_start[order], log.at_lead[order]
    new = np.ones(order.size, dtype=bool)
    new[1:] = a_s[1:] != a_s[:-1]
    seg = np.cumsum(new) - 1
    first_t, first_l = t_s[new][seg], l_s[new][seg]
    dup_sorted = (l_s != first_l) & (t_s - first_t < WORKED_SPAN)
    out = np.zeros(order.size, dtype=bool)
    out[order] = dup_sorted
    return out


def account_kpis(world: World, scenario: Scenario, cal: BusinessCalendar, log: SalesLog,
                 out: LeadOutcomes, policy: Policy | None = None) -> dict[str, float | int]:
    """Every account KPI of one run (a flat dict; counts behind every share). With the policy and
    a log of whom each attempt called (`cadence.threading` set), also the threading KPIs."""
    book = world.accounts
    assert book is not None
    cohort = world.in_cohort
    c = np.flatnonzero(cohort)
    k: dict[str, float | int] = {}
    true_acc = book.lead_account
    crm = book.lead_crm
    space = book.count + world.n                       # CRM ids: accounts, then one orphan id per lead
    acc_c = true_acc[c]
    k["accounts_engaged"] = int(np.count_nonzero(_marked(acc_c, book.count)))
    reached_states = how_far(acc_c, out.state[c])
    del acc_c
    crm_c = crm[c]
    k["orphan_leads"] = int(np.count_nonzero(crm_c >= book.count))      # book.orphan of the cohort
    k["orphan_share"] = _ratio(k["orphan_leads"], c.size)

    # MQAs: CRM accounts handed to sales (a first episode of one of their cohort leads)
    first = (log.ep_index == 0) & cohort[log.ep_lead]
    handed_lead, handed_time = log.ep_lead[first], log.ep_mql_time[first]
    mqa_ids, inv = np.unique(crm[handed_lead], return_inverse=True)
    k["mqas"] = int(mqa_ids.size)
    mqa_time = np.full(mqa_ids.size, np.inf)
    np.minimum.at(mqa_time, inv, handed_time)
    # the account each MQA really is (the lead handed first), and was it in a window then
    pick = np.full(mqa_ids.size, -1, dtype=np.int64)
    at_first = handed_time == mqa_time[inv]
    pick[inv[at_first]] = handed_lead[at_first]
    real = true_acc[pick] if pick.size else np.zeros(0, np.int64)
    in_window = np.zeros(mqa_ids.size, dtype=bool)
    if book.w_account.size and real.size:
        lo = np.searchsorted(book.w_account, real, side="left")
        hi = np.searchsorted(book.w_account, real, side="right")
        for j in range(int((hi - lo).max(initial=0))):      # windows per account: a handful at most
            w = np.minimum(lo + j, book.w_account.size - 1)
            live = (lo + j < hi)
            in_window |= live & (book.w_start[w] <= mqa_time) & (mqa_time < book.w_end[w])
    k["mqas_in_market"] = int(in_window.sum())
    k["account_precision"] = _ratio(k["mqas_in_market"], k["mqas"])
    del pick, real, at_first, in_window          # (large runs: what is alive sets the peak)

    # recall: buying windows with a cohort member lead, found when their account was handed to sales inside it
    member = c[book.lead_window[c] >= 0]
    windows = np.unique(book.lead_window[member])
    k["in_market_accounts"] = int(windows.size)
    handed_true = true_acc[handed_lead]
    found = 0
    if windows.size and handed_lead.size:
        order = np.lexsort((handed_time, handed_true))
        ha, ht = handed_true[order], handed_time[order]
        wa, ws, we = book.w_account[windows], book.w_start[windows], book.w_end[windows]
        lo = np.searchsorted(ha, wa, side="left")
        hi = np.searchsorted(ha, wa, side="right")
        # first handed time of the account at or after the window's start: binary search within the account
        a_, b_ = lo.copy(), hi.copy()
        for _ in range(int(max(1, (hi - lo).max(initial=1))).bit_length() + 1):
            live = a_ < b_
            mid = (a_ + b_) >> 1
            go = live & (ht[np.minimum(mid, max(ht.size - 1, 0))] < ws)
            a_ = np.where(go, mid + 1, a_)
            b_ = np.where(go | ~live, b_, mid)
        pos = a_
        ok = pos < hi
        found = int((ok & (ht[np.minimum(pos, ht.size - 1)] < we)).sum())
    k["in_market_found"] = found
    del member, windows, handed_true
    k["account_recall"] = _ratio(found, k["in_market_accounts"])

    # opportunities and wins per CRM account
    def having(mask: np.ndarray) -> np.ndarray:
        return _marked(crm[c[mask]], space)

    opp_acc, won_acc, lost_acc = having(~np.isnan(out.opportunity_time[c])), having(out.won[c]), having(out.lost[c])
    k["mqa_opportunities"] = int(opp_acc[mqa_ids].sum())
    k["mqa_to_opportunity_rate"] = _ratio(k["mqa_opportunities"], k["mqas"])
    k["accounts_won"] = int(won_acc.sum())
    k["accounts_lost"] = int((lost_acc & ~won_acc).sum())
    k["account_win_rate"] = _ratio(k["accounts_won"], k["accounts_won"] + k["accounts_lost"])
    del opp_acc, won_acc, lost_acc
    won_c = c[out.won[c]]
    k["bookings_per_account"] = _ratio(float(out.amount[won_c].sum()), k["accounts_engaged"])
    k["pipeline_per_account"] = _ratio(float(out.amount[c].sum()), k["accounts_engaged"])

    # buying-group coverage at opportunity (in-market opportunities)
    opp_leads = c[~np.isnan(out.opportunity_time[c])]     # out.opportunity, of the cohort only
    reached, group = coverage_at(world, out, opp_leads)       # out.reached_at under a multi-threaded cadence
    k["coverage_reached"] = int(reached[group > 0].sum())
    k["coverage_group"] = int(group[group > 0].sum())
    k["buying_group_coverage"] = _ratio(k["coverage_reached"], k["coverage_group"])

    # duplicate touches: attempts on cohort leads of accounts already being worked by another lead
    dup = duplicate_attempts(world, log)
    on_cohort = cohort[log.at_lead]
    k["duplicate_touches"] = int((dup & on_cohort).sum())
    k["duplicate_touch_share"] = _ratio(k["duplicate_touches"], int(on_cohort.sum()))

    # from the account's first engaged contact to its first touch (MQA accounts that were touched)
    mine = _marked(mqa_ids, space)[crm_c]             # cohort leads of an MQA's CRM account
    slot = np.empty(space, dtype=np.int32)            # CRM id -> its MQA's position (a gather, not a
    slot[mqa_ids] = np.arange(mqa_ids.size, dtype=np.int32)   # binary search per lead: 0.6 s at 10M)
    first_seen = _first_by(slot[crm_c[mine]], world.arrival[c[mine]], mqa_ids.size)
    del crm_c, mine, slot
    touched = np.isfinite(log.ep_first_touch) & first
    first_touch = _first_by(inv[touched[first]], log.ep_first_touch[first][touched[first]], mqa_ids.size)
    has = np.isfinite(first_touch)
    wait = first_touch[has] - first_seen[has]
    k["account_first_touch_p50_hours"] = _hours(wait, 0.5)
    k["account_first_touch_p90_hours"] = _hours(wait, 0.9)
    if policy is not None and log.at_target is not None:
        k.update(threading_kpis(world, policy, cal, log, mqa_ids, mqa_time, first_touch, inv, first))

    # where each engaged account ended (reached_states, above)
    for i, name in enumerate(ADVANCE):
        k[f"account_state_{name}"] = int(reached_states[i])
    return k


def account_table(world: World, log: SalesLog, out: LeadOutcomes) -> dict[str, np.ndarray]:
    """One row per account with a cohort lead (the `--events` accounts table): firmographics, how
    many leads and buying-group members it had, when it was first handed to sales and touched,
    whether it opened an opportunity and won, and where it ended (its most advanced lead)."""
    book = world.accounts
    assert book is not None
    c = np.flatnonzero(world.in_cohort)
    acc = book.lead_account[c]
    ids, inv = np.unique(acc, return_inverse=True)
    k = ids.size
    first = (log.ep_index == 0) & world.in_cohort[log.ep_lead]
    pos = np.searchsorted(ids, book.lead_account[log.ep_lead[first]])
    handed = np.full(k, np.inf)
    np.minimum.at(handed, pos, log.ep_mql_time[first])
    touch = np.full(k, np.inf)
    ft = log.ep_first_touch[first]
    has = ~np.isnan(ft)
    np.minimum.at(touch, pos[has], ft[has])
    best = np.zeros(k, dtype=np.int64)
    np.maximum.at(best, inv, _RANK[out.state[c]])
    amount = np.zeros(k)
    np.add.at(amount, inv, np.where(out.won[c], out.amount[c], 0.0))
    return {
        "account": ids, "company_size": book.size[ids], "industry": book.industry[ids], "region": book.region[ids],
        "existing_customer": book.existing_customer[ids], "open_deal": book.open_deal[ids],
        "leads": np.bincount(inv, minlength=k), "members": np.bincount(inv, weights=book.lead_window[c] >= 0,
                                                                        minlength=k).astype(np.int64),
        "orphans": np.bincount(inv, weights=book.orphan[c], minlength=k).astype(np.int64),
        "handed": np.where(np.isfinite(handed), handed, np.nan), "first_touch": np.where(np.isfinite(touch), touch, np.nan),
        "opportunity": np.bincount(inv, weights=out.opportunity[c], minlength=k) > 0,
        "won": np.bincount(inv, weights=out.won[c], minlength=k) > 0, "bookings": amount,
        "state": best,
    }


def threading_kpis(world: World, policy: Policy, cal: BusinessCalendar, log: SalesLog, mqa_ids: np.ndarray,
                   mqa_time: np.ndarray, first_touch: np.ndarray, inv: np.ndarray,
                   first: np.ndarray) -> dict[str, float | int]:
    """KPIs of account work (policy cadence.threading set): contacts touched per account (distinct
    contacts the attempts on cohort items called, over the CRM accounts those attempts were on) and
    the account SLA: the clock starts when the account was first handed to sales (its MQA) and is
    met by the first touch of any of its contacts within the SLA target of the tier of its first item
    (the most urgent of its items opened then)."""
    from sim.measure.kpis import sla_deadlines

    target = log.at_target
    assert target is not None
    on = world.in_cohort[log.at_lead]
    crm = world.accounts.lead_crm if world.accounts is not None else np.arange(world.n, dtype=np.int64)
    k: dict[str, float | int] = {}
    k["contacts_touched"] = int(np.unique(target[on]).size)
    k["accounts_touched"] = int(np.unique(crm[log.at_lead[on]]).size)
    k["contacts_touched_per_account"] = _ratio(k["contacts_touched"], k["accounts_touched"])
    # the tier of each MQA's clock: its earliest items' most urgent tier (the MQA's own item; the
    # other contacts' items of work_items = "contact" open at the same time in the standard tier)
    tier = np.full(mqa_ids.size, np.iinfo(np.int8).max, dtype=np.int8)
    ft, fi = log.ep_mql_time[first], log.ep_tier[first]
    earliest = ft == mqa_time[inv]
    np.minimum.at(tier, inv[earliest], fi[earliest])
    deadline = sla_deadlines(cal, policy, mqa_time, tier) if mqa_ids.size else np.zeros(0)
    k["account_sla_met"] = int((first_touch <= deadline).sum())
    k["account_sla_compliance"] = _ratio(k["account_sla_met"], mqa_ids.size)
    return k
