"""The world of one replication when it is streamed: each chunk of arrivals is scored under every
policy of the replication as it is drawn, and the engagement events of leads that no policy makes an
MQL are dropped (`sim.world.stream` draws the chunks; this module decides what to keep, because
scoring is a layer above the world).

When it applies: `stream.streaming_applies(scenario)` (scenario [stream]: mode on, or auto from
`auto_leads` expected leads) and every policy is lead-unit, in a lead world or an account world
alike (a lead-unit policy scores each lead from its own events only; the account layer, drawn
whole, keeps every lead). Account-unit policies score accounts
from every contact's events, so with them the streamed world keeps every event (the same draws, only
the memory saving is lost); `sim.config.warnings.stream_warnings` says so.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.scoring import score_world
from sim.decisions.shared_scoring import SharedScoring
from sim.world.model import World
from sim.world.stream import generate_streamed_world, streaming_applies


def policy_fingerprint(policy: Policy) -> str:
    """A digest of everything in a policy: two policies with equal fingerprints score alike."""
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:16]


def drops_events(scenario: Scenario, policies: Sequence[Policy]) -> bool:
    """Whether the replication's world is streamed with the events of non-MQL leads dropped."""
    return bool(policies) and all(p.mql.unit == "lead" for p in policies) and streaming_applies(scenario)


def streamed_world(scenario: Scenario, policies: Sequence[Policy], seed: int, replication: int = 0) -> World:
    """The streamed world of (scenario, seed, replication) keeping the engagement events of the leads
    that at least one of `policies` (lead-unit) makes an MQL; every per-lead array is kept."""
    if not drops_events(scenario, policies):
        raise ValueError("streamed_world: the scenario is not streamed or a policy is not lead-unit")
    chosen = list(policies)

    def mql_under_any(chunk: World) -> np.ndarray:
        keep = np.zeros(chunk.n, dtype=bool)
        shared = SharedScoring(chunk, chosen)      # policies that differ only in thresholds score it once
        for p in chosen:
            keep |= score_world(chunk, p, shared=shared).is_mql
        return keep

    return generate_streamed_world(scenario, seed, replication, keep=mql_under_any,
                                   kept_for=frozenset(policy_fingerprint(p) for p in chosen))


def check_kept_for(world: World, policy: Policy) -> None:
    """Refuse to run a policy on a world whose events were dropped for other policies (it would
    miss the MQLs of leads whose events are gone)."""
    if world.kept_for is not None and policy_fingerprint(policy) not in world.kept_for:
        raise ValueError(f"policy {policy.name!r}: this streamed world kept the engagement events of the MQLs of "
                         "other policies only; generate it with this policy among them (streamed_world)")
