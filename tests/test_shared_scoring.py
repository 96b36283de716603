"""Shared scoring (sim.decisions.scoring.SharedScoring): the policies of one world that differ only in
what decides an MQL (thresholds, tiers, fit/behaviour minimums) read their MQLs off one score
trajectory. Checked here: exactly the same Scored and KPIs as scoring each policy alone (a lead and an
account policy, the total and the fit-and-behaviour rule, thresholds by size, chunked worlds), each
world scored once for such a sweep, nothing shared between policies that score differently, nothing
kept once the last policy that needs a trajectory has read it."""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.mql import Rules, compile_policy
from sim.decisions.scoring import Scored, score_world
from sim.decisions.shared_scoring import SharedScoring, trajectory_key
from sim.experiment.replication import run_replication
from sim.experiment.streamed import drops_events
from sim.experiment.world_task import TaskSpec, execute, execute_group
from sim.inputs import load_policy, load_scenario
from sim.world.generate import generate_world
from sim.world.model import World

SMALL = [("arrivals.leads_per_year", 6000), ("sales.reps", 1), ("horizon.window", "28d"), ("horizon.runout", "30d")]
DETECTION = {"threshold", "fit_min", "behaviour_min", "high_intent"}     # Rules fields a trajectory does not read


@pytest.fixture(scope="module")
def baseline() -> tuple[Scenario, World]:
    sc = load_scenario("baseline", SMALL)        # a world with accounts, so account policies run too
    return sc, generate_world(sc, 7, 0)


def points(name: str, changes: list[list[tuple[str, Any]]]) -> list[Policy]:
    return [load_policy(name, [("name", f"p{i}"), *c]) for i, c in enumerate(changes)]


def same_scored(a: Scored, b: Scored) -> None:
    for f in dataclasses.fields(Scored):
        x, y = getattr(a, f.name), getattr(b, f.name)
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name


def same_kpis(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        both_nan = isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)
        assert both_nan or x == y, (k, x, y)


THRESHOLDS = [[("mql.threshold", t)] for t in (40, 52, 60, 61.5, 78)] + [
    [("mql.thresholds_by_size", {"small": 45, "enterprise": 70})], [("mql.high_intent", 65)]]
FIT_AND_BEHAVIOUR = [[("mql.rule", "fit_and_behaviour"), ("mql.fit_min", f), ("mql.behaviour_min", b)]
                     for f, b in ((20, 10), (35, 30), (40, 45))]


@pytest.mark.parametrize("changes", [THRESHOLDS, FIT_AND_BEHAVIOUR], ids=["total", "fit_and_behaviour"])
@pytest.mark.parametrize("chunk", [10**9, 257], ids=["whole", "chunked"])
def test_a_threshold_sweep_scores_the_world_once_with_every_points_own_mqls(baseline, changes, chunk):
    _, world = baseline
    pols = points("seed-example", changes)
    shared = SharedScoring(world, pols)
    for p in pols:
        same_scored(score_world(world, p, chunk=chunk, shared=shared), score_world(world, p, chunk=chunk))
    assert shared.computed == 1 and shared.kept == 0
    assert any(score_world(world, p).is_mql.sum() != score_world(world, pols[0]).is_mql.sum() for p in pols)


@pytest.mark.parametrize("name, changes", [
    ("seed-example", [[("mql.threshold", t)] for t in (44, 60, 72)]),
    ("mqa-score", [[("mql.account.threshold", t)] for t in (60, 80)] + [[("mql.threshold", 50)]]),
], ids=["lead", "account"])
def test_shared_scoring_gives_the_kpis_of_each_point_played_alone(baseline, name, changes):
    sc, world = baseline
    cal = BusinessCalendar.from_scenario(sc)
    pols = points(name, changes)
    shared = SharedScoring(world, pols)
    together = run_replication(sc, pols, 7, 0, world=world, calendar=cal, scores=shared)
    assert shared.computed == 1
    for p in pols:
        alone = run_replication(sc, [p], 7, 0, world=world, calendar=cal)
        same_scored(together.runs[p.name].scored, alone.runs[p.name].scored)
        same_kpis(together.runs[p.name].kpis, alone.runs[p.name].kpis)


def test_policies_that_score_differently_share_nothing(baseline):
    _, world = baseline
    pols = points("seed-example", [[], [("scoring.behaviour.pricing_visit.points", [40])],
                                   [("mql.gates.business_email_only", True)], [("mql.fast_lane.demo_request", False)]])
    assert len({trajectory_key(p) for p in pols}) == len(pols)
    shared = SharedScoring(world, pols)
    for p in pols:
        same_scored(score_world(world, p, shared=shared), score_world(world, p))
    assert shared.computed == 0 and shared.kept == 0


def test_nothing_is_kept_for_a_world_too_large_to_share_or_another_world(baseline):
    sc, world = baseline
    pols = points("seed-example", [[("mql.threshold", t)] for t in (50, 60)])
    big = SharedScoring(world, pols, max_events=10)
    for p in pols:
        same_scored(score_world(world, p, shared=big), score_world(world, p))
    assert big.computed == 0
    with pytest.raises(ValueError, match="another world"):
        score_world(generate_world(sc, 8, 0), pols[0], shared=SharedScoring(world, pols))


def test_kept_trajectories_stay_within_their_byte_budget(baseline):
    """Policies of two scorings, interleaved: each trajectory kept for its later points, but never
    more bytes than the budget; past it the later points score on their own, with the same results."""
    from sim.decisions.scoring import score_trajectory
    from sim.decisions.shared_scoring import trajectory_bytes
    _, world = baseline
    one = trajectory_bytes([score_trajectory(world, compile_policy(load_policy("seed-example", [])))])
    pols = [p for t in (50, 60, 70) for p in points("seed-example", [[("mql.threshold", t)],
                                                                     [("mql.threshold", t), ("mql.gates.business_email_only", True)]])]
    pols = [p.model_copy(update={"name": f"q{i}"}) for i, p in enumerate(pols)]
    for budget, most in ((2 * one + 1, 2), (one + 1, 1), (one - 1, 0)):
        shared = SharedScoring(world, pols, max_bytes=budget)
        kept = []
        for p in pols:
            same_scored(score_world(world, p, shared=shared), score_world(world, p))
            kept.append(shared.kept)
            assert shared.bytes <= budget
        assert max(kept) == most and shared.kept == 0


def without_detection(r: Rules) -> dict[str, Any]:
    return {f.name: getattr(r, f.name) for f in dataclasses.fields(Rules) if f.name not in DETECTION}


@pytest.mark.parametrize("other", ["speed-first", "volume", "mqa-breadth", "workshop-busy"])
def test_policies_with_one_trajectory_key_compile_to_the_same_scoring_rules(other):
    """Everything the trajectory reads comes from the key's sections: a policy that differs from
    seed-example everywhere but in icp, scoring, mql.rule, gates and fast lane compiles to the same
    rules but for the detection fields (so a new policy field that scoring reads must join the key)."""
    seed = load_policy("seed-example")
    data = load_policy(other).model_dump(mode="json")
    data["icp"], data["scoring"] = seed.icp.model_dump(mode="json"), seed.scoring.model_dump(mode="json")
    for f in ("rule", "gates", "fast_lane"):
        data["mql"][f] = getattr(seed.mql, f).model_dump(mode="json") if f != "rule" else seed.mql.rule
    twin = Policy.model_validate(data)
    assert trajectory_key(twin) == trajectory_key(seed)
    a, b = without_detection(compile_policy(twin)), without_detection(compile_policy(seed))
    for k in a:
        assert (np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k]), k


def test_a_streamed_threshold_sweep_keeps_the_events_of_every_points_mqls():
    """A streamed world scores each chunk once for policies that differ only in thresholds, and keeps
    the engagement events of every point's MQLs: each point's MQLs on it are those on the full world."""
    sc = load_scenario("baseline", [*SMALL, ("stream.mode", "on"), ("stream.chunk", "7d")])
    pols = points("seed-example", [[("mql.threshold", t)] for t in (45, 60, 75)])
    assert drops_events(sc, pols)
    rep = run_replication(sc, pols, 3, 0)
    full = generate_world(sc, 3, 0)      # the same streamed draws with every event
    assert rep.world.event_time.size < full.event_time.size
    for p in pols:
        a, b = rep.runs[p.name].scored, score_world(full, p)
        for f in ("mql_time", "mql_tier", "mql_score"):
            assert np.array_equal(getattr(a, f), getattr(b, f), equal_nan=f == "mql_score"), f


def test_a_group_with_a_broken_point_reports_it_and_gives_the_others_their_own_results():
    """execute_group validates every point's policies before sharing scoring among them: a point
    whose policy is refused fails alone, and the others' rows are those of running each alone."""
    sc = load_scenario("baseline", SMALL).model_dump(mode="json")
    good = [load_policy("seed-example", [("mql.threshold", t)]).model_dump(mode="json") for t in (50, 65)]
    broken = {**good[0], "mql": {**good[0]["mql"], "threshold": -1}}
    specs = [TaskSpec(f"p{i}", "baseline", i, {}, 0, 7, sc, (p,)) for i, p in enumerate([good[0], broken, good[1]])]
    got = execute_group(specs)
    assert got[1].error and "threshold" in got[1].error
    for spec, res in zip(specs[::2], got[::2]):
        alone = execute(spec)
        assert res.error is None and len(res.rows) == len(alone.rows) == 1
        same_kpis(res.rows[0], alone.rows[0])


def test_a_policy_it_was_not_built_with_reads_what_is_kept_and_takes_nothing_away(baseline):
    _, world = baseline
    expected = points("seed-example", [[("mql.threshold", t)] for t in (50, 70)])
    stranger = load_policy("seed-example", [("mql.threshold", 60), ("name", "stranger")])
    shared = SharedScoring(world, expected)
    for p in (expected[0], stranger, expected[1]):
        same_scored(score_world(world, p, shared=shared), score_world(world, p))
    assert shared.computed == 1 and shared.kept == 0
