"""The world streamed in chunks of arrivals, so memory does not grow with the horizon.

Whole worlds (`generate.generate_world`) draw every lead's attributes, truth, engagement events and
luck at once: about 180 bytes a lead before anything is scored, most of it engagement events
(~7 a lead) and nine float64 luck columns. A streamed world draws the arrivals for the whole horizon
as usual (cheap: a time and a channel a lead), then, chunk by chunk of arrival time
(`scenario.stream.chunk`, four weeks by default), the chunk's attributes, truth, engagement and luck
from per-chunk children of the same named sub-streams (chunk j of purpose P reads
``child(P's stream, j)``). The draws therefore differ from a whole world's (a documented change of
results, once), but follow the same distributions, and depend only on (scenario, seed, replication):
a streamed world is the same whoever draws it and whatever the policies.

Compact per-lead state: the luck is counter-based (`luck.KeyedUniforms`): each lead's uint64 key is
drawn as in a whole world, and every other luck field is a uniform computed from the key when a
consumer indexes it, so the luck takes 8 bytes a lead instead of 80.

Account worlds (scenario `[accounts]`): placing leads among accounts needs every lead of the horizon
at once (`accounts.place_leads` matches buying-group members to the arrivals nearest in time), so
that part stays whole and is drawn exactly as a whole world draws it: the attributes, the account
placement and the truth (buyer flags, intent) from the whole world's own sub-streams, bit-identical
to `generate_world` without streaming (`AccountFacts`). Only what is big is streamed: the
engagement events and the luck, chunk by chunk as for a lead world. A chunk world then shares the
whole world's `AccountBook` (lead indices global, as `World.leads` shares it).

Dropping events: `generate_streamed_world(keep=...)` keeps only the events of the leads `keep` chooses
in each chunk as it is drawn; `sim.experiment.streamed` chooses the leads that at least one policy of
the replication makes an MQL (a lead enters sales only through an MQL; a recycled lead's re-MQL needs
its whole event history, which is kept). Scoring the compact world under one of those policies gives
exactly the same MQLs; under another it would not, so the world records what it was kept for
(`World.kept_for`) and the replication refuses any other policy.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from sim.config.scenario import Scenario, stream_blocker
from sim.vocab import WEEKDAYS
from sim.world.accounts import AccountBook, draw_intent, place_leads
from sim.world.arrivals import DAYS_PER_YEAR, Horizon, arrival_grid, draw_arrivals, horizon_bounds
from sim.world.engagement import draw_engagement
from sim.world.luck import child, keyed_luck, luck_of_keys
from sim.world.model import Luck, World
from sim.world.population import draw_attributes, draw_truth, shares_vector

_PER_LEAD = ("seniority", "company_size", "industry", "region", "email_kind", "existing_customer",
             "open_deal", "buyer", "intent")


def expected_leads(scenario: Scenario) -> float:
    """Expected leads in the world over the whole horizon (the arrival grid's integral)."""
    horizon = horizon_bounds(scenario)
    if scenario.queueing.enabled:
        return scenario.queueing.mql_rate / 60.0 * horizon.end
    return arrival_grid(scenario.arrivals, scenario.start_date, horizon.end).expected_total


def why_not_streamed(scenario: Scenario) -> str | None:
    """Why this scenario's world cannot be streamed (queueing mode), or None when it can."""
    return stream_blocker(scenario)


def streaming_applies(scenario: Scenario) -> bool:
    """Whether this scenario's world is drawn streamed: stream.mode on, or auto from auto_leads
    expected leads; never in queueing mode (`why_not_streamed`). Account worlds stream their
    engagement and luck (the account layer is drawn whole, `AccountFacts`)."""
    mode = scenario.stream.mode
    if mode == "off" or why_not_streamed(scenario) is not None:
        return False
    if mode == "on":
        return True
    return most_leads(scenario) >= scenario.stream.auto_leads and expected_leads(scenario) >= scenario.stream.auto_leads


def most_leads(scenario: Scenario) -> float:
    """A cheap upper bound of `expected_leads` (no arrival grid): the yearly volume over the horizon
    times the largest weekday and hour weights (profiles have mean 1) and every spike above 1, so
    mode auto decides for today's sizes in microseconds."""
    a = scenario.arrivals
    days = horizon_bounds(scenario).end / 1440.0
    weekday = shares_vector(a.weekday_profile, WEEKDAYS, 1.0)
    hourly = np.asarray(a.hourly_profile, dtype=np.float64)
    peak = float(weekday.max() / weekday.mean()) * float(hourly.max() / hourly.mean())
    spikes = float(np.prod([max(1.0, sp.multiplier) for sp in a.spikes])) if a.spikes else 1.0
    return a.leads_per_year * days / DAYS_PER_YEAR * peak * spikes


@dataclass(frozen=True)
class Chunk:
    """Leads [a, z) of a streamed world (one chunk of arrival time), as a World of their own."""

    index: int
    a: int
    z: int
    world: World


def chunk_bounds(arrival: np.ndarray, chunk_minutes: float, end: float) -> list[tuple[int, int]]:
    """[(a, z)] per chunk j: the leads arriving in [j * chunk, (j + 1) * chunk), one entry per chunk
    of the horizon (empty chunks included, so chunk j always reads child stream j)."""
    n_chunks = max(1, int(np.ceil(end / chunk_minutes)))
    edges = np.searchsorted(arrival, np.arange(n_chunks + 1) * chunk_minutes, side="left")
    edges[-1] = arrival.shape[0]
    return [(int(edges[j]), int(edges[j + 1])) for j in range(n_chunks)]


@dataclass(frozen=True)
class AccountFacts:
    """What an account world draws whole, exactly as `generate_world` draws it: the per-lead
    attributes (as placed among the accounts), buyer flags and intent, and the account book."""

    per_lead: dict[str, np.ndarray]      # the names of _PER_LEAD -> [n] arrays
    book: AccountBook


def account_facts(scenario: Scenario, root: np.random.SeedSequence, arrival: np.ndarray,
                  channel: np.ndarray, horizon: Horizon) -> AccountFacts | None:
    """The account layer of the world with this root sequence, drawn whole from the whole world's
    sub-streams (attributes, accounts, truth), or None without `[accounts]`."""
    if scenario.accounts is None:
        return None
    from sim.world.generate import STREAMS  # generate dispatches here: import at use

    def ss(stream: str) -> np.random.SeedSequence:
        return child(root, STREAMS.index(stream))

    attrs = draw_attributes(scenario.population, channel, ss("attributes"))
    placed = place_leads(scenario, arrival, attrs, horizon.end, ss("accounts"))
    del attrs
    intent = draw_intent(scenario.truth, placed.buyer, ss("truth"))
    a = placed.attrs
    per_lead = {"seniority": a.seniority, "company_size": a.company_size, "industry": a.industry,
                "region": a.region, "email_kind": a.email_kind, "existing_customer": a.existing_customer,
                "open_deal": a.open_deal, "buyer": placed.buyer, "intent": intent}
    return AccountFacts(per_lead=per_lead, book=placed.book)


def _chunk_world(scenario: Scenario, arrival: np.ndarray, channel: np.ndarray, horizon: Horizon,
                 root: np.random.SeedSequence, j: int, facts: AccountFacts | None = None,
                 a: int = 0, z: int = 0) -> World:
    """Chunk j's leads (arrival, channel given) with attributes, truth, engagement and luck drawn
    from the j-th children of the named sub-streams; with `facts` (an account world), leads [a, z)
    of the account facts drawn whole instead of the chunk's attributes and truth."""
    from sim.world.generate import STREAMS  # generate dispatches here: import at use

    def ss(stream: str) -> np.random.SeedSequence:   # child j of the named sub-stream (generate.STREAMS)
        return child(child(root, STREAMS.index(stream)), j)

    if facts is None:
        attrs = draw_attributes(scenario.population, channel, ss("attributes"))
        buyer, intent = draw_truth(scenario.truth, channel, attrs, ss("truth"))
        lead = {"seniority": attrs.seniority, "company_size": attrs.company_size, "industry": attrs.industry,
                "region": attrs.region, "email_kind": attrs.email_kind,
                "existing_customer": attrs.existing_customer, "open_deal": attrs.open_deal,
                "buyer": buyer, "intent": intent}
    else:
        lead = {name: v[a:z] for name, v in facts.per_lead.items()}
    offsets, event_time, event_type = draw_engagement(
        scenario.engagement, arrival, channel, lead["intent"], horizon.end, ss("engagement"))
    return _assemble(arrival, channel, lead, offsets, event_time, event_type,
                     keyed_luck(arrival.shape[0], ss("luck")), horizon, facts)


def _assemble(arrival: np.ndarray, channel: np.ndarray, lead: dict[str, np.ndarray], offsets: np.ndarray,
              event_time: np.ndarray, event_type: np.ndarray, luck: Luck, horizon: Horizon,
              facts: AccountFacts | None, kept_for: frozenset[str] | None = None,
              chunk: float | None = None) -> World:
    """A World from its per-lead arrays (`lead`, keyed by the names of _PER_LEAD), events and luck."""
    return World(
        arrival=arrival, channel=channel,
        seniority=lead["seniority"], company_size=lead["company_size"], industry=lead["industry"],
        region=lead["region"], email_kind=lead["email_kind"],
        existing_customer=lead["existing_customer"], open_deal=lead["open_deal"],
        buyer=lead["buyer"], intent=lead["intent"],
        event_offsets=offsets, event_time=event_time, event_type=event_type,
        luck=luck, end=horizon.end, window_start=horizon.window_start, window_end=horizon.window_end,
        accounts=facts.book if facts is not None else None, kept_for=kept_for, chunk=chunk)


def _streamed_arrivals(scenario: Scenario, seed: int, replication: int
                       ) -> tuple[np.random.SeedSequence, Horizon, np.ndarray, np.ndarray]:
    """(root sequence, horizon, arrival, channel): the whole horizon's arrivals, drawn as in a whole world."""
    from sim.world.generate import STREAMS, root_sequence  # generate dispatches here: import at use

    reason = why_not_streamed(scenario)
    if reason is not None:
        raise ValueError(f"this world cannot be streamed: {reason}")
    root = root_sequence(seed, replication)
    horizon = horizon_bounds(scenario)
    grid = arrival_grid(scenario.arrivals, scenario.start_date, horizon.end)
    arrival, channel = draw_arrivals(grid, horizon.end, child(root, STREAMS.index("arrivals")))
    return root, horizon, arrival, channel


def _chunks(scenario: Scenario, root: np.random.SeedSequence, horizon: Horizon, arrival: np.ndarray,
            channel: np.ndarray, facts: AccountFacts | None) -> Iterator[Chunk]:
    for j, (a, z) in enumerate(chunk_bounds(arrival, scenario.stream.chunk.minutes, horizon.end)):
        yield Chunk(j, a, z, _chunk_world(scenario, arrival[a:z], channel[a:z], horizon, root, j, facts, a, z))


def stream_chunks(scenario: Scenario, seed: int, replication: int = 0) -> Iterator[Chunk]:
    """The chunks of the streamed world of (scenario, seed, replication), in arrival order: the
    arrivals of the whole horizon first (the whole world's arrival draws) and, in an account world,
    the account layer (`account_facts`), then one chunk at a time."""
    root, horizon, arrival, channel = _streamed_arrivals(scenario, seed, replication)
    facts = account_facts(scenario, root, arrival, channel, horizon)
    yield from _chunks(scenario, root, horizon, arrival, channel, facts)


def generate_streamed_world(scenario: Scenario, seed: int, replication: int = 0,
                            keep: Callable[[World], np.ndarray] | None = None,
                            kept_for: frozenset[str] | None = None) -> World:
    """The streamed world of (scenario, seed, replication), assembled chunk by chunk into
    preallocated per-lead arrays. `keep(chunk world)` -> bool[leads of the chunk]: whose engagement
    events to keep (None keeps every event); `kept_for` names what `keep` kept them for (see
    `World.kept_for`)."""
    root, horizon, arrival, channel = _streamed_arrivals(scenario, seed, replication)
    facts = account_facts(scenario, root, arrival, channel, horizon)
    n = arrival.shape[0]
    per_lead: dict[str, np.ndarray] = dict(facts.per_lead) if facts is not None else {}
    key = np.empty(n, dtype=np.uint64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    events = _EventBuffer()
    kept = 0
    for c in _chunks(scenario, root, horizon, arrival, channel, facts):
        w, a, z = c.world, c.a, c.z
        if facts is None:    # a lead world: the chunk drew its leads' attributes and truth
            if not per_lead:     # dtypes from the first chunk's draws
                per_lead = {name: np.empty(n, dtype=getattr(w, name).dtype) for name in _PER_LEAD}
            for name in _PER_LEAD:
                per_lead[name][a:z] = getattr(w, name)
        key[a:z] = w.luck.key
        counts = np.diff(w.event_offsets)
        if keep is not None and w.n:
            chosen = np.asarray(keep(w), dtype=bool)
            mask = np.repeat(chosen, counts)
            counts = np.where(chosen, counts, 0)
            events.add(w.event_time[mask], w.event_type[mask], z / max(n, 1))
        else:
            events.add(w.event_time, w.event_type, z / max(n, 1))
        np.cumsum(counts, out=offsets[a + 1:z + 1])
        offsets[a + 1:z + 1] += kept
        kept += int(counts.sum())
    return _assemble(arrival, channel, per_lead, offsets, events.time(), events.type(), luck_of_keys(key), horizon,
                     facts, kept_for=kept_for, chunk=scenario.stream.chunk.minutes)


class _EventBuffer:
    """The kept events of the chunks so far, in two growing arrays (sized from the share of leads
    drawn so far, grown by half when short, trimmed in place at the end).

    Why not a list of per-chunk arrays: those are small enough to come from the heap, between the
    chunk's freed temporaries, which then cannot be given back to the OS (about 300 MiB of a 10M-lead
    world); these large arrays are mapped on their own, so the heap empties after every chunk."""

    def __init__(self) -> None:
        self._time = np.empty(0, dtype=np.float64)
        self._type = np.empty(0, dtype=np.int8)
        self.size = 0

    def add(self, time: np.ndarray, kind: np.ndarray, done: float) -> None:
        """Append a chunk's events; `done`: the share of the world's leads drawn so far (sizing)."""
        need = self.size + time.shape[0]
        if need > self._time.shape[0]:
            cap = max(int(need / max(done, 1e-9) * 1.1), int(self._time.shape[0] * 1.5), need)
            self._time = _grown(self._time, cap, self.size)
            self._type = _grown(self._type, cap, self.size)
        self._time[self.size:need] = time
        self._type[self.size:need] = kind
        self.size = need

    def time(self) -> np.ndarray:
        self._time.resize(self.size, refcheck=False)     # in place: no copy of the kept events
        return self._time

    def type(self) -> np.ndarray:
        self._type.resize(self.size, refcheck=False)
        return self._type


def _grown(a: np.ndarray, cap: int, used: int) -> np.ndarray:
    out = np.empty(cap, dtype=a.dtype)
    out[:used] = a[:used]
    return out
