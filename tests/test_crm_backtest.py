"""Backtests on real-format leads: the engine's scorer on exported counts, consistent metrics,
leaky columns refused, and a learned points table that is a normal policy file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.config.errors import ConfigError
from sim.config.policy import Policy
from sim.crm.backtest import backtest, gain_curve
from sim.crm.fitscoring import fit_scoring
from sim.crm.importer import import_leads
from sim.crm.mapping import load_mapping
from sim.crm.realworld import check_policy, score_leads
from sim.inputs import load_policy

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "crm"
XED = ROOT / "mappings" / "x_education.toml"
CSV = FIX / "x_education_synthetic.csv"
POL = ROOT / "mappings" / "x_education-policies"


@pytest.fixture(scope="module")
def leads():
    return import_leads(CSV, load_mapping(XED), str(XED)).leads


def test_scores_are_the_policy_points_summed(leads):
    pol = Policy.model_validate({
        "name": "t", "icp": {"company_sizes": [], "industries": []},
        "scoring": {"fit": {"seniority": {"manager": 10}, "company_size": {}, "industry": {}, "email_kind": {}},
                    "behaviour": {"contact_form": {"points": [50]},
                                  "pricing_visit": {"points": [5], "then": 5, "cap": 20}},
                    "negative": {"no_email_open_points": 0}},
        "mql": {"threshold": 30, "fast_lane": {"demo_request": False}}})
    mql, score = score_leads(leads, pol)
    has_events = leads.filter(like="ev_").sum(axis=1).to_numpy() > 0
    expect = (10.0 * (leads["attr_seniority"] == "manager") + 50.0 * (leads["ev_contact_form"] >= 1)
              + np.minimum(5.0 * leads["ev_pricing_visit"], 20)).to_numpy()
    assert np.array_equal(score[has_events], expect[has_events])
    assert np.array_equal(mql, has_events & (expect >= 30))


def test_backtest_metrics_are_consistent(leads):
    pols = [load_policy(str(POL / "origin-only.toml")), load_policy(str(POL / "engagement.toml"))]
    table, gains = backtest(leads, pols)
    won = int(leads["won"].sum())
    for _, r in table.iterrows():
        assert r["conversions"] == won and r["leads"] == len(leads)
        tp = round(r["precision"] * r["mqls"])
        assert tp + r["conversions_left_in_nurture"] == won
        assert r["recall"] == pytest.approx(tp / won)
        assert r["mql_share"] == pytest.approx(r["mqls"] / r["leads"])
        assert 0 <= r["auc"] <= 1
    for _, g in gains.groupby("policy"):
        y = g["share_of_conversions"].to_numpy()
        assert y[0] == 0 and y[-1] == pytest.approx(1) and np.all(np.diff(y) >= -1e-12)
    auc = table.set_index("policy")["auc"]
    assert auc["engagement"] > auc["origin-only"]      # the fixture's conversions follow time on site


def test_gain_curve_of_a_perfect_score_and_of_ties():
    won = np.array([True, True, False, False])
    g = gain_curve(np.array([4.0, 3, 2, 1]), won).set_index("share_of_leads")
    assert g.loc[0.5, "share_of_conversions"] == pytest.approx(1.0)
    tied = gain_curve(np.zeros(4), won).set_index("share_of_leads")
    assert tied.loc[0.5, "share_of_conversions"] == pytest.approx(0.5)   # ties cannot flatter a score


def test_a_policy_scoring_a_leaky_column_is_refused(tmp_path):
    text = XED.read_text() + '\n[[leads.events]]\ncolumn = "Tags"\nvalues = { "Will revert after reading the email" = "demo_request" }\n'
    leaky_map = tmp_path / "leaky.toml"
    leaky_map.write_text(text)
    pol = tmp_path / "cheat.toml"
    pol.write_text((POL / "engagement.toml").read_text().replace("[scoring.behaviour]",
                                                                 "[scoring.behaviour]\ndemo_request = { points = [100] }"))
    with pytest.raises(ConfigError) as e:
        check_policy(load_policy(str(pol)), load_mapping(leaky_map), "cheat.toml")
    assert "Tags" in str(e.value) and "demo_request" in str(e.value)
    r = CliRunner().invoke(main, ["backtest", str(CSV), "-m", str(leaky_map), "-p", str(pol),
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "leaky" in r.output and not (tmp_path / "o").exists()
    learned = fit_scoring(import_leads(CSV, load_mapping(leaky_map), "x").leads, load_mapping(leaky_map), "l")
    assert not learned.coefficients["feature"].str.startswith("demo_request").any()   # never learned from


def test_points_on_an_attribute_the_export_lacks_are_refused(tmp_path):
    r = CliRunner().invoke(main, ["backtest", str(CSV), "-m", str(XED), "-p", "seed-example", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "company_size" in r.output and "seed-example" in r.output


def test_learned_scoring_is_a_normal_policy_that_validates_on_later_leads(tmp_path, leads):
    out = tmp_path / "fit"
    r = CliRunner().invoke(main, ["fit-scoring", str(CSV), "-m", str(XED), "--name", "learned-x",
                                  "-p", str(POL / "origin-only.toml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    pol = load_policy(str(out / "learned-x.toml"))                   # a normal policy file
    assert pol.name == "learned-x"
    points = pol.scoring.behaviour
    assert points["contact_form"].points[0] > 0                      # the lead-add-form origin converts
    assert sum(points["pricing_visit"].points) > 0                   # time on site converts
    assert all(float(p).is_integer() for ev in points.values() for p in ev.points)   # a readable table
    learned = fit_scoring(leads, load_mapping(XED), "l")
    valid, _ = backtest(learned.valid, [learned.policy])
    assert valid["auc"].iloc[0] > 0.7 and len(learned.valid) == 120  # later 30% of the leads, by lead number
    assert learned.valid["order"].min() > learned.train["order"].max()
    assert {"backtest.csv", "gains.csv", "gain.png", "coefficients.csv", "validation.csv", "report.html"} <= \
        {p.name for p in out.iterdir()}


def test_f1_threshold_is_the_best_cut():
    from sim.crm.fitscoring import _best_f1_threshold
    score = np.array([9.0, 8, 8, 5, 3, 1, -np.inf])
    y = np.array([True, True, False, True, False, False, True])
    best = max(np.unique(score[np.isfinite(score)]),
               key=lambda t: 2 * ((score >= t) & y).sum() / ((score >= t).sum() + y.sum()))
    assert _best_f1_threshold(score, y) == best


def test_an_export_with_no_usable_row_is_refused(tmp_path):
    csv = tmp_path / "leads.csv"
    csv.write_text("Prospect ID,Lead Number,Lead Source,Converted\n1,1,testone,1\n")
    m = tmp_path / "m.toml"
    m.write_text('[leads]\nid = "Prospect ID"\norder = "Lead Number"\nsource = "Lead Source"\n'
                 'sources = { Google = "paid_search" }\noutcome = "Converted"\n')
    r = CliRunner().invoke(main, ["backtest", str(csv), "-m", str(m), "-p", str(POL / "origin-only.toml"),
                                  "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "no usable row" in r.output and "unknown_source" in r.output
