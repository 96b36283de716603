"""Hostile input, through the real command line.

Adds to test_cli.py / test_config.py (which cover hand-picked bad files and --set items):
generated invalid *files* (from the JSON Schemas: wrong types, out-of-range values, unknown keys),
generated broken TOML and binary garbage, huge numbers, directories and files in the wrong
places; absurd but valid inputs that must run and report sensibly (or be refused with a reason)
without hanging; and output safety (never overwrite, never escape the output folder).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_bad_input, tree
from test_properties import leaves

from sim.cli import main
from sim.config.experiment import Experiment
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.store import safe_name, timestamped

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FAST = ["--days", "14", "--leads", "1500"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# ------------------------------------------------------------------------------------------
# Writing TOML (the standard library only reads it)
# ------------------------------------------------------------------------------------------

def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)            # a JSON string is a valid TOML basic string
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def toml_of(path: tuple, value) -> str:
    """A file setting one field (given by its path) to `value`."""
    if len(path) == 1:
        return f"{json.dumps(path[0])} = {toml_value(value)}\n"
    table = ".".join(json.dumps(p) for p in path[:-1])
    return f"[{table}]\n{json.dumps(path[-1])} = {toml_value(value)}\n"


# ------------------------------------------------------------------------------------------
# Invalid values, generated from each field's JSON Schema
# ------------------------------------------------------------------------------------------

def invalid(schema: dict) -> st.SearchStrategy:
    """Values the schema forbids: beyond a bound, outside an enum, or of the wrong type."""
    s = schema
    wrong_type = {"boolean": st.sampled_from(["yes", 1, 2.5, [True]]),
                  "integer": st.sampled_from(["many", "3", 1.5, True, [1]]),
                  "number": st.sampled_from(["lots", "60", True, [1.0], {"x": 1}]),
                  "string": st.sampled_from([3, True, [1], {"a": 1}]) if "format" not in s else st.sampled_from([True, [1]]),
                  "array": st.sampled_from(["notalist", 7]),
                  "object": st.sampled_from([3, "text", [1]])}
    options = []
    if "anyOf" in s:
        return st.sampled_from([[[1]], {"zz_unknown": 1} if any("$ref" in x for x in s["anyOf"]) else [[1]]])
    t = s.get("type")
    if t in wrong_type:
        options.append(wrong_type[t])
    if "enum" in s:
        options.append(st.sampled_from(["no_such_choice", "FIFO "]))
    if t in ("integer", "number"):
        if "maximum" in s:
            options.append(st.sampled_from([s["maximum"] + 1, s["maximum"] * 10 + 1, 10 ** 30]))
        if "minimum" in s:
            options.append(st.sampled_from([s["minimum"] - 1, -10 ** 30]))
        if t == "number":
            options.append(st.sampled_from([math.nan, math.inf, -math.inf, 1e308 * 10]))
    if t == "string" and "pattern" in s:
        options.append(st.sampled_from(["5 minutes", "-3d", "3x", "", "1e400d"]))
    return st.one_of(options) if options else st.nothing()


def _invalid_fields(model) -> list[tuple[tuple, dict]]:
    root = model.model_json_schema()
    out = []
    for path, s in leaves(root, root):
        if path in (("name",), ("description",)):
            continue                    # any text is a valid name
        while "$ref" in s:
            s = root["$defs"][s["$ref"].split("/")[-1]]
        out.append((path, s))
    return out


FIELDS = {"scenario": _invalid_fields(Scenario), "policy": _invalid_fields(Policy),
          "experiment": _invalid_fields(Experiment)}
TINY_EXPERIMENT = {"scenarios": ["workshop"], "policies": ["seed-example"], "replications": 1,
                   "set": ["horizon.window=14d", "arrivals.leads_per_year=1500"]}


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["scenario", "policy"]))
def test_generated_invalid_files_give_one_message_with_the_field_path(tmp_path_factory, data, kind):
    path, schema = data.draw(st.sampled_from(FIELDS[kind]))
    value = data.draw(invalid(schema))
    work = tmp_path_factory.mktemp("bad")
    f = work / f"bad-{kind}.toml"
    f.write_text(toml_of(path, value), encoding="utf-8")
    out = work / "results"
    args = ["run", f, "-p", "seed-example"] if kind == "scenario" else ["run", "workshop", "-p", f]
    result = invoke(*args, "--out", out)
    dotted = ".".join(path)
    assert_bad_input(result, f)
    assert dotted in result.stderr or dotted.rsplit(".", 1)[0] + ":" in result.stderr, (dotted, value, result.stderr)
    assert tree(work) == [f.name]                   # nothing written


@SETTINGS
@given(data=st.data(), kind=st.sampled_from(["scenario", "policy"]),
       key=st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_generated_unknown_keys_in_files_are_named(tmp_path_factory, data, kind, key):
    tables = sorted({p[:-1] for p, _ in FIELDS[kind]})
    table = data.draw(st.sampled_from(tables))
    known = {p[len(table)] for p, _ in FIELDS[kind] if p[:len(table)] == table and len(p) > len(table)}
    if key in known or (not table and key in ("name", "description")):
        return
    f = tmp_path_factory.mktemp("unk") / "unknown.toml"
    f.write_text(toml_of(table + (key,), 1) if table else f"{key} = 1\n", encoding="utf-8")
    result = invoke("validate", f)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1 and str(f) in result.stderr
    assert ".".join(table + (key,)) in result.stderr, result.stderr


VALID = Path(__file__).resolve().parent.parent / "scenarios" / "workshop.toml"


@SETTINGS
@given(cut=st.integers(0, 5000), noise=st.binary(max_size=40), where=st.integers(0, 5000))
def test_broken_and_binary_files_never_give_a_traceback(tmp_path_factory, cut, noise, where):
    """A valid file cut anywhere, or with random bytes spliced in: valid (exit 0) or one message
    (exit 2), never a crash."""
    raw = VALID.read_bytes()
    raw = raw[:cut % (len(raw) + 1)]
    i = where % (len(raw) + 1)
    f = tmp_path_factory.mktemp("broken") / "broken.toml"
    f.write_bytes(raw[:i] + noise + raw[i:])
    result = invoke("validate", f)
    assert result.exit_code in (0, 2), (result.exit_code, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("error: ") and result.stderr.count("error:") == 1
        assert str(f) in result.stderr


@pytest.mark.parametrize("kind, content, words", [
    ("scenario", b"\xff\xfe\x00\x00" * 8, ["not UTF-8"]),                     # UTF-32 / binary
    ("policy", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["not UTF-8"]),      # an image by mistake
    ("scenario", b"\xef\xbb\xbf[sales]\nreps = 2\n", ["malformed TOML"]),     # byte-order mark
    ("scenario", b"reps = 2\x00\n", ["malformed TOML"]),
    ("scenario", b"[sales]\nreps = 1e308\n", ["sales.reps"]),
    ("scenario", b"[sales]\nreps = 1.7976931348623157e309\n", ["sales.reps"]),
    ("scenario", b"[arrivals]\nleads_per_year = -1e308\n", ["arrivals.leads_per_year", "too large"]),
    ("scenario", b"[sales]\nreps = 18446744073709551617\n", ["sales.reps", "too large"]),
    ("policy", b"[mql]\nthreshold = -0.0000001\n", ["mql.threshold", ">= 0"]),
    ("policy", b"[cadence]\nmax_attempts = 1e400\n", ["cadence.max_attempts"]),
    ("scenario", b"[[arrivals.spikes]]\nstart = 2026-02-01\nmultiplier = 1e9\n", ["arrivals.spikes[0].multiplier"]),
])
def test_hand_made_hostile_bytes(tmp_path, kind, content, words):
    f = tmp_path / "x.toml"
    f.write_bytes(content)
    args = ["run", f, "-p", "seed-example"] if kind == "scenario" else ["run", "workshop", "-p", f]
    assert_bad_input(invoke(*args, "--out", tmp_path / "r"), f, *words)
    assert tree(tmp_path) == ["x.toml"]


@pytest.mark.parametrize("content", ['[mql]\nthreshold = "60"\n', '[mql.gates]\nbusiness_email_only = "yes"\n',
                                     "[mql.gates]\nicp_only = 1\n", '[cadence]\nmax_attempts = "3"\n'])
def test_wrong_typed_scalars_are_refused(tmp_path, content):
    f = tmp_path / "typed.toml"
    f.write_text(content, encoding="utf-8")
    assert_bad_input(invoke("validate", f), f)


def test_directories_and_files_in_the_wrong_places(tmp_path):
    d = tmp_path / "scen.toml"
    d.mkdir()
    assert_bad_input(invoke("run", d, "-p", "seed-example"), "scen.toml", "directory")
    assert_bad_input(invoke("validate", d), "scen.toml", "directory")
    f = tmp_path / "taken"
    f.write_text("mine")
    assert_bad_input(invoke("run", "workshop", "-p", "seed-example", *FAST, "--out", f), "taken", "already exists")
    assert f.read_text() == "mine"
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")                    # a dangling symlink is still "there"
    assert_bad_input(invoke("run", "workshop", "-p", "seed-example", *FAST, "--out", link), "already exists")
    assert sorted(os.listdir(tmp_path)) == ["link", "scen.toml", "taken"]


# ------------------------------------------------------------------------------------------
# Absurd but valid: runs and reports sensibly, or is refused with a reason
# ------------------------------------------------------------------------------------------

def run_json(*args) -> dict:
    """One run in debug mode (--check: every invariant verified): its KPIs from the JSON, {KPI: value}."""
    result = invoke("run", "workshop", "-p", "seed-example", *args, "--json", "--check")
    assert result.exit_code == 0, (result.output, result.exception)
    return {k: e["mean"] for k, e in json.loads(result.stdout)["policies"]["seed-example"].items()}


def test_zero_leads():
    k = run_json("--days", "14", "--leads", "0")
    assert k["leads"] == 0 and k["mqls"] == 0 and k["lead_to_mql_rate"] is None
    assert k["state_nurture"] == 0 and k["rep_utilisation"] == 0


def test_zero_reps_leaves_every_mql_untouched():
    k = run_json(*FAST, "--reps", "0")
    assert k["mqls"] > 0 and k["never_touched_share"] == 1 and k["sals"] == 0
    assert k["rep_utilisation"] is None and k["first_touch_p50_hours"] is None
    assert k["state_in_queue"] == k["mqls"] and k["queue_max"] >= k["mqls"] - 1


def test_threshold_above_the_maximum_score_gives_no_mqls():
    k = run_json(*FAST, "--set", "mql.threshold=10000", "--set", "mql.high_intent=10000",
                 "--set", "mql.fast_lane.demo_request=false")
    assert k["leads"] > 0 and k["mqls"] == 0 and k["mql_to_sql_rate"] is None
    assert k["state_nurture"] == k["leads"] and k["buyers_in_nurture"] == k["buyers"]


def test_a_ten_year_window_runs():
    k = run_json("--days", "3650", "--leads", "300", "--set", "horizon.runout=30d")
    assert 2400 < k["leads"] < 3600                    # ~300 a year for ten years
    assert k["mqls"] > 0 and 0 <= k["rep_utilisation"] <= 1


def test_a_campaign_multiplier_of_1000():
    spike = "arrivals.spikes=[{start = 2026-01-21, duration = '2d', multiplier = 1000.0}]"   # inside the window
    base = run_json(*FAST, "--set", "arrivals.spikes=[]")
    k = run_json(*FAST, "--set", spike)
    assert k["leads"] > 20 * base["leads"]              # the spike swamps the window's normal flow
    assert k["mqls"] > base["mqls"] and k["never_touched_share"] > base["never_touched_share"]


def test_worlds_too_big_for_memory_are_refused_before_running(tmp_path):
    result = invoke("run", "workshop", "-p", "seed-example", "--days", "36500", "--leads", "50000000",
                    "--out", tmp_path / "r")
    assert_bad_input(result, "limit", "leads_per_year")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("field", ["outcomes.cycle", "outcomes.sql_delay", "outcomes.opportunity_delay"])
def test_business_units_where_clock_time_is_needed_are_refused(field):
    """Once accepted, then a ValueError naming no field in the middle of the run."""
    assert_bad_input(invoke("run", "workshop", "-p", "seed-example", *FAST, "--set", f"{field}=5bd"), field)


def test_a_subnormal_day_dispersion_is_refused():
    """Once a crash in world generation (numpy: lam value too large); now refused at validation."""
    assert_bad_input(invoke("run", "workshop", "-p", "seed-example", *FAST, "--set", "arrivals.day_dispersion=5e-324"),
                     "arrivals.day_dispersion")


@pytest.mark.parametrize("changes", [
    {"sales": {"reps": 1, "mql_time_share": 0.01}},                       # one attempt blocks the rep for ~a day
    {"sales": {"reps": 1}, "horizon": {"warmup": "7d", "window": "30m", "runout": "21d"},
     "calendar": {"open": "00:00:00"}},                                  # a window shorter than one attempt
])
def test_utilisation_stays_in_the_unit_interval(changes):
    """Blocked spans are clipped to the window (was 1.82 and 3.2 for these two before the fix)."""
    from sim.config.policy import Policy as P
    from sim.config.scenario import Scenario as S
    from sim.experiment.replication import run_replication
    data = {"horizon": {"warmup": "7d", "window": "21d", "runout": "21d"}, "arrivals": {"leads_per_year": 3000},
            **changes}
    k = run_replication(S.model_validate(data), [P(name="p")], seed=0, check=True).runs["p"].kpis
    assert 0.0 <= k["rep_utilisation"] <= 1.0


def _cli(args, cwd, timeout):
    return subprocess.run([sys.executable, "-m", "sim.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_nothing_hangs_when_nobody_ever_works(tmp_path):
    """Sundays only, every Sunday a holiday, one-minute days and a one-lead-a-week world: each run
    ends (the subprocess timeout is the hang guard) and reports what happened."""
    import datetime as dt
    sundays = [str(dt.date(2026, 1, 11) + dt.timedelta(weeks=i)) for i in range(60)]
    sc = tmp_path / "never.toml"
    sc.write_text('name = "never"\n[horizon]\nwarmup = "7d"\nwindow = "28d"\nrunout = "14d"\n'
                  f'[calendar]\nworkdays = ["sun"]\nholidays = [{", ".join(sundays)}]\n'
                  '[arrivals]\nleads_per_year = 3000\n', encoding="utf-8")
    short = tmp_path / "short.toml"
    short.write_text('name = "short"\n[horizon]\nwarmup = "7d"\nwindow = "28d"\nrunout = "14d"\n'
                     '[calendar]\nopen = 09:00:00\nclose = 09:01:00\n[arrivals]\nleads_per_year = 6000\n'
                     '[sales]\nreps = 1\n',
                     encoding="utf-8")
    for f in (sc, short):
        r = _cli(["run", f, "-p", "seed-example", "--json"], tmp_path, timeout=120)
        assert r.returncode == 0, r.stderr
        k = {name: e["mean"] for name, e in json.loads(r.stdout)["policies"]["seed-example"].items()}
        assert k["mqls"] > 0
        if f == sc:
            assert k["never_touched_share"] == 1 and k["rep_utilisation"] is None
        else:
            assert k["rep_utilisation"] > 0.9 and k["never_touched_share"] > 0.3   # one touch a day at most


# ------------------------------------------------------------------------------------------
# Output safety
# ------------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=40) | st.sampled_from(["..", "../..", "/etc/passwd", "a/../../b", "~root", "C:\\x",
                                                    "\x00", "con", ".git", " ", "-rf"]))
def test_any_name_from_a_file_stays_inside_the_output_folder(tmp_path, name):
    parent = tmp_path / "outputs"
    s = safe_name(name)
    assert s and "/" not in s and "\\" not in s and "\x00" not in s and not s.startswith((".", "-"))
    out = timestamped(parent, name)
    assert out.parent == parent and out.resolve().parent == parent.resolve()


# ------------------------------------------------------------------------------------------
# Experiment files (funnelsim experiment): the same rules
# ------------------------------------------------------------------------------------------

def experiment_toml(data: dict) -> str:
    top = "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in data.items() if not isinstance(v, dict))
    tables = "".join(f"[{json.dumps(k)}]\n" + "".join(f"{json.dumps(a)} = {toml_value(b)}\n" for a, b in v.items())
                     for k, v in data.items() if isinstance(v, dict))
    return top + tables


@SETTINGS
@given(data=st.data())
def test_generated_invalid_experiment_files_write_nothing(tmp_path_factory, monkeypatch, data):
    path, schema = data.draw(st.sampled_from(FIELDS["experiment"]))
    value = data.draw(invalid(schema))
    content = dict(TINY_EXPERIMENT)
    node = content
    for k in path[:-1]:
        node = node.setdefault(k, {})
    node[path[-1]] = value
    work = tmp_path_factory.mktemp("exp")
    monkeypatch.chdir(work)
    f = work / "bad-experiment.toml"
    f.write_text(experiment_toml(content), encoding="utf-8")
    result = invoke("experiment", f)
    assert_bad_input(result, f)
    assert path[0] in result.stderr, (path, value, result.stderr)
    assert tree(work) == [f.name]                   # no outputs/ folder, no temporary folder


def test_an_experiment_named_like_a_path_stays_in_outputs(tmp_path, monkeypatch):
    """The default folder is outputs/<name>-<time> under the current folder, whatever the name;
    debug mode checks every run of the design."""
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "evil.toml"
    f.write_text(experiment_toml({**TINY_EXPERIMENT, "name": "../../escape", "grid": {"mql.threshold": [50, 70]}}),
                 encoding="utf-8")
    result = invoke("experiment", f, "--check", "--json")
    assert result.exit_code == 0, (result.output, result.exception)
    assert sorted(os.listdir(tmp_path)) == ["evil.toml", "outputs"]
    (folder,) = (tmp_path / "outputs").iterdir()
    assert folder.name.startswith("escape-")
    again = invoke("experiment", f, "--out", folder)
    assert_bad_input(again, "already exists")
