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

import dataclasses
import hashlib
from collections.abc import Sequence

import numpy as np

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.scoring import Scored, event_index_dtype, score_world
from sim.decisions.shared_scoring import SharedScoring
from sim.world.model import World
from sim.world.stream import generate_streamed_world, streaming_applies


def policy_fingerprint(policy: Policy) -> str:
    """A digest of everything in a policy: two policies with equal fingerprints score alike."""
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()[:16]


def drops_events(scenario: Scenario, policies: Sequence[Policy]) -> bool:
    """Whether the replication's world is streamed with the events of non-MQL leads dropped."""
    return bool(policies) and all(p.mql.unit == "lead" for p in policies) and streaming_applies(scenario)


def streamed_world(scenario: Scenario, policies: Sequence[Policy], seed: int, replication: int = 0,
                   scored: dict[str, Scored] | None = None) -> World:
    """The streamed world of (scenario, seed, replication) keeping the engagement events of the leads
    that at least one of `policies` (lead-unit) makes an MQL; every per-lead array is kept.

    `scored`, when given, receives each policy's `Scored` on the returned world, by
    `policy_fingerprint`: the chunks were scored to choose the events anyway, and a lead-unit
    policy scores a lead from its own events only, so these are exactly `score_world(world, policy)`
    (the triggering event's index moved to the kept world's numbering) and the run need not score
    the world a second time (about a sixth of a 10M-lead run's CPU)."""
    if not drops_events(scenario, policies):
        raise ValueError("streamed_world: the scenario is not streamed or a policy is not lead-unit")
    chosen = list(policies)
    prints = [policy_fingerprint(p) for p in chosen]
    names = [f.name for f in dataclasses.fields(Scored)]
    pieces: dict[str, dict[str, list[np.ndarray]]] = {fp: {f: [] for f in names} for fp in prints}

    def mql_under_any(chunk: World) -> np.ndarray:
        keep = np.zeros(chunk.n, dtype=bool)
        shared = SharedScoring(chunk, chosen)      # policies that differ only in thresholds score it once
        for fp, p in dict(zip(prints, chosen)).items():
            s = score_world(chunk, p, shared=shared)
            keep |= s.is_mql
            if scored is not None:     # the MQL event as its index among its lead's own events
                ev = s.mql_event
                local = np.where(ev >= 0, ev - chunk.event_offsets[:-1], -1).astype(np.int64, copy=False)
                for f in names:
                    pieces[fp][f].append(local if f == "mql_event" else getattr(s, f))
        return keep

    world = generate_streamed_world(scenario, seed, replication, keep=mql_under_any, kept_for=frozenset(prints))
    if scored is not None:
        for fp in list(pieces):
            parts = pieces.pop(fp)
            if fp not in scored and parts["fit"]:     # no chunk scored (no leads): the run scores itself
                scored[fp] = _joined(parts, world)
    return world


def _joined(parts: dict[str, list[np.ndarray]], world: World) -> Scored:
    """One Scored of the world from its chunks' fields (consecutive leads; MQL events numbered within
    their lead), one field at a time: the chunks' copies of a field are dropped once it is joined."""
    fields: dict[str, np.ndarray] = {}
    for name in list(parts):
        chunks = parts.pop(name)
        fields[name] = np.concatenate(chunks)
        del chunks
    local = fields["mql_event"]
    fields["mql_event"] = np.where(local >= 0, world.event_offsets[:-1] + local, -1).astype(
        event_index_dtype(int(world.event_offsets[-1])))      # the dtype scoring the kept world gives
    return Scored(**fields)


def check_kept_for(world: World, policy: Policy) -> None:
    """Refuse to run a policy on a world whose events were dropped for other policies (it would
    miss the MQLs of leads whose events are gone)."""
    if world.kept_for is not None and policy_fingerprint(policy) not in world.kept_for:
        raise ValueError(f"policy {policy.name!r}: this streamed world kept the engagement events of the MQLs of "
                         "other policies only; generate it with this policy among them (streamed_world)")
