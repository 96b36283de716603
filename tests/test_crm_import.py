"""Importing a CRM export through a mapping: clean rows, bad rows by reason, one clear error per bad
file or mapping (exit 2, nothing written)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.config.messages import ConfigError
from sim.crm.importer import import_leads
from sim.crm.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "crm"
OLIST = ROOT / "mappings" / "olist.toml"
XED = ROOT / "mappings" / "x_education.toml"
MQLS, DEALS = FIX / "olist_mqls_2018-03-01_14.csv", FIX / "olist_deals_2018-03-01_14.csv"


def bad_import():
    m = load_mapping(FIX / "bad_rows_mapping.toml")
    return import_leads(FIX / "bad_rows_leads.csv", m, "bad_rows_mapping.toml", FIX / "bad_rows_deals.csv")


def test_every_bad_row_is_counted_by_reason_and_none_is_lost():
    imp = bad_import()
    assert imp.bad_counts() == {"missing_id": 1, "duplicate_id": 1, "missing_date": 1, "unparseable_date": 2,
                                "unknown_source": 1, "missing_source": 1, "negative_duration": 1,
                                "deal_unknown_lead": 1, "duplicate_deal": 1}
    assert sorted(imp.leads["lead_id"]) == ["a1", "a2", "a8"]
    lead_rows = imp.bad[imp.bad["file"] == "bad_rows_leads.csv"]
    assert len(imp.leads) + len(lead_rows) + 1 == imp.rows_read        # + a7, removed for its negative duration
    neg = imp.bad[imp.bad["reason"] == "negative_duration"].iloc[0]
    assert neg["id"] == "a7" and "before" in neg["detail"]
    won = imp.leads.set_index("lead_id")["won"]
    assert bool(won["a1"]) and not bool(won["a2"]) and not bool(won["a8"])  # a8's deal date is unparseable


def test_olist_cut_joins_every_deal():
    m = load_mapping(OLIST)
    imp = import_leads(MQLS, m, str(OLIST), DEALS)
    # the real data's one deal won 1.18 days before its MQL's first contact happens to be in this cut
    assert imp.rows_read == 549 and imp.bad_counts() == {"negative_duration": 1}
    assert len(imp.leads) == 548 and int(imp.leads["won"].sum()) == 77
    assert (imp.leads.loc[imp.leads["won"].astype(bool), "won_date"] >= imp.leads.loc[
        imp.leads["won"].astype(bool), "created"]).all()
    assert set(imp.leads["channel"]) <= {"organic", "paid_search", "paid_social", "referral", "outbound_list",
                                         "webinar", "partner"}


def test_x_education_mapping_builds_features_and_marks_leaky_columns():
    m = load_mapping(XED)
    imp = import_leads(FIX / "x_education_synthetic.csv", m, str(XED))
    assert len(imp.leads) == 400 and imp.bad_counts() == {}
    assert {"ev_pricing_visit", "ev_comparison_visit", "ev_contact_form", "attr_seniority"} <= set(imp.leads)
    assert (imp.leads["ev_pricing_visit"] <= 20).all()
    assert any("TotalVisits" in n for n in imp.notes)      # empty visit counts are reported, counted as 0
    assert "Tags" in m.leaky_columns and "Lead Quality" in m.leaky_columns


def test_missing_column_names_file_column_and_mapping_field(tmp_path):
    csv = tmp_path / "leads.csv"
    csv.write_text("id,when,src\n1,2024-01-01,x\n")
    with pytest.raises(ConfigError) as e:
        import_leads(csv, load_mapping(OLIST), "olist.toml")
    text = str(e.value)
    assert "leads.csv" in text and "'mql_id'" in text and "leads.id" in text and "fix the mapping" in text


def test_mapping_values_must_be_in_the_vocabulary(tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text('[leads]\nid = "a"\ncreated = "c"\nsource = "s"\nsources = { x = "tiktok" }\n')
    with pytest.raises(ConfigError) as e:
        load_mapping(bad)
    assert "leads.sources" in str(e.value) and "tiktok" in str(e.value)


@pytest.fixture
def runner():
    return CliRunner()


def test_cli_import_writes_a_new_folder_and_never_overwrites(runner, tmp_path):
    out = tmp_path / "imp"
    r = runner.invoke(main, ["import-crm", str(FIX / "bad_rows_leads.csv"), "--deals", str(FIX / "bad_rows_deals.csv"),
                             "-m", str(FIX / "bad_rows_mapping.toml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert {"leads.csv", "bad_rows.csv", "import.json"} <= {p.name for p in out.iterdir()}
    assert "unknown_source" in r.output
    r2 = runner.invoke(main, ["import-crm", str(FIX / "bad_rows_leads.csv"), "-m", str(FIX / "bad_rows_mapping.toml"),
                              "--out", str(out)])
    assert r2.exit_code == 2 and "already exists" in r2.output


@pytest.mark.parametrize("content, expect", [
    ("not = [valid", "malformed TOML"),
    ('[leads]\nid = "mql_id"\nsource = "origin"\nsources = {}\n', "created"),
])
def test_cli_bad_mapping_exit_2_one_message_nothing_written(runner, tmp_path, content, expect):
    m = tmp_path / "m.toml"
    m.write_text(content)
    out = tmp_path / "never"
    r = runner.invoke(main, ["import-crm", str(MQLS), "-m", str(m), "--out", str(out)])
    assert r.exit_code == 2 and expect in r.output and "m.toml" in r.output
    assert not out.exists()


def test_cli_unreadable_csv_exit_2(runner, tmp_path):
    csv = tmp_path / "x.csv"
    csv.write_bytes(b"\xff\xfe\x00garbage")
    r = runner.invoke(main, ["import-crm", str(csv), "-m", str(OLIST), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "x.csv" in r.output
