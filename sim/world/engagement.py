"""Each lead's engagement events (demo requests, pricing visits, opens...) as flat CSR arrays.

Model: a lead's interest decays as exp(-t / L) after arrival, with L lognormal across leads. The
expected count of event type k over that life interpolates by intent between the researcher and the
buyer profile, lam_k = (1 - x) r_k + x b_k. Because a sum of independent Poisson counts is Poisson and
splits by type independently, "Poisson(lam_k) per type" is drawn as two Poisson counts per lead
(researcher part, buyer part) whose events take their types from the fixed r / b shares: the same
distribution with two draws per lead instead of twelve. Event times are arrival + L x Exp(1).

Some leads get a second wave (re-engagement) later. Leads of most channels arrive *by* an event (the
form they filled); a hand-raising entry is more likely the more in-market the lead is.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.config.scenario import Engagement
from sim.vocab import CHANNELS, EVENT_TYPES, HAND_RAISERS
from sim.world.luck import child, streams
from sim.world.population import categorical, shares_vector

_HAND = np.array([t in HAND_RAISERS for t in EVENT_TYPES])
_STREAMS = ("life", "entry", "reengage")                  # Generators, by position (append only)
_WAVE_SEEDS = {"first_wave": 3, "second_wave": 4}          # child SeedSequences after _STREAMS
_WAVE_STREAMS = ("counts", "times", "types")
CHUNK = 1 << 16   # leads per block; part of the stream layout: changing it changes the draws


def interest_life(cfg: Engagement, n: int, rng: np.random.Generator) -> np.ndarray:
    """float64[n] minutes: lognormal with median interest_life and log-sd interest_life_sigma."""
    return cfg.interest_life.minutes * np.exp(cfg.interest_life_sigma * rng.standard_normal(n))


def entry_types(cfg: Engagement, channel: np.ndarray, intent: np.ndarray,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(lead indices with an entry event, their int8 event types).

    Hand-raiser shares are scaled by (1 - h) + 2 h x (x = intent) before normalising per lead; that
    is drawn as: first hand-raiser-or-not with the per-lead probability, then the type within the
    group by the channel's shares."""
    n: int = channel.shape[0]
    u_group, u_type = rng.random(n), rng.random(n)       # fixed-length draws: stable per lead
    h = cfg.entry_hand_raise_intent
    leads: list[NDArray[np.int64]] = []
    types: list[NDArray[np.int8]] = []
    entry_event: Mapping[Any, Mapping[Any, float]] = cfg.entry_event     # read by plain channel name
    for c, name in enumerate(CHANNELS):
        mix = entry_event.get(name)
        if not mix:
            continue
        idx = np.flatnonzero(channel == c)
        if idx.size == 0:
            continue
        shares = shares_vector(mix, EVENT_TYPES)
        # Group totals from the raw weights, so an empty group has share exactly 0.
        hand_share = float(shares[_HAND].sum()) / float(shares.sum())
        other_share = float(shares[~_HAND].sum()) / float(shares.sum())
        lift = (1.0 - h) + 2.0 * h * intent[idx]
        denom = hand_share * lift + other_share
        safe = np.where(denom > 0, denom, 1.0)
        p_hand = np.where(denom > 0, hand_share * lift / safe, hand_share)
        is_hand = u_group[idx] < p_hand
        t = np.empty(idx.size, dtype=np.int64)
        for group, mask in ((_HAND, is_hand), (~_HAND, ~is_hand)):
            if mask.any():
                t[mask] = categorical(np.where(group, shares, 0.0), u_type[idx[mask]])
        leads.append(idx)
        types.append(t.astype(np.int8))
    if not leads:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int8)
    return np.concatenate(leads), np.concatenate(types)


def _wave(lam_r: np.ndarray, lam_b: np.ndarray, r: np.ndarray, b: np.ndarray,
          ss: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One wave of events for leads with expected counts lam_r (researcher part) and lam_b (buyer
    part): (position of the lead in lam_*, Exp(1) delay, int8 type) per event; all researcher-part
    events first, then all buyer-part events (the caller sorts)."""
    rng = streams(ss, _WAVE_STREAMS)
    k = lam_r.shape[0]
    counts = rng["counts"].poisson(np.concatenate([lam_r, lam_b]))      # [r_0..r_k-1, b_0..b_k-1]
    lead = np.repeat(np.tile(np.arange(k, dtype=np.int64), 2), counts)
    delay = rng["times"].standard_exponential(lead.shape[0])
    u = rng["types"].random(lead.shape[0])
    n_r = int(counts[:k].sum())
    types = np.empty(lead.shape[0], dtype=np.int8)
    if n_r:
        types[:n_r] = categorical(r, u[:n_r])
    if lead.shape[0] > n_r:
        types[n_r:] = categorical(b, u[n_r:])
    return lead, delay, types


def draw_engagement(cfg: Engagement, arrival: np.ndarray, channel: np.ndarray, intent: np.ndarray,
                    end: float, ss: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(event_offsets int64[n+1], event_time float64[m], event_type int8[m]) sorted by (lead, time),
    the entry event first; events at or after `end` are dropped.

    Leads are processed in fixed blocks of CHUNK (block j reads child stream j): memory stays bounded
    and the sorts stay in cache, and since CHUNK is a constant the draws depend only on the inputs."""
    n = arrival.shape[0]
    r = shares_vector(cfg.researcher, EVENT_TYPES)
    b = shares_vector(cfg.buyer, EVENT_TYPES)
    counts, times, types = [], [], []
    for j, a in enumerate(range(0, max(n, 1), CHUNK)):
        part = slice(a, min(a + CHUNK, n))
        c, t, k = _engage_chunk(cfg, r, b, arrival[part], channel[part], intent[part], end, child(ss, j))
        counts.append(c)
        times.append(t)
        types.append(k)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=offsets[1:])
    return offsets, np.concatenate(times), np.concatenate(types)


def _engage_chunk(cfg: Engagement, r: np.ndarray, b: np.ndarray, arrival: np.ndarray, channel: np.ndarray,
                  intent: np.ndarray, end: float,
                  ss: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(events per lead int64[n], times, types) for one block of leads, sorted by (lead, time)."""
    n: int = arrival.shape[0]
    rng = streams(ss, _STREAMS)
    life = interest_life(cfg, n, rng["life"])
    lam_r, lam_b = (1.0 - intent) * r.sum(), intent * b.sum()

    entry_lead, entry_type = entry_types(cfg, channel, intent, rng["entry"])

    lead1, exp1, type1 = _wave(lam_r, lam_b, r, b, child(ss, _WAVE_SEEDS["first_wave"]))
    offset1 = life[lead1] * exp1

    # Second wave: every lead draws the flag and the delay, so both stay fixed per lead.
    flag_u = rng["reengage"].random(n)
    wave2_start = cfg.reengage_delay.minutes * rng["reengage"].standard_exponential(n)
    again = np.flatnonzero(flag_u < cfg.reengage_share)
    s = cfg.reengage_strength
    pos2, exp2, type2 = _wave(s * lam_r[again], s * lam_b[again], r, b, child(ss, _WAVE_SEEDS["second_wave"]))
    lead2 = again[pos2]
    offset2 = wave2_start[lead2] + life[lead2] * exp2

    lead = np.concatenate([entry_lead, lead1, lead2])
    offset = np.concatenate([np.zeros(entry_lead.shape[0]), offset1, offset2])
    etype = np.concatenate([entry_type, type1, type2])
    time = arrival[lead] + offset
    lead_s, time_s, type_s = _sort_events(lead, offset, time, etype, entry_lead.shape[0], end)
    return np.bincount(lead_s, minlength=n), time_s, type_s


def _sort_events(lead: np.ndarray, offset: np.ndarray, time: np.ndarray, etype: np.ndarray,
                 n_entry: int, end: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lead, time, type) of the events before `end`, sorted by (lead, time, generation order), exactly.
    The first `n_entry` events are the entry events, so an entry precedes its lead's ties.

    One float sort on the key lead*W + offset (W a power of two >= 2*end, so lead*W is exact and
    leads never overlap; an entry gets lead*W - W/4, below its lead's other events; dropped events
    get +inf). The key rounds offsets to ~1e-3 minutes and the sort is not stable, so events of a lead
    closer than that may come out swapped; those rare leads are re-sorted exactly with lexsort, which
    also makes the order of exact ties independent of the platform's sort."""
    w = 2.0 ** np.ceil(np.log2(max(2.0 * end, 2.0)))
    key = lead * w + offset
    key[:n_entry] -= 0.25 * w                       # entry offsets are 0: key = lead*W - W/4 exactly
    key[time >= end] = np.inf
    order = np.argsort(key)
    order = order[: int(np.count_nonzero(np.isfinite(key)))]
    lead_s, time_s, type_s = lead[order], time[order], etype[order]
    same = lead_s[1:] == lead_s[:-1]
    bad = same & ((time_s[1:] < time_s[:-1]) | ((time_s[1:] == time_s[:-1]) & (order[1:] < order[:-1])))
    if bad.any():
        pos = np.flatnonzero(np.isin(lead_s, lead_s[1:][bad]))
        sub = pos[np.lexsort((order[pos], time_s[pos], lead_s[pos]))]
        lead_s[pos], time_s[pos], type_s[pos] = lead_s[sub], time_s[sub], type_s[sub]
    return lead_s, time_s, type_s
