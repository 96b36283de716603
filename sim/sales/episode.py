"""An MQL episode: one stay of a lead in the sales queue, from MQL to contact, recycle or run end.

A lead can have several episodes (recycled, then re-MQL'd later). Plain slotted objects: the
sales process creates one per MQL and touches it a handful of times.
"""
from __future__ import annotations

import math

# One shared NaN for the times an episode does not have yet: a fresh float("nan") per field was
# 24 bytes per episode each (the values, and so the log, are the same).
NAN = math.nan

# Episode end states.
OPEN = 0          # still waiting or between attempts when the run ended
CONTACTED = 1     # a rep reached the lead: outcomes follow
UNREACHED = 2     # all cadence attempts failed: back to nurture
BREACHED = 3      # untouched past the recycle deadline: back to nurture
TRIAGED = 4       # skipped by an overloaded team: back to nurture
ABANDONED = 5     # queueing mode with patience: went cold while waiting for a first touch and left


class Episode:
    __slots__ = ("lead", "index", "mql_time", "tier", "score", "attempts", "first_touch", "end_time",
                 "status", "version", "pushes", "queued", "rep", "row", "ready")

    def __init__(self, lead: int, index: int, mql_time: float, tier: int, score: float, row: int = -1):
        self.lead = lead
        self.index = index          # 0 for the lead's first MQL, 1 after one recycle, ...
        self.mql_time = mql_time
        self.tier = tier
        self.score = score
        self.attempts = 0
        self.first_touch = NAN
        self.end_time = NAN
        self.status = OPEN
        self.version = 0            # bumped on every queue change: older heap entries are stale
        self.pushes = 0             # times pushed into a queue (identifies the current stay)
        self.queued = False
        self.rep = -1               # assigned rep (round robin), else -1
        self.row = row              # first episodes: offset of its pre-drawn attempt luck, else -1
        self.ready = 0.0            # when it last became ready for an attempt (queue age)


class ThreadedEpisode(Episode):
    """An account work item whose attempts rotate through the account's contacts
    (`cadence.threading`): `targets` in calling order, `target` the contact of the latest attempt,
    skipping contacts already reached (only a `cover` cadence calls on after a conversation).
    A subclass, so the default engine's episodes carry no extra slot."""

    __slots__ = ("targets", "target", "pos", "calls", "reached")

    def __init__(self, lead: int, index: int, mql_time: float, tier: int, score: float, targets: list[int]):
        super().__init__(lead, index, mql_time, tier, score, -1)
        self.targets = targets if targets else [lead]
        self.target = lead
        self.pos = 0                            # the rotation's next contact
        self.calls: dict[int, int] = {}         # calls per contact so far
        self.reached: set[int] = set()          # contacts reached (cover: skipped by later calls)
