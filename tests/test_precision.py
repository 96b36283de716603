"""`--precision KPI:HALF_WIDTH`: every command that runs replications, and the Python API, runs them
in batches until the named intervals are that narrow (or the maximum is reached, and it says so);
a malformed or unknown target is refused before anything runs."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import sim
from sim.cli import main

FAST = ["--days", "14", "--leads", "2000"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _json(r) -> dict:
    assert r.exit_code == 0, (r.output, r.exception)
    return json.loads(r.stdout)


def test_compare_stops_when_the_target_is_reached_and_says_so(tmp_path):
    data = _json(invoke("compare", "workshop", "-p", "seed-example", "-p", "volume", *FAST, "--precision",
                        "lead_to_mql_rate:0.05", "--max-replications", "40", "--json", "--out", tmp_path / "c"))
    prec = data["precision"]
    assert prec["reached"] and prec["replications"] < 40
    assert data["replications"] == prec["replications"]
    for p in ("seed-example", "volume"):
        cell = data["policies"][p]["lead_to_mql_rate"]
        assert (cell["upper"] - cell["lower"]) / 2 <= 0.05 and cell["n"] == prec["replications"]
    d = data["differences"]["volume"]["lead_to_mql_rate"]
    assert (d["upper"] - d["lower"]) / 2 <= 0.05
    res = sim.load_results(tmp_path / "c")
    assert res.runs["replication"].nunique() == prec["replications"]
    assert res.manifest["precision"]["reached"]


def test_an_unreachable_target_runs_to_the_maximum_and_says_it_was_not_reached():
    r = invoke("run", "workshop", "-p", "seed-example", *FAST, "--precision", "bookings:0.1%",
               "--max-replications", "8")
    assert r.exit_code == 0, r.output
    assert "NOT reached at the maximum of 8 replications" in r.stdout


def test_run_sweep_and_experiment_take_precision(tmp_path):
    data = _json(invoke("run", "workshop", "-p", "seed-example", *FAST, "--precision", "mqls:25%", "--json"))
    assert data["precision"]["replications"] >= 5
    data = _json(invoke("sweep", "workshop", "-p", "seed-example", "--vary", "mql.threshold=50,70", *FAST,
                        "--precision", "lead_to_mql_rate:0.05", "--max-replications", "20", "--json",
                        "--out", tmp_path / "s"))
    assert data["precision"]["reached"] and len(data["points"]) == 2
    exp = tmp_path / "two-points.toml"
    exp.write_text('name = "two-points"\nscenarios = ["workshop"]\npolicies = ["seed-example"]\n'
                   'replications = 5\n[grid]\n"mql.threshold" = [50, 70]\n', encoding="utf-8")
    data = _json(invoke("experiment", exp, "--days", "14", "--leads", "1500", "--precision",
                        "lead_to_mql_rate:0.08", "--max-replications", "10", "--json", "--out", tmp_path / "e"))
    assert 5 <= data["precision"]["replications"] <= 10


def test_n_sets_the_first_batch():
    res = sim.compare("workshop", ["seed-example"], replications=7, precision=["mqls:90%"], leads=2000, days=14)
    assert res.runs["replication"].nunique() == 7 and res.manifest["precision"]["reached"]


def test_api_sweep_with_precision():
    res = sim.sweep("workshop", "seed-example", {"mql.threshold": [40, 70]}, replications=5,
                    precision=["lead_to_mql_rate:0.05"], max_replications=30, leads=2000, days=14)
    assert res.manifest["precision"]["reached"]
    assert res.runs.groupby("point")["replication"].nunique().tolist() == [res.manifest["replications"]] * 2


@pytest.mark.parametrize("spec,words", [("bookings", "KPI:HALF_WIDTH"), ("bookings:-3", "KPI:HALF_WIDTH"),
                                        ("bokings:5%", "did you mean 'bookings'")])
def test_a_bad_target_is_refused_before_anything_runs(tmp_path, spec, words):
    out = tmp_path / "x"
    r = invoke("compare", "workshop", "-p", "seed-example", *FAST, "--precision", spec, "--out", out)
    assert r.exit_code == 2 and words in r.stderr and not out.exists()


def test_a_maximum_below_the_first_batch_is_refused():
    r = invoke("compare", "workshop", "-p", "seed-example", *FAST, "-n", "20", "--precision", "mqls:5%",
               "--max-replications", "10")
    assert r.exit_code == 2 and "first batch" in r.stderr
