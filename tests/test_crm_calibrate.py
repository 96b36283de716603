"""Calibration: the fits recover known parameters, and `funnelsim calibrate` writes a valid scenario
that reproduces the export it came from (checked by simulation) and says what it could not fit."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from sim.cli import main
from sim.crm.calibrate import fit_truncated_lognormal, rate_table
from sim.experiment.replication import run_replication
from sim.inputs import load_policy, load_scenario

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "crm"
MQLS, DEALS = FIX / "olist_mqls_2018-03-01_14.csv", FIX / "olist_deals_2018-03-01_14.csv"


def test_truncated_lognormal_recovers_parameters_the_naive_fit_misses():
    rng = np.random.default_rng(1)
    x = np.exp(3.0 + 1.5 * rng.standard_normal(6000))
    bound = rng.uniform(20, 300, x.size)              # each deal visible only if it closed before the export
    seen = x < bound
    fit = fit_truncated_lognormal(x[seen], bound[seen])
    se_mu = 1.5 / np.sqrt(seen.sum())
    assert abs(fit["mu_log_days"] - 3.0) < 8 * se_mu and abs(fit["sigma"] - 1.5) < 0.1
    assert fit["naive_fit"]["mu_log_days"] < 3.0 - 0.2   # ignoring truncation biases the median down
    assert fit["ks_statistic"] < 0.03


def test_rate_table_gives_exact_binomial_intervals():
    df = pd.DataFrame({"g": ["a"] * 200 + ["b"] * 50, "won": [True] * 30 + [False] * 170 + [True] * 5 + [False] * 45})
    t = rate_table(df, "g")
    ci = stats.binomtest(30, 200).proportion_ci(0.95, method="exact")
    assert t.loc["a", "n"] == 200 and t.loc["a", "won"] == 30
    assert t.loc["a", "lo"] == pytest.approx(ci.low) and t.loc["a", "hi"] == pytest.approx(ci.high)
    assert (t["lo"] <= t["rate"]).all() and (t["rate"] <= t["hi"]).all()


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cal")
    out, report = tmp / "olist-cut.toml", tmp / "report"
    r = CliRunner().invoke(main, ["calibrate", str(MQLS), "--deals", str(DEALS), "-m", str(ROOT / "mappings/olist.toml"),
                                  "--out", str(out), "--report", str(report), "-n", "4"])
    assert r.exit_code == 0, r.output
    return out, report, r.output


def test_calibrated_scenario_is_valid_runs_and_matches_the_export(calibrated):
    out, report, output = calibrated
    sc = load_scenario(str(out))
    assert sc.arrivals.day_dispersion is None or sc.arrivals.day_dispersion > 0
    assert set(sc.outcomes.win_by_channel) <= set(sc.arrivals.channel_mix)
    r = run_replication(sc, [load_policy("seed-example")], seed=1)           # a normal scenario: any policy runs
    assert r.runs["seed-example"].kpis["leads"] > 0
    check = json.loads((report / "calibration.json").read_text())["check"]
    assert check["mql_to_won_by_source"], "origins with >= 100 MQLs are checked"
    assert all(row["inside"] for row in check["mql_to_won_by_source"])
    assert check["time_to_close"]["ks_statistic"] < 0.2          # 77 deals: the KS noise alone is ~0.1
    assert {"report.html", "arrivals.png", "time_to_close.png", "conversion_by_origin.png", "scenario.toml",
            "every-lead-mql.toml", "bad_rows.csv"} <= {p.name for p in report.iterdir()}
    assert "deal sizes" in output and "losses" in output          # says honestly what it could not fit
    assert "negative_duration" in (report / "bad_rows.csv").read_text()


def test_calibrate_refuses_an_existing_scenario_file(calibrated):
    out, _, _ = calibrated
    before = out.read_text()
    r = CliRunner().invoke(main, ["calibrate", str(MQLS), "--deals", str(DEALS), "-m", str(ROOT / "mappings/olist.toml"),
                                  "--out", str(out), "-n", "1"])
    assert r.exit_code == 2 and "already exists" in r.output and out.read_text() == before


def test_calibrate_bad_input_exit_2(tmp_path):
    r = CliRunner().invoke(main, ["calibrate", str(MQLS), "-m", str(ROOT / "mappings/olist.toml"), "--out",
                                  str(tmp_path / "x.txt")])
    assert r.exit_code == 2 and ".toml" in r.output
    r = CliRunner().invoke(main, ["calibrate", str(MQLS), "-m", str(ROOT / "mappings/olist.toml"), "--out",
                                  str(tmp_path / "x.toml"), "--since", "2030-01-01"])
    assert r.exit_code == 2 and "--since" in r.output and not (tmp_path / "x.toml").exists()
