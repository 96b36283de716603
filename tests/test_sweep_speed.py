"""Sweep throughput: tasks that play on the same world run as one group (the world generated once,
one part file per group), with results identical to one task at a time."""
from __future__ import annotations

import math

import pandas as pd
import pytest

import sim.experiment.executors as executors
import sim.experiment.world_task as task
from sim.experiment.design import factor, grid, manifest_factors
from sim.experiment.execution import run_plan
from sim.experiment.executors import MAX_GROUP, chunks
from sim.experiment.task_plan import build_plan
from sim.experiment.world_task import execute, execute_group, world_key
from sim.experiment.writer import ResultsWriter

SMALL = dict(leads=2000, days=14)


def _plan(vary: dict, replications: int = 2, policies=("seed-example",), **kw):
    fs = [factor(p, v, f"vary {p}") for p, v in vary.items()]
    return build_plan("sweep", "t", ["workshop"], list(policies), factors=manifest_factors(fs), points=grid(fs),
                      replications=replications, seed=7, **SMALL, **kw)


def test_policy_only_points_share_a_world_and_scenario_points_do_not():
    plan = _plan({"mql.threshold": "40:60:5"}, replications=3)
    groups = chunks(plan.tasks, parallelism=1)
    assert sorted(t.id for g in groups for t in g) == sorted(t.id for t in plan.tasks)
    assert all(len({world_key(t) for t in g}) == 1 for g in groups)
    assert [len(g) for g in groups] == [5, 5, 5]               # one world per replication, all points
    assert [g[0].replication for g in groups] == [0, 1, 2]     # in order of their first task
    assert chunks(plan.tasks, 1, group=False) == [(t,) for t in plan.tasks]
    # a scenario field changes the world: no two points share one
    plan = _plan({"sales.reps": "2,3"}, replications=2)
    assert all(len(g) == 1 for g in chunks(plan.tasks, parallelism=1))


def test_groups_are_split_evenly_to_keep_workers_busy():
    plan = _plan({"mql.threshold": "40:78:2"}, replications=2)      # 20 points x 2 worlds
    sizes = [len(g) for g in chunks(plan.tasks, parallelism=2)]
    assert sum(sizes) == 40 and max(sizes) <= 5 and min(sizes) >= 4  # about 4 groups per worker
    sizes = [len(g) for g in chunks(plan.tasks, parallelism=1)]
    assert max(sizes) <= MAX_GROUP and len(sizes) == 2 * math.ceil(20 / MAX_GROUP)   # a world's points together


def test_a_group_gives_the_results_of_its_tasks_one_by_one():
    plan = _plan({"mql.threshold": "40,60"}, replications=1, policies=("seed-example", "volume"))
    alone = [execute(t) for t in plan.tasks]
    together = execute_group(plan.tasks)
    assert [r.id for r in together] == [t.id for t in plan.tasks]
    assert [r.last for r in together] == [False, True]
    for a, b in zip(alone, together):
        assert a.error is None and b.error is None
        assert pd.DataFrame(a.rows).equals(pd.DataFrame(b.rows))
        pd.testing.assert_frame_equal(pd.DataFrame(a.timeseries), pd.DataFrame(b.timeseries), check_exact=True)
    with pytest.raises(ValueError, match="one world"):
        execute_group([plan.tasks[0], _plan({"sales.reps": "2,3"}, replications=1).tasks[1]])


@pytest.mark.parametrize("out", [False, True])
def test_grouped_results_equal_ungrouped_exactly(tmp_path, monkeypatch, out):
    plan = _plan({"mql.threshold": "40:70:10"}, replications=3, policies=("seed-example", "volume"))
    grouped = run_plan(plan, tmp_path / "g" if out else None).results
    monkeypatch.setattr(executors, "MAX_GROUP", 1)
    single = run_plan(plan, tmp_path / "s" if out else None).results
    pd.testing.assert_frame_equal(grouped.runs, single.runs, check_exact=True)
    pd.testing.assert_frame_equal(grouped.timeseries, single.timeseries, check_exact=True)
    assert list(grouped.runs["run_id"].str.split(":").str[0].drop_duplicates()) == [t.id for t in plan.tasks]


def test_a_failing_task_loses_nothing_else_of_its_group(tmp_path, monkeypatch):
    real = task.run_replication

    def flaky(scenario, policies, seed, replication, **kw):
        if policies[0].mql.threshold == 50 and replication == 1:
            raise RuntimeError("disk on fire")
        return real(scenario, policies, seed, replication, **kw)

    monkeypatch.setattr(task, "run_replication", flaky)
    plan = _plan({"mql.threshold": "40,50,60"}, replications=2)
    outcome = run_plan(plan, tmp_path / "r")
    assert [e["task"] for e in outcome.errors] == ["s0-p1-r1"]
    runs = pd.read_parquet(tmp_path / "r" / "runs.parquet")
    assert len(runs) == 5 and "s0-p1-r1:seed-example" not in set(runs["run_id"])


def test_resume_finds_the_tasks_inside_group_parts(tmp_path):
    plan = _plan({"mql.threshold": "40,50,60"}, replications=2)
    ids = [t.id for t in plan.tasks]
    w = ResultsWriter.create(tmp_path / "r", {"fingerprint": "x"}, ids)
    for res in execute_group([t for t in plan.tasks if t.replication == 0]):
        w.add(res)
    (w.parts / "s0-p0-r1.ts.parquet").write_bytes(b"")   # a group interrupted between its two files
    _, done = ResultsWriter.resume(tmp_path / "r", {"fingerprint": "x"}, ids)
    assert done == {"s0-p0-r0", "s0-p1-r0", "s0-p2-r0"}
    assert not (w.parts / "s0-p0-r1.ts.parquet").exists()


def test_steady_state_diagnostics_are_saved_once_and_read_back_as_computed(tmp_path, monkeypatch):
    """The writer diagnoses the daily series once (diagnostics.json); the results read back, the
    report's flags and the printed warnings use that, and it equals a fresh computation exactly."""
    import math

    import sim.measure.steady as steady
    from sim.experiment.results import DIAGNOSTICS, load_results
    from sim.report.steady_flags import steady_flags

    plan = _plan({"mql.threshold": "40:60:20"}, replications=2, policies=("seed-example", "volume"))
    calls = []
    real = steady.diagnose
    monkeypatch.setattr(steady, "diagnose", lambda *a, **k: calls.append(1) or real(*a, **k))
    res = run_plan(plan, tmp_path / "out").results
    assert (tmp_path / "out" / DIAGNOSTICS).is_file() and len(calls) == 1
    saved = load_results(tmp_path / "out")
    steady_flags(saved), steady.flagged_lines(saved), steady.diagnostics(saved)
    assert len(calls) == 1                                      # read back, never recomputed
    fresh = real(saved.timeseries, steady.scenario_dumps(saved.manifest))
    assert len(fresh) == 4 and len(res.steady_state()) == 4
    for a, b in zip(saved.steady_state(), fresh):
        x, y = a.as_dict(), b.as_dict()
        assert x.keys() == y.keys()
        assert all(x[k] == y[k] or (isinstance(x[k], float) and math.isnan(x[k]) and math.isnan(y[k])) for k in x)
