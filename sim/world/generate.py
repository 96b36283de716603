"""Build one replication's World from a Scenario: the single entry point of the world layer.

The world depends only on (scenario, seed, replication), never on a policy, so every policy of an
experiment meets the same leads with the same luck. Each purpose reads its own named sub-stream of
SeedSequence([seed, replication]): editing, say, the engagement section leaves the arrivals,
attributes, truth and luck bit-identical.
"""
from __future__ import annotations

import numpy as np

from sim.config.scenario import Scenario
from sim.world.accounts import AccountBook, draw_intent, place_leads
from sim.world.arrivals import arrival_grid, channel_shares, draw_arrivals, horizon_bounds
from sim.world.engagement import draw_engagement
from sim.world.luck import child, draw_luck, streams
from sim.world.model import World
from sim.world.population import categorical, draw_attributes, draw_truth
from sim.world.stream import generate_streamed_world, streaming_applies

# Sub-stream of each purpose, by position. APPEND ONLY (inserting would change later streams).
STREAMS: tuple[str, ...] = ("arrivals", "attributes", "truth", "engagement", "luck", "accounts")


def root_sequence(seed: int, replication: int = 0) -> np.random.SeedSequence:
    """The SeedSequence of one replication of an experiment with this root seed."""
    if seed < 0 or replication < 0:
        raise ValueError(f"seed and replication must be >= 0 (got {seed}, {replication})")
    return np.random.SeedSequence([int(seed), int(replication)])


def generate_world(scenario: Scenario, seed: int, replication: int = 0) -> World:
    """The leads of one replication: arrivals, attributes, hidden truth, engagement events, luck.
    Drawn streamed, chunk by chunk of arrivals, when `stream.streaming_applies` (scenario [stream])."""
    if streaming_applies(scenario):
        return generate_streamed_world(scenario, seed, replication)
    root = root_sequence(seed, replication)
    ss = {name: child(root, i) for i, name in enumerate(STREAMS)}
    horizon = horizon_bounds(scenario)

    queueing = scenario.queueing.enabled
    if queueing:
        arrival, channel = poisson_mqls(scenario, horizon.end, ss["arrivals"])
    else:
        grid = arrival_grid(scenario.arrivals, scenario.start_date, horizon.end)
        arrival, channel = draw_arrivals(grid, horizon.end, ss["arrivals"])
    attrs = draw_attributes(scenario.population, channel, ss["attributes"])
    book: AccountBook | None = None
    if scenario.accounts is not None and not queueing:   # leads become contacts of accounts
        placed = place_leads(scenario, arrival, attrs, horizon.end, ss["accounts"])
        book, attrs, buyer = placed.book, placed.attrs, placed.buyer
        intent = draw_intent(scenario.truth, buyer, ss["truth"])
    else:
        buyer, intent = draw_truth(scenario.truth, channel, attrs, ss["truth"])
    if queueing:   # no engagement: the MQL is the arrival
        offsets, event_time, event_type = np.zeros(arrival.shape[0] + 1, np.int64), np.zeros(0), np.zeros(0, np.int8)
    else:
        offsets, event_time, event_type = draw_engagement(
            scenario.engagement, arrival, channel, intent, horizon.end, ss["engagement"])
    luck = draw_luck(arrival.shape[0], ss["luck"])

    return World(
        arrival=arrival, channel=channel,
        seniority=attrs.seniority, company_size=attrs.company_size, industry=attrs.industry,
        region=attrs.region, email_kind=attrs.email_kind,
        existing_customer=attrs.existing_customer, open_deal=attrs.open_deal,
        buyer=buyer, intent=intent,
        event_offsets=offsets, event_time=event_time, event_type=event_type,
        luck=luck, end=horizon.end, window_start=horizon.window_start, window_end=horizon.window_end,
        mql_at_arrival=queueing, accounts=book,
    )


def poisson_mqls(scenario: Scenario, end: float, ss: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """Queueing mode: (arrival float64[n] ascending, channel int8[n]) of a homogeneous Poisson process
    at `queueing.mql_rate` per hour over [0, end): a Poisson count, then sorted uniform times.
    Channels follow the arrivals' channel mix (they only matter for costs and outcomes)."""
    rng = streams(ss, ("count", "times", "channel"))
    n = int(rng["count"].poisson(scenario.queueing.mql_rate / 60.0 * end))
    arrival = np.sort(rng["times"].uniform(0.0, end, n))
    channel = categorical(channel_shares(scenario.arrivals), rng["channel"].random(n)).astype(np.int8)
    return arrival, channel
