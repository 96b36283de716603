"""Real leads as a `World`, so a policy scores them with the engine's own scorer (`sim.decisions`).

Why not a parallel scorer: a backtest must answer "what would *this policy file* have done", and the
vectorised scorer is the one the simulator uses (tested bit-exact against the scalar oracle). The
export has no event times, only counts, so each lead's events are placed one minute apart right
after its creation, in vocabulary order: decay and the no-email-open penalty never trigger, and the
score a lead reaches is the sum of its points (caps and `then` apply as usual). A lead without any
event never becomes an MQL (as in the simulator), whatever its fit.
"""
from __future__ import annotations

from typing import Sequence, get_args

import numpy as np
import pandas as pd

from sim.config.errors import ConfigError
from sim.config.policy import Policy
from sim.crm.mapping import ATTRIBUTE_VALUES, Mapping
from sim.decisions.scoring import score_events
from sim.vocab import CHANNELS, EVENT_TYPES
from sim.world.model import Luck, World

NEUTRAL = {"email_kind": "business"}   # passes the email gates when the export has no email kind


def check_policy(policy: Policy, mapping: Mapping, source: str) -> None:
    """Refuse a policy that scores a feature built from a leaky column, or fit points on an attribute
    the export does not have (every lead would get the same made-up value)."""
    leaky = mapping.leaky_features()
    problems = []
    for ev, pts in policy.scoring.behaviour.items():
        if f"ev_{ev}" in leaky and any(p != 0 for p in [*pts.points, pts.then or 0]):
            problems.append(f"scoring.behaviour.{ev}: built by mapping {mapping.name!r} from column(s) "
                            f"{leaky[f'ev_{ev}']} marked leaky (set after contact, they leak the outcome); "
                            "remove these points")
    fit = policy.scoring.fit
    for attr in ATTRIBUTE_VALUES:
        table = getattr(fit, attr)
        if f"attr_{attr}" in leaky and any(v != 0 for v in table.values()):
            problems.append(f"scoring.fit.{attr}: built from leaky column(s) {leaky[f'attr_{attr}']}; remove")
        elif attr not in mapping.leads.attributes and any(v != 0 for v in table.values()):
            problems.append(f"scoring.fit.{attr}: mapping {mapping.name!r} has no column for {attr}; map one in "
                            f"[leads.attributes.{attr}] or set scoring.fit.{attr} = {{}}")
    if problems:
        raise ConfigError(source, problems)


def _codes(leads: pd.DataFrame, attr: str, policy: Policy) -> np.ndarray:
    values = get_args(ATTRIBUTE_VALUES[attr])
    col = f"attr_{attr}"
    if col in leads:
        return leads[col].map({v: i for i, v in enumerate(values)}).to_numpy(dtype=np.int8)
    icp_of: dict[str, Sequence[str]] = {"seniority": policy.icp.seniorities, "company_size": policy.icp.company_sizes,
           "industry": policy.icp.industries, "region": policy.icp.regions}
    icp = icp_of.get(attr) or []
    default = icp[0] if icp else NEUTRAL.get(attr, values[0])
    return np.full(len(leads), values.index(default), dtype=np.int8)


def to_world(leads: pd.DataFrame, policy: Policy) -> World:
    """The leads (importer's clean table) as a World: attributes, channel, events from the counts."""
    n = len(leads)
    counts = np.zeros((n, len(EVENT_TYPES)), dtype=np.int64)
    for k, t in enumerate(EVENT_TYPES):
        if f"ev_{t}" in leads:
            counts[:, k] = leads[f"ev_{t}"].to_numpy(dtype=np.int64)
    per_lead = counts.sum(axis=1)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_lead, out=offsets[1:])
    event_type = np.repeat(np.tile(np.arange(len(EVENT_TYPES), dtype=np.int8), n), counts.ravel())
    arrival = np.zeros(n)
    pos = np.arange(offsets[-1]) - np.repeat(offsets[:-1], per_lead)
    event_time = 1.0 + pos.astype(np.float64)        # one minute apart after creation
    zeros = np.zeros(n)
    luck = Luck(key=np.zeros(n, dtype=np.uint64), reject=zeros, reason=zeros, sql=zeros, opportunity=zeros,
                win=zeros, deal_size=zeros, sql_delay=zeros, opportunity_delay=zeros, cycle=zeros)
    channel = leads["channel"].map({c: i for i, c in enumerate(CHANNELS)}).to_numpy(dtype=np.int8)
    return World(arrival=arrival, channel=channel,
                 seniority=_codes(leads, "seniority", policy), company_size=_codes(leads, "company_size", policy),
                 industry=_codes(leads, "industry", policy), region=_codes(leads, "region", policy),
                 email_kind=_codes(leads, "email_kind", policy),
                 existing_customer=np.zeros(n, bool), open_deal=np.zeros(n, bool),
                 buyer=np.zeros(n, bool), intent=zeros,
                 event_offsets=offsets, event_time=event_time, event_type=event_type, luck=luck,
                 end=1e9, window_start=0.0, window_end=1e9)


def score_leads(leads: pd.DataFrame, policy: Policy) -> tuple[np.ndarray, np.ndarray]:
    """(is_mql bool[n], score float[n]): whether the policy ever makes the lead an MQL, and its highest
    score (its fit when it has no events), for ranking."""
    world = to_world(leads, policy)
    es = score_events(world, policy)
    n = world.n
    off = world.event_offsets
    has = np.diff(off) > 0
    mql = np.zeros(n, bool)
    score = np.asarray(es.fit, dtype=np.float64).copy()
    if off[-1]:
        hit = es.mql.astype(np.int64)
        starts = off[:-1][has]
        mql[has] = np.add.reduceat(hit, starts) > 0
        score[has] = np.maximum.reduceat(es.total, starts)
    return mql, score
