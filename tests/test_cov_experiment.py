"""Absurd designs for `sweep` and `experiment` (found by branch coverage of the design, plan and
experiment-file code): refused before anything runs with one message naming what to change, exit
code 2, and no outputs/ folder created."""
from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from test_cli import assert_bad_input

from sim.cli import main

TINY = ["--days", "14", "--leads", "1000"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("args, words", [
    (["--vary", "mql.threshold=0:10000:0.001"], ["10,000,001 values", "at most", "larger step"]),
    (["--vary", "sales.reps="], ["no values after '='"]),
    (["--vary", "mql.threshold=1:100:1", "--vary", "sales.reps=1:100:1", "--vary", "cadence.max_attempts=1:50:1"],
     ["the grid has", "points; at most"]),
    (["--vary", "mql.threshold=40:89:1", "-n", "10000"], ["worlds to run", "at most"]),
    (["--vary", "mql.threshold=1e400:2e400:1e399"], ["'1e400' is not a number"]),
    (["--vary", "mql.threshold=40,60", "--maximise", "bookings", "--subject-to", "sla>=lots"], ["KPI>=VALUE", "lots"]),
])
def test_absurd_sweeps_are_refused_before_running(tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(tmp_path)
    assert_bad_input(invoke("sweep", "workshop", "-p", "seed-example", *TINY, *args), *words)
    assert os.listdir(tmp_path) == []


EXPERIMENT = 'scenarios = ["workshop"]\npolicies = ["seed-example"]\nreplications = 1\n'


@pytest.mark.parametrize("extra, words", [
    ('[objective]\nmaximise = "bookings"\nminimise = "cost_per_won"\n', ["objective", "exactly one of maximise or minimise"]),
    ('[objective]\nsubject_to = ["sla_compliance >= "]\nmaximise = "won"\n', ["objective.subject_to", "KPI>=VALUE"]),
    ("[lhs]\nranges = {}\n", ["lhs.ranges", "at least one range"]),
    ('[lhs]\nranges = {"mql.threshold" = [90, 40]}\n', ["lhs.ranges", "low must be below high"]),
    ('[grid]\n"mql.threshold" = [40]\n[lhs]\nranges = {"mql.threshold" = [40, 90]}\n', ["not both"]),
])
def test_inconsistent_experiment_files_name_the_field(tmp_path, monkeypatch, extra, words):
    monkeypatch.chdir(tmp_path)
    f = tmp_path / "design.toml"
    f.write_text(EXPERIMENT + extra, encoding="utf-8")
    assert_bad_input(invoke("experiment", f), "design.toml", *words)
    assert os.listdir(tmp_path) == ["design.toml"]


def test_plans_from_objects_apply_and_validate_overrides():
    """The Python API takes Scenario/Policy objects as well as names; overrides are applied to a
    copy and validated like a file; anything else is refused."""
    from sim.config.loading import ConfigError
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.experiment.task_plan import build_plan

    sc = Scenario.model_validate({"name": "mine", "horizon": {"window": "14d"}})
    pol = Policy(name="p")
    plan = build_plan("compare", "x", [sc], [pol], sets=["sales.reps=3", "mql.threshold=70"], replications=2, seed=1)
    assert plan.scenarios["mine"].sales.reps == 3 and plan.policies["p"].mql.threshold == 70
    assert sc.sales.reps != 3 and pol.mql.threshold == 60                  # the inputs are untouched
    assert len(plan.tasks) == 2
    assert build_plan("compare", "x", [sc], [pol], replications=1).scenarios["mine"] is sc   # no overrides: as given
    with pytest.raises(ConfigError, match="sales.reps"):
        build_plan("compare", "x", [sc], [pol], sets=["sales.reps=-1"])
    with pytest.raises(TypeError, match="expected a Scenario"):
        build_plan("compare", "x", [pol], [pol])
    for scenarios, policies, words in (([], [pol], "no scenario"), ([sc], [], "no policy"),
                                       ([sc, sc], [pol], "more than once")):
        with pytest.raises(ConfigError, match=words):
            build_plan("compare", "x", scenarios, policies)
