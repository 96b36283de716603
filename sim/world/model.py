"""The World: one replication's leads as flat numpy arrays. Policy-independent by construction:
it depends on (scenario, root seed, replication index) only, so every policy meets the same leads
with the same luck (common random numbers).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from sim.world.accounts import AccountBook

# Purposes for counter-based per-lead uniforms (see `lead_uniform`). Adding a purpose never
# changes the draws of another, so the luck of one chance does not depend on how many others exist.
PURPOSE_CONTACT = 1        # does attempt k reach the lead?
PURPOSE_HANDLE = 2         # handling time of attempt k
PURPOSE_TRIAGE = 3         # reserved
PURPOSE_PATIENCE = 4       # queueing mode: how long the lead's k-th MQL episode waits before leaving


@dataclass(frozen=True)
class Luck:
    """Pre-drawn uniforms in [0, 1) for every later chance of a lead, one column per chance.
    `key` seeds counter-based draws for chances that repeat (attempt k of episode e). The other
    columns are computed from the world's seeds when indexed (`sim.world.luck`: `DrawnUniforms` in
    a whole world, `KeyedUniforms` in a streamed one), hold nothing per lead, and index like the
    float64 arrays they stand for; consumers index them by the leads they need."""

    key: np.ndarray            # uint64[n]
    reject: np.ndarray         # float64[n]: SAL acceptance / rejection reason
    reason: np.ndarray         # float64[n]: which rejection reason, among those that apply
    sql: np.ndarray            # float64[n]
    opportunity: np.ndarray    # float64[n]
    win: np.ndarray            # float64[n]
    deal_size: np.ndarray      # float64[n]
    sql_delay: np.ndarray      # float64[n]
    opportunity_delay: np.ndarray  # float64[n]
    cycle: np.ndarray          # float64[n]

    def rows(self, a: int, z: int) -> Luck:
        """Leads [a, z): views of stored columns; a column computed on demand (sim.world.luck)
        becomes the same kind of column over those leads, without computing anything."""
        def part(column: np.ndarray) -> np.ndarray:
            window = getattr(column, "window", None)
            return window(a, z) if window is not None else column[a:z]
        return Luck(**{f.name: part(getattr(self, f.name)) for f in dataclasses.fields(self)})


@dataclass(frozen=True)
class World:
    """Leads sorted by arrival time. Times are minutes since the scenario's start_date 00:00.

    Engagement events are stored CSR-style: lead i's events are
    event_time[event_offsets[i]:event_offsets[i+1]] (sorted by time, the entry event first when the
    lead has one) with types event_type[...] (codes into vocab.EVENT_TYPES).
    """

    arrival: np.ndarray          # float64[n], ascending
    channel: np.ndarray          # int8[n], vocab.CHANNELS
    seniority: np.ndarray        # int8[n], vocab.SENIORITIES
    company_size: np.ndarray     # int8[n], vocab.COMPANY_SIZES
    industry: np.ndarray         # int8[n], vocab.INDUSTRIES
    region: np.ndarray           # int8[n], vocab.REGIONS
    email_kind: np.ndarray       # int8[n], vocab.EMAIL_KINDS
    existing_customer: np.ndarray  # bool[n]
    open_deal: np.ndarray        # bool[n]
    buyer: np.ndarray            # bool[n]  hidden truth: really in market
    intent: np.ndarray           # float64[n] in [0, 1], hidden truth
    event_offsets: np.ndarray    # int64[n + 1]
    event_time: np.ndarray       # float64[m]
    event_type: np.ndarray       # int8[m]
    luck: Luck
    end: float                   # minutes: end of the simulated horizon (warm-up + window + run-out)
    window_start: float          # minutes: the measured cohort is created in [window_start, window_end)
    window_end: float
    mql_at_arrival: bool = False  # queueing mode: every lead is an MQL when it arrives (scoring bypassed)
    accounts: AccountBook | None = None  # the account layer (scenario [accounts]); None = each lead its own account
    # A streamed world (sim.world.stream): minutes of arrival time per chunk; None = drawn whole.
    chunk: float | None = None
    # Fingerprints of the policies whose MQL leads kept their engagement events (the others' were
    # dropped, sim.experiment.streamed); None = every lead keeps its events.
    kept_for: frozenset[str] | None = None

    @property
    def n(self) -> int:
        return int(self.arrival.shape[0])

    @property
    def in_cohort(self) -> np.ndarray:
        """bool[n]: created in the measurement window."""
        return (self.arrival >= self.window_start) & (self.arrival < self.window_end)

    def events_of(self, lead: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self.event_offsets[lead], self.event_offsets[lead + 1]
        return self.event_time[a:b], self.event_type[a:b]

    def leads(self, a: int, z: int) -> World:
        """Leads [a, z) as a World of their own (views, no copies), for scoring in chunks: per-lead
        arrays and luck sliced, their events re-based (the first is global event `event_offsets[a]`),
        everything else (window, accounts) shared."""
        off = self.event_offsets
        e0, e1 = int(off[a]), int(off[z])
        sliced: dict[str, object] = {}
        for f in dataclasses.fields(World):
            v = getattr(self, f.name)
            if f.name == "event_offsets":
                v = off[a:z + 1] - e0
            elif f.name in ("event_time", "event_type"):
                v = v[e0:e1]
            elif f.name == "luck":
                v = v.rows(a, z)
            elif isinstance(v, np.ndarray):
                v = v[a:z]
            sliced[f.name] = v
        return World(**sliced)  # type: ignore[arg-type]  # the same fields, sliced


_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB
_MASK = (1 << 64) - 1


def lead_uniform(key: int, purpose: int, k: int) -> float:
    """The k-th uniform in [0, 1) of one purpose for the lead with this key (splitmix64 finaliser).

    Counter-based, so the draw for (lead, purpose, k) is the same whichever policy asks and in
    whatever order: two policies that both make attempt 2 on a lead see the same outcome luck."""
    z = (int(key) + (purpose << 48) + k * 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    z ^= z >> 31
    return (z >> 11) * (1.0 / (1 << 53))


def lead_uniforms(keys: np.ndarray, purpose: int, k: np.ndarray | int) -> NDArray[np.float64]:
    """Vectorised `lead_uniform` (identical values) for arrays of keys and counters."""
    with np.errstate(over="ignore"):
        z = keys.astype(np.uint64, copy=False) + np.uint64(purpose << 48) + np.asarray(k, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_M2)
        z = z ^ (z >> np.uint64(31))
    u: NDArray[np.float64] = (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
    return u
