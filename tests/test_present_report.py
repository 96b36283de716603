"""The report's presentation (issues 11 and 12): labels that never overlap, SDR axes at whole
numbers, health flags that compare the interval with the benchmark, sentences only where the
interval supports them, assumptions as they ran, and recorded warnings shown."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.report.narrative import executive_summary, health_flags, policy_sentence
from sim.report.style import close, overlaps

NAN = math.nan


def _summary(rows: list[tuple[str, str, float, float, float]], n: int = 10, **extra) -> pd.DataFrame:
    return pd.DataFrame([{"scenario": "s", "point": 0, "policy": p, "kpi": k, "mean": m, "lower": lo, "upper": hi,
                          "half_width": (hi - lo) / 2, "n": n, "n_total": n, "status": "ok", **extra}
                         for p, k, m, lo, hi in rows])


def test_quality_labels_of_policies_at_the_same_spot_do_not_overlap():
    from sim.report.fig_sweep import quality_figure
    rows = []
    for p in ("seed-example", "speed-first", "third"):
        rows += [(p, "buyer_recall", 0.64, 0.5, 0.8), (p, "mql_precision", 0.29, 0.23, 0.36),
                 (p, "buyers", 30.0, 25.0, 35.0), (p, "buyers_sql", 8.0, 6.0, 10.0)]
    fig = quality_figure(_summary(rows), None, {"seed-example": 60, "speed-first": 60, "third": 60})
    labels = [t for ax in fig.axes for t in ax.texts if str(t.get_gid()).startswith("label:")]
    assert len(labels) == 3 and overlaps(fig, labels) == []
    close(fig)


def test_sdr_axes_tick_at_whole_numbers():
    from sim.report.fig_sweep import sweep_figure
    rows = [{"policy": "A", "sales.reps": r, "kpi": k, "mean": v, "lower": v * 0.9, "upper": v * 1.1}
            for r in (2, 3, 4) for k, v in (("mqls", 100.0), ("mql_to_sql_rate", 0.3), ("bookings", 1e6),
                                            ("sla_compliance", 0.8), ("rep_utilisation", 0.6))]
    fig = sweep_figure(pd.DataFrame(rows), "sales.reps")
    for ax in fig.axes:
        if ax.lines:
            ticks = ax.get_xticks()
            assert list(ticks) == [2, 3, 4], ticks
    close(fig)


def test_health_flags_compare_the_interval_with_the_benchmark():
    s = _summary([("P", "mql_to_sql_rate", 0.25, 0.10, 0.40),      # straddles 20%: inconclusive
                  ("P", "rep_utilisation", 0.90, 0.87, 0.93),      # all above 85%: warn
                  ("P", "rejection_rate", 0.10, 0.05, 0.15),       # all under 20%: ok
                  ("P", "first_touch_p50_business_hours", 9.0, 7.0, 11.0)])
    flags = {f.kpi: f for f in health_flags(s, ["P"])}
    assert flags["mql_to_sql_rate"].level == "inconclusive" and "straddles" in flags["mql_to_sql_rate"].message
    assert flags["rep_utilisation"].level == "warn" and flags["rejection_rate"].level == "ok"
    assert flags["first_touch_p50_business_hours"].level == "inconclusive"
    assert "business hours" in flags["first_touch_p50_business_hours"].shown()
    few = _summary([("P", "mql_to_sql_rate", 0.25, NAN, NAN)], n=2).assign(status="too_few", n_total=10)
    (f,) = health_flags(few, ["P"])
    assert f.level == "inconclusive" and f.shown() == "too few (n=2)"


def test_a_sentence_needs_an_interval_that_supports_it():
    s = pd.Series({("A", "sla_compliance_high_intent"): 0.38, ("B", "sla_compliance_high_intent"): 0.91,
                   ("A", "bookings"): 100.0, ("B", "bookings"): 71.0})
    d = pd.DataFrame([
        {"policy": "B", "kpi": "sla_compliance_high_intent", "diff": 0.53, "lower": NAN, "upper": NAN, "n": 2,
         "significant": False, "status": "too_few"},
        {"policy": "B", "kpi": "bookings", "diff": -29.0, "lower": -141.0, "upper": 84.0, "n": 4, "relative": -0.29,
         "relative_lower": -1.0, "relative_upper": 0.84, "significant": False, "status": "ok"},
    ]).set_index(["policy", "kpi"])
    text = policy_sentence("B", "A", s, d)
    assert "rises" not in text and "-445" not in text and "-141%" not in text
    assert text.startswith("B: too few replications to say whether it changes bookings (about 61 needed for ±29%)")
    assert "high-intent-tier SLA compliance (too few (n=2) for an interval)" in text


def test_supported_relative_change_uses_its_own_interval():
    s = pd.Series({("A", "bookings"): 100.0, ("B", "bookings"): 120.0})
    d = pd.DataFrame([{"policy": "B", "kpi": "bookings", "diff": 20.0, "lower": 10.0, "upper": 30.0, "n": 10,
                       "relative": 0.2, "relative_lower": 0.09, "relative_upper": 0.32, "significant": True,
                       "status": "ok"}]).set_index(["policy", "kpi"])
    assert policy_sentence("B", "A", s, d).startswith("B raises bookings by 20% (95% CI +9% to +32%)")


def test_summary_counts_inconclusive_checks_apart():
    s = _summary([("P", "mql_to_sql_rate", 0.25, 0.10, 0.40), ("P", "mqls", 10.0, 8.0, 12.0)])
    out = executive_summary(s, pd.DataFrame(), ["P"], "P", 10, health_flags(s, ["P"]))
    assert any("1 health check inconclusive" in x for x in out)
    assert not any("within the published benchmarks" in x for x in out)
    assert any("10 ± 2 MQLs" in x for x in out)                # levels carry their half-width


def test_assumptions_show_what_ran():
    from sim.report.assumptions import policy_tables, scenario_tables
    manifest = {"command": ["funnelsim", "sweep", "workshop", "--vary", "sales.reps=2,3,4", "--leads", "9000",
                            "--set", "mql.threshold=70"],
                "design": {"factors": [{"path": "sales.reps", "values": [2, 3, 4]},
                                       {"path": "policy.mql.threshold", "values": [40, 60]}]}}
    scen = {"workshop": {"description": "Small team, 4k leads/year", "sales": {"reps": 1},
                         "arrivals": {"leads_per_year": 9000.0}, "calendar": {"open": "09:00:00"}}}
    html = scenario_tables(scen, manifest)
    assert "swept: 2, 3, 4" in html and ">1<" not in html
    assert "Small team, 4k leads/year; as run: leads per year 9000, mql.threshold = 70" in html
    assert "9000.0" not in html and "09:00:00" not in html and ">09:00<" in html
    pol = policy_tables({"p": {"mql": {"threshold": 60.0}}}, ["p"], {}, manifest)
    assert "swept: 40, 60" in pol


def test_manifest_warnings_are_rendered():
    from sim.report.page import manifest_warnings
    assert manifest_warnings(None) == "" and manifest_warnings([]) == ""
    html = manifest_warnings(["3 worlds hit the event limit", "<b>odd</b>"])
    assert "3 worlds hit the event limit" in html and "&lt;b&gt;" in html


def _in_view(ax, t, axis: str) -> bool:
    lo, hi = sorted(ax.get_xlim() if axis == "x" else ax.get_ylim())
    v = t.get_position()[0 if axis == "x" else 1]
    return lo <= v <= hi


@pytest.mark.slow
def test_no_label_of_any_report_figure_overlaps_another(tmp_path, monkeypatch):
    """Every figure of a real report, drawn: annotations anywhere in a figure, and the visible tick
    labels of each axis, have pairwise disjoint boxes (two policies share a threshold of 60)."""
    from results_fixture import comparison_folder

    import sim.report.build as build
    from sim.experiment.results import load_results
    folder = comparison_folder(tmp_path / "c", replications=5, policies=("seed-example", "speed-first"))
    figs = {}
    real_save = build.save

    def keep(fig, out, key):
        figs[key] = fig
        return real_save(fig, out, key)

    monkeypatch.setattr(build, "save", keep)
    monkeypatch.setattr(build, "close", lambda fig: None)
    build.render(load_results(folder), folder)
    assert {"quality", "comparison", "speed", "funnel"} <= set(figs)
    for key, fig in figs.items():
        texts = [t for ax in fig.axes for t in ax.texts if t.get_visible() and t.get_text().strip()]
        assert overlaps(fig, texts) == [], key
        for ax in fig.axes:
            for axis, labels in (("x", ax.get_xticklabels()), ("y", ax.get_yticklabels())):
                shown = [t for t in labels if t.get_visible() and t.get_text().strip() and _in_view(ax, t, axis)]
                assert overlaps(fig, shown) == [], (key, axis, [t.get_text() for t in shown])
        close(fig)


def test_overrides_read_from_a_python_call_too():
    from sim.report.assumptions import overrides
    m = {"command": ["python", "-c", "import sim; sim.compare('workshop', ['a'], replications=5, leads=9000.0, "
                                     "reps=3, sets=['mql.threshold=70'])"]}
    assert overrides(m) == ["leads per year 9000", "SDRs 3", "mql.threshold = 70"]
    assert overrides({"command": ["funnelsim", "run", "x", "--leads=12000", "--days", "28"]}) == \
        ["leads per year 12,000", "measurement window (days) 28"]
