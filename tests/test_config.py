"""Loading scenario and policy files: every kind of bad input becomes one ConfigError naming the
file (or the --set), the field path and what is wrong; overrides; result folders."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.config.loading import (
    ConfigError,
    apply_overrides,
    check_path,
    kind_of,
    load_model,
    parse_value,
    read_toml,
    validate_data,
)
from sim.config.messages import describe
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.store import atomic_folder, dumps, json_safe, safe_name, timestamped
from sim.inputs import (
    MAX_LEADS_PER_WORLD,
    check_size,
    find_any,
    list_files,
    load_policy,
    load_scenario,
    resolve,
    split_sets,
)


def write(tmp_path: Path, text: str | bytes, name: str = "x.toml") -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text)
    return p


def error_of(fn, *args, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        fn(*args, **kwargs)
    return info.value


# ------------------------------------------------------------------------------------------
# Reading files
# ------------------------------------------------------------------------------------------

def test_empty_file_is_all_defaults(tmp_path):
    p = write(tmp_path, "", "empty.toml")
    sc = load_model(Scenario, p)
    assert sc.name == "empty" and sc.sales.reps == Scenario().sales.reps
    pol = load_model(Policy, p)
    assert pol.mql.threshold == Policy().mql.threshold


@pytest.mark.parametrize("content, expected", [
    (b"[sales\nreps = 3\n", "malformed TOML"),
    (b'name = "\xff\xfe"\n', "not UTF-8"),
    (b"a = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
    (b"[sales]\nreps = " + b"9" * 5000 + b"\n", "too many digits"),
])
def test_unreadable_files(tmp_path, content, expected):
    p = write(tmp_path, content)
    err = error_of(read_toml, p)
    assert str(p) in str(err) and expected in str(err)
    assert "sys.set_int_max_str_digits" not in str(err)


def test_missing_file_and_directory(tmp_path):
    err = error_of(read_toml, tmp_path / "nope.toml")
    assert "nope.toml" in str(err) and "not found" in str(err)
    d = tmp_path / "dir.toml"
    d.mkdir()
    err = error_of(read_toml, d)
    assert "dir.toml" in str(err) and "directory" in str(err)


def test_oversized_file(tmp_path):
    p = write(tmp_path, "# " + "x" * 2_100_000 + "\n")
    assert "larger than" in str(error_of(read_toml, p))


# ------------------------------------------------------------------------------------------
# Messages: file, field path, what is wrong, allowed values; never "(got ...)" twice
# ------------------------------------------------------------------------------------------

CASES = [
    # (toml, model, path that must appear, words that must appear)
    ("[sales]\nrepz = 3\n", Scenario, "sales.repz", ["unknown field", "did you mean 'reps'"]),
    ('[sales]\nreps = "many"\n', Scenario, "sales.reps", ["whole number", "'many'"]),
    ("[sales]\nreps = true\n", Scenario, "sales.reps", ["expected a number", "true"]),
    ("[response]\ncontact_rate = -0.5\n", Scenario, "response.contact_rate", [">= 0", "-0.5"]),
    ("[mql]\nthreshold = 20000\n", Policy, "mql.threshold", ["<= 10000", "20000"]),
    ('[horizon]\nwindow = "5bd"\n', Scenario, "horizon.window", ["clock units", "'5bd'"]),
    ('[arrivals.spikes]\n', Scenario, "arrivals.spikes", ["list"]),
    ('[[arrivals.spikes]]\nstart = 2026-02-01\nduration = "2bd"\n', Scenario, "arrivals.spikes[0].duration",
     ["business time"]),
    ("[arrivals]\nleads_per_year = 1e300\n", Scenario, "arrivals.leads_per_year", ["too large"]),
    ("[arrivals]\nleads_per_year = nan\n", Scenario, "arrivals.leads_per_year", ["nan", "finite"]),
    ("[scoring.fit.seniority]\nvp = inf\n", Policy, "scoring.fit.seniority.vp", ["inf", "finite"]),
    ("[sales]\nreps = 1000000000\n", Scenario, "sales.reps", ["<= 10000"]),
    ("[arrivals]\nleads_per_year = " + "9" * 400 + "\n", Scenario, "arrivals.leads_per_year", ["400-digit"]),
    ('[routing]\ndiscipline = "lifo"\n', Policy, "routing.discipline",
     ["one of", "'fifo'", "'round_robin'", "'lifo'"]),
    ('[response]\ndecay = "fast"\n', Scenario, "response.decay", ["'seed'", "'velocify2012'", "or a table", "'fast'"]),
    ('[response.decay]\nkind = "exponential"\n', Scenario, "response.decay", ["needs half_life"]),
    ('[sla.targets]\ndemo = "5 minutes"\n', Policy, "sla.targets.demo", ["duration", "'5 minutes'"]),
    ("[arrivals]\nchannel_mix = { tiktok = 1 }\n", Scenario, "arrivals.channel_mix",
     ["'tiktok'", "'paid_search'", "'partner'"]),
    ("sales = 3\n", Scenario, "sales", ["table"]),
    ("[calendar]\nopen = 18:00:00\n", Scenario, "calendar", ["must be after open"]),
    ('start_date = "tomorrow"\n', Scenario, "start_date", ["date", "2026-01-05"]),
    ("[truth]\nbuyer_intent = [1]\n", Scenario, "truth.buyer_intent", ["too few items"]),
    ('[horizon]\nwindow = "' + "9" * 400 + 'd"\n', Scenario, "horizon.window", ["too long"]),
    ('[sla.targets]\nstandard = "9000000bd"\n', Policy, "sla.targets.standard", ["too long"]),
    ("[sales]\nterritories = ['mars']\n", Scenario, "sales.territories[0]", ["'north_america'", "'mars'"]),
    # pydantic would read these as seconds / Unix timestamps (and a time zone that broke the calendar check)
    ("[calendar]\nopen = 9\n", Scenario, "calendar.open", ["time of day", "(got 9)"]),
    ('[calendar]\nclose = "17:00+02:00"\n', Scenario, "calendar.close", ["without a time zone"]),
    ("start_date = 20260105\n", Scenario, "start_date", ["2026-01-05", "(got 20260105)"]),
]


@pytest.mark.parametrize("toml, model, path, words", CASES)
def test_bad_field_messages(tmp_path, toml, model, path, words):
    p = write(tmp_path, toml, "bad.toml")
    err = error_of(load_model, model, p)
    msg = str(err)
    assert msg.startswith(f"{p}: "), msg
    assert path in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    assert msg.count("(got") <= 1 and msg.count("got ") <= 1, msg
    assert "Input should" not in msg and "Value error" not in msg and "[key]" not in msg
    assert "function-after" not in msg and "literal[" not in msg, msg


def test_top_level_cross_field_message_has_no_placeholder(tmp_path):
    from sim.config.experiment import Experiment
    p = write(tmp_path, 'scenarios = ["a"]\npolicies = ["b"]\n[grid]\n"mql.threshold" = [40]\n'
                        '[lhs]\nranges = {"mql.threshold" = [40, 80]}\n')
    msg = str(error_of(load_model, Experiment, p))
    assert "grid" in msg and "lhs" in msg and "(top level)" not in msg


def test_threshold_above_the_high_intent_tier_puts_every_mql_in_it():
    """A threshold sweep may cross the high-intent score: then every non-demo MQL is high intent."""
    from sim.decisions.scoring import score_world
    from sim.inputs import load_policy, load_scenario
    from sim.vocab import TIER_CODE
    from sim.world.generate import generate_world
    pol = load_policy("seed-example", [("mql.threshold", 85)])
    world = generate_world(load_scenario("workshop"), 1, 0)
    tiers = set(score_world(world, pol).mql_tier[np.isfinite(score_world(world, pol).mql_time)].tolist())
    assert tiers and tiers <= {TIER_CODE["demo"], TIER_CODE["high_intent"]}


def test_several_problems_listed_once_each(tmp_path):
    p = write(tmp_path, "[sales]\nreps = -1\nrepz = 2\n[mql]\n")
    err = error_of(load_model, Scenario, p)
    assert len(err.problems) == 3          # reps, repz, and the unknown section mql (+ a hint)
    assert str(err).count("\n  - ") == len(err.problems)


def test_policy_given_as_scenario_gets_a_hint(tmp_path):
    p = write(tmp_path, "[mql]\nthreshold = 50\n[routing]\ndiscipline = 'fifo'\n")
    msg = str(error_of(load_model, Scenario, p))
    assert "looks like a policy file" in msg and "mql: unknown field" in msg


def test_describe_does_not_repeat_got():
    """The old bug: value errors said "(got '5x')" twice."""
    err = {"type": "value_error", "loc": ("sla", "targets", "demo"), "input": "5x",
           "msg": "Value error, expected a duration such as \"5m\", got '5x'"}
    text = describe(err, Policy)
    assert text.count("'5x'") == 1 and text.startswith("sla.targets.demo: expected")


# ------------------------------------------------------------------------------------------
# Generated bad data: always ConfigError with a path, never another exception
# ------------------------------------------------------------------------------------------

def _leaf_paths(d, prefix=()):
    if isinstance(d, dict):
        for k, v in d.items():
            yield prefix + (k,)
            yield from _leaf_paths(v, prefix + (k,))


SCENARIO_DUMP = Scenario().model_dump(mode="json")
POLICY_DUMP = Policy().model_dump(mode="json")
SCENARIO_PATHS = list(_leaf_paths(SCENARIO_DUMP))
POLICY_PATHS = list(_leaf_paths(POLICY_DUMP))

wrong_values = st.one_of(
    st.text(max_size=12), st.booleans(), st.none(),
    st.floats(allow_nan=True, allow_infinity=True), st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from(["5bd", "-3d", "2026-13-01", "09:00", "", "fifo", "nope"]),
)


def _set(data, path, value):
    node = data
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def _copy(d):
    return json.loads(json.dumps(d))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(["scenario", "policy"]), data=st.data())
def test_generated_wrong_values_give_config_errors(which, data):
    model, base, paths = (Scenario, SCENARIO_DUMP, SCENARIO_PATHS) if which == "scenario" else \
        (Policy, POLICY_DUMP, POLICY_PATHS)
    d = _copy(base)
    path = data.draw(st.sampled_from(paths))
    _set(d, path, data.draw(wrong_values))
    try:
        validate_data(model, d, "gen.toml")
    except ConfigError as e:
        assert str(e).startswith("gen.toml: ")
        assert e.problems and all(p.strip() for p in e.problems)
        assert not any("cannot be checked" in p for p in e.problems), e.problems
        joined = str(e)
        assert "Input should" not in joined and "[key]" not in joined and "function-after" not in joined


@settings(max_examples=80, deadline=None)
@given(which=st.sampled_from(["scenario", "policy"]), data=st.data(),
       key=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10))
def test_generated_unknown_keys_are_named(which, data, key):
    model, base = (Scenario, SCENARIO_DUMP) if which == "scenario" else (Policy, POLICY_DUMP)
    d = _copy(base)
    tables = [()] + [p for p in (SCENARIO_PATHS if which == "scenario" else POLICY_PATHS)
                     if isinstance(_get(d, p), dict) and is_section(model, p)]
    table = data.draw(st.sampled_from(tables))
    node = _get(d, table)
    if key in node:
        return
    node[key] = 1
    e = error_of(validate_data, model, d, "gen.toml")
    where = ".".join(map(str, table + (key,)))
    assert f"{where}: unknown field" in str(e) or f"'{key}' is not an allowed key" in str(e), str(e)


def _get(d, path):
    for k in path:
        d = d[k]
    return d


def is_section(model, path):
    try:
        check_path(model, ".".join(path) + ".zzz_probe")
    except ConfigError as e:
        return "is not a field of" in str(e)
    return False


# ------------------------------------------------------------------------------------------
# --set values and paths
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("8", 8), ("0.5", 0.5), ("true", True), ("priority", "priority"), ('"quoted text"', "quoted text"),
    ("[1, 2]", [1, 2]), ("{dist = 'fixed'}", {"dist": "fixed"}), ("09:00", "09:00"), ("1\nx = 2", "1\nx = 2"),
    ("9" * 5000, "9" * 5000),
])
def test_parse_value(text, value):
    assert parse_value(text) == value


def test_split_sets_routes_by_first_key():
    o = split_sets(["sales.reps=8", "mql.threshold=70", "scenario.arrivals.leads_per_year=1000",
                    "policy.routing.discipline=priority", "policy.reps=3", "scenario.name=other"])
    assert o.scenario == [("sales.reps", 8), ("arrivals.leads_per_year", 1000), ("name", "other")]
    assert o.policy == [("mql.threshold", 70), ("routing.discipline", "priority"), ("reps", 3)]


def test_split_sets_conveniences():
    o = split_sets([], leads=1234.0, reps=5, days=14)
    assert ("arrivals.leads_per_year", 1234.0) in o.scenario
    # --reps: the scenario's team, and (o.team) the headcount of policies that decide their own; not a
    # policy override, so that --set policy.reps is never mistaken for it and dropped
    assert ("sales.reps", 5) in o.scenario and o.team == 5 and o.policy == []
    assert ("horizon.window", "14d") in o.scenario


@pytest.mark.parametrize("item, words", [
    ("foo.bar=1", ["'foo' is not a section", "scenario:", "policy:"]),
    ("salse.reps=1", ["did you mean 'sales'"]),
    ("sales..reps=1", ["empty part"]),
    ("=3", ["path before '=' is empty"]),
    ("sales.reps", ["PATH=VALUE"]),
    ("sales.reps=", ["no value"]),
    ("policy.=3", ["nothing after 'policy.'"]),
    ("name=x", ["both", "scenario.name"]),
    ("sales.reps.x=1", ["sales.reps is a single value, not a section"]),
    ("calendar.open.hour=1", ["calendar.open is a single value"]),
    ("mql.treshold=70", ["did you mean 'threshold'"]),
    ("scenario.mql.threshold=70", ["'mql' is not a field of scenario"]),
])
def test_bad_set_paths(item, words):
    err = error_of(split_sets, [item])
    msg = str(err)
    assert msg.startswith("--set "), msg
    for w in words:
        assert w in msg, (w, msg)


def test_bad_set_value_blames_the_set():
    o = split_sets(["sales.reps=abc"])
    msg = str(error_of(load_scenario, "workshop", o.scenario))
    assert msg.startswith("--set sales.reps (on ") and "workshop.toml" in msg
    assert "whole number" in msg and "'abc'" in msg


def test_set_values_are_validated_like_the_file():
    o = split_sets(["routing.discipline=lifo"])
    msg = str(error_of(load_policy, "seed-example", o.policy))
    assert "--set routing.discipline" in msg and "'fifo'" in msg


def test_overrides_apply():
    o = split_sets(["sales.reps=8", "mql.threshold=70", "routing.discipline=priority",
                    "sales.handle_time={dist='fixed', mean='5m'}", "arrivals.spikes.0.multiplier=2.5",
                    "response.decay={kind='exponential', half_life='2h'}"], leads=2000, days=14)
    sc = load_scenario("workshop", o.scenario)
    pol = load_policy("seed-example", o.policy)
    assert sc.sales.reps == 8 and sc.arrivals.leads_per_year == 2000 and str(sc.horizon.window) == "14d"
    assert sc.sales.handle_time.dist == "fixed" and str(sc.sales.handle_time.mean) == "5m"
    assert sc.arrivals.spikes[0].multiplier == 2.5 and sc.response.decay.kind == "exponential"
    assert pol.mql.threshold == 70 and pol.routing.discipline == "priority"


def test_reps_convenience_respects_a_policy_without_headcount():
    o = split_sets([], reps=3)
    assert load_policy("seed-example", o.policy).reps is None
    assert load_scenario("workshop", o.scenario).sales.reps == 3


def test_set_index_into_list_errors():
    msg = str(error_of(apply_overrides, {"arrivals": {"spikes": [{}]}}, [("arrivals.spikes.4.multiplier", 2)],
                       "f.toml", Scenario))
    assert "arrivals.spikes has 1 item" in msg
    msg = str(error_of(apply_overrides, {}, [("arrivals.spikes.0.multiplier", 2)], "f.toml", Scenario))
    assert "set the whole list" in msg


def test_overrides_do_not_modify_the_input():
    data = {"sales": {"reps": 2}}
    out = apply_overrides(data, [("sales.reps", 5)], "f.toml", Scenario)
    assert data == {"sales": {"reps": 2}} and out == {"sales": {"reps": 5}}


# ------------------------------------------------------------------------------------------
# Names and paths
# ------------------------------------------------------------------------------------------

def test_resolve_names_and_paths(tmp_path, monkeypatch):
    assert resolve("scenarios", "baseline").name == "baseline.toml"
    assert resolve("scenarios", "baseline.toml").name == "baseline.toml"   # not in cwd: found by name
    err = error_of(resolve, "scenarios", "nosuch")
    assert "no scenario named 'nosuch'" in str(err) and "baseline" in str(err)
    monkeypatch.chdir(tmp_path)
    assert resolve("policies", "volume").is_file()
    assert find_any("baseline").name == "baseline.toml" and find_any("volume").name == "volume.toml"
    assert "nosuch" in str(error_of(find_any, "nosuch"))


def test_list_files_has_descriptions():
    names = {n: d for n, _, d in list_files("scenarios")}
    assert {"baseline", "workshop", "understaffed"} <= set(names) and all(names.values())
    assert {"seed-example", "volume", "fit-and-intent"} <= {n for n, _, _ in list_files("policies")}


def test_kind_of():
    assert kind_of({}) == "scenario"
    assert kind_of({"mql": {}, "scoring": {}}) == "policy"
    assert kind_of({"sales": {}}) == "scenario"


def test_worlds_too_large_are_refused():
    sc = Scenario.model_validate({"arrivals": {"leads_per_year": 50_000_000}, "horizon": {"window": "3650d"}})
    err = error_of(check_size, sc, "big.toml")
    assert "big.toml" in str(err) and f"{MAX_LEADS_PER_WORLD:,}" in str(err)
    check_size(Scenario(), "baseline.toml")


# ------------------------------------------------------------------------------------------
# Result folders
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../etc/x", "..", ".", "/abs/path", "a/../../b", "...hidden", "x\\..\\y",
                                  "", "名前", "ok-name_1.2"])
def test_safe_name_is_one_safe_component(name):
    s = safe_name(name)
    assert s and "/" not in s and "\\" not in s and not s.startswith(".") and ".." not in s
    assert s not in (".", "..")


def test_timestamped_stays_inside_parent(tmp_path):
    parent = tmp_path / "outputs"
    for name in ("../../etc/x", "/etc/passwd", "..", "demo"):
        out = timestamped(parent, name)
        assert out.parent == parent
        assert out.resolve().is_relative_to(parent.resolve())
    first = timestamped(parent, "demo")
    first.mkdir(parents=True)
    assert timestamped(parent, "demo") != first


def test_atomic_folder_renames_when_complete(tmp_path):
    final = tmp_path / "out" / "run1"
    with atomic_folder(final) as tmp:
        assert tmp.parent == final.parent and tmp.name.startswith(".run1.incomplete-")
        (tmp / "a.txt").write_text("x")
        assert not final.exists()
    assert (final / "a.txt").read_text() == "x"
    assert os.listdir(final.parent) == ["run1"]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_atomic_folder_leaves_nothing_on_failure(tmp_path, exc):
    final = tmp_path / "run1"
    with pytest.raises(exc):
        with atomic_folder(final) as tmp:
            (tmp / "half.txt").write_text("x")
            raise exc()
    assert os.listdir(tmp_path) == []


def test_atomic_folder_never_overwrites(tmp_path):
    final = tmp_path / "run1"
    final.mkdir()
    (final / "keep.txt").write_text("keep")
    with pytest.raises(FileExistsError):
        with atomic_folder(final):
            pass
    assert os.listdir(final) == ["keep.txt"]
    # appearing while the results are written
    other = tmp_path / "run2"
    with pytest.raises(FileExistsError):
        with atomic_folder(other):
            other.mkdir()
    assert sorted(os.listdir(tmp_path)) == ["run1", "run2"]


def test_json_safe_and_dumps():
    import numpy as np
    data = {"a": float("nan"), "b": [float("inf"), np.float64(1.5), np.int64(3)], "c": (1, 2),
            "d": {"e": np.array([1.0, np.nan])}}
    text = dumps(data)
    assert json.loads(text) == {"a": None, "b": [None, 1.5, 3], "c": [1, 2], "d": {"e": [1.0, None]}}
    assert json_safe(math.nan) is None


_SEGMENTS = st.sampled_from(["sales", "reps", "mql", "threshold", "arrivals", "spikes", "0", "7", "x", "",
                             "scenario", "policy", "response", "decay", "kind", "channel_mix", "paid_search",
                             "calendar", "open", "name"])
_VALUES = st.one_of(st.text(max_size=8), st.sampled_from(["1", "true", "[1]", "{a=1}", "'x'", "1e400", "nan",
                                                          "09:00", "2026-01-01", "-3"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.lists(_SEGMENTS, min_size=1, max_size=4).map(".".join), value=_VALUES)
def test_generated_set_items_give_config_errors_or_valid_inputs(path, value):
    """Any --set item either applies cleanly or gives one ConfigError naming --set or the file."""
    try:
        o = split_sets([f"{path}={value}"])
        load_scenario("workshop", o.scenario)
        load_policy("seed-example", o.policy)
    except ConfigError as e:
        assert e.source.startswith("--set ") or e.source.endswith(".toml"), str(e)
        assert "cannot be checked" not in str(e)
