"""Warnings for inputs that are valid but probably not meant: each one fires on its trigger, names
the file, the field path and the fix in one line, reaches stderr, `--json` and the manifest, and
the shipped baseline with the shipped policies gives none."""
from __future__ import annotations

import datetime as dt
import itertools
import json

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.commands.validate_file import file_warnings, load_file
from sim.config import warnings as w
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.task_plan import build_plan
from sim.inputs import find_any, known_names

FAST = ["--days", "14", "--leads", "2000"]
POLICIES = ["seed-example", "volume", "fit-and-intent", "speed-first"]


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, *args):
    return runner.invoke(main, [str(a) for a in args])


def one_line(msgs: list[str]) -> None:
    assert all("\n" not in m for m in msgs), msgs


def spiked(start: dt.date, **kw) -> Scenario:
    return Scenario.model_validate({"arrivals": {"spikes": [{"start": start, "name": "launch"}]}, **kw})


# ---- each warning fires ------------------------------------------------------------------------

def test_spike_outside_the_horizon():
    msgs = w.scenario_warnings(spiked(dt.date(2029, 1, 1)), "s.toml")
    assert len(msgs) == 1 and msgs[0].startswith("s.toml: arrivals.spikes[0].start: 2029-01-01")
    assert "outside the simulated time 2026-01-05 to" in msgs[0] and "'launch'" in msgs[0]
    one_line(msgs)
    assert w.scenario_warnings(spiked(dt.date(2026, 3, 2)), "s.toml") == []
    # a spike that starts before time zero but overlaps it still acts
    assert w.scenario_warnings(Scenario.model_validate(
        {"arrivals": {"spikes": [{"start": dt.date(2026, 1, 1), "duration": "7d"}]}}), "s") == []


def test_spike_after_a_shortened_horizon():
    sc = Scenario.model_validate({"horizon": {"warmup": "0d", "window": "7d", "runout": "0d"},
                                  "arrivals": {"spikes": [{"start": dt.date(2026, 1, 12)}]}})
    assert len(w.date_warnings(sc, "s")) == 1           # the span ends on 2026-01-11


def test_holiday_outside_the_horizon():
    sc = Scenario.model_validate({"calendar": {"holidays": [dt.date(2026, 1, 6), dt.date(2025, 12, 25)]}})
    msgs = w.scenario_warnings(sc, "s.toml")
    assert len(msgs) == 1 and "calendar.holidays[1]: 2025-12-25" in msgs[0] and "check the year" in msgs[0]


@pytest.mark.parametrize("data, path", [
    ({"arrivals": {"channel_mix": {"organic": 0.5, "paid_search": 0.3}}}, "arrivals.channel_mix"),
    ({"population": {"region": {"emea": 0.7, "apac": 0.7}}}, "population.region"),
    ({"population": {"by_channel": {"referral": {"seniority": {"vp": 2.0, "ic": 2.0}}}}},
     "population.by_channel.referral.seniority"),
    ({"engagement": {"entry_event": {"webinar": {"webinar_product": 0.5}}}}, "engagement.entry_event.webinar"),
])
def test_mix_not_summing_to_one_is_normalised_and_said(data, path):
    msgs = w.mix_warnings(Scenario.model_validate(data), "s.toml")
    assert len(msgs) == 1 and msgs[0].startswith(f"s.toml: {path}: shares sum to"), msgs
    assert "normalised to sum 1" in msgs[0]
    one_line(msgs)


def test_mix_summing_to_one_up_to_rounding_is_quiet():
    sc = Scenario.model_validate({"arrivals": {"channel_mix": {"organic": 0.3333, "paid_search": 0.6667}}})
    assert w.mix_warnings(sc, "s") == []


def test_mix_of_0_8_is_reported_by_validate(runner, tmp_path):
    f = tmp_path / "mix.toml"
    f.write_text('[arrivals.channel_mix]\norganic = 0.5\npaid_search = 0.3\n')
    r = invoke(runner, "validate", f)
    assert r.exit_code == 0 and r.stdout.startswith("ok: ")
    assert r.stderr.startswith(f"warning: {f}: arrivals.channel_mix: shares sum to 0.8"), r.stderr


def sla(**kw) -> Policy:
    return Policy.model_validate({"sla": kw})


def test_sla_target_difference_that_changes_no_decision():
    base, other = Policy(), sla(targets={"high_intent": "1bh"})
    msgs = w.sla_difference_warnings([("a", "a.toml", base), ("b", "b.toml", other)], [Scenario()])
    assert len(msgs) == 1 and msgs[0].startswith("b.toml: sla.targets.high_intent:")
    assert "breach_action = \"escalate\"" in msgs[0] and "'a'" in msgs[0]
    # under escalate the target decides when an MQL jumps the queue: no warning
    esc = sla(targets={"high_intent": "1bh"}, breach_action="escalate")
    assert w.sla_difference_warnings([("a", "a", base), ("b", "b", esc)], [Scenario()]) == []
    # ... unless the textbook queue ignores breach actions
    textbook = Scenario.model_validate({"queueing": {"enabled": True}})
    assert len(w.sla_difference_warnings([("a", "a", base), ("b", "b", esc)], [textbook])) == 1


def test_recycle_after_difference_without_recycling():
    msgs = w.sla_difference_warnings([("a", "a", Policy()), ("b", "b", sla(recycle_after="5bd"))], [Scenario()])
    assert len(msgs) == 1 and "sla.recycle_after" in msgs[0]
    rec = sla(recycle_after="5bd", breach_action="recycle")
    assert w.sla_difference_warnings([("a", "a", Policy()), ("b", "b", rec)], [Scenario()]) == []


def test_clock_target_shorter_than_a_night():
    msgs = w.clock_sla_warnings(sla(targets={"high_intent": "1h"}), "p.toml", Scenario())
    assert len(msgs) == 1 and msgs[0].startswith('p.toml: sla.targets.high_intent: "1h" is clock time')
    assert 'write "1bh"' in msgs[0] and "16h" in msgs[0]
    assert w.clock_sla_warnings(sla(targets={"high_intent": "1bh"}), "p", Scenario()) == []
    assert w.clock_sla_warnings(sla(targets={"standard": "2d"}), "p", Scenario()) == []   # longer than a night
    textbook = Scenario.model_validate({"queueing": {"enabled": True}})
    assert w.clock_sla_warnings(sla(targets={"high_intent": "1h"}), "p", textbook) == []  # 24/7


# ---- none for the shipped inputs ----------------------------------------------------------------

@pytest.mark.parametrize("order", list(itertools.permutations(POLICIES))[::5])
def test_baseline_with_the_shipped_policies_gives_none(order):
    assert build_plan("run", "x", ["baseline"], list(order), replications=1).warnings == []


@pytest.mark.parametrize("name", known_names("scenarios") + known_names("policies") + known_names("experiments"))
def test_shipped_files_give_none(name):
    from sim.inputs import resolve
    path = resolve("experiments", name) if name in known_names("experiments") else find_any(name)
    kind, obj = load_file(path)
    assert file_warnings(kind, obj, str(path)) == []


# ---- where warnings go --------------------------------------------------------------------------

def late_spike(tmp_path):
    f = tmp_path / "late.toml"
    f.write_text('name = "late"\n[arrivals]\nleads_per_year = 2000\n[[arrivals.spikes]]\nstart = 2029-01-01\n')
    return f


def test_run_prints_records_and_returns_warnings(runner, tmp_path):
    f = late_spike(tmp_path)
    r = invoke(runner, "run", f, "-p", "seed-example", "--days", "14", "--json", "--out", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert r.stderr.startswith(f"warning: {f}: arrivals.spikes[0].start: 2029-01-01"), r.stderr
    data = json.loads(r.stdout)
    assert len(data["warnings"]) == 1 and "arrivals.spikes[0].start" in data["warnings"][0]
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["warnings"] == data["warnings"]


def test_compare_json_has_a_warnings_list(runner, tmp_path):
    r = invoke(runner, "compare", "workshop", "-p", "seed-example", "-p", 'seed-example@sla.targets.standard="4bh"',
               "-n", "2", *FAST, "--json", "--out", tmp_path / "c")
    assert r.exit_code == 0, r.output
    ws = json.loads(r.stdout)["warnings"]
    assert len(ws) == 1 and ws[0].startswith('seed-example@sla.targets.standard="4bh": sla.targets.standard:')
    assert "warning: " + ws[0] in r.stderr
    clean = invoke(runner, "compare", "workshop", "-p", "seed-example", "-n", "2", *FAST, "--json",
                   "--out", tmp_path / "d")
    assert json.loads(clean.stdout)["warnings"] == [] and clean.stderr == ""


def test_validate_prints_a_policy_clock_target_warning(runner, tmp_path):
    f = tmp_path / "fast.toml"
    f.write_text('[sla.targets]\nhigh_intent = "1h"\n')
    r = invoke(runner, "validate", f)
    assert r.exit_code == 0 and f"ok: {f} (policy)" in r.stdout
    assert r.stderr.count("\n") == 1 and 'write "1bh"' in r.stderr


def test_validate_of_an_experiment_applies_its_set(runner, tmp_path):
    f = tmp_path / "study.toml"
    f.write_text('name = "x"\nscenarios = ["workshop"]\npolicies = ["seed-example"]\n'
                 "set = ['arrivals.spikes = [{start = 2030-01-01}]']\n")
    r = invoke(runner, "validate", f)
    assert r.exit_code == 0 and "(experiment)" in r.stdout
    assert "arrivals.spikes[0].start: 2030-01-01" in r.stderr and r.stderr.count("\n") == 1
