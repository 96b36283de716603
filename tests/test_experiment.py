"""Experiments: designs, common random numbers, executors, the results store, resume,
recommendations and the Python API."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.config.loading import ConfigError
from sim.experiment.design import Factor, grid, latin_hypercube, parse_vary
from sim.experiment.execution import run_plan
from sim.experiment.recommend import parse_constraint, recommend
from sim.experiment.results import load_results
from sim.experiment.task_plan import build_plan

SMALL = dict(leads=2000, days=14)
FAST = ["--days", "14", "--leads", "2000"]
ROOT = Path(__file__).resolve().parent.parent


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ---- designs ------------------------------------------------------------------------------

def test_vary_ranges_lists_and_grid():
    assert parse_vary("mql.threshold=40:90:10").values == (40, 50, 60, 70, 80, 90)
    assert parse_vary("sales.reps=4,6,8").values == (4, 6, 8)
    assert parse_vary("routing.discipline=fifo,priority").values == ("fifo", "priority")
    assert parse_vary("sales.mql_time_share=0.3:0.5:0.1").values == (0.3, 0.4, 0.5)
    pts = grid([Factor("a", (1, 2)), Factor("b", ("x", "y", "z"))])
    assert len(pts) == 6 and pts[0] == {"a": 1, "b": "x"} and pts[-1] == {"a": 2, "b": "z"}


@pytest.mark.parametrize("bad", ["mql.threshold", "mql.threshold=90:40:5", "mql.threshold=40:90:0",
                                 "mql.threshold=a:b:c", "mql.thresold=40:90:5", "nosuch.field=1,2",
                                 "mql.threshold=1:2:3:4"])
def test_bad_vary_is_refused(bad):
    with pytest.raises(ConfigError):
        parse_vary(bad)


def test_latin_hypercube_covers_ranges_and_rounds_integers():
    pts = latin_hypercube({"sales.reps": (2, 9), "sales.mql_time_share": (0.2, 0.8)}, 10, seed=3)
    reps = [p["sales.reps"] for p in pts]
    share = np.array([p["sales.mql_time_share"] for p in pts])
    assert all(isinstance(t, int) and 2 <= t <= 9 for t in reps)      # integer field: rounded
    assert np.all((share >= 0.2) & (share <= 0.8))
    # one sample per stratum: each tenth of the range holds exactly one point
    assert sorted(np.floor((share - 0.2) / 0.06).astype(int).clip(0, 9)) == list(range(10))


def test_plan_validates_every_point_before_running():
    with pytest.raises(ConfigError) as e:
        build_plan("sweep", "x", ["workshop"], ["seed-example"], points=[{"sales.reps": 4}, {"sales.reps": -2}],
                   factors=[{"path": "sales.reps", "values": [4, -2]}], replications=2, **SMALL)
    assert "sales.reps" in str(e.value) and ">= 0" in str(e.value)


def test_plan_common_random_numbers():
    """Replication r is the same world for every policy and every point: same seed and index."""
    plan = build_plan("sweep", "x", ["workshop"], ["seed-example", "volume"], replications=3,
                      factors=[{"path": "sales.reps", "values": [2, 4]}], points=[{"sales.reps": 2}, {"sales.reps": 4}],
                      **SMALL)
    assert len(plan.tasks) == 6 and plan.runs_total == 12
    assert {(t.seed, t.replication) for t in plan.tasks if t.point == 0} == \
           {(t.seed, t.replication) for t in plan.tasks if t.point == 1}
    assert [p["name"] for p in plan.tasks[0].policies] == ["seed-example", "volume"]
    assert plan.tasks[0].scenario["sales"]["reps"] == 2 and plan.tasks[-1].scenario["sales"]["reps"] == 4


# ---- executors: identical results whatever runs them ----------------------------------------

def _plan(**kw):
    return build_plan("compare", "t", ["workshop"], ["seed-example", "volume"], replications=3, seed=5, **SMALL, **kw)


@pytest.mark.slow
def test_sequential_processes_and_dask_give_identical_results():
    seq = run_plan(_plan()).results
    proc = run_plan(_plan(), workers=2).results
    dask = run_plan(_plan(), workers=2, dask="local").results
    pd.testing.assert_frame_equal(seq.runs, proc.runs, check_exact=True)
    pd.testing.assert_frame_equal(seq.runs, dask.runs, check_exact=True)
    pd.testing.assert_frame_equal(seq.timeseries, proc.timeseries, check_exact=True)
    # re-assembled by id, not completion order: replication by replication, policies in the given order
    assert list(zip(proc.runs["replication"], proc.runs["policy"])) == \
        [(r, p) for r in range(3) for p in ("seed-example", "volume")]


@pytest.mark.slow
def test_dask_joins_a_running_scheduler_by_address():
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        remote = run_plan(_plan(), dask=cluster.scheduler_address).results
    pd.testing.assert_frame_equal(run_plan(_plan()).results.runs, remote.runs, check_exact=True)


def test_unreachable_dask_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    import sim.experiment.executors as executors
    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")      # fail fast: nobody listens there
    out = tmp_path / "never"
    r = invoke("compare", "workshop", "-p", "seed-example", "-n", "2", *FAST, "--dask", "tcp://127.0.0.1:9",
               "--out", out)
    assert r.exit_code == 2 and "cannot reach the Dask scheduler" in r.stderr
    assert not out.exists()


@pytest.mark.slow
def test_one_failing_world_loses_nothing_else(tmp_path, monkeypatch):
    import sim.experiment.world_task as task
    real = task.run_replication

    def flaky(scenario, policies, seed, replication, **kw):
        if replication == 1:
            raise RuntimeError("disk on fire")
        return real(scenario, policies, seed, replication, **kw)

    monkeypatch.setattr(task, "run_replication", flaky)
    out = tmp_path / "res"
    r = invoke("compare", "workshop", "-p", "seed-example", "-n", "3", *FAST, "--out", out)
    assert r.exit_code == 1
    assert "disk on fire" in r.stderr and "s0-p0-r1" in r.stderr
    errors = json.loads((out / "errors.json").read_text())
    assert [e["task"] for e in errors] == ["s0-p0-r1"]
    runs = pd.read_parquet(out / "runs.parquet")
    assert sorted(runs["replication"]) == [0, 2]
    assert (out / "INCOMPLETE").exists() and not (out / "COMPLETE").exists()
    # the failure was transient: resume runs only the missing world and completes the folder
    monkeypatch.setattr(task, "run_replication", real)
    r = invoke("compare", "workshop", "-p", "seed-example", "-n", "3", *FAST, "--resume", out)
    assert r.exit_code == 0, r.output
    assert sorted(pd.read_parquet(out / "runs.parquet")["replication"]) == [0, 1, 2]
    assert (out / "COMPLETE").exists() and not (out / "INCOMPLETE").exists() and not (out / "errors.json").exists()


@pytest.mark.slow
def test_interrupted_then_resumed_equals_uninterrupted(tmp_path, monkeypatch):
    from sim.experiment.writer import ResultsWriter
    whole = tmp_path / "whole"
    assert invoke("compare", "workshop", "-p", "seed-example", "-p", "volume", "-n", "4", *FAST, "--out",
                  whole).exit_code == 0
    real_add, calls = ResultsWriter.add, []

    def add_then_ctrl_c(self, res):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(res.id)
        real_add(self, res)

    monkeypatch.setattr(ResultsWriter, "add", add_then_ctrl_c)
    part = tmp_path / "part"
    r = invoke("compare", "workshop", "-p", "seed-example", "-p", "volume", "-n", "4", *FAST, "--out", part)
    assert r.exit_code == 130 and "--resume" in r.stderr
    assert (part / "INCOMPLETE").exists() and not (part / "COMPLETE").exists()
    with pytest.raises(FileNotFoundError):
        load_results(part)          # no tables yet: nothing that looks like results
    monkeypatch.setattr(ResultsWriter, "add", real_add)
    r = invoke("compare", "workshop", "-p", "seed-example", "-p", "volume", "-n", "4", *FAST, "--resume", part)
    assert r.exit_code == 0, r.output
    a, b = load_results(whole), load_results(part)
    pd.testing.assert_frame_equal(a.runs, b.runs, check_exact=True)
    assert b.complete


def test_resume_refuses_another_design(tmp_path):
    out = tmp_path / "r"
    assert invoke("compare", "workshop", "-p", "seed-example", "-n", "2", *FAST, "--out", out).exit_code == 0
    r = invoke("compare", "workshop", "-p", "seed-example", "-n", "2", *FAST, "--resume", out)
    assert r.exit_code == 2 and "already complete" in r.stderr
    (out / "COMPLETE").unlink()
    r = invoke("compare", "workshop", "-p", "seed-example", "-n", "3", *FAST, "--resume", out)
    assert r.exit_code == 2 and "different design" in r.stderr


def test_existing_output_folder_is_never_overwritten(tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "precious.txt").write_text("keep")
    r = invoke("compare", "workshop", "-p", "seed-example", "-n", "2", *FAST, "--out", out)
    assert r.exit_code == 2 and "already exists" in r.stderr
    assert [p.name for p in out.iterdir()] == ["precious.txt"]


# ---- results store and JSON ------------------------------------------------------------------

def test_compare_writes_the_documented_layout(tmp_path):
    out = tmp_path / "c"
    r = invoke("compare", "workshop", "-p", "seed-example", "-p", "volume", "-n", "3", *FAST, "--out", out,
               "--events", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert set(data["policies"]) == {"seed-example", "volume"}
    bk = data["policies"]["volume"]["bookings"]
    # 3 worlds are too few for an interval: the mean and n are given, the interval is not
    assert bk["mean"] > 0 and bk["lower"] is None and bk["upper"] is None and bk["n"] == 3
    d = data["differences"]["volume"]["mqls"]
    assert d["baseline"] == "seed-example" and isinstance(d["significant"], bool)
    for f in ("manifest.json", "runs.parquet", "runs.csv", "summary.csv", "differences.csv", "timeseries.parquet",
              "COMPLETE"):
        assert (out / f).is_file(), f
    res = sim.load_results(out)
    assert len(res.runs) == 6 and set(res.runs["replication"]) == {0, 1, 2}
    assert set(res.timeseries["run_id"]) == set(res.runs["run_id"])
    m = res.manifest
    assert m["kind"] == "compare" and m["seed"] == 20260105 and m["replications"] == 3
    assert set(m["policies"]) == {"seed-example", "volume"} and "git_commit" in m and m["command"][1] == "compare"
    ev = pd.read_parquet(next((out / "events").glob("*.parquet")))
    assert {"lead", "arrival", "first_mql", "state"} <= set(ev.columns)
    assert ev["state"].notna().all()        # every lead ends in exactly one state


def test_count_intervals_are_johnsons_modified_t():
    """A count's interval is the Student interval shifted by the sample skewness (Johnson 1978)."""
    res = sim.compare("workshop", ["seed-example"], replications=6, seed=3, sets=["horizon.window=14d",
                                                                                  "arrivals.leads_per_year=2000"])
    from scipy import stats
    x = res.runs["mqls"].to_numpy(float)
    row = res.summary().query("kpi == 'mqls'").iloc[0]
    n, m, s2 = x.size, x.mean(), x.var(ddof=1)
    shift = n / ((n - 1) * (n - 2)) * np.sum((x - m) ** 3) / (6 * s2 * n)
    lo, hi = stats.t.interval(0.95, n - 1, loc=m + shift, scale=stats.sem(x))
    assert row["mean"] == pytest.approx(m) and row["lower"] == pytest.approx(lo) and row["upper"] == pytest.approx(hi)
    assert row["status"] == "ok" and row["n"] == 6


# ---- sweeps, experiment files and recommendations ----------------------------------------------

def test_sweep_common_worlds_and_monotone_mqls(tmp_path):
    res = sim.sweep("workshop", "seed-example", {"mql.threshold": "40:80:20"}, replications=3, sets=[
        "horizon.window=14d", "arrivals.leads_per_year=3000"], out=tmp_path / "s")
    wide = res.runs.pivot(index="replication", columns="mql.threshold", values="mqls")
    assert list(wide.columns) == [40, 60, 80]
    assert (wide.diff(axis=1).iloc[:, 1:] <= 0).all().all()   # same worlds: a higher bar never adds MQLs
    assert (tmp_path / "s" / "COMPLETE").exists()


def _fake_runs():
    """Three settings on 6 paired worlds: A best but infeasible, B feasible and best, C feasible."""
    rng = np.random.default_rng(0)
    world = rng.normal(0, 10, 6)
    rows = []
    for point, (obj, sla) in enumerate([(130, 0.8), (120, 0.95), (100, 0.97)]):
        for r in range(6):
            rows.append({"scenario": "s", "policy": "p", "point": point, "replication": r, "x": point,
                         "bookings": obj + world[r] + rng.normal(0, 1), "sla": sla})
    return pd.DataFrame(rows)


def test_recommend_respects_constraints_and_reports_confidence():
    rec = recommend(_fake_runs(), "bookings", [parse_constraint("sla>=0.9")], ["x"])
    assert rec["feasible"] == 2 and rec["best"]["x"] == 1
    # B is 20 ahead of C in every world: named the best within delta with the stated probability
    assert rec["claim"] and rec["probability"] >= 0.95 and [c["x"] for c in rec["cannot_exclude"]] == [1]
    assert rec["replications"] == {"choose": 3, "report": 3, "split": "even replications choose, odd ones report"}
    runs = _fake_runs()
    runs.loc[(runs["point"] == 2) & (runs["replication"] == 0), "bookings"] = np.nan   # undefined in one world
    rec = recommend(runs, "bookings", [parse_constraint("sla>=0.9")], ["x"])
    assert rec["best"]["x"] == 1 and rec["best"]["n"] == 3
    none = recommend(_fake_runs(), "bookings", [parse_constraint("sla>=0.99")], ["x"])
    assert none["best"] is None and "relax" in none["message"]
    assert recommend(_fake_runs(), "bookings", [], ["x"], maximise=False)["best"]["x"] == 2
    assert parse_constraint("mql_to_sql_rate<=40%").bound == pytest.approx(0.4)
    with pytest.raises(ValueError):
        recommend(_fake_runs(), "bokings", [], ["x"])


def test_sweep_cli_recommends_and_recommend_reads_saved_results(tmp_path):
    out = tmp_path / "sw"
    r = invoke("sweep", "workshop", "-p", "seed-example", "--vary", "mql.threshold=40,80", "-n", "2", *FAST,
               "--maximise", "sqls", "--subject-to", "sla_compliance_standard>=0.5", "--out", out)
    assert r.exit_code == 0, r.output
    assert "recommendation (maximise sqls" in r.stdout and "best:" in r.stdout
    rec = json.loads((out / "recommendation.json").read_text())
    assert rec["best"]["mql.threshold"] == 40            # a lower bar always yields at least as many SQLs here
    r2 = invoke("recommend", out, "--minimise", "sqls", "--json")
    assert r2.exit_code == 0 and json.loads(r2.stdout)["best"]["mql.threshold"] == 80


def test_unknown_kpi_is_refused_before_running(tmp_path):
    out = tmp_path / "x"
    r = invoke("sweep", "workshop", "-p", "seed-example", "--vary", "mql.threshold=40,80", "-n", "2", *FAST,
               "--maximise", "bokings", "--out", out)
    assert r.exit_code == 2 and "did you mean 'bookings'" in r.stderr and not out.exists()
    r = invoke("sweep", "workshop", "-p", "seed-example", "--vary", "mql.treshold=40,80", *FAST)
    assert r.exit_code == 2 and "threshold" in r.stderr


@pytest.mark.parametrize("name", ["threshold-sweep", "sla-vs-headcount", "campaign-spike"])
def test_shipped_experiments_are_valid(name):
    from sim.commands.experiment import check_kpis, plan_from_file, resolve_experiment
    plan = plan_from_file(resolve_experiment(name), 1, None, False, False)
    check_kpis(plan)
    assert plan.tasks and plan.replications == 1


def test_experiment_file_runs_with_lhs(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('name = "lhs"\nscenarios = ["workshop"]\npolicies = ["seed-example"]\nreplications = 2\n'
                 'set = ["horizon.window=14d", "arrivals.leads_per_year=2000"]\n'
                 '[lhs]\nsamples = 3\nranges = {"mql.threshold" = [40, 80]}\n'
                 '[objective]\nmaximise = "sqls"\n')
    out = tmp_path / "o"
    r = invoke("experiment", f, "--out", out)
    assert r.exit_code == 0, r.output
    res = load_results(out)
    assert res.manifest["design"]["method"] == "lhs" and res.runs["point"].nunique() == 3
    assert res.recommendation["best"] is not None


def test_bad_experiment_file(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('scenarios = ["workshop"]\npolicies = ["seed-example"]\n[grid]\n"mql.threshold" = [40]\n'
                 '[lhs]\nranges = {"mql.threshold" = [80, 40]}\n')
    r = invoke("experiment", f)
    assert r.exit_code == 2 and "lhs" in r.stderr
    r = invoke("experiment", "no-such-experiment")
    assert r.exit_code == 2 and "threshold-sweep" in r.stderr


def test_spike_recovery_kpi():
    from sim.inputs import load_scenario
    from sim.measure.spikes import spike_kpis
    sc = load_scenario("baseline")                    # spike on 2026-04-14 = day 99, 7 days
    q = np.full(200, 2.0)
    q[99:110] = [5, 10, 20, 30, 40, 45, 40, 30, 20, 8, 2]
    k = spike_kpis(pd.DataFrame({"queue_at_midnight": q}), sc)
    assert k["spike_backlog_peak"] == 45 and k["spike_normal_queue"] == 2 and k["spike_clear_days"] == 10
    q[99:] = 50
    k = spike_kpis(pd.DataFrame({"queue_at_midnight": q}), sc)
    assert k["spike_cleared"] == 0 and np.isnan(k["spike_clear_days"])     # never cleared: no clearing time


# ---- variance reduction from common random numbers --------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("path,a,b", [("sales.reps", 5, 6), ("sla.breach_action", "none", "escalate")])
def test_paired_differences_are_at_least_twice_as_narrow(path, a, b):
    """On the baseline scenario, the paired interval of a difference (same worlds) is at least 2x
    narrower than the unpaired one (the same settings on independent worlds), for bookings and
    MQL->SQL: the staffing and SLA decisions users ask about. (Changes of the MQL definition pair
    less well, ~1.2-2.7x, because the policies work different leads; docs/background/common-random-numbers.md
    states the figures.)"""
    from scipy import stats

    from sim.measure.stats import mean_ci
    n = 10
    res = sim.sweep("baseline", "seed-example", {path: [a, b]}, replications=2 * n, seed=11)
    r = res.runs
    for kpi in ("bookings", "mql_to_sql_rate"):
        x_all = r[r[path] == a].set_index("replication")[kpi]
        y_all = r[r[path] == b].set_index("replication")[kpi]
        _, lo, hi, _ = mean_ci((y_all - x_all).to_numpy()[:n])    # paired: worlds 0..n-1 for both
        paired_hw = (hi - lo) / 2
        x, y = x_all.to_numpy()[:n], y_all.to_numpy()[n:]        # unpaired: independent worlds
        vx, vy = x.var(ddof=1) / n, y.var(ddof=1) / n
        dof = (vx + vy) ** 2 / (vx ** 2 / (n - 1) + vy ** 2 / (n - 1))   # Welch
        unpaired_hw = stats.t.ppf(0.975, dof) * np.sqrt(vx + vy)
        assert paired_hw * 2 <= unpaired_hw, (kpi, paired_hw, unpaired_hw)


def test_validate_knows_experiment_and_mapping_files(tmp_path):
    r = invoke("validate", ROOT / "experiments" / "threshold-sweep.toml", ROOT / "mappings" / "olist.toml")
    assert r.exit_code == 0, r.output
    assert "(experiment)" in r.stdout and "(mapping)" in r.stdout
    bad = tmp_path / "e.toml"
    bad.write_text('scenarios = ["no-such-world"]\npolicies = ["volume"]\n')
    r = invoke("validate", bad)
    assert r.exit_code == 2 and "no-such-world" in r.stderr
