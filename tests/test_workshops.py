"""The workshop kit (workshops/): every exercise starts from valid files, its levers are policy
fields, its README has the sections a teacher needs, and each insight it teaches holds on the
model: at the exercise's own replications, the paired difference of every KPI it names has a 95%
interval that excludes 0 on the stated side (common random numbers where both sides share a
scenario; pooling's two scenarios are paired by replication index)."""
from __future__ import annotations

from pathlib import Path

import pytest

from sim.classroom.leaderboard import check_objective
from sim.classroom.workshops import load_exercises, measure, side_policy
from sim.config.paths import route
from sim.inputs import load_policy, load_scenario

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = load_exercises()
SECTIONS = ("## The question", "## Starting setting", "## What to change", "## What to look at", "## The insight",
            "## Teacher notes", "## Timing")


def test_the_kit_has_six_exercises_and_a_90_minute_plan():
    assert [e.slug for e in EXERCISES][:6] == ["01-threshold", "02-speed-to-lead", "03-pooling",
                                                "04-campaign-spike", "05-recycling", "06-leads-or-accounts"]
    assert all(10 <= e.minutes <= 25 for e in EXERCISES)
    index = (ROOT / "workshops" / "README.md").read_text(encoding="utf-8")
    assert all(f"{e.slug}/" in index for e in EXERCISES)
    assert "90-minute" in index


def test_the_account_exercise_runs_the_classroom_market_seen_as_accounts():
    """Exercise 6's scenario is `classroom` plus an [accounts] table (and a longer warm-up, as account
    engagement builds up over weeks): the same leads, so its lessons read like the other exercises'."""
    ex = next(e for e in EXERCISES if e.slug == "06-leads-or-accounts")
    accounts, classroom = load_scenario(ex.scenario).model_dump(), load_scenario("classroom").model_dump()
    assert accounts["accounts"] is not None and classroom["accounts"] is None
    differs = {k for k in accounts if accounts[k] != classroom[k]}
    assert differs == {"name", "description", "horizon", "accounts"}
    assert {k for k in accounts["horizon"] if accounts["horizon"][k] != classroom["horizon"][k]} == {"warmup"}
    assert load_policy(ex.policy).mql.unit == "lead"        # students switch to MQAs themselves
    assert "mql.unit" in ex.levers and "reps" in ex.levers


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.slug)
def test_every_exercise_starts_from_valid_files(ex):
    load_scenario(ex.scenario)
    load_policy(ex.policy)
    for lever in ex.levers:
        assert route(lever, "lever", only="policy")[0] == "policy"
    check_objective(ex.objective, ex.constraint)
    for ins in ex.insights:
        assert ins.claim and (ins.up or ins.down)
        for side in (ins.reference, ins.change):
            load_scenario(side.scenario)
            side_policy(side, "x")
    assert 5 <= ex.replications <= 20                       # what the app runs live
    session = ex.session()                                  # the one-click start of classroom mode
    assert ex.open_round(session) == 1 and session.current_round.levers == list(ex.levers)


@pytest.mark.parametrize("path", sorted((ROOT / "workshops").glob("*/*.toml")) +
                         sorted((ROOT / "policies").glob("workshop-*.toml")), ids=lambda p: p.name)
def test_every_workshop_file_validates_without_warnings(path):
    from sim.commands.validate_file import file_warnings, load_file
    if path.name == "exercise.toml":
        return
    kind, obj = load_file(path)
    assert kind in ("scenario", "policy")
    assert file_warnings(kind, obj, str(path)) == []


@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.slug)
def test_every_exercise_readme_has_what_a_teacher_needs(ex):
    text = (ex.folder / "README.md").read_text(encoding="utf-8")
    missing = [s for s in SECTIONS if s not in text]
    assert not missing, f"{ex.slug}/README.md lacks {missing}"
    assert "funnelsim " in text                          # the command-line way in


@pytest.mark.slow
@pytest.mark.parametrize("ex", EXERCISES, ids=lambda e: e.slug)
def test_each_insight_holds_with_its_interval(ex):
    wrong = [f"{f.insight.claim[:50]}... {f.kpi} should go {f.direction}: {f.diff:.4g} [{f.lower:.4g}, {f.upper:.4g}]"
             for f in measure(ex) if not f.holds]
    assert not wrong, "\n".join(wrong)
