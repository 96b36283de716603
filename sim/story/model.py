"""The story of one lead, as plain records: what `funnelsim explain` prints and `--json` writes.

A Story is one lead in one replication of a results folder; it holds one PolicyStory per policy,
each a timeline of StoryEvents in time order (engagement and score, MQL, queue, attempts, SLA,
recycle, outcome). Every number in it is read from the engine's own run of that replication, never
estimated, so the story agrees with the saved KPIs lead by lead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Kinds of story events, in the order they are told when two share a time.
KINDS: tuple[str, ...] = (
    "arrival", "account", "engagement", "mql", "queued", "escalated", "sla_missed", "reassigned", "competitor",
    "attempt", "contact", "competitor_found", "recycled", "abandoned", "open_at_end", "sal", "rejected",
    "disqualified", "sql", "ae_queued", "ae_no_show", "ae_meeting", "ae_lost", "ae_waiting", "no_opportunity",
    "opportunity", "open_opportunity", "won", "lost",
)
KIND_ORDER = {k: i for i, k in enumerate(KINDS)}


def plain(v: Any) -> Any:
    """A JSON-ready value: numpy scalars as Python numbers, NaN and infinities as None."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if hasattr(v, "item"):          # numpy scalar
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return v


def _record(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = plain(d)
    return out


@dataclass(frozen=True)
class StoryEvent:
    """One thing that happened to the lead, at `t` minutes after the scenario's start."""

    t: float
    at: str                         # the same time as a date and clock time, "2026-02-03 10:15"
    kind: str                       # one of KINDS
    text: str                       # one sentence saying what happened and why
    episode: int | None = None      # MQL episode (0 = first MQL, 1 after one recycle, ...), if any
    data: dict[str, Any] = field(default_factory=dict)   # the facts behind the sentence

    def to_dict(self) -> dict[str, Any]:
        return _record({"t": self.t, "at": self.at, "kind": self.kind, "episode": self.episode, "text": self.text,
                      **self.data})


@dataclass(frozen=True)
class PolicyStory:
    """The lead under one policy: a summary and its timeline."""

    policy: str
    mql: bool                       # became an MQL in this run (the `mqls` KPI counts cohort leads with True)
    first_mql: float | None         # minutes, None if never
    tier: str | None                # SLA tier of the first MQL
    episodes: int                   # MQL episodes (1 + re-MQLs)
    attempts: int                   # every rep touch, all episodes
    recycles: int
    state: str                      # terminal state (sim.vocab.TERMINAL_STATES)
    reason: str | None              # rejection reason code, if rejected
    amount: float                   # deal size of an opportunity, else 0
    why_not_mql: str | None         # the gate or threshold that kept it out, if never an MQL
    events: list[StoryEvent]

    def to_dict(self) -> dict[str, Any]:
        return _record({"policy": self.policy, "mql": self.mql, "first_mql": self.first_mql, "tier": self.tier,
                      "episodes": self.episodes, "attempts": self.attempts, "recycles": self.recycles,
                      "state": self.state, "reason": self.reason, "amount": self.amount,
                      "why_not_mql": self.why_not_mql, "events": [e.to_dict() for e in self.events]})


@dataclass(frozen=True)
class Story:
    """One lead of one replication of a results folder, under each policy."""

    folder: str
    lead: int
    scenario: str
    point: int
    settings: dict[str, Any]        # the point's swept settings (dotted path -> value), {} if none
    replication: int
    seed: int
    in_cohort: bool                 # created in the measurement window (counted by the KPIs)
    facts: dict[str, Any]           # arrival, channel, attributes, hidden truth
    policies: list[PolicyStory]
    checked: list[str] = field(default_factory=list)   # what the re-run was checked against

    def policy(self, name: str) -> PolicyStory:
        for p in self.policies:
            if p.policy == name:
                return p
        raise KeyError(f"no policy {name!r} in this story (has {', '.join(p.policy for p in self.policies)})")

    def to_dict(self) -> dict[str, Any]:
        return _record({"folder": self.folder, "lead": self.lead, "scenario": self.scenario, "point": self.point,
                      "settings": self.settings, "replication": self.replication, "seed": self.seed,
                      "in_cohort": self.in_cohort, "facts": self.facts, "checked": self.checked,
                      "policies": [p.to_dict() for p in self.policies]})
