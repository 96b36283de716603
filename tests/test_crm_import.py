"""Importing a CRM export through a mapping: clean rows, bad rows by reason, one clear error per bad
file or mapping (exit 2, nothing written)."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.config.errors import ConfigError
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


def test_every_shipped_mapping_loads():
    for path in sorted((ROOT / "mappings").glob("*.toml")):
        assert load_mapping(path).leads.sources, path


def test_hubspot_template_reads_a_hubspot_style_export(tmp_path):
    """Synthetic rows in HubSpot's export format: numeric bins, stage dates, lifecycle outcome."""
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "Record ID,Create Date,Became a Marketing Qualified Lead Date,Original Source,Lifecycle Stage,"
        "Became a Customer Date,Recent Deal Amount,Contact owner,Became a Sales Qualified Lead Date,"
        "Became an Opportunity Date,Number of Employees,Industry,Seniority,Number of Form Submissions,"
        "Marketing emails opened,Marketing emails clicked,Number of Pageviews\n"
        "1,2024-01-02 09:00,2024-01-02 10:00,Paid Search,customer,2024-02-10 12:00,5000,ann,2024-01-05 09:00,"
        "2024-01-09 09:00,\"1,200\",Banking,vp,2,5,1,12\n"
        "2,2024-01-03 09:00,2024-01-03 10:00,Referrals,lead,,,bob,,,7,Retail,,0,0,0,3\n"
        "3,2024-01-04 09:00,2024-01-04 10:00,Referrals,lead,,,bob,2024-01-01 09:00,,,,,0,0,0,0\n")
    m = load_mapping(ROOT / "mappings" / "template-hubspot.toml")
    imp = import_leads(csv, m, "template-hubspot.toml")
    assert imp.bad_counts() == {"negative_duration": 1}            # contact 3 was an SQL before its MQL
    got = imp.leads.set_index("lead_id")
    assert got.loc["1", "attr_company_size"] == "large" and got.loc["2", "attr_company_size"] == "micro"
    assert got.loc["1", "attr_industry"] == "financial_services" and got.loc["2", "attr_seniority"] == "ic"
    assert bool(got.loc["1", "won"]) and not bool(got.loc["2", "won"])
    assert got.loc["1", "ev_contact_form"] == 2 and got.loc["1", "ev_comparison_visit"] == 12
    assert got.loc["1", "stage_sql"] > got.loc["1", "created"] and got.loc["1", "amount"] == 5000


def test_a_line_with_too_many_fields_is_a_bad_row_not_a_crash(tmp_path):
    csv = tmp_path / "leads.csv"
    csv.write_text("lead_id,created,channel\nb1,2024-01-02,Google\nb2,2024-01-03,Google,extra,fields\n"
                   "b3,2024-01-04,Organic\n")
    imp = import_leads(csv, load_mapping(FIX / "bad_rows_mapping.toml"), "m.toml")
    assert imp.bad_counts() == {"malformed_line": 1} and list(imp.leads["lead_id"]) == ["b1", "b3"]
    assert imp.rows_read == 3 and "extra" in imp.bad["detail"].iloc[0]
