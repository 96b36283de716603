"""What one run of the sales process did, as flat arrays: the event log every KPI is measured from.
Kept apart from the engine so measurement code imports a plain record, not SimPy.

The log is per team. `SalesLog.teams` maps a team's name to its `TeamRecord` (attempts or
meetings, queue changes, midnight samples): "sdr" (the reps working MQLs) always, "ae" (account
executives holding discovery meetings, `sim.sales.handoff`) when the hand-off stage is on. The
SDR team's record is also kept as SalesLog's own flat fields (`at_*`, `q_*`, `day_*`, `reps`):
the names the KPI code reads and the engine-equivalence digest hashes, so they stay as they were.
"""
from __future__ import annotations

import itertools
from dataclasses import InitVar, dataclass
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

import numpy as np

from sim.sales.episode import OPEN

if TYPE_CHECKING:
    from sim.sales.team import TeamLog

SDR = "sdr"     # the team that works MQLs (sim.sales.process)
AE = "ae"       # the team that holds discovery meetings with SQLs (sim.sales.handoff)


@dataclass(frozen=True)
class TeamRecord:
    """What one team did: one row per unit of work (an SDR's attempt, an AE's meeting), the number
    of items waiting after every change (a step function from 0 at time 0), one sample per midnight."""

    name: str
    workers: int
    item: np.ndarray          # int64: the entity worked (a lead)
    worker: np.ndarray        # int64 in [0, workers)
    start: np.ndarray         # float64 clock minutes
    handle: np.ndarray        # float64 minutes of work; it blocks its worker for handle / time share
    contact: np.ndarray       # bool: the work reached the person (SDR: lead reached; AE: meeting held)
    q_time: np.ndarray        # float64: 0, then the time of every change of the number waiting
    q_len: np.ndarray         # int64: the number waiting from that time on
    day_queue: np.ndarray     # int64: number waiting at each midnight (sample d at (d + 1) days)
    day_oldest_age: np.ndarray  # float64 minutes the longest-waiting item had waited then

    @classmethod
    def of(cls, name: str, team: TeamLog) -> TeamRecord:
        """The record of a finished team's log (queue changes from a level of 0 at time 0)."""
        f8, i8 = np.float64, np.int64
        change = team.column("q_change", i8)
        q_len = np.zeros(change.size + 1, dtype=i8)
        np.cumsum(change, out=q_len[1:])
        del change
        q_time = np.concatenate([np.zeros(1, f8), team.column("q_time", f8)])
        return cls(name=name, workers=team.workers, item=team.column("item", i8), worker=team.column("worker", i8),
                   start=team.column("start", f8), handle=team.column("handle", f8),
                   contact=team.column("contact", bool), q_time=q_time, q_len=q_len,
                   day_queue=np.array(team.day_queue, i8), day_oldest_age=np.array(team.day_oldest, f8))


@dataclass(frozen=True)
class SalesLog:
    """What the sales process did, as flat arrays (the event log the KPIs are measured from).
    The flat `at_*`, `q_*`, `day_*` fields and `reps` are the SDR team's record; `teams` has every
    team's, by name (`other_teams` adds teams beyond the SDRs; `with_team` returns a log with one more)."""

    # one row per MQL episode
    ep_lead: np.ndarray
    ep_index: np.ndarray
    ep_mql_time: np.ndarray
    ep_tier: np.ndarray
    ep_score: np.ndarray
    ep_attempts: np.ndarray
    ep_first_touch: np.ndarray
    ep_end_time: np.ndarray
    ep_status: np.ndarray
    # one row per attempt (a rep's touch)
    at_lead: np.ndarray
    at_rep: np.ndarray
    at_start: np.ndarray
    at_handle: np.ndarray
    at_contact: np.ndarray
    # the waiting queue: every change (time, number waiting) and a sample at each midnight
    q_time: np.ndarray
    q_len: np.ndarray
    day_queue: np.ndarray
    day_oldest_age: np.ndarray
    reps: int
    # not a field (dataclasses.replace keeps only the SDR team): teams other than the SDRs
    other_teams: InitVar[Mapping[str, TeamRecord] | None] = None
    # not a field either: the contact each attempt called (policy cadence.threading set), else None
    attempt_target: InitVar[np.ndarray | None] = None

    def __post_init__(self, other_teams: Mapping[str, TeamRecord] | None, attempt_target: np.ndarray | None) -> None:
        object.__setattr__(self, "_others", dict(other_teams or {}))
        object.__setattr__(self, "_target", attempt_target)

    @property
    def at_target(self) -> np.ndarray | None:
        """int64 per attempt: the contact it called (the item's own lead unless a multi-threaded
        cadence rotated it, `cadence.threading` spread or cover); None when cadence.threading is unset."""
        target: np.ndarray | None = self.__dict__["_target"]
        return target

    @property
    def teams(self) -> dict[str, TeamRecord]:
        """Every team's record by name, the SDRs first."""
        others: dict[str, TeamRecord] = self.__dict__["_others"]
        return {SDR: self.sdr, **others}

    @property
    def sdr(self) -> TeamRecord:
        """The SDR team's record (a view of the flat fields, no copy)."""
        return TeamRecord(SDR, self.reps, self.at_lead, self.at_rep, self.at_start, self.at_handle, self.at_contact,
                          self.q_time, self.q_len, self.day_queue, self.day_oldest_age)

    def team(self, name: str) -> TeamRecord:
        """The record of the named team (KeyError naming the teams there are if it did not run)."""
        teams = self.teams
        if name not in teams:
            raise KeyError(f"no team {name!r} in this run (teams: {', '.join(teams)})")
        return teams[name]

    def has_team(self, name: str) -> bool:
        return name == SDR or name in self.__dict__["_others"]

    def with_team(self, record: TeamRecord) -> SalesLog:
        """The same log with one more team (or that team's record replaced)."""
        if record.name == SDR:
            raise ValueError("the SDR team's record is the log's own fields")
        fields: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k not in ("_others", "_target")}
        return SalesLog(**fields, other_teams={**self.__dict__["_others"], record.name: record},
                        attempt_target=self.at_target)


# The SalesLog's episode columns: (episode attribute, dtype), in the order of SalesLog's ep_* fields.
EPISODE_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("lead", np.int64), ("index", np.int64), ("mql_time", np.float64), ("tier", np.int8), ("score", np.float64),
    ("attempts", np.int64), ("first_touch", np.float64), ("end_time", np.float64), ("status", np.int8))
MIN_CHUNK = 4096    # closed episodes turned into columns at a time (fewer: left as objects until later)


def closed_prefix(items: Sequence[Any], known: int) -> int:
    """How many episodes at the front of `items` are closed, the first `known` being so already
    (a closed episode never reopens: each midnight's scan starts where the last one stopped)."""
    n = known
    for ep in itertools.islice(items, known, None):
        if ep.status == OPEN:
            break
        n += 1
    return n


def episode_columns(episodes: Sequence[Any]) -> list[np.ndarray]:
    """The EPISODE_COLUMNS of episode objects (read once, column by column)."""
    return [np.fromiter(map(attrgetter(attr), episodes), dtype=dtype, count=len(episodes))
            for attr, dtype in EPISODE_COLUMNS]


class EpisodeLog:
    """A run's MQL episodes in opening order (the SalesLog's rows): the episodes that may still
    change as objects (`items`, the sales process appends each new one), and before them the
    closed ones already turned into columns, so a closed episode costs its ~59 bytes of columns
    rather than ~270 bytes of object for the rest of the run.

    `compact()` (the team's midnight monitor calls it) turns the longest run of closed episodes at
    the front of `items` into columns (at least MIN_CHUNK at a time); an episode that is still open
    stops it, so in a backlog that never clears the episodes stay objects. Only for a stage whose
    closed episodes never change again (not a `cover` cadence, which calls on after a contact):
    `compacting = False` otherwise."""

    __slots__ = ("items", "chunks", "compacting", "closed")

    def __init__(self) -> None:
        self.items: list[Any] = []                    # episode objects, oldest first
        self.chunks: list[list[np.ndarray]] = []      # closed episodes before them, as columns
        self.compacting = True
        self.closed = 0                               # how many at the front of `items` are known closed

    def __len__(self) -> int:
        return sum(c[0].size for c in self.chunks) + len(self.items)

    def compact(self) -> None:
        if not self.compacting:
            return
        items = self.items
        self.closed = n = closed_prefix(items, self.closed)
        if n >= MIN_CHUNK:
            self.chunks.append(episode_columns(items[:n]))
            del items[:n]           # in place: the process's bound append stays valid
            self.closed = 0

    def columns(self) -> list[np.ndarray]:
        """The EPISODE_COLUMNS of every episode, in opening order."""
        last = episode_columns(self.items)
        if not self.chunks:
            return last
        return [np.concatenate([c[k] for c in self.chunks] + [last[k]]) for k in range(len(EPISODE_COLUMNS))]


class EpisodeSource(Protocol):
    """A run's episodes as EPISODE_COLUMNS in opening order (EpisodeLog; `sim.sales.arrivals.OpeningOrder`)."""

    def columns(self) -> list[np.ndarray]: ...


def build_log(episodes: Sequence[Any] | EpisodeSource, team: TeamLog, targets: bool = False) -> SalesLog:
    """The SalesLog of a finished run: the episodes (objects, or an EpisodeSource) and the
    SDR team's log (attempt columns, queue changes from a level of 0 at time 0, midnight samples;
    with `targets`, the contact each attempt called)."""
    i8 = np.int64
    cols = episode_columns(episodes) if isinstance(episodes, Sequence) else episodes.columns()
    lead, index, mql_time, tier, score, attempts, first_touch, end_time, status = cols
    del cols
    r = TeamRecord.of(SDR, team)
    return SalesLog(
        ep_lead=lead, ep_index=index, ep_mql_time=mql_time, ep_tier=tier, ep_score=score, ep_attempts=attempts,
        ep_first_touch=first_touch, ep_end_time=end_time, ep_status=status,
        at_lead=r.item, at_rep=r.worker, at_start=r.start, at_handle=r.handle, at_contact=r.contact,
        q_time=r.q_time, q_len=r.q_len, day_queue=r.day_queue, day_oldest_age=r.day_oldest_age,
        reps=r.workers, attempt_target=team.column("target", i8) if targets else None,
    )
