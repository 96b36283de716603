"""The report a consultant puts in front of a client: built from a saved results folder only, one
self-contained file with every section, sentences that say what the numbers say, health flags
against the benchmarks, how to reproduce; `funnelsim report` rebuilds it and refuses bad folders."""
from __future__ import annotations

import json
import re
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner
from results_fixture import sweep_folder

from sim.cli import main
from sim.report import build_report
from sim.report.narrative import executive_summary, health_flags, policy_sentence
from sim.report.page import SECTIONS

FIGURES = ("funnel", "comparison", "speed", "decay", "load", "quality", "rejections")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`funnelsim compare ... --out` as a user types it: the report is built with the results (5 worlds:
    the fewest that get intervals)."""
    folder = tmp_path_factory.mktemp("rep") / "cmp"
    r = CliRunner().invoke(main, ["compare", "workshop", "-p", "seed-example", "-p", "volume", "-p", "fit-and-intent",
                                  "-n", "5", "--leads", "3000", "--days", "28", "--seed", "7", "--out", str(folder)])
    assert r.exit_code == 0, r.output
    assert f"report: {folder / 'report.html'}" in r.stdout
    return folder, folder / "report.html"


def test_report_has_every_section_and_figure_embedded(built):
    folder, path = built
    assert path == folder / "report.html"
    page = path.read_text(encoding="utf-8")
    for key, title in SECTIONS:
        assert f'<section id="{key}">' in page and title in page
    for name in FIGURES:
        assert (folder / "figures" / f"{name}.svg").is_file()
        assert f'id="fig-{name}"' in page
    srcs = re.findall(r'src="([^"]*)"', page)
    assert len(srcs) == len(FIGURES) and all(s.startswith("data:image/svg+xml;base64,") for s in srcs)
    assert sorted(p.suffix for p in (folder / "figures").iterdir()) == [".svg"] * len(FIGURES)   # one format
    assert "<script" not in page and "http://" not in page and "https://" not in page   # opens offline
    assert "@media print" in page


def test_report_says_what_the_numbers_say(built):
    folder, path = built
    page = path.read_text(encoding="utf-8")
    summary = page[page.index('<section id="summary">'):page.index('<section id="health">')]
    for p in ("seed-example", "volume", "fit-and-intent"):
        assert p in summary
    assert "bookings" in summary and "95% CI" in summary and "utilisation" in summary
    # the assumptions come from the manifest: the policies' thresholds and the scenario's spike
    assumptions = page[page.index('<section id="assumptions">'):page.index('<section id="figures">')]
    assert "<td class=\"left\">35</td>" in assumptions and "webinar: x4 from 2026-02-10" in assumptions
    assert "35.0" not in assumptions and "3000.0" not in assumptions and "09:00:00" not in assumptions
    # the description says what the command line changed (--leads 3000 --days 28)
    assert "as run: leads per year 3000, measurement window (days) 28" in assumptions
    # reproduce: the exact command and seed
    manifest = json.loads((folder / "manifest.json").read_text())
    repro = page[page.index('<section id="reproduce">'):]
    assert " ".join(manifest["command"]) in repro and str(manifest["seed"]) in repro


def test_summary_sentence_from_known_numbers():
    s = pd.Series({("A", "bookings"): 1_000_000.0, ("B", "bookings"): 1_120_000.0,
                   ("A", "sla_compliance_standard"): 0.94, ("B", "sla_compliance_standard"): 0.71,
                   ("A", "sla_compliance_demo"): 0.90, ("B", "sla_compliance_demo"): 0.89,
                   ("A", "rep_utilisation"): 0.70, ("B", "rep_utilisation"): 0.88,
                   ("A", "mql_to_sql_rate"): 0.25, ("B", "mql_to_sql_rate"): 0.27})
    d = pd.DataFrame([{"policy": "B", "kpi": "bookings", "diff": 120_000.0, "lower": 80_000.0, "upper": 160_000.0,
                       "significant": True},
                      {"policy": "B", "kpi": "sla_compliance_standard", "diff": -0.23, "lower": -0.30, "upper": -0.16,
                       "significant": True},
                      {"policy": "B", "kpi": "mql_to_sql_rate", "diff": 0.02, "lower": 0.01, "upper": 0.03,
                       "significant": True}]).set_index(["policy", "kpi"])
    text = policy_sentence("B", "A", s, d)
    assert text.startswith("B raises bookings by 12% (95% CI +8% to +16%)")
    # a change is claimed with its own interval (no difference row: no claim)
    assert "standard-tier SLA compliance falls from 94% to 71% (95% CI -30.0 to -16.0 pp)" in text
    assert "reps at 88% utilisation (70% under A)" in text


def test_summary_says_when_a_change_could_be_zero():
    """An interval that straddles zero supports no 'raises' or 'lowers': the sentence says how
    many replications would settle it (half-width 6 at n=10 -> about 40 for +-3)."""
    s = pd.Series({("A", "bookings"): 100.0, ("B", "bookings"): 97.0})
    d = pd.DataFrame([{"policy": "B", "kpi": "bookings", "diff": -3.0, "lower": -9.0, "upper": 3.0, "n": 10,
                       "significant": False}]).set_index(["policy", "kpi"])
    text = policy_sentence("B", "A", s, d)
    assert text == "B: too few replications to say whether it changes bookings (about 40 needed for ±3%)."
    assert "lowers" not in text


def _summary(values: dict[str, float], policy: str = "P") -> pd.DataFrame:
    return pd.DataFrame([{"policy": policy, "kpi": k, "mean": v, "lower": v, "upper": v} for k, v in values.items()])


@pytest.mark.parametrize("kpi, value, level, words", [
    ("mql_to_sql_rate", 0.04, "bad", "broken"),
    ("mql_to_sql_rate", 0.15, "warn", "too loose"),
    ("mql_to_sql_rate", 0.30, "ok", "healthy"),
    ("mql_to_sql_rate", 0.55, "warn", "too strict"),
    ("rejection_rate", 0.25, "warn", "20%"),
    ("rejection_rate", 0.10, "ok", "under 20%"),
    ("rep_utilisation", 0.88, "warn", "85%"),
    ("rep_utilisation", 0.60, "ok", "85%"),
    ("first_touch_p50_business_hours", 9.0, "warn", "8 business hours"),
    ("mql_to_sal_rate", 0.4, "warn", "under half"),
])
def test_health_flags_against_the_benchmarks(kpi, value, level, words):
    (flag,) = health_flags(_summary({kpi: value}), ["P"])
    assert (flag.level, flag.kpi) == (level, kpi) and words in flag.message


def test_summary_lists_the_flags_and_warns_on_one_replication():
    s = _summary({"mql_to_sql_rate": 0.1, "rep_utilisation": 0.9, "bookings": 1.0, "mqls": 10, "leads": 100})
    flags = health_flags(s, ["P"])
    out = executive_summary(s, pd.DataFrame(), ["P"], "P", 1, flags)
    assert any("2 health flags" in x for x in out)
    assert any("One replication only" in x for x in out)


def test_names_from_files_are_escaped():
    from sim.report.assumptions import policy_tables, scenario_tables
    from sim.report.page import page
    evil = "<script>alert(1)</script> & <b>x</b>"
    html_text = policy_tables({evil: {"description": evil}}, [evil], {evil: "#000"}) + scenario_tables({"s": {"description": evil}})
    html_text = page(evil, evil, [evil], "", html_text, [], "", "", [evil])
    assert "<script>" not in html_text and "<b>" not in html_text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;x&lt;/b&gt;" in html_text


@pytest.mark.slow
def test_sweep_report_recommends_and_tabulates_every_point(tmp_path):
    folder = sweep_folder(tmp_path / "sw", {"mql.threshold": [40, 60, 80], "sales.reps": [1, 2]})
    page = build_report(folder).read_text(encoding="utf-8")
    for name in ("sweep", "heatmap", *FIGURES):      # one policy: no policy comparison
        assert (f'id="fig-{name}"' in page) == (name != "comparison"), name
    best = json.loads((folder / "recommendation.json").read_text())["best"]
    at = f"MQL threshold = {best['mql.threshold']:g}, SDRs = {best['sales.reps']:g}"
    assert f"Recommended setting: {at} under seed-example" in page
    assert page.count("&#9733; recommended") == 1
    table = page[page.index("Every setting of the sweep"):]
    assert table.count("<tr") == 1 + 6                     # header + 3 x 2 points
    assert f"Shown at {at}" in page                        # per-point figures say which point
    assert "import sim; sim.sweep(" in page                # made from Python: the call is the recipe


# ---- the command -------------------------------------------------------------------------

def run(*args):
    return CliRunner().invoke(main, ["report", *map(str, args)])


@pytest.mark.slow
def test_report_command_builds_and_never_overwrites_without_force(tmp_path, built):
    folder, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "figures")
    (copy / "report.html").unlink()
    r = run(copy)
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"report: {copy / 'report.html'}"
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith(".")) == []   # no temporary leftovers
    assert len(list((copy / "figures").glob("*.svg"))) == len(FIGURES)
    before = (copy / "report.html").stat().st_mtime_ns
    r = run(copy)
    assert r.exit_code == 2 and "--force" in r.stderr and r.stderr.count("error:") == 1
    assert (copy / "report.html").stat().st_mtime_ns == before


@pytest.mark.parametrize("breakage, words", [
    ("missing", ["no such folder"]),
    ("file", ["is a file"]),
    ("no-manifest", ["manifest.json", "not a funnelsim results folder"]),
    ("bad-json", ["manifest.json", "not valid JSON"]),
    ("no-runs", ["no runs table"]),
    ("no-column", ["runs.parquet", "missing column", "policy"]),
])
def test_report_command_refuses_bad_folders(tmp_path, built, breakage, words):
    folder, _ = built
    target = tmp_path / "bad"
    if breakage == "file":
        target.write_text("x")
    elif breakage != "missing":
        shutil.copytree(folder, target)
        shutil.rmtree(target / "figures")
        (target / "report.html").unlink()
        if breakage == "no-manifest":
            (target / "manifest.json").unlink()
        elif breakage == "bad-json":
            (target / "manifest.json").write_text("{not json")
        elif breakage == "no-runs":
            for f in target.glob("runs.*"):
                f.unlink()
        elif breakage == "no-column":
            (target / "runs.csv").unlink(missing_ok=True)
            pd.read_parquet(target / "runs.parquet").drop(columns="policy").to_parquet(target / "runs.parquet")
    listing = sorted(p.name for p in target.iterdir()) if target.is_dir() else None
    r = run(target)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("error: ") and r.stderr.count("error:") == 1 and "Traceback" not in r.stderr
    for w in words:
        assert w in r.stderr
    assert (sorted(p.name for p in target.iterdir()) if target.is_dir() else None) == listing   # nothing written


def test_intervals_stay_within_what_a_kpi_can_be():
    """The report shows the statistics layer's intervals as they are (its display clipping is
    gone): they must already sit inside what each KPI can be, even for few, skewed worlds."""
    from sim.measure.stats import summarise
    runs = pd.DataFrame({"policy": "P", "sla_met_standard": [29, 30, 30, 28, 30],
                         "sla_episodes_standard": [30, 30, 30, 30, 30],
                         "sla_compliance_standard": [29 / 30, 1.0, 1.0, 28 / 30, 1.0],
                         "backlog_age_max_business_hours": [0.0, 0.0, 0.0, 0.0, 30.0]})
    b = summarise(runs, ["sla_compliance_standard", "backlog_age_max_business_hours"]).set_index("kpi")
    assert 0 <= b.loc["sla_compliance_standard", "lower"] <= b.loc["sla_compliance_standard", "upper"] <= 1
    assert b.loc["backlog_age_max_business_hours", "lower"] >= 0


def test_sweep_sentence_says_where_bookings_peak():
    from sim.report.narrative import sweep_sentence
    rows = [{"policy": "P", "mql.threshold": t, "kpi": k, "mean": v}
            for t, b, u in ((40, 2e5, 1.0), (60, 1.8e6, 0.9), (80, 1.2e6, 0.4))
            for k, v in (("bookings", b), ("rep_utilisation", u))]
    text = sweep_sentence(pd.DataFrame(rows), "mql.threshold", "P")
    assert text == ("Across MQL threshold 40 to 80 (P): bookings are highest at 60 (1.80M) and lowest at 40 (200k); "
                    "reps 40% to 100% busy (means; every setting's interval is in the table below).")


@pytest.mark.slow
def test_a_figure_that_fails_is_reported_not_fatal(tmp_path, built, monkeypatch):
    import sim.report.build as build

    def broken(*a, **k):
        raise ValueError("no data for this")

    monkeypatch.setattr(build, "decay_figure", broken)
    folder, _ = built
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    page = build_report(copy).read_text(encoding="utf-8")
    assert "The figure &#x27;Qualification by response time&#x27; could not be drawn (ValueError: no data for this)" in page
    for name in FIGURES:
        assert f'id="fig-{name}"' in page
