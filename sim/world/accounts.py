"""The account layer of a world: a finite market of companies, their hidden buying windows, and which
account (and buying role) each arriving lead belongs to.

Why this way: arrival times and channels stay those of the lead world (volume, weekday and hourly
rhythm, spikes), and the account layer decides *who* each arriving lead is. Buying windows open as a
Poisson process per account (rate set so `in_market_share` of accounts are in a window at any time,
scaled by the true ICP's size and industry multipliers); each window's engaging buying-group
members get target times `start + Exp(contact_spread)`, and every target takes the arriving lead
nearest in time (a few passes resolve two targets wanting one lead; targets left over are members
who never showed up). So members of one account arrive within weeks of each other, and every other
lead is a researcher at a random account, mostly alone. All vectorised, from the world's own
"accounts" sub-stream: every policy meets the same accounts, windows, contacts and luck.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.accounts import BUYING_ROLES, ROLES, Accounts
from sim.config.scenario import Scenario, Truth
from sim.vocab import COMPANY_SIZES, EMAIL_KINDS, INDUSTRIES, REGIONS, SENIORITIES
from sim.world.luck import streams
from sim.world.population import Attributes, categorical, shares_vector

ACCOUNTS_PER_YEARLY_LEAD = 0.375
OUTSIDE = ROLES.index("outside")
_BUSINESS = EMAIL_KINDS.index("business")
_NOT_AT_WORK = np.array([k in ("student", "competitor") for k in EMAIL_KINDS])
_PASSES = (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6, 8, -8, 12, -12, 16, -16)
_STREAMS = ("firmographics", "windows", "members", "researchers", "roles", "match", "intent")   # append only


@dataclass(frozen=True, eq=False)
class AccountBook:
    """The market's accounts, their buying windows and intent surges, and each lead's account.

    Accounts are 0..count-1; windows and surges are sorted by (account, start). A lead's CRM account
    (`lead_crm`) is its true account when matched, else an orphan id count + lead index."""

    count: int
    size: np.ndarray             # int8[A], vocab.COMPANY_SIZES
    industry: np.ndarray         # int8[A]
    region: np.ndarray           # int8[A]
    existing_customer: np.ndarray  # bool[A]
    open_deal: np.ndarray        # bool[A]
    w_account: np.ndarray        # int64[W]
    w_start: np.ndarray          # float64[W], minutes (may be < 0: open at time zero)
    w_end: np.ndarray            # float64[W]
    w_group: np.ndarray          # int64[W]: buying-group size (people), >= 1
    lead_account: np.ndarray     # int64[n]
    lead_crm: np.ndarray         # int64[n]
    lead_role: np.ndarray        # int8[n], config.accounts.ROLES
    lead_window: np.ndarray      # int64[n]: window of a buying-group member, else -1
    lead_window_at_arrival: np.ndarray  # int64[n]: the account's window open at the lead's arrival, else -1
    s_account: np.ndarray        # int64[S]: intent surges (empty without intent data)
    s_start: np.ndarray          # float64[S]
    s_end: np.ndarray            # float64[S]

    @property
    def orphan(self) -> np.ndarray:
        """bool[n]: the CRM did not link the lead to its account."""
        return self.lead_crm >= self.count


@dataclass(frozen=True)
class Placed:
    """What the account layer decides about the leads of a world."""

    book: AccountBook
    attrs: Attributes
    buyer: np.ndarray            # bool[n]: a buying-group member of an account in a buying window


def _plain(mix: Mapping[Any, float] | None) -> dict[str, float]:
    """A mix keyed by vocabulary literals as a plain {name: share} dict (what shares_vector reads)."""
    return {str(k): float(v) for k, v in (mix or {}).items()}


def account_count(cfg: Accounts, leads_per_year: float) -> int:
    """Accounts in the market: the scenario's count, or 0.375 per yearly lead (at least 1)."""
    return int(cfg.count) if cfg.count is not None else max(1, int(round(ACCOUNTS_PER_YEARLY_LEAD * leads_per_year)))


def _mean_one(weights: np.ndarray, of: np.ndarray) -> np.ndarray:
    """Per-account multipliers weights[of] scaled to mean 1 over the accounts."""
    m = weights[of]
    mean = float(m.mean()) if m.size else 1.0
    return m / mean if mean > 0 else np.ones_like(m)


def _windows(cfg: Accounts, scenario: Scenario, size: np.ndarray, industry: np.ndarray, end: float,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(account, start, end) of every buying window that overlaps [0, end), sorted by (account, start).

    Starts are Poisson per account over [-longest, end) at rate share_a / mean length, so the expected
    share of accounts in a window at any time is share_a (averaging in_market_share)."""
    a = size.shape[0]
    median = cfg.window_length.minutes
    mean_len = median * float(np.exp(cfg.window_sigma ** 2 / 2))
    lead_in = median * float(np.exp(3.0 * cfg.window_sigma))           # windows opening before 0 that may still be open
    share = cfg.in_market_share * _mean_one(shares_vector(_plain(scenario.truth.company_size), COMPANY_SIZES, 1.0), size) \
        * _mean_one(shares_vector(_plain(scenario.truth.industry), INDUSTRIES, 1.0), industry)
    share = np.minimum(share, 0.95)
    span = end + lead_in
    counts = rng.poisson(share / mean_len * span)
    account = np.repeat(np.arange(a, dtype=np.int64), counts)
    start = -lead_in + span * rng.random(account.shape[0])
    length = median * np.exp(cfg.window_sigma * rng.standard_normal(account.shape[0]))
    stop = start + length
    keep = stop > 0.0
    account, start, stop = account[keep], start[keep], stop[keep]
    order = np.lexsort((start, account))
    return account[order], start[order], stop[order]


def _match(arrival: np.ndarray, target: np.ndarray) -> np.ndarray:
    """For each target time (ascending), the index of a distinct arriving lead near it, or -1.

    Pass p offers every unmatched target the lead at its nearest index + _PASSES[p]; a lead wanted by
    several targets goes to the earliest. Deterministic, vectorised, a handful of passes."""
    n = arrival.shape[0]
    out = np.full(target.shape[0], -1, dtype=np.int64)
    if n == 0 or target.size == 0:
        return out
    right = np.searchsorted(arrival, target)
    left = np.maximum(right - 1, 0)
    rc = np.minimum(right, n - 1)
    nearest = np.where(np.abs(arrival[rc] - target) < np.abs(arrival[left] - target), rc, left)
    taken = np.zeros(n, dtype=bool)
    for step in _PASSES:
        todo = np.flatnonzero(out < 0)
        if todo.size == 0:
            break
        cand = nearest[todo] + step
        ok = (cand >= 0) & (cand < n)
        todo, cand = todo[ok], cand[ok]
        free = ~taken[cand]
        todo, cand = todo[free], cand[free]
        uniq, first = np.unique(cand, return_index=True)
        out[todo[first]] = uniq
        taken[uniq] = True
    return out


def _open_window(w_account: np.ndarray, w_start: np.ndarray, w_end: np.ndarray, n_accounts: int,
                 account: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each (account, time), the latest-starting window of that account open at t, else -1
    (windows sorted by (account, start); an account has a handful of windows at most)."""
    out = np.full(account.shape[0], -1, dtype=np.int64)
    if w_account.size == 0 or account.size == 0:
        return out
    count = np.bincount(w_account, minlength=n_accounts)
    first = np.zeros(n_accounts + 1, dtype=np.int64)                  # CSR offsets of each account's windows
    np.cumsum(count, out=first[1:])
    windows = count.astype(np.int32)[account]
    todo = np.flatnonzero(windows > 0)       # window j is looked at for the leads whose account has more
    lo, windows = first[account[todo]], windows[todo]     # than j (most accounts have none or one)
    j = 0
    while todo.size:
        w = lo + j
        at = t[todo]
        hit = (w_start[w] <= at) & (at < w_end[w])
        out[todo[hit]] = w[hit]              # a later-starting window overwrites an earlier one
        j += 1
        more = windows > j
        todo, lo, windows = todo[more], lo[more], windows[more]
    return out


def _by_size(weight_of_size: np.ndarray, size: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Accounts drawn with probability proportional to their size's weight, from one uniform each:
    the size class by its total weight, then an account uniformly within the class (the uniform's
    position inside its class), so no search over every account."""
    order = np.argsort(size, kind="stable")
    count = np.bincount(size, minlength=weight_of_size.shape[0]).astype(np.float64)
    total = weight_of_size * count
    if total.sum() <= 0:
        total = count
    cls = categorical(total, u)
    cum = np.concatenate(([0.0], np.cumsum(total / total.sum())))
    # per class (a few), then gathered per draw: the same float operations as per draw
    share = cum[1:] - cum[:-1]
    divisor = np.where(share > 0, share, 1.0)
    start = np.concatenate(([0], np.cumsum(count.astype(np.int64))))
    within = np.clip((u - cum[:-1][cls]) / divisor[cls], 0.0, np.nextafter(1.0, 0.0))
    pick = start[:-1][cls] + (within * count[cls]).astype(np.int64)
    out: np.ndarray = order[np.minimum(pick, (start[1:] - 1)[cls])].astype(np.int64, copy=False)
    return out


def place_leads(scenario: Scenario, arrival: np.ndarray, attrs: Attributes, end: float,
                ss: np.random.SeedSequence) -> Placed:
    """Build the market and decide each arriving lead's account, role and buyer flag.

    Firmographics and the customer/open-deal flags become the account's; a buying-group member's
    seniority follows its role, and a member never has a student or competitor email."""
    cfg = scenario.accounts
    assert cfg is not None
    rng = streams(ss, _STREAMS)
    pop = scenario.population
    a = account_count(cfg, scenario.arrivals.leads_per_year)
    n = arrival.shape[0]

    f = rng["firmographics"]
    size = categorical(shares_vector(_plain(cfg.company_size), COMPANY_SIZES), f.random(a)).astype(np.int8)
    industry = categorical(shares_vector(_plain(cfg.industry or pop.industry), INDUSTRIES), f.random(a)).astype(np.int8)
    region = categorical(shares_vector(_plain(cfg.region or pop.region), REGIONS), f.random(a)).astype(np.int8)
    existing = f.random(a) < cfg.existing_customer_share
    open_deal = f.random(a) < cfg.open_deal_share

    w_account, w_start, w_end = _windows(cfg, scenario, size, industry, end, rng["windows"])
    n_w = w_account.shape[0]
    m = rng["members"]
    mean_group = shares_vector(_plain(cfg.buying_group), COMPANY_SIZES, 1.0)[size[w_account]]
    w_group = np.minimum(1 + m.poisson(mean_group - 1.0), cfg.max_contacts).astype(np.int64)
    shows = m.binomial(w_group, cfg.show_up_share)
    member_w = np.repeat(np.arange(n_w, dtype=np.int64), shows)
    target = w_start[member_w] + cfg.contact_spread.minutes * m.standard_exponential(member_w.shape[0])
    inside = (target >= 0.0) & (target < np.minimum(w_end[member_w], end))
    member_w, target = member_w[inside], target[inside]
    order = np.argsort(target, kind="stable")
    member_w, target = member_w[order], target[order]
    who = _match(arrival, target)
    got = who >= 0
    member_lead, member_w = who[got], member_w[got]

    lead_window = np.full(n, -1, dtype=np.int64)
    lead_window[member_lead] = member_w
    buyer = lead_window >= 0
    lead_account = np.empty(n, dtype=np.int64)
    lead_account[member_lead] = w_account[member_w]
    researchers = np.flatnonzero(~buyer)
    lead_account[researchers] = _by_size(shares_vector(_plain(cfg.researcher_weight), COMPANY_SIZES), size,
                                         rng["researchers"].random(researchers.shape[0]))

    roles = rng["roles"]
    lead_role = np.full(n, OUTSIDE, dtype=np.int8)
    role = categorical(shares_vector(_plain(cfg.role_mix), BUYING_ROLES), np.asarray(roles.random(size=member_lead.shape[0])))
    lead_role[member_lead] = role
    u_sen = np.asarray(roles.random(size=member_lead.shape[0]))
    seniority = attrs.seniority.copy()
    for r, name in enumerate(BUYING_ROLES):
        pick = role == r
        mix = cfg.role_seniority.get(name)
        if mix and pick.any():
            seniority[member_lead[pick]] = categorical(shares_vector(_plain(mix), SENIORITIES), u_sen[pick])
    email = attrs.email_kind.copy()
    email[member_lead[_NOT_AT_WORK[email[member_lead]]]] = _BUSINESS

    matched = rng["match"].random(n) < cfg.match_rate
    lead_crm = np.where(matched, lead_account, a + np.arange(n, dtype=np.int64))
    at_arrival = _open_window(w_account, w_start, w_end, a, lead_account, arrival)
    s_account, s_start, s_end = _surges(cfg, w_account, w_start, w_end, a, end, rng["intent"])

    book = AccountBook(count=a, size=size, industry=industry, region=region, existing_customer=existing,
                       open_deal=open_deal, w_account=w_account, w_start=w_start, w_end=w_end, w_group=w_group,
                       lead_account=lead_account, lead_crm=lead_crm, lead_role=lead_role, lead_window=lead_window,
                       lead_window_at_arrival=at_arrival, s_account=s_account, s_start=s_start, s_end=s_end)
    placed_attrs = Attributes(seniority=seniority, company_size=size[lead_account], industry=industry[lead_account],
                              region=region[lead_account], email_kind=email,
                              existing_customer=existing[lead_account], open_deal=open_deal[lead_account])
    return Placed(book=book, attrs=placed_attrs, buyer=buyer)


def draw_intent(truth: Truth, buyer: np.ndarray, ss: np.random.SeedSequence) -> np.ndarray:
    """float64[n] hidden intent given the account layer's buyer flags, from the truth stream's own
    intent sub-streams (the lead world's `draw_truth`, with the buyer flag decided here)."""
    n = buyer.shape[0]
    rngs = streams(ss, ("buyer", "buyer_intent", "researcher_intent"))
    intent_if_buyer = rngs["buyer_intent"].beta(*truth.buyer_intent, size=n)
    intent_if_researcher = rngs["researcher_intent"].beta(*truth.researcher_intent, size=n)
    return np.where(buyer, intent_if_buyer, intent_if_researcher)


def _surges(cfg: Accounts, w_account: np.ndarray, w_start: np.ndarray, w_end: np.ndarray, a: int, end: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intent surges (account, start, end) sorted by (account, start): detected windows from start +
    lag to their end, and false alarms at rate false_alarm_rate / surge_length per account."""
    if cfg.intent is None:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
    it = cfg.intent
    hit = rng.random(w_account.shape[0]) < it.hit_rate
    lag = it.lag.minutes
    t_acc, t_start, t_end = w_account[hit], w_start[hit] + lag, w_end[hit]
    ok = t_end > t_start
    length = it.surge_length.minutes
    counts = rng.poisson(it.false_alarm_rate / length * (end + length), size=a)
    f_acc = np.repeat(np.arange(a, dtype=np.int64), counts)
    f_start = -length + (end + length) * rng.random(f_acc.shape[0])
    acc = np.concatenate([t_acc[ok], f_acc])
    start = np.concatenate([t_start[ok], f_start])
    stop = np.concatenate([t_end[ok], f_start + length])
    order = np.lexsort((start, acc))
    return acc[order], start[order], stop[order]
