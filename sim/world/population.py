"""Who the leads are (firmographics, per channel) and who really buys (hidden truth).

Attributes are int8 codes (positions in the vocab tuples) so later stages use lookup tables instead
of strings. Each attribute reads one uniform per lead from its own stream, so changing one mix (or a
channel's override) never changes another attribute's draws.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.config.scenario import AttributeMix, Population, Truth
from sim.vocab import CHANNELS, COMPANY_SIZES, EMAIL_KINDS, INDUSTRIES, REGIONS, SENIORITIES
from sim.world.luck import streams

ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "seniority": SENIORITIES, "company_size": COMPANY_SIZES, "industry": INDUSTRIES, "region": REGIONS,
    "email_kind": EMAIL_KINDS,
}


@dataclass(frozen=True)
class Attributes:
    """Per-lead firmographics (int8 codes) and account flags."""

    seniority: np.ndarray
    company_size: np.ndarray
    industry: np.ndarray
    region: np.ndarray
    email_kind: np.ndarray
    existing_customer: np.ndarray  # bool
    open_deal: np.ndarray          # bool


def shares_vector(mix: Mapping[Any, float], names: tuple[str, ...], default: float = 0.0) -> NDArray[np.float64]:
    """float64[len(names)] from a {name: value} dict; absent names get `default`. (Keys are typed Any:
    the schemas key their tables by a vocabulary's Literal, and a Mapping's key type is invariant.)"""
    return np.array([mix.get(name, default) for name in names], dtype=np.float64)


_FEW = 32   # categories up to which `categorical` compares instead of searching (< 256: uint8 counts)


def categorical(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw: codes (int64) with P(code k) = weights[k] / sum, from uniforms u in [0, 1).

    Categories with zero weight are never returned, even when rounding pushes u to the top."""
    weights = np.asarray(weights, dtype=np.float64)
    total = weights.sum()
    if not total > 0:
        raise ValueError("categorical weights must have a positive total")
    cum = np.cumsum(weights) / total
    cum[np.flatnonzero(weights > 0)[-1]:] = 1.0   # u < 1 can then never pass the last positive weight
    if cum.shape[0] > _FEW:
        return np.searchsorted(cum, u, side="right")
    # The code is the number of cumulative shares at or below u (what searchsorted(side="right")
    # returns, exactly): for a few categories one comparison pass each is ~5x faster than a binary
    # search per uniform (the world draws every attribute and event type this way).
    u = np.asarray(u)
    codes = np.zeros(u.shape, dtype=np.uint8)
    for edge in cum:
        codes += u >= edge
    return codes.astype(np.intp)


def _mix_for(population: Population, attribute: str, channel: str) -> Mapping[Any, float]:
    by_channel: Mapping[Any, AttributeMix] = population.by_channel     # read by plain channel name
    override = by_channel.get(channel)
    mix: Mapping[Any, float] | None = getattr(override, attribute) if override is not None else None
    if mix is not None:
        return mix
    base: Mapping[Any, float] = getattr(population, attribute)
    return base


def draw_attributes(population: Population, channel: np.ndarray, ss: np.random.SeedSequence) -> Attributes:
    """Attributes for leads of the given channels (int8 codes into vocab.CHANNELS)."""
    n: int = channel.shape[0]
    rngs = streams(ss, (*ATTRIBUTES, "existing_customer", "open_deal"))
    present = [c for c in range(len(CHANNELS)) if np.any(channel == c)] if n else []
    members: dict[tuple[int, ...], np.ndarray] = {}    # leads of a group of channels, computed once
    out: dict[str, np.ndarray] = {}
    for attribute, names in ATTRIBUTES.items():
        u = rngs[attribute].random(n)
        codes = np.zeros(n, dtype=np.int8)
        # channels with the same mix are drawn together (categorical is per uniform: the same codes)
        groups: dict[tuple[float, ...], list[int]] = {}
        for c in present:
            groups.setdefault(tuple(shares_vector(_mix_for(population, attribute, CHANNELS[c]), names)), []).append(c)
        for weights, chans in groups.items():
            if len(chans) == len(present):       # every lead: no gather, no scatter
                codes[:] = categorical(np.array(weights), u)
                continue
            key = tuple(chans)
            if key not in members:
                members[key] = np.flatnonzero(np.isin(channel, chans))
            idx = members[key]
            codes[idx] = categorical(np.array(weights), u[idx])
        out[attribute] = codes
    out["existing_customer"] = rngs["existing_customer"].random(n) < population.existing_customer_share
    out["open_deal"] = rngs["open_deal"].random(n) < population.open_deal_share
    return Attributes(**out)


def buyer_probability(truth: Truth, channel: np.ndarray, attrs: Attributes) -> np.ndarray:
    """P(in market) per lead: base rate x the multipliers of its attributes (absent = 1), capped."""
    p = np.full(channel.shape[0], truth.base_rate, dtype=np.float64)
    p *= shares_vector(truth.channel, CHANNELS, 1.0)[channel]
    for attribute, names in ATTRIBUTES.items():
        table = getattr(truth, attribute, None)
        if table is not None:
            p *= shares_vector(table, names, 1.0)[getattr(attrs, attribute)]
    return np.minimum(p, truth.max_probability)


def draw_truth(truth: Truth, channel: np.ndarray, attrs: Attributes,
               ss: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """(buyer bool[n], intent float64[n]). Both intent draws are made for every lead, so a lead's
    intent given its buyer flag does not depend on how many other leads are buyers."""
    n = channel.shape[0]
    rngs = streams(ss, ("buyer", "buyer_intent", "researcher_intent"))
    buyer = rngs["buyer"].random(n) < buyer_probability(truth, channel, attrs)
    intent_if_buyer = rngs["buyer_intent"].beta(*truth.buyer_intent, size=n)
    intent_if_researcher = rngs["researcher_intent"].beta(*truth.researcher_intent, size=n)
    return buyer, np.where(buyer, intent_if_buyer, intent_if_researcher)
