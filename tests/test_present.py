"""Presentation: one formatting module, honest cells ('too few (n=..)'
instead of an interval a KPI cannot have), Holm-adjusted marks said so, replications to halve the
widest interval, terminal tables within 100 columns, and the same rules in the JSON and report.
Tables are built directly with the statistics layer's columns (status, n_total, p_holm, ...)."""
from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner
from rich.console import Console

from sim import format as F
from sim.present import halve_note, holm_note, kpi_rows, replicated_table, single_run_table, with_status

NAN = math.nan


@pytest.mark.parametrize("value, kind, text", [
    (12000.0, "count", "12,000"), (2.5, "count", "2.5"), (60.0, "count", "60"),
    (9293.0, "money", "9.29k"), (11839.0, "money", "11.8k"), (1.83e6, "money", "1.83M"), (578.0, "money", "578"),
    (0.375, "share", "37.5%"), (9.3, "duration", "9.3 h"), (60.0, "number", "60"), (0.1234, "number", "0.123"),
    (NAN, "share", "n/a"), (None, "money", "n/a"),
])
def test_numbers_by_kind(value, kind, text):
    assert F.value(value, kind) == text


def test_settings_read_as_people_write_them():
    assert [F.setting(v) for v in (12000.0, 60.0, "09:00:00", True, 0.25, [1, 2])] == \
        ["12,000", "60", "09:00", "yes", "0.25", "1, 2"]
    assert F.span([2, 3, 4]) == "2, 3, 4" and F.span(list(range(40, 95, 5))) == "40 to 90 (11 values)"
    assert F.plural(1, "replication") == "1 replication" and F.plural(3, "policy", "policies") == "3 policies"


def test_money_half_width_uses_the_scale_of_its_value():
    row = {"mean": 11_200.0, "lower": 10_344.0, "upper": 12_056.0, "n": 10, "n_total": 10, "status": "ok"}
    assert F.cell(row, "money") == "11.2k ± 0.9k"       # not "11200 ± 856"
    assert F.interval(9970.02, 11839.0, "money") == "10.0k to 11.8k"


@pytest.mark.parametrize("mean, hw, kind, unit, text", [
    (9.31, 0.03, "duration", "business hours", "9.3 ± 0.03 h"),      # not '9.3 ± 0.0 h'
    (0.5, 0.0004, "share", "", "50.0% ± 0.04 pp"),                   # not '± 0.0 pp'
    (1.83e6, 400.0, "money", "", "1.83M ± 400"),                     # not '± 0.00M'
    (9.31, 0.4, "duration", "business hours", "9.3 ± 0.4 h"),        # the usual digits when they show it
])
def test_a_half_width_above_zero_never_reads_as_zero(mean, hw, kind, unit, text):
    row = {"mean": mean, "lower": mean - hw, "upper": mean + hw, "n": 10, "n_total": 10, "status": "ok"}
    assert F.cell(row, kind, unit) == text


def test_durations_say_clock_or_business_hours():
    assert F.kpi_format("first_touch_p50_hours")[0] == "First touch p50 (clock hours)"
    assert F.kpi_format("first_touch_p50_business_hours")[0] == "First touch p50 (business hours)"
    assert F.kpi_format("backlog_age_max_business_hours")[0] == "Oldest wait (max, business hours)"
    assert F.kpi_format("cost_per_won")[1] == "money"


def test_cells_are_honest_about_worlds():
    ok = {"mean": 0.375, "lower": 0.33, "upper": 0.42, "n": 7, "n_total": 10, "status": "ok"}
    assert F.cell(ok, "share") == "37.5% ± 4.5 pp (n=7 of 10)"
    few = {"mean": 0.375, "lower": NAN, "upper": NAN, "n": 2, "n_total": 10, "status": "too_few"}
    assert F.cell(few, "share") == "too few (n=2)"
    assert F.cell({"mean": NAN, "lower": NAN, "upper": NAN, "n": 0, "n_total": 10, "status": "undefined"},
                  "share") == "n/a (no world)"
    diff = {"diff": 0.457, "lower": 0.374, "upper": 0.54, "n": 10, "status": "ok"}
    assert F.cell(diff, "share", diff=True) == "+45.7 ± 8.3 pp"


def test_bounded_intervals_show_their_ends_and_pooled_shares_their_items():
    top = {"mean": 1.0, "lower": 0.924, "upper": 1.0, "n": 5, "n_total": 5, "status": "ok"}
    assert F.cell(top, "share") == "100.0% (92.4–100.0%)"        # never '± 7.6 pp' (107.6%)
    few = {"mean": 0.2, "lower": NAN, "upper": NAN, "n": 5, "n_total": 5, "status": "too_few", "count": 12.0}
    assert F.cell(few, "share") == "too few (12 items)"


def test_relative_changes_have_their_own_interval_never_below_minus_100():
    assert F.relative(-0.29, -1.41, 0.84) == "-29% (95% CI -100% to +84%)"


def test_old_tables_get_a_status():
    s = pd.DataFrame([{"policy": "A", "kpi": "mqls", "mean": 10.0, "lower": 8.0, "upper": 12.0, "n": 10},
                      {"policy": "A", "kpi": "sla_compliance_demo", "mean": 0.4, "lower": NAN, "upper": NAN, "n": 1},
                      {"policy": "A", "kpi": "cost_per_won", "mean": NAN, "lower": NAN, "upper": NAN, "n": 0}])
    out = with_status(s).set_index("kpi")
    assert list(out["status"]) == ["ok", "too_few", "undefined"] and set(out["n_total"]) == {10}


def _tables(policies=("seed-example", "a-policy-with-a-long-name", "speed-first", "fit-and-intent"), n=10):
    rows, diffs = [], []
    for i, p in enumerate(policies):
        for k, m, hw in (("mqls", 1234.5 + i, 56.0), ("bookings", 1.1e6 + 1e4 * i, 2.2e5),
                         ("sla_compliance_high_intent", 0.375, NAN), ("first_touch_p50_hours", 9.3, 1.2)):
            few = k == "sla_compliance_high_intent"
            rows.append({"scenario": "s", "point": 0, "policy": p, "kpi": k, "mean": m, "lower": m - hw,
                         "upper": m + hw, "half_width": hw, "n": 2 if few else n, "n_total": n,
                         "status": "too_few" if few else "ok", "method": "t", "n_to_halve": 4 * n})
            if i:
                diffs.append({"scenario": "s", "point": 0, "policy": p, "baseline": policies[0], "kpi": k,
                              "diff": 0.1 * m, "lower": 0.05 * m, "upper": 0.15 * m, "n": n, "relative": 0.1,
                              "relative_lower": -1.0, "relative_upper": 0.3, "p_value": 0.001, "p_holm": 0.004,
                              "significant": True, "status": "too_few" if few else "ok"})
    return pd.DataFrame(rows), pd.DataFrame(diffs)


def _render(tables, width=100) -> str:
    con = Console(width=width, record=True, force_terminal=False)
    for t in tables:
        con.print(t)
    return con.export_text()


def test_terminal_table_fits_100_columns_and_continues_with_a_note():
    s, d = _tables()
    text = _render(replicated_table(s, d, "s: 4 policies x 10 replications"))
    assert max(len(line) for line in text.splitlines()) <= 100
    flat = " ".join(text.split())
    assert "Continued below." in flat and "(continued)" in flat
    assert "too few (n=2)" in text and "± 0.5 pp" not in text        # no interval for a too-few KPI
    assert "First touch p50 (clock hours)" in text
    assert "after Holm adjustment over 3 comparisons (per KPI)" in flat
    assert "about 40 replications would halve it" in flat
    one = _render(single_run_table({f"a-policy-with-a-long-name-{i}": {"mqls": 12.0, "bookings": 5e5}
                                    for i in range(4)}, "one"))
    assert max(len(line) for line in one.splitlines()) <= 100 and "Continued below." in " ".join(one.split())


def test_holm_caption_and_halve_note():
    s, d = _tables(policies=("A", "B"))
    assert holm_note(d, "A") == "* = differs from A after Holm adjustment over 1 comparison (per KPI)"
    assert "not adjusted" in holm_note(d.drop(columns=["p_holm", "p_value"]), "A")
    assert halve_note(s, precision=True) == ""
    assert halve_note(s).startswith("Widest key interval: Bookings (")


def test_report_cells_show_too_few_and_the_relative_interval():
    s, d = _tables(policies=("A", "B"))
    rows = {label: (means, deltas) for label, means, deltas in kpi_rows(s, d)}
    means, deltas = rows["SLA met: high intent"]
    assert means[0][0] == "too few (n=2)" and means[0][1] == "" and deltas[0][0] == "too few"
    assert deltas[0][3] is False                       # a too-few difference is never starred
    value, ci, note, sig = rows["MQLs"][1][0]
    assert value.endswith("(+10%)") and ci.endswith("; -100% to +30%]") and sig


def test_json_entries_carry_n_status_a_flag_and_the_kind():
    from sim.experiment.results_json import difference_entry, estimate_entry
    s, d = _tables(policies=("A", "B"))
    few = estimate_entry(s[s["kpi"] == "sla_compliance_high_intent"].iloc[0].to_dict())
    assert few["too_few"] and few["status"] == "too_few" and few["n"] == 2 and few["n_total"] == 10
    assert few["n_to_halve"] == 40 and few["method"] == "t" and few["kind"] == "share"
    diff = difference_entry(d[d["kpi"] == "mqls"].iloc[0].to_dict())
    assert diff["relative_lower"] == -1.0 and diff["p_holm"] == 0.004 and not diff["too_few"]
    assert diff["kind"] == "count" and diff["unit"] == ""


def test_sweep_table_fits_100_columns():
    from sim.commands.show import SWEEP_KPIS, sweep_table
    rows = [{"scenario": "s", "point": i, "policy": p, "sales.reps": r, "kpi": k, "mean": 0.5, "lower": 0.4,
             "upper": 0.6, "half_width": 0.1, "n": 10, "n_total": 10, "status": "ok"}
            for i, r in enumerate((2, 3, 4)) for p in ("seed-example", "speed-first") for k in SWEEP_KPIS]
    text = _render(sweep_table(pd.DataFrame(rows), ["sales.reps"], SWEEP_KPIS, "sweep"))
    assert max(len(line) for line in text.splitlines()) <= 100 and "More KPIs below." in " ".join(text.split())


def test_click_usage_errors_share_our_prefix():
    from sim.cli import main
    r = CliRunner().invoke(main, ["compare", "workshop", "-p", "x", "--bogus"])
    assert r.exit_code == 2 and "error: No such option" in r.stderr and "Error:" not in r.stderr
