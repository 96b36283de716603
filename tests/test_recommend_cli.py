"""The pick end to end (issues 11 and 12): `sweep --minimise sales.reps --subject-to ...` names the
smallest feasible team, a KPI objective picks an obvious best, constraint bounds outside a KPI's
range warn, `recommend --add` runs the replications it asks for on new worlds, experiment files
take decision variables, and the figures mark what cannot be told apart without colouring noise."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.config.experiment import Objective
from sim.experiment.results import load_results
from sim.report.fig_sweep import colour_limits, heatmap_figure, sweep_figure

# the workshop scenario loaded enough that one rep cannot keep up and five always can
LOADED = ["--leads", "40000", "--days", "21"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def by_gid(fig, prefix: str) -> list:
    return [a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))]


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """reps 2..5 on 6 common worlds, the smallest team with standard-tier SLA >= 90% asked for."""
    out = tmp_path_factory.mktemp("team") / "sweep"
    r = invoke("sweep", "workshop", "-p", "seed-example", "--vary", "sales.reps=2:5:1", "-n", "6", "--seed", "3", *LOADED,
               "--minimise", "sales.reps", "--subject-to", "sla_compliance_standard>=0.9", "--out", out)
    assert r.exit_code == 0, r.output
    return out


def test_smallest_team_meeting_the_sla(team):
    res = load_results(team)
    rec = res.recommendation
    sla = res.runs.groupby("sales.reps")["sla_compliance_standard"].mean()
    smallest = min(v for v in sla.index if sla[v] >= 0.93)                    # comfortably above the bound
    assert all(sla[v] < 0.8 for v in sla.index if v < smallest)              # every smaller team clearly below
    assert rec["best"]["sales.reps"] == smallest and rec["claim"] and rec["probability"] >= 0.95
    assert rec["objectives"] == [{"name": "sales.reps", "direction": "min", "kind": "setting"}]
    assert {"best", "delta", "probability", "cannot_exclude", "warnings"} <= set(rec)
    r = invoke("recommend", team, "--minimise", "sales.reps", "--subject-to", "sla_compliance_standard>=0.9")
    assert r.exit_code == 0 and f"sales.reps={smallest} is the smallest sales.reps that meets every constraint" in r.stdout


def test_kpi_objective_with_an_obvious_best(team):
    """More reps, better SLA: the largest teams win; the small ones are excluded outright."""
    r = invoke("recommend", team, "--maximise", "sla_compliance_standard", "--json")
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["best"]["sales.reps"] in (4, 5)
    kept = {c["sales.reps"] for c in rec["cannot_exclude"]}
    assert rec["best"]["sales.reps"] in kept and 2 not in kept      # 3 choosing worlds: only the clear loser goes
    assert rec["best"]["n"] == 3 and rec["replications"]["choose"] == 3      # reported from the other half


def test_constraint_bound_outside_a_share_warns(team, tmp_path):
    r = invoke("recommend", team, "--minimise", "sales.reps", "--subject-to", "sla_compliance_standard>=90",
               "--json")
    assert r.exit_code == 0
    assert "did you mean sla_compliance_standard>=0.90" in r.stderr
    rec = json.loads(r.stdout)
    assert rec["best"] is None and "0.90" in rec["warnings"][0]
    out = tmp_path / "w"
    r = invoke("sweep", "workshop", "-p", "seed-example", "--vary", "sales.reps=1,2", "-n", "1", "--leads", "500",
               "--days", "7", "--minimise", "sales.reps", "--subject-to", "sla_compliance_standard>=90", "--out", out)
    assert r.exit_code == 0 and "is a share between 0 and 1" in r.stderr
    assert json.loads((out / "recommendation.json").read_text())["warnings"]


def test_decision_variable_must_be_swept(tmp_path):
    r = invoke("sweep", "workshop", "-p", "seed-example", "--vary", "mql.threshold=40,60", "-n", "1", "--leads", "500",
               "--days", "7", "--minimise", "sales.reps", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "not swept here" in r.stderr and not (tmp_path / "x").exists()
    r = invoke("sweep", "workshop", "-p", "seed-example", "--vary", "mql.threshold=40,60", "--maximise", "sqls",
               "--maximise", "bookings")
    assert r.exit_code == 2 and "one KPI objective at most" in r.stderr


def test_add_runs_new_worlds_for_the_settings_in_contention(team, tmp_path):
    out = tmp_path / "more"
    r = invoke("recommend", team, "--maximise", "sla_compliance_standard", "--add", "--confirm", "2", "--max-add", "2", "--out", out)
    assert r.exit_code == 0, r.output
    old, new = load_results(team), load_results(out)
    assert new.complete and (out / "recommendation.json").is_file()
    added = new.runs[new.runs["replication"] >= 6]
    assert len(added) > 0 and set(added["replication"]) >= {6, 7}
    rec = json.loads((team / "recommendation.json").read_text())
    first = invoke("recommend", team, "--maximise", "sla_compliance_standard", "--json")
    contention = {c["sales.reps"] for c in json.loads(first.stdout)["cannot_exclude"]}
    assert set(added["sales.reps"]) == contention and rec is not None
    # the same world for every setting: replication 6 of each added point has the same arrivals
    assert added.groupby("replication")["leads"].nunique().max() == 1
    assert new.manifest["added"][0]["first_replication"] == 6
    pd.testing.assert_frame_equal(new.runs[new.runs["replication"] < 6].reset_index(drop=True),
                                  old.runs.reset_index(drop=True), check_dtype=False)


def test_objective_in_experiment_files():
    o = Objective(minimise="sales.reps", maximise="bookings", subject_to=["sla_compliance_standard>=0.9"],
                  delta="2%")
    assert o.spec() == {"kpi": "bookings", "direction": "max", "constraints": ["sla_compliance_standard>=0.9"],
                        "decisions": [{"path": "sales.reps", "direction": "min"}], "delta": "2%"}
    assert Objective(minimise=["cost_per_won"]).spec()["direction"] == "min"
    for bad in ({"maximise": ["sqls", "bookings"]}, {}, {"maximise": "sqls", "delta": "lots"}):
        with pytest.raises(ValueError):
            Objective(**bad)


# ---- figures ---------------------------------------------------------------------------------

def _two_way():
    rows = []
    for i, (t, reps) in enumerate([(t, r) for r in (2, 4) for t in (40, 60, 80)]):
        m = 350_000 + 3_000 * i
        for kpi, mean, hw in (("bookings", m, 115_000), ("sla_compliance", 0.5 + 0.1 * reps, 0.02)):
            rows.append({"scenario": "s", "policy": "p", "point": i, "mql.threshold": t, "sales.reps": reps,
                         "kpi": kpi, "mean": mean, "lower": mean - hw, "upper": mean + hw})
    return pd.DataFrame(rows)


def test_heatmap_marks_indistinguishable_cells_and_does_not_colour_noise():
    s = _two_way()
    ce = [{"scenario": "s", "point": p, "policy": "p", "mql.threshold": t, "sales.reps": r}
          for p, (t, r) in enumerate([(t, r) for r in (2, 4) for t in (40, 60, 80)])]
    rec = {"best": ce[-1], "cannot_exclude": ce, "constraints": []}
    fig = heatmap_figure(s, "mql.threshold", "sales.reps", recommendation=rec)
    assert len(by_gid(fig, "indistinguishable")) == 5           # every cell but the starred one
    assert len(by_gid(fig, "recommended")) == 1
    assert "hatched: cannot be told apart" in fig.axes[0].get_xlabel()
    lo, hi = fig.axes[0].collections[0].get_clim()
    assert hi - lo >= 4 * 115_000 - 1                          # 15k of spread inside +/-115k: not navy vs yellow
    fig = heatmap_figure(s, "mql.threshold", "sales.reps", recommendation={"best": ce[-1], "cannot_exclude": ce[-1:]})
    assert not by_gid(fig, "indistinguishable")


def test_colour_limits_keep_real_differences_and_stay_in_range():
    assert colour_limits(np.array([1e5, 2e6]), 1e4, "bookings") == (1e5, 2e6, False)
    lo, hi, widened = colour_limits(np.array([0.97, 0.99]), 0.05, "sla_compliance")
    assert widened and hi == pytest.approx(1.0) and hi - lo == pytest.approx(0.2)


def test_sweep_curves_ring_the_indistinguishable_points():
    s = _two_way()
    s = s[s["sales.reps"] == 2].copy()
    rows = [{**r, "kpi": k} for r in s[s["kpi"] == "bookings"].to_dict("records")
            for k in ("mqls", "mql_to_sql_rate", "rep_utilisation")]
    s = pd.concat([s, pd.DataFrame(rows)], ignore_index=True)
    ce = [{"scenario": "s", "point": p, "policy": "p", "mql.threshold": t} for p, t in enumerate((40, 60, 80))]
    fig = sweep_figure(s, "mql.threshold", {"best": ce[2], "cannot_exclude": ce[1:]})
    assert len(by_gid(fig, "indistinguishable")) == 5          # the 60 point, on each of five panels


def test_identical_settings_end_to_end(tmp_path):
    """Sweeping an inert field (the rep's hourly cost changes no bookings) on common worlds gives
    five identical settings: all of them cannot be excluded and no single winner is claimed."""
    import sim
    res = sim.sweep("workshop", "seed-example", {"costs.rep_hourly": [40, 45, 50, 55, 60]}, replications=4, seed=1,
                    maximise="bookings", leads=1500, days=7)
    rec = res.recommendation
    assert sorted(c["costs.rep_hourly"] for c in rec["cannot_exclude"]) == [40, 45, 50, 55, 60]
    assert not rec["distinguished"] and "5 settings cannot be told apart" in rec["message"]
    assert "win_share" not in rec


def test_python_api_takes_decision_variables():
    import sim
    with pytest.raises(ValueError, match="only when it is in `vary`"):
        sim.sweep("workshop", "seed-example", {"mql.threshold": [40]}, minimise="sales.reps")
    res = sim.sweep("workshop", "seed-example", {"sales.reps": [1, 6]}, replications=2, minimise="sales.reps",
                    subject_to=["sla_compliance_standard>=0.5"], leads=1500, days=7)
    assert res.recommendation["objectives"][0] == {"name": "sales.reps", "direction": "min", "kind": "setting"}
    assert res.recommendation["best"]["sales.reps"] in (1, 6)


def test_narrative_states_the_guarantee_or_the_caveat():
    from sim.report.narrative import recommendation_sentence
    best = {"scenario": "s", "point": 1, "policy": "p", "x": 1, "label": "x=1", "mean": 10.0, "lower": 9.0, "upper": 11.0}
    rec = {"objective": "bookings", "direction": "max", "constraints": [], "best": best, "claim": True,
           "cannot_exclude": [best], "message": "x=1 is the best setting (within 0.5 bookings) with probability >= 95%.",
           "replications": {"choose": 5, "report": 5}}
    text = recommendation_sentence(rec, ["x"])
    assert "with probability >= 95%" in text and "from 5 replications not used to choose it" in text
    assert "not yet a pick" not in text
    assert "not yet a pick at 95%" in recommendation_sentence({**rec, "claim": False}, ["x"])


def test_experiment_file_with_a_decision_variable_and_a_tie_breaking_kpi(tmp_path):
    f = tmp_path / "e.toml"
    f.write_text('name = "smallest-team"\nscenarios = ["workshop"]\npolicies = ["seed-example"]\nreplications = 2\n'
                 'set = ["horizon.window=7d", "arrivals.leads_per_year=1500"]\n'
                 '[grid]\n"sales.reps" = [1, 2]\n"mql.threshold" = [50, 60]\n'
                 '[objective]\nminimise = "sales.reps"\nmaximise = "bookings"\n'
                 'subject_to = ["sla_compliance_standard>=0.5"]\ndelta = "2%"\n')
    out = tmp_path / "o"
    r = invoke("experiment", f, "--out", out)
    assert r.exit_code == 0, r.output
    rec = load_results(out).recommendation
    assert [o["kind"] for o in rec["objectives"]] == ["setting", "kpi"]
    assert rec["objective"] == "sales.reps" and rec["best"] is not None
    assert load_results(out).manifest["objective"]["delta"] == "2%"
