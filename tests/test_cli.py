"""The command line: bad input gives one message and exit code 2 with nothing written; --set and
the conveniences reach the right file; --json is one valid JSON object; --out is atomic and never
overwrites; validate, schema, list and demo work."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.vocab import TERMINAL_STATES, TIERS

FAST = ["--days", "14", "--leads", "2000"]   # a small world: each run takes a few hundredths of a second


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args])


def assert_bad_input(result, *words):
    """Exit 2, exactly one `error:` message on stderr naming everything in `words`, no traceback,
    nothing on stdout."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit), result.exception
    err = result.stderr
    assert err.startswith("error: ") and err.count("error:") == 1, err
    assert "Traceback" not in err
    for w in words:
        assert str(w) in err, (w, err)
    assert result.stdout == ""


def tree(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# ------------------------------------------------------------------------------------------
# Bad input: one message, exit 2, nothing written
# ------------------------------------------------------------------------------------------

BAD_FILES = {
    # name: (content, field path, words)
    "unknown-field": ("[sales]\nrepz = 2\n", "sales.repz", ["unknown field", "did you mean 'reps'"]),
    "wrong-type": ('[mql]\nthreshold = "high"\n', "mql.threshold", ["expected a number", "'high'"]),
    "negative-rate": ("[outcomes]\nwin_buyer = -0.2\n", "outcomes.win_buyer", [">= 0"]),
    "threshold-range": ("[mql]\nthreshold = 10001\n", "mql.threshold", ["<= 10000"]),
    "business-horizon": ('[horizon]\nwindow = "10bd"\n', "horizon.window", ["clock units"]),
    "enum": ('[routing]\ndiscipline = "random"\n', "routing.discipline", ["'fifo'", "'priority'", "'random'"]),
    "huge-leads": ("[arrivals]\nleads_per_year = 1e300\n", "arrivals.leads_per_year", ["too large"]),
    "huge-reps": ("[sales]\nreps = 1000000000\n", "sales.reps", ["<= 10000"]),
    "nan": ("[scoring.fit.seniority]\nvp = nan\n", "scoring.fit.seniority.vp", ["finite"]),
    "malformed": ("[sales\nreps = 2\n", "", ["malformed TOML", "line 1"]),
    "not-utf8": (b'description = "caf\xe9"\n', "", ["not UTF-8"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_policy_file_is_refused_before_anything_runs(runner, tmp_path, case):
    content, path, words = BAD_FILES[case]
    f = tmp_path / f"{case}.toml"
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "results"
    as_scenario = path.split(".")[0] in ("sales", "outcomes", "horizon", "arrivals")
    args = (["run", f, "-p", "seed-example"] if as_scenario else ["run", "workshop", "-p", f]) + ["--out", out]
    before = tree(tmp_path)
    result = invoke(runner, *args)
    assert_bad_input(result, f, path, *words)
    assert tree(tmp_path) == before     # no results folder, no temporary folder


@pytest.mark.parametrize("make, words", [
    (lambda d: d / "missing.toml", ["missing.toml", "not found"]),
    (lambda d: (d / "folder.toml").mkdir() or d / "folder.toml", ["folder.toml", "directory"]),
])
def test_missing_file_and_directory(runner, tmp_path, make, words):
    target = make(tmp_path)
    before = tree(tmp_path)
    assert_bad_input(invoke(runner, "run", "workshop", "-p", target, "--out", tmp_path / "r"), *words)
    assert tree(tmp_path) == before


def test_empty_file_is_all_defaults(runner, tmp_path):
    f = tmp_path / "empty.toml"
    f.write_text("")
    result = invoke(runner, "run", "workshop", "-p", f, *FAST, "--json")
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["policies"]) == ["empty"]
    assert invoke(runner, "validate", f).exit_code == 0


def test_unknown_names(runner):
    assert_bad_input(invoke(runner, "run", "nosuch", "-p", "seed-example"), "no scenario named 'nosuch'", "baseline")
    assert_bad_input(invoke(runner, "run", "workshop", "-p", "nosuch"), "no policy named 'nosuch'", "volume")


def test_duplicate_policy_names(runner):
    assert_bad_input(invoke(runner, "run", "workshop", "-p", "volume", "-p", "volume"), "unique", "'volume'")


@pytest.mark.parametrize("item, words", [
    ("nosection.reps=2", ["--set nosection.reps=2", "not a section"]),
    ("sales..reps=2", ["empty part"]),
    ("sales=3", ["--set sales", "table"]),
    ("sales.reps.x=1", ["sales.reps is a single value"]),
    ("sales.reps=many", ["--set sales.reps", "whole number", "'many'"]),
    ("mql.threshold=[1]", ["--set mql.threshold", "expected a number"]),
    ("routing.discipline=random", ["--set routing.discipline", "'fifo'", "'round_robin'"]),
    ("name=x", ["scenario.name or policy.name"]),
    ("sales.reps", ["PATH=VALUE"]),
])
def test_bad_set_is_refused(runner, tmp_path, item, words):
    before = tree(tmp_path)
    result = invoke(runner, "run", "workshop", "-p", "seed-example", "--set", item, "--out", tmp_path / "r")
    assert_bad_input(result, *words)
    assert tree(tmp_path) == before


def test_run_refuses_an_existing_out_folder(runner, tmp_path):
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_bad_input(invoke(runner, "run", "workshop", "-p", "seed-example", "--out", out), str(out), "already exists")
    assert tree(tmp_path) == ["exists", "exists/keep.txt"]


def test_run_refuses_an_out_folder_under_a_file(runner, tmp_path):
    (tmp_path / "file").write_text("x")
    assert_bad_input(invoke(runner, "run", "workshop", "-p", "seed-example", "--out", tmp_path / "file" / "sub"),
                     "is a file, not a folder")


# ------------------------------------------------------------------------------------------
# --set and the conveniences
# ------------------------------------------------------------------------------------------

def test_overrides_reach_the_manifest(runner, tmp_path):
    out = tmp_path / "res"
    result = invoke(runner, "run", "workshop", "-p", "seed-example", "-p", "volume",
                    "--set", "sales.reps=8", "--set", "mql.threshold=70", "--set", "policy.mql.high_intent=85",
                    "--set", "scenario.outcomes.cycle=30d", "--set", "routing.discipline=priority",
                    "--set", "sales.handle_time={dist = 'fixed', mean = '5m'}", "--set", "mql.gates.icp_only=true",
                    "--set", "icp.industries=['software', 'retail']",
                    "--leads", "1500", "--days", "14", "--seed", "7", "--out", out)
    assert result.exit_code == 0, result.output
    m = json.loads((out / "manifest.json").read_text())
    (sc,) = m["scenarios"].values()
    pols = list(m["policies"].values())
    assert sc["sales"]["reps"] == 8 and sc["arrivals"]["leads_per_year"] == 1500
    assert sc["horizon"]["window"] == "14d" and sc["outcomes"]["cycle"] == "30d"
    assert sc["sales"]["handle_time"]["dist"] == "fixed" and sc["sales"]["handle_time"]["mean"] == "5m"
    for p in pols:
        assert p["mql"]["threshold"] == 70 and p["mql"]["high_intent"] == 85 and p["mql"]["gates"]["icp_only"] is True
        assert p["routing"]["discipline"] == "priority" and p["icp"]["industries"] == ["software", "retail"]
    assert [p["name"] for p in pols] == ["seed-example", "volume"]
    assert m["seed"] == 7 and m["replications"] == 1
    assert m["command"][1:3] == ["run", "workshop"]
    assert "--set" in m["command"] and "sales.reps=8" in m["command"]
    assert set(m["versions"]) >= {"funnelsim", "simpy", "numpy", "pydantic"} and "git_commit" in m
    for f in ("runs.csv", "runs.parquet", "summary.csv", "differences.csv", "timeseries.parquet", "report.html",
              "COMPLETE"):
        assert (out / f).is_file(), f
    assert not (out / "INCOMPLETE").exists() and not (out / "parts").exists()
    assert f"report: {out / 'report.html'}" in result.stdout


def test_reps_convenience(runner, tmp_path):
    out = tmp_path / "r"
    assert invoke(runner, "run", "workshop", "-p", "seed-example", "--reps", "3", *FAST, "--out", out).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    assert m["scenarios"]["workshop"]["sales"]["reps"] == 3 and m["policies"]["seed-example"]["reps"] is None


def test_set_changes_results_and_seed_is_reproducible(runner):
    base = json.loads(invoke(runner, "run", "workshop", "-p", "seed-example", *FAST, "--json").stdout)
    again = json.loads(invoke(runner, "run", "workshop", "-p", "seed-example", *FAST, "--json").stdout)
    other_seed = json.loads(invoke(runner, "run", "workshop", "-p", "seed-example", *FAST, "--seed", "1",
                                   "--json").stdout)
    strict = json.loads(invoke(runner, "run", "workshop", "-p", "seed-example", *FAST, "--set", "mql.threshold=95",
                               "--set", "mql.high_intent=95", "--json").stdout)
    assert base == again
    assert base != other_seed
    assert strict["policies"]["seed-example"]["mqls"]["mean"] <= base["policies"]["seed-example"]["mqls"]["mean"]


# ------------------------------------------------------------------------------------------
# --json
# ------------------------------------------------------------------------------------------

REQUIRED = ["leads", "mqls", "sals", "sqls", "opportunities", "won", "bookings", "lead_to_mql_rate",
            "mql_to_sql_rate", *[f"sla_compliance_{t}" for t in TIERS], "rep_utilisation", "mql_precision",
            "buyer_recall", *[f"state_{s}" for s in TERMINAL_STATES]]
TOP = ["json_version", "kind", "name", "seed", "replications", "baseline", "factors", "points", "scenario",
       "policies", "differences", "recommendation", "precision", "warnings", "errors", "diagnostics"]
ENTRY = {"mean", "lower", "upper", "half_width", "n", "n_total", "status", "too_few", "kind", "unit"}


def test_json_is_one_object_with_the_kpis(runner):
    result = invoke(runner, "run", "workshop", "-p", "seed-example", "-p", "volume", *FAST, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)            # the whole of stdout is one JSON document
    assert result.stdout.count("\n") == 1 and result.stderr == ""
    assert list(data) == TOP                    # the documented shape (docs/reference/json.md)
    assert list(data["policies"]) == ["seed-example", "volume"] and data["points"][0]["policies"] == data["policies"]
    for kpis in data["policies"].values():
        assert set(REQUIRED) <= set(kpis) and all(ENTRY <= set(e) for e in kpis.values())
        states = {s: kpis[f"state_{s}"]["mean"] for s in TERMINAL_STATES}
        assert all(v == int(v) for v in states.values()) and sum(states.values()) == kpis["leads"]["mean"]
        assert kpis["mqls"]["n"] == 1 and kpis["mqls"]["lower"] is None     # one world: no interval
    assert list(data["differences"]) == ["volume"] and data["differences"]["volume"]["mqls"]["baseline"] == "seed-example"


def test_json_nan_is_null(runner):
    result = invoke(runner, "run", "workshop", "-p", "seed-example", "--days", "14", "--leads", "0", "--json")
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout
    kpis = json.loads(result.stdout)["policies"]["seed-example"]
    assert kpis["leads"]["mean"] == 0 and kpis["lead_to_mql_rate"]["mean"] is None
    assert kpis["lead_to_mql_rate"]["status"] == "undefined"


def test_json_with_replications(runner):
    result = invoke(runner, "run", "workshop", "-p", "seed-example", "-n", "2", *FAST, "--json")
    assert result.exit_code == 0, result.output
    kpis = json.loads(result.stdout)["policies"]["seed-example"]
    for k in REQUIRED:
        assert k in kpis, k
    # 2 worlds: below the statistics' minimum, so a flag and no interval rather than a wide one
    assert ENTRY <= set(kpis["mqls"]) and kpis["mqls"]["n"] == 2 and kpis["mqls"]["too_few"] is True
    assert kpis["mqls"]["lower"] is None and kpis["mqls"]["status"] == "too_few"
    assert kpis["mqls"]["kind"] == "count" and kpis["mql_to_sql_rate"]["kind"] == "share"
    assert ENTRY <= set(kpis["state_won"])


def test_json_and_out_together(runner, tmp_path):
    out = tmp_path / "r"
    result = invoke(runner, "run", "workshop", "-p", "seed-example", *FAST, "--json", "--out", out)
    assert result.exit_code == 0
    json.loads(result.stdout)
    def no_nan(c):
        raise AssertionError(f"{c} in JSON")

    m = json.loads((out / "manifest.json").read_text(), parse_constant=no_nan)     # strict JSON
    assert "seed-example" in m["policies"]
    assert list(pd.read_csv(out / "runs.csv")["policy"]) == ["seed-example"]


# ------------------------------------------------------------------------------------------
# --out: interrupted folders are marked incomplete, never look complete
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_out_interrupted_mid_write_is_marked_incomplete(runner, tmp_path, monkeypatch, exc):
    import sim.commands.experiment

    seen = []

    def boom(folder, *a, **k):
        seen.append((folder / "manifest.json").exists())   # we really are mid-write
        raise exc("interrupted")

    monkeypatch.setattr(sim.commands.experiment, "report_hook", boom)
    out = tmp_path / "res"
    result = invoke(runner, "run", "workshop", "-p", "seed-example", *FAST, "--out", out)
    assert result.exit_code != 0 and seen == [True]
    assert (out / "INCOMPLETE").is_file() and not (out / "COMPLETE").exists()


def test_names_from_files_do_not_escape(runner, tmp_path, monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    sc = work / "evil-scenario.toml"
    sc.write_text('name = "../../escaped"\n[horizon]\nwindow = "14d"\n[arrivals]\nleads_per_year = 2000\n')
    pol = work / "evil-policy.toml"
    pol.write_text('name = "../../../escaped-policy"\n')
    result = invoke(runner, "run", sc, "-p", pol, "--out", work / "res")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(tmp_path)) == ["a"] and sorted(os.listdir(tmp_path / "a")) == ["b"]
    assert sorted(os.listdir(work)) == ["evil-policy.toml", "evil-scenario.toml", "res"]
    assert all(p.parent == work / "res" for p in (work / "res").iterdir())


# ------------------------------------------------------------------------------------------
# validate, schema, list, demo
# ------------------------------------------------------------------------------------------

def test_validate_names_and_paths(runner, tmp_path):
    from sim.inputs import PROJECT_ROOT
    result = invoke(runner, "validate", "baseline", "seed-example", PROJECT_ROOT / "policies" / "volume.toml",
                    "workshop.toml")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("ok: ") for line in lines)
    assert "(scenario)" in lines[0] and "(policy)" in lines[1] and "(policy)" in lines[2]


def test_validate_reports_each_file(runner, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[mql]\nthreshold = -1\n")
    result = invoke(runner, "validate", "baseline", bad, tmp_path / "missing.toml")
    assert result.exit_code == 2
    assert result.stdout.startswith("ok: ") and result.stdout.count("ok: ") == 1
    assert result.stderr.count("error: ") == 2 and "mql.threshold: must be >= 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_with_set(runner):
    ok = invoke(runner, "validate", "baseline", "seed-example", "--set", "sales.reps=8", "--set", "mql.threshold=70")
    assert ok.exit_code == 0, ok.output
    bad = invoke(runner, "validate", "baseline", "seed-example", "--set", "mql.threshold=high")
    assert bad.exit_code == 2 and "ok: " in bad.stdout and "--set mql.threshold" in bad.stderr
    assert_bad_input(invoke(runner, "validate", "baseline", "--set", "nosuch.x=1"), "--set nosuch.x=1")


@pytest.mark.parametrize("kind", ["scenario", "policy"])
def test_schema_is_json_schema(runner, kind):
    result = invoke(runner, "schema", kind)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["type"] == "object" and "properties" in schema
    assert ("sales" if kind == "scenario" else "mql") in schema["properties"]


def test_list_shows_files_and_descriptions(runner):
    result = invoke(runner, "list")
    assert result.exit_code == 0
    for name in ("baseline", "understaffed", "workshop", "seed-example", "volume", "fit-and-intent"):
        assert name in result.stdout
    assert "Small team, 4k leads/year" in result.stdout


def test_list_does_not_choke_on_markup(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "odd.toml").write_text('description = "[bold]not markup[/] [/x]"\n')
    (tmp_path / "policies" / "broken.toml").write_text("[oops\n")
    result = invoke(runner, "list")
    assert result.exit_code == 0, result.output
    assert "[bold]not markup[/] [/x]" in result.stdout and "unreadable" in result.stdout


def test_names_with_markup_characters_print(runner, tmp_path):
    pol = tmp_path / "odd.toml"
    pol.write_text('name = "[/]odd[bold"\n')
    result = invoke(runner, "run", "workshop", "-p", pol, "-p", "seed-example", *FAST)
    assert result.exit_code == 0, result.output
    assert "[/]odd[bold" in result.stdout


def test_help(runner):
    result = invoke(runner, "--help")
    assert result.exit_code == 0
    for cmd in ("run", "demo", "validate", "schema", "list"):
        assert cmd in result.stdout


@pytest.mark.slow
def test_demo_from_any_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, "demo", "-n", "2")
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "outputs").iterdir()
    assert folder.name.startswith("demo-") and (folder / "report.html").is_file()
    assert (folder / "manifest.json").is_file()
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("report: ")
    assert Path(last.removeprefix("report: ")).resolve() == (folder / "report.html").resolve()


# ------------------------------------------------------------------------------------------
# Real processes: no traceback on stderr
# ------------------------------------------------------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_subprocess_bad_inputs_have_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[scoring.fit]\nseniority = { vp = 'lots' }\n")
    r = _cli("run", "workshop", "-p", bad, "--set", "sales.reps=2", "--out", tmp_path / "r", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr
    assert "bad.toml" in r.stderr and "scoring.fit.seniority.vp" in r.stderr and "expected a number" in r.stderr
    r = _cli("validate", "baseline", "--set", "=3", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("error:") == 1
    assert os.listdir(tmp_path) == ["bad.toml"]


def test_subprocess_json_stdout_is_only_json(tmp_path):
    r = _cli("run", "workshop", "-p", "seed-example", "-n", "2", *FAST, "--json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    data = json.loads(r.stdout)
    assert list(data) == TOP and list(data["policies"]) == ["seed-example"]
