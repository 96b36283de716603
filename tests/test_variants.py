"""Policy variants (`-p 'seed-example@mql.threshold=70'`), result labels, and override paths:
`--set policy.reps=3` really changes the headcount (it used to be dropped silently), a path that
either file could mean (`reps`) is refused with both candidates, and a variant and its base are
paired on the same worlds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.cli import main
from sim.config.loading import ConfigError
from sim.experiment.design import toml_value
from sim.experiment.task_plan import build_plan
from sim.inputs import parse_variant, split_at, split_sets

FAST = ["--days", "14", "--leads", "2000"]
SEED = Path(__file__).resolve().parent.parent / "policies" / "seed-example.toml"


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args])


def run_json(runner, *args) -> dict:
    """The JSON of one `run`; `policies` also as {policy: {KPI: value}} under "values"."""
    r = invoke(runner, "run", "workshop", *args, *FAST, "--json")
    assert r.exit_code == 0, (r.output, r.exception)
    data = json.loads(r.stdout)
    data["values"] = {p: {k: e["mean"] for k, e in kpis.items()} for p, kpis in data["policies"].items()}
    return data


def bad_input(result, *words):
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    for w in words:
        assert w in result.stderr, (w, result.stderr)


def policy_file(tmp_path: Path, stem: str, extra_top: str = "", replace: tuple[str, str] | None = None) -> Path:
    """A copy of seed-example.toml (same `name`) with top-level lines added and/or a line replaced."""
    text = SEED.read_text()
    if replace:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1])
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("description"))
    lines.insert(at + 1, extra_top)
    f = tmp_path / f"{stem}.toml"
    f.write_text("\n".join(lines) + "\n")
    return f


# ---- the headcount override --------------------------------------------------------------------

def test_bare_reps_is_ambiguous_and_names_both_candidates(runner):
    bad_input(invoke(runner, "run", "workshop", "-p", "seed-example", "--set", "reps=3"),
              "--set reps=3", "policy.reps", "scenario.sales.reps")


def test_set_policy_reps_changes_the_headcount_like_the_file(runner, tmp_path):
    plain = run_json(runner, "-p", "seed-example")["values"]["seed-example"]
    via_set = run_json(runner, "-p", "seed-example", "--set", "policy.reps=3")["values"]["seed-example"]
    in_file = run_json(runner, "-p", policy_file(tmp_path, "three", "reps = 3"))["values"]["seed-example"]
    assert via_set["rep_utilisation"] != plain["rep_utilisation"]        # was a silent no-op
    assert via_set["rep_utilisation"] == pytest.approx(plain["rep_utilisation"] / 3)
    assert via_set == in_file


def test_reps_option_still_overrides_a_policy_headcount(runner, tmp_path):
    one = policy_file(tmp_path, "one", "reps = 1")
    a = run_json(runner, "-p", one, "--reps", "3")["values"]["seed-example"]
    b = run_json(runner, "-p", "seed-example", "--reps", "3")["values"]["seed-example"]
    assert a == b


def test_sweep_over_policy_reps_changes_the_load(runner, tmp_path):
    r = invoke(runner, "sweep", "workshop", "-p", "seed-example", "--vary", "policy.reps=1,3", "-n", "1", *FAST,
               "--json", "--out", tmp_path / "sweep")
    assert r.exit_code == 0, r.output
    pts = json.loads(r.stdout)["points"]
    util = [p["policies"]["seed-example"]["rep_utilisation"]["mean"] for p in pts]
    assert util[0] == pytest.approx(3 * util[1])


@pytest.mark.parametrize("item, words", [
    ("threshold=70", ["policy.mql.threshold"]),
    ("decay.mode=none", ["policy.scoring.decay.mode"]),
    ("name=x", ["scenario.name", "policy.name"]),
])
def test_unknown_or_ambiguous_set_paths_name_the_candidates(runner, item, words):
    bad_input(invoke(runner, "run", "workshop", "-p", "seed-example", "--set", item), *words)


def test_explicit_and_unique_paths_route_as_before():
    o = split_sets(["sales.reps=4", "mql.threshold=70", "policy.reps=2", "scenario.sales.reps=5"], reps=7)
    assert o.scenario == [("sales.reps", 4), ("sales.reps", 5), ("sales.reps", 7)]
    assert o.policy == [("mql.threshold", 70), ("reps", 2)]
    assert o.team == 7


# ---- variants and labels -----------------------------------------------------------------------

def test_variant_runs_under_its_spec_and_matches_set(runner):
    spec = "seed-example@mql.threshold=70"
    data = run_json(runner, "-p", "seed-example", "-p", spec)
    assert list(data["policies"]) == ["seed-example", spec]
    values = data["values"]
    assert values[spec] == run_json(runner, "-p", "seed-example", "--set", "mql.threshold=70")["values"]["seed-example"]
    assert values[spec]["mqls"] < values["seed-example"]["mqls"]


def test_chained_variant_with_a_name(runner):
    data = run_json(runner, "-p", "seed-example",
                    "-p", 'seed-example@mql.threshold=70@sla.targets.high_intent="1bh"@name="strict"')
    assert list(data["policies"]) == ["seed-example", "strict"]
    assert any("sla.targets.high_intent" in w and "escalate" in w for w in data["warnings"])   # changes no decision


def test_two_identical_labels_are_refused(runner):
    bad_input(invoke(runner, "run", "workshop", "-p", "seed-example@mql.threshold=70",
                     "-p", "seed-example@mql.threshold=70"), "unique", "seed-example@mql.threshold=70")
    bad_input(invoke(runner, "run", "workshop", "-p", "volume", "-p", 'seed-example@name="volume"'), "'volume'")
    bad_input(invoke(runner, "run", "workshop", "-p", "seed-example", "-p", "seed-example"), "unique")


def test_copied_file_with_the_same_name_is_labelled_by_its_stem(runner, tmp_path):
    copy = policy_file(tmp_path, "stricter", replace=("threshold = 60", "threshold = 70"))
    data = run_json(runner, "-p", "seed-example", "-p", copy)
    assert list(data["policies"]) == ["seed-example", "stricter"]
    assert data["values"]["stricter"]["mqls"] < data["values"]["seed-example"]["mqls"]


@pytest.mark.parametrize("spec, words", [
    ("seed-example@sales.reps=3", ["scenario field", "--set sales.reps"]),
    ("seed-example@threshold=3", ["mql.threshold"]),
    ("seed-example@mql.threshold", ["PATH=VALUE"]),
    ('seed-example@mql.threshold="high"', ["mql.threshold", "expected a number"]),
    ("@mql.threshold=70", ["no policy before '@'"]),
    ("nosuch@mql.threshold=70", ["no policy named 'nosuch'"]),
])
def test_bad_variants_are_refused(runner, spec, words):
    bad_input(invoke(runner, "run", "workshop", "-p", spec), *words)


def test_inert_variant_is_paired_with_zero_differences(runner, tmp_path):
    r = invoke(runner, "compare", "workshop", "-p", "seed-example", "-p", "seed-example@mql.threshold=60",
               "-p", "seed-example@mql.threshold=70", "-n", "5", *FAST, "--json", "--out", tmp_path / "c")
    assert r.exit_code == 0, r.output
    diffs = json.loads(r.stdout)["differences"]
    inert = diffs["seed-example@mql.threshold=60"]
    assert all(d["diff"] == 0 for d in inert.values() if d["diff"] is not None)
    assert inert["mqls"]["diff"] == 0 and inert["mqls"]["lower"] == 0 == inert["mqls"]["upper"]
    assert diffs["seed-example@mql.threshold=70"]["mqls"]["diff"] < 0


def test_api_accepts_variants():
    res = sim.compare("workshop", ["seed-example", "seed-example@mql.threshold=70@name=\"t70\""], replications=2,
                      leads=2000, days=14)
    assert list(res.runs["policy"].unique()) == ["seed-example", "t70"]
    assert res.manifest["policies"]["t70"]["mql"]["threshold"] == 70


def test_variants_in_an_experiment_file(runner, tmp_path):
    f = tmp_path / "study.toml"
    f.write_text('name = "study"\nscenarios = ["workshop"]\nreplications = 2\n'
                 "policies = ['seed-example', 'seed-example@mql.threshold=70', "
                 "'seed-example@mql.threshold=70@name=\"strict\"']\n"
                 "set = ['arrivals.leads_per_year = 2000', 'horizon.window = \"14d\"']\n")
    assert invoke(runner, "validate", f).exit_code == 0
    r = invoke(runner, "experiment", f, "--json", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert list(data["policies"]) == ["seed-example", "seed-example@mql.threshold=70", "strict"]
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["policies"]["strict"]["mql"]["threshold"] == 70 and m["warnings"] == []


def test_variant_overrides_come_after_set_and_before_a_sweep_point():
    plan = build_plan("sweep", "x", ["workshop"], ["seed-example@mql.threshold=70"], sets=["mql.threshold=50"],
                      replications=1, points=[{"mql.high_intent": 90}])
    pol = plan.tasks[0].policies[0]
    assert pol["mql"]["threshold"] == 70 and pol["mql"]["high_intent"] == 90
    assert pol["name"] == "seed-example@mql.threshold=70"


# ---- parsing `@` specs ---------------------------------------------------------------------------

PATHS = ["mql.threshold", "sla.targets.high_intent", "name", "routing.discipline", "reps", "mql.gates.icp_only",
         "description"]
VALUES = st.one_of(st.integers(-10**6, 10**6), st.booleans(),
                   st.floats(allow_nan=False, allow_infinity=False, width=32),
                   st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
                   st.lists(st.integers(0, 9), max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), VALUES), min_size=1, max_size=4))
def test_variant_specs_round_trip(items):
    spec = "seed-example" + "".join(f"@{p}={toml_value(v)}" for p, v in items)
    v = parse_variant(spec)
    assert v.base == "seed-example"
    assert [p for p, _ in v.overrides] == [p for p, _ in items]
    for (_, got), (_, want) in zip(v.overrides, items):
        assert got == want or (isinstance(want, float) and got == pytest.approx(want))
    assert len(split_at(spec)) == len(items) + 1


def test_quoted_at_signs_stay_in_the_value():
    v = parse_variant('seed-example@description="a@b [x@y]"@mql.threshold=70')
    assert v.overrides == (("description", "a@b [x@y]"), ("mql.threshold", 70))
    with pytest.raises(ConfigError):
        parse_variant("seed-example@sales.reps=3")


def test_validate_accepts_a_variant(runner):
    r = invoke(runner, "validate", 'seed-example@sla.targets.demo="5m"')
    assert r.exit_code == 0 and "(policy variant)" in r.stdout and 'write "5bm"' in r.stderr
    bad_input(invoke(runner, "validate", "seed-example@mql.threshold=-1"), "mql.threshold", ">= 0")


def test_latin_hypercube_rounds_the_optional_policy_headcount():
    from sim.experiment.design import latin_hypercube
    pts = latin_hypercube({"policy.reps": (1, 5), "mql.threshold": (40, 80)}, 4, 0)
    assert all(isinstance(p["policy.reps"], int) for p in pts)
    assert not all(float(p["mql.threshold"]).is_integer() for p in pts)
