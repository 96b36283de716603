"""Shortcuts taken for speed and memory that must give exactly what the plain way gave (results stay
bit-identical): a whole world's luck columns computed when indexed (sim.world.luck.DrawnUniforms)
instead of stored, `categorical` by comparisons instead of a binary search, the arrivals' stable
order from the default sort, and the account KPIs' "most advanced lead" without np.maximum.at."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.measure.accounts import ADVANCE, how_far
from sim.vocab import ALL_TERMINAL_STATES
from sim.world.arrivals import stable_order
from sim.world.luck import LUCK_FIELDS, child, draw_luck
from sim.world.population import categorical

N = 2_000


def stored(seed: int, n: int = N) -> dict[str, np.ndarray]:
    """Each column as its child stream draws it: what draw_luck used to store."""
    ss = np.random.SeedSequence([seed, 0])
    return {name: np.random.default_rng(child(ss, i)).random(n) for i, name in enumerate(LUCK_FIELDS) if name != "key"}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), picks=st.lists(st.integers(0, N - 1), max_size=40),
       a=st.integers(0, N), z=st.integers(0, N), k=st.integers(-N, N - 1))
def test_a_luck_column_indexes_like_the_array_its_stream_draws(seed: int, picks: list[int], a: int, z: int,
                                                              k: int) -> None:
    luck, want = draw_luck(N, np.random.SeedSequence([seed, 0])), stored(seed)
    idx = np.array(picks, dtype=np.int64)
    for name, v in want.items():
        col = getattr(luck, name)
        assert col.dtype == np.float64 and col.shape == (N,) and len(col) == N
        assert np.array_equal(col[idx], v[idx]) and col[k] == v[k]
        assert np.array_equal(col[a:z], v[a:z]) and np.array_equal(col[v < 0.3], v[v < 0.3])
        assert np.array_equal(col[idx, None], v[idx, None]) and np.array_equal(np.asarray(col), v)
        lo, hi = min(a, z), max(a, z)          # a window of leads, as World.leads makes for chunked scoring
        part = getattr(luck.rows(lo, hi), name)
        assert len(part) == hi - lo and np.array_equal(part[:], v[lo:hi])
        if hi > lo:
            assert np.array_equal(part[idx % (hi - lo)], v[lo:hi][idx % (hi - lo)])


def test_luck_key_is_stored_and_the_other_columns_hold_nothing_per_lead() -> None:
    luck = draw_luck(N, np.random.SeedSequence([1, 0]))
    assert isinstance(luck.key, np.ndarray) and luck.key.dtype == np.uint64 and luck.key.shape == (N,)
    assert all(getattr(luck, name).nbytes == 0 for name in LUCK_FIELDS if name != "key")


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.floats(0, 10), min_size=1, max_size=40).filter(lambda w: sum(w) > 0),
       seed=st.integers(0, 2**32))
def test_categorical_is_the_inverse_cdf_and_never_picks_a_zero_weight(weights: list[float], seed: int) -> None:
    w = np.array(weights)
    u = np.random.default_rng(seed).random(500)
    codes = categorical(w, u)
    assert codes.dtype == np.intp and np.all(w[codes] > 0)
    cum = np.cumsum(w) / w.sum()
    cum[np.flatnonzero(w > 0)[-1]:] = 1.0
    below = np.concatenate(([0.0], cum))[codes]          # the code's cumulative share from below ...
    assert np.all(below <= u) and np.all(u < cum[codes])  # ... and above bracket the uniform


def test_an_account_ends_where_its_most_advanced_lead_did() -> None:
    rank = [ADVANCE.index(s) for s in ALL_TERMINAL_STATES]
    state = np.array(list(range(len(rank))) * 3, dtype=np.int8)     # every state, three times
    account = np.random.default_rng(4).integers(0, 7, state.size)
    best = {a: max(rank[s] for s in state[account == a]) for a in np.unique(account)}
    want = np.bincount(np.array(list(best.values()), dtype=np.int64), minlength=len(ADVANCE))
    assert np.array_equal(how_far(account, state), want)
    assert how_far(np.zeros(0, np.int64), np.zeros(0, np.int8)).tolist() == [0] * len(ADVANCE)


@settings(max_examples=60, deadline=None)
@given(x=st.lists(st.sampled_from([0.0, -0.0, 0.5, 1.0, 1.5, 2.0, 1e9]) | st.floats(-1e6, 1e6), max_size=300))
def test_stable_order_is_the_stable_sort_ties_in_index_order(x: list[float]) -> None:
    a = np.array(x, dtype=np.float64)
    order, ordered = stable_order(a)
    want = np.argsort(a, kind="stable")
    assert np.array_equal(order, want) and np.array_equal(ordered.view(np.uint64), a[want].view(np.uint64))


def test_a_leads_last_episode_decides_its_state_whether_found_by_index_or_by_sorting(monkeypatch) -> None:
    import sim.sales.outcomes as outcomes
    from sim.experiment.replication import run_replication
    from sim.inputs import load_policy, load_scenario
    from sim.world.response import ResponseModel

    sc = load_scenario("understaffed", [("arrivals.leads_per_year", 20_000.0)])
    rep = run_replication(sc, [load_policy("seed-example", [])], seed=2)
    log = rep.runs["seed-example"].log
    assert log.ep_index.max() >= 1                     # some leads came back: several episodes
    q = ResponseModel.from_scenario(sc.response).qualify_probability
    by_index = outcomes.play_out(rep.world, sc, log, q, rep.calendar)
    monkeypatch.setattr(outcomes, "_FEW_EPISODES", 0)  # sort every episode instead
    by_sorting = outcomes.play_out(rep.world, sc, log, q, rep.calendar)
    assert np.array_equal(by_index.state, by_sorting.state)
