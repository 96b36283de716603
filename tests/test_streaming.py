"""A streamed world (scenario [stream]) is the same world model drawn chunk by chunk of arrivals:
it loses or duplicates no lead at chunk boundaries, follows the whole world's distributions, gives
the same KPIs within their intervals, keeps the invariants, and meets every policy with the same
leads and luck. Small worlds stay whole (bit-identical to before) under the default mode auto."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.config.scenario import Scenario
from sim.config.warnings import plan_warnings
from sim.decisions.scoring import score_world
from sim.experiment.replication import run_policy, run_replication
from sim.experiment.streamed import drops_events, policy_fingerprint, streamed_world
from sim.inputs import load_policy, load_scenario
from sim.world.arrivals import arrival_grid, horizon_bounds
from sim.world.generate import generate_world
from sim.world.stream import chunk_bounds, stream_chunks, streaming_applies

SMALL = [("arrivals.leads_per_year", 6000), ("sales.reps", 1), ("horizon.window", "56d"), ("horizon.runout", "30d")]


def _lead_only(over: list[tuple[str, object]]) -> Scenario:
    """The shipped baseline's market without its [accounts] table: a lead world, every attribute
    streamed (account worlds, whose account layer is drawn whole: the tests at the end)."""
    sc = load_scenario("baseline", over)
    return Scenario.model_validate({**sc.model_dump(), "accounts": None})


def _scenario(mode: str = "on", chunk: str = "28d", over: list[tuple[str, object]] | None = None) -> Scenario:
    return _lead_only([*SMALL, *(over or []), ("stream.mode", mode), ("stream.chunk", chunk)])


def test_default_auto_keeps_todays_worlds_whole_and_unchanged():
    auto, off = _lead_only([]), _lead_only([("stream.mode", "off")])
    assert auto.stream.mode == "auto" and not streaming_applies(auto)
    a, b = generate_world(auto, 3), generate_world(off, 3)
    assert a.chunk is None and a.kept_for is None
    for f in ("arrival", "channel", "intent", "event_time", "event_type", "event_offsets"):
        assert np.array_equal(getattr(a, f), getattr(b, f))
    assert np.array_equal(a.luck.win, b.luck.win)
    big = _lead_only([("arrivals.leads_per_year", 2_000_000)])
    assert streaming_applies(big)       # auto streams from stream.auto_leads expected leads


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days=st.integers(1, 120), seed=st.integers(0, 2**32 - 1))
def test_chunk_boundaries_lose_and_duplicate_no_lead(days, seed):
    sc = _scenario(chunk=f"{days}d")
    whole = generate_world(_scenario(mode="off"), seed)
    chunks = list(stream_chunks(sc, seed))
    # the chunks tile the leads in order, and each holds exactly the arrivals of its stretch of time
    assert [c.a for c in chunks] == [0, *[c.z for c in chunks[:-1]]] and chunks[-1].z == whole.n
    assert len(chunks) == int(np.ceil(whole.end / (days * 1440.0)))
    for c in chunks:
        t = c.world.arrival
        assert np.all((t >= c.index * days * 1440.0) & (t < (c.index + 1) * days * 1440.0))
        assert c.world.n == c.z - c.a == c.world.luck.key.size == c.world.event_offsets.size - 1
    # the arrivals are the whole world's draws: the same leads, whatever the chunk length
    world = generate_world(sc, seed)
    assert np.array_equal(world.arrival, whole.arrival) and np.array_equal(world.channel, whole.channel)
    assert world.event_offsets[-1] == world.event_time.size == sum(c.world.event_time.size for c in chunks)
    lead = np.repeat(np.arange(world.n), np.diff(world.event_offsets))
    assert np.all((world.event_time >= world.arrival[lead]) & (world.event_time < world.end))


def test_chunk_bounds_cover_the_horizon_with_empty_chunks():
    arrival = np.array([0.0, 5.0, 5.0, 31.0, 99.9])
    assert chunk_bounds(arrival, 10.0, 100.0) == [(0, 3), (3, 3), (3, 3), (3, 4), *[(4, 4)] * 5, (4, 5)]


def test_streamed_world_has_the_whole_worlds_distribution():
    """Pooled over seeds: arrival counts per chunk against the grid's expectation (Poisson), and the
    shares of attributes, buyers, events per lead and luck against a whole world's (5 sigma)."""
    sc, whole_sc = _scenario(chunk="14d"), _scenario(mode="off")
    seeds = range(6)
    streamed = [generate_world(sc, s) for s in seeds]
    whole = [generate_world(whole_sc, s) for s in seeds]
    grid = arrival_grid(sc.arrivals, sc.start_date, horizon_bounds(sc).end)
    per_bin = grid.mu.sum(axis=1)
    for w in streamed:
        bounds = chunk_bounds(w.arrival, sc.stream.chunk.minutes, w.end)
        for j, (a, z) in enumerate(bounds):
            lo, hi = j * sc.stream.chunk.minutes, (j + 1) * sc.stream.chunk.minutes
            mu = per_bin[(grid.start >= lo) & (grid.start < hi)].sum()
            assert abs((z - a) - mu) < 5 * np.sqrt(mu) + 1

    def pooled(worlds, f):
        return np.concatenate([f(w) for w in worlds])

    for name, f in [("seniority==0", lambda w: w.seniority == 0), ("company_size==1", lambda w: w.company_size == 1),
                    ("industry==0", lambda w: w.industry == 0), ("region==0", lambda w: w.region == 0),
                    ("existing_customer", lambda w: w.existing_customer), ("buyer", lambda w: w.buyer),
                    ("luck.win<0.3", lambda w: w.luck.win[:] < 0.3), ("luck.reject<0.5", lambda w: w.luck.reject[:] < 0.5),
                    ("luck.cycle<0.1", lambda w: w.luck.cycle[:] < 0.1)]:
        x, y = pooled(streamed, f), pooled(whole, f)
        p = (x.sum() + y.sum()) / (x.size + y.size)
        se = np.sqrt(p * (1 - p) * (1 / x.size + 1 / y.size))
        assert abs(x.mean() - y.mean()) < 5 * se + 1e-12, name
    x, y = pooled(streamed, lambda w: np.diff(w.event_offsets)), pooled(whole, lambda w: np.diff(w.event_offsets))
    se = np.sqrt(x.var() / x.size + y.var() / y.size)
    assert abs(x.mean() - y.mean()) < 5 * se
    luck = pooled(streamed, lambda w: w.luck.deal_size[:])
    assert luck.dtype == np.float64 and luck.min() >= 0.0 and luck.max() < 1.0
    # the counter-based columns are independent of each other (purposes apart): near-zero correlation
    win, sql = pooled(streamed, lambda w: w.luck.win[:]), pooled(streamed, lambda w: w.luck.sql[:])
    assert abs(np.corrcoef(win, sql)[0, 1]) < 5 / np.sqrt(win.size)


def test_kpis_of_streamed_and_whole_runs_agree_within_their_intervals():
    pol = load_policy("seed-example", [])
    reps = range(12)
    kpis = ("mqls", "sals", "sqls", "won", "contacted")
    got: dict[str, dict[str, list[float]]] = {"on": {k: [] for k in kpis}, "off": {k: [] for k in kpis}}
    for mode in got:
        sc = _scenario(mode=mode)
        for r in reps:
            k = run_replication(sc, [pol], seed=11, replication=r).kpis()[pol.name]
            for name in kpis:
                got[mode][name].append(float(k[name]))
    for name in kpis:
        a, b = np.array(got["on"][name]), np.array(got["off"][name])
        se = np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se + 1e-9, (name, a.mean(), b.mean(), se)


@pytest.mark.parametrize("chunk", ["1d", "28d"])
def test_streamed_run_keeps_the_invariants_and_every_policy_meets_the_same_world(chunk):
    sc = _scenario(chunk=chunk, over=[("arrivals.leads_per_year", 20000), ("sales.reps", 2)])
    policies = [load_policy("seed-example", []), load_policy("volume", []), load_policy("speed-first", [])]
    assert drops_events(sc, policies)
    rep = run_replication(sc, policies, seed=5, check=True)   # debug mode: raises on a broken invariant
    world = rep.world
    assert world.kept_for == frozenset(policy_fingerprint(p) for p in policies)
    full = generate_world(sc, 5)         # the same streamed world with every event
    assert world.event_time.size < full.event_time.size
    for f in ("arrival", "channel", "seniority", "buyer", "intent"):
        assert np.array_equal(getattr(world, f), getattr(full, f))
    for f in dataclasses.fields(world.luck):
        assert np.array_equal(getattr(world.luck, f.name), getattr(full.luck, f.name))
    for p in policies:
        # each policy's MQLs on the compact world are exactly its MQLs on the full one
        a, b = rep.runs[p.name].scored, score_world(full, p)
        assert np.array_equal(a.mql_time, b.mql_time) and np.array_equal(a.mql_tier, b.mql_tier)
        assert np.array_equal(a.mql_score, b.mql_score, equal_nan=True)
        # and the whole run is the run on the full world, KPI for KPI
        k_full = run_replication(sc, [p], seed=5, world=full).kpis()[p.name]
        k = rep.runs[p.name].kpis
        assert all(k[x] == k_full[x] or (k[x] != k[x] and k_full[x] != k_full[x]) for x in k), p.name


@pytest.mark.parametrize("chunk", ["9d", "28d"])
def test_a_streamed_worlds_chunk_scoring_is_exactly_the_scoring_of_the_kept_world(chunk):
    """The chunks were scored to choose the events to keep; those scores, joined, are what scoring
    the kept world gives (the MQL event renumbered), so the run does not score the world again."""
    sc = _scenario(chunk=chunk, over=[("arrivals.leads_per_year", 20000)])
    policies = [load_policy("seed-example", []), load_policy("volume", [])]
    got: dict = {}
    world = streamed_world(sc, policies, seed=4, scored=got)
    assert set(got) == {policy_fingerprint(p) for p in policies}
    for p in policies:
        a, b = got[policy_fingerprint(p)], score_world(world, p)
        assert a.is_mql.sum() > 50
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
        hit = a.mql_event >= 0
        assert np.array_equal(world.event_time[a.mql_event[hit]], a.mql_time[hit])   # the kept world's event


def test_a_policy_the_world_was_not_kept_for_is_refused():
    sc = _scenario()
    world = streamed_world(sc, [load_policy("seed-example", [])], seed=1)
    with pytest.raises(ValueError, match="kept the engagement events"):
        run_policy(world, sc, load_policy("volume", []), None)   # type: ignore[arg-type]


def test_what_streaming_cannot_do_is_said_not_ignored():
    lead, acct = load_policy("seed-example", []), load_policy("mqa-score", [])

    def warned(sc, policies):
        return [w for w in plan_warnings([("sc.toml", sc)], [(p.name, f"{p.name}.toml", p) for p in policies])
                if "stream.mode" in w]

    assert warned(_scenario(), [lead]) == []
    assert "keeps every lead's engagement events" in warned(_scenario(), [lead, acct])[0]
    assert not drops_events(_scenario(), [lead, acct])
    queueing = load_scenario("mmc-teaching", [("stream.mode", "on")])
    assert not streaming_applies(queueing) and "drawn whole" in warned(queueing, [lead])[0]
    assert warned(_scenario(mode="auto"), [lead, acct]) == []


def test_a_chunk_shorter_than_a_day_is_refused():
    with pytest.raises(ValidationError, match="at least 1d"):
        Scenario.model_validate({"stream": {"chunk": "12h"}})


def test_the_feeder_gives_the_same_run_whatever_its_block(monkeypatch):
    import sim.sales.process as process
    sc = load_scenario("understaffed", [("arrivals.leads_per_year", 20000), ("sales.reps", 2),
                                        ("horizon.window", "28d"), ("horizon.runout", "30d")])
    pol = load_policy("seed-example", [])
    want = run_replication(sc, [pol], seed=2).runs[pol.name]
    monkeypatch.setattr(process, "FEED_BLOCK", 7)
    got = run_replication(sc, [pol], seed=2).runs[pol.name]
    assert got.log.ep_lead.size > 7 * 3
    for f in dataclasses.fields(want.log):
        a, b = getattr(want.log, f.name), getattr(got.log, f.name)
        assert np.array_equal(a, b, equal_nan=True) if isinstance(a, np.ndarray) else a == b, f.name


@settings(max_examples=10, deadline=None)
@given(chunk=st.integers(1, 3000))
def test_scoring_in_chunks_gives_every_lead_the_same_first_mql(chunk):
    world = generate_world(_scenario(mode="off"), 4)
    pol = load_policy("seed-example", [])
    want, got = score_world(world, pol), score_world(world, pol, chunk=chunk)
    for f in dataclasses.fields(want):
        assert np.array_equal(getattr(want, f.name), getattr(got, f.name), equal_nan=True), f.name
        assert getattr(want, f.name).dtype == getattr(got, f.name).dtype


@pytest.mark.parametrize("name", ["baseline", "workshop", "classroom", "understaffed"])
def test_mode_autos_quick_bound_never_undercounts_the_expected_leads(name):
    from sim.world.stream import expected_leads, most_leads
    for over in ([], [("horizon.window", "3d"), ("horizon.warmup", "1d"), ("horizon.runout", "1d")]):
        sc = load_scenario(name, over)
        assert most_leads(sc) >= expected_leads(sc) > 0


# Account worlds ([accounts], the shipped baseline): the account layer is drawn whole, exactly as a
# whole world draws it; the engagement events and the luck are streamed chunk by chunk.

def _accounts(mode: str = "on", chunk: str = "28d", over: list[tuple[str, object]] | None = None) -> Scenario:
    return load_scenario("baseline", [*SMALL, *(over or []), ("stream.mode", mode), ("stream.chunk", chunk)])


_ACCOUNT_FACTS = ("arrival", "channel", "seniority", "company_size", "industry", "region", "email_kind",
                  "existing_customer", "open_deal", "buyer", "intent")


def test_an_account_world_streams_and_keeps_the_whole_worlds_account_layer():
    assert streaming_applies(_accounts()) and not streaming_applies(load_scenario("baseline", []))
    assert streaming_applies(load_scenario("baseline", [("arrivals.leads_per_year", 2_000_000)]))
    for seed in (0, 7):
        streamed, whole = generate_world(_accounts(chunk="10d"), seed), generate_world(_accounts(mode="off"), seed)
        assert streamed.chunk is not None and whole.chunk is None
        for f in _ACCOUNT_FACTS:        # arrivals, placed attributes and truth: the whole world's draws
            assert np.array_equal(getattr(streamed, f), getattr(whole, f)), f
        assert streamed.accounts is not None and whole.accounts is not None
        for f in dataclasses.fields(whole.accounts):     # accounts, windows, surges, each lead's account and role
            a, b = getattr(streamed.accounts, f.name), getattr(whole.accounts, f.name)
            assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == b, f.name
        # the engagement is the chunks' own draw: every lead's events inside its life, none lost
        lead = np.repeat(np.arange(streamed.n), np.diff(streamed.event_offsets))
        assert streamed.event_offsets[-1] == streamed.event_time.size
        assert np.all((streamed.event_time >= streamed.arrival[lead]) & (streamed.event_time < streamed.end))
    # each chunk holds its slice of the account facts and shares the whole book (global lead indices)
    for c in stream_chunks(_accounts(chunk="10d"), 7):
        assert c.world.accounts is not None
        assert np.array_equal(c.world.accounts.lead_account, streamed.accounts.lead_account)
        for f in _ACCOUNT_FACTS:
            assert np.array_equal(getattr(c.world, f), getattr(streamed, f)[c.a:c.z]), f
        assert np.array_equal(c.world.event_time, streamed.event_time[streamed.event_offsets[c.a]:streamed.event_offsets[c.z]])


def test_an_account_worlds_streamed_engagement_has_the_whole_worlds_distribution():
    """Pooled over seeds, buyers and researchers apart: events per lead (5 sigma) and the share of
    each event type against a whole world's; the leads and their intent are the same in both."""
    seeds = range(4)
    streamed = [generate_world(_accounts(chunk="14d"), s) for s in seeds]
    whole = [generate_world(_accounts(mode="off"), s) for s in seeds]
    for group in (True, False):
        x = np.concatenate([np.diff(w.event_offsets)[w.buyer == group] for w in streamed])
        y = np.concatenate([np.diff(w.event_offsets)[w.buyer == group] for w in whole])
        assert x.size == y.size > 0
        se = np.sqrt(x.var() / x.size + y.var() / y.size)
        assert abs(x.mean() - y.mean()) < 5 * se + 1e-12, group
    kinds_s = np.concatenate([w.event_type for w in streamed])
    kinds_w = np.concatenate([w.event_type for w in whole])
    for k in np.union1d(kinds_s, kinds_w):
        a, b = kinds_s == k, kinds_w == k
        p = (a.sum() + b.sum()) / (a.size + b.size)
        assert abs(a.mean() - b.mean()) < 5 * np.sqrt(p * (1 - p) * (1 / a.size + 1 / b.size)) + 1e-12, k


def test_a_streamed_account_world_keeps_the_invariants_for_lead_and_account_policies():
    sc = _accounts(over=[("arrivals.leads_per_year", 12000), ("sales.reps", 2)])
    lead, mqa = load_policy("seed-example", []), load_policy("mqa-breadth", [])
    assert drops_events(sc, [lead]) and not drops_events(sc, [lead, mqa])
    full = generate_world(sc, 5)                   # the streamed world with every event
    rep = run_replication(sc, [lead], seed=5, check=True)   # debug mode: raises on a broken invariant
    assert rep.world.kept_for == frozenset({policy_fingerprint(lead)})
    assert rep.world.event_time.size < full.event_time.size and rep.world.accounts is not None
    a, b = rep.runs[lead.name].scored, score_world(full, lead)
    assert np.array_equal(a.mql_time, b.mql_time) and np.array_equal(a.mql_tier, b.mql_tier)
    k, k_full = rep.runs[lead.name].kpis, run_replication(sc, [lead], seed=5, world=full).kpis()[lead.name]
    assert all(k[x] == k_full[x] or (k[x] != k[x] and k_full[x] != k_full[x]) for x in k)
    assert k["accounts_engaged"] > 0
    acc = run_replication(sc, [mqa], seed=5, check=True)     # account-unit: every event kept
    assert acc.world.kept_for is None and np.array_equal(acc.world.event_time, full.event_time)
    assert acc.runs[mqa.name].kpis["mqls"] > 0


def test_every_policy_meets_the_same_streamed_account_world():
    """Common random numbers: a policy's run on the streamed account world does not depend on which
    other policies share the replication (their kept events differ, the world does not)."""
    sc = _accounts(over=[("arrivals.leads_per_year", 12000), ("sales.reps", 2)])
    lead, other, mqa = load_policy("seed-example", []), load_policy("volume", []), load_policy("mqa-breadth", [])
    alone = run_replication(sc, [lead], seed=9)
    for company in ([lead, other], [lead, mqa]):
        together = run_replication(sc, company, seed=9)
        for f in _ACCOUNT_FACTS:
            assert np.array_equal(getattr(together.world, f), getattr(alone.world, f)), f
        for f in dataclasses.fields(alone.world.luck):
            assert np.array_equal(getattr(together.world.luck, f.name), getattr(alone.world.luck, f.name))
        k, k_alone = together.runs[lead.name].kpis, alone.runs[lead.name].kpis
        assert all(k[x] == k_alone[x] or (k[x] != k[x] and k_alone[x] != k_alone[x]) for x in k), company


def test_streaming_an_account_world_warns_only_about_account_policies():
    lead, acct = load_policy("seed-example", []), load_policy("mqa-breadth", [])

    def warned(policies):
        return [w for w in plan_warnings([("sc.toml", _accounts())], [(p.name, f"{p.name}.toml", p) for p in policies])
                if "stream.mode" in w]

    assert warned([lead]) == []
    assert "keeps every lead's engagement events" in warned([lead, acct])[0]


def test_a_design_whose_worlds_straddle_the_auto_threshold_warns_and_one_mode_silences_it():
    """Points on both sides of stream.auto_leads would be drawn two ways (whole and streamed), which
    weakens their pairing: the plan says so, naming the points; an explicit mode silences it."""
    from sim.experiment.task_plan import build_plan
    points = [{"scenario.arrivals.leads_per_year": 500_000}, {"scenario.arrivals.leads_per_year": 3_000_000}]
    mixed = build_plan("sweep", "x", ["baseline"], ["seed-example"], points=points, replications=1).warnings
    assert [w for w in mixed if "drawn two ways" in w and "point 1 streamed" in w and "point 0 whole" in w]
    for mode in ("on", "off"):
        one = build_plan("sweep", "x", ["baseline"], ["seed-example"], points=points, replications=1,
                         sets=[f'scenario.stream.mode="{mode}"']).warnings
        assert not [w for w in one if "drawn two ways" in w]
