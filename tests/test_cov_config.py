"""Config corners not covered elsewhere (found by branch coverage): special files, --set into
list items, overrides applied without a schema, how odd values are quoted back in messages,
Duration conversions and the cross-field checks of a few sections."""
from __future__ import annotations

import os

import pytest
from test_config import error_of as config_error_of

from sim.config.experiment import Experiment
from sim.config.loading import apply_overrides, check_path, read_toml, validate_data
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.config.schema_walk import short_repr
from sim.config.units import Duration
from sim.inputs import load_scenario, split_sets


def error_of(fn, *args) -> str:
    return str(config_error_of(fn, *args))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_blocking(tmp_path):
    """Opening a FIFO for reading would block until a writer appears: it is refused unread."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    msg = error_of(read_toml, fifo)
    assert "pipe.toml" in msg and "not a regular file" in msg


def test_set_one_item_of_a_list(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("[arrivals]\nhourly_profile = [" + ", ".join(["1.0"] * 24) + "]\n")
    sc = load_scenario(str(f), split_sets(["arrivals.hourly_profile.3=2.5"]).scenario)
    assert sc.arrivals.hourly_profile[3] == 2.5 and sc.arrivals.hourly_profile[4] == 1.0   # the rest kept


def test_set_path_through_a_list_needs_an_index():
    msg = error_of(check_path, Scenario, "arrivals.spikes.first.multiplier")
    assert "'first' is not a valid key or index in arrivals.spikes" in msg


@pytest.mark.parametrize("data, path, words", [
    ({"sales": {"reps": 2}}, "sales.reps.x", "sales.reps is a single value"),
    ({"a": [1, 2]}, "a.0.b", "a.0 is a single value"),
    ({}, "sales..reps", "empty part"),
])
def test_overrides_without_a_schema_fail_with_the_set_named(data, path, words):
    msg = error_of(apply_overrides, data, [(path, 1)], "f.toml")
    assert msg.startswith(f"--set {path}") and words in msg


def test_values_are_quoted_back_as_written(tmp_path):
    """A date or a number too long to print is echoed in a readable short form."""
    import datetime as dt
    assert short_repr(dt.date(2026, 1, 5)) == "2026-01-05"
    assert short_repr(10 ** 5000).endswith("-digit number")      # beyond Python's int-to-text limit
    assert short_repr(True) == "true" and short_repr({"a": 1}) == "a table"
    f = tmp_path / "d.toml"
    f.write_text("[sales]\nreps = 2026-01-05\n")
    msg = error_of(validate_data, Scenario, read_toml(f), str(f))
    assert "sales.reps" in msg and "2026-01-05" in msg


def test_durations_convert_both_ways():
    assert Duration.parse("2h").business_minutes(480) == 120         # clock units count as they are
    assert Duration.parse("1.5bd").business_minutes(480) == 720
    d = Duration.parse("3d")
    assert Duration.parse(d) is d and d.minutes == 3 * 1440
    with pytest.raises(ValueError, match="business time"):
        _ = Duration.parse("2bh").minutes


@pytest.mark.parametrize("model, data, words", [
    (Policy, {"mql": {"thresholds_by_size": {"enterprise": 20000}}}, ["mql.thresholds_by_size", "enterprise"]),
    (Scenario, {"engagement": {"buyer": {"demo_request": -1.0}}}, ["engagement.buyer", "demo_request"]),
    (Experiment, {"scenarios": ["a"], "policies": ["b"], "objective": {"subject_to": []}}, ["objective", "maximise"]),
])
def test_cross_field_checks_name_the_field(model, data, words):
    msg = error_of(validate_data, model, data, "x.toml")
    for w in words:
        assert w in msg, (w, msg)


def test_unknown_key_in_a_keyed_table_suggests_the_closest(tmp_path):
    msg = error_of(validate_data, Scenario, {"arrivals": {"channel_mix": {"paid_serch": 1.0}}}, "x.toml")
    assert "'paid_serch' is not an allowed key" in msg and "did you mean 'paid_search'" in msg


def test_a_missing_required_field_is_named():
    msg = error_of(validate_data, Scenario, {"arrivals": {"spikes": [{"multiplier": 2.0}]}}, "x.toml")
    assert "arrivals.spikes[0].start: required field is missing" in msg


def test_problems_from_the_file_and_from_set_are_told_apart(tmp_path):
    """One message lists both; the one the command line caused says so."""
    f = tmp_path / "s.toml"
    f.write_text("[sales]\nreps = -1\n")
    msg = error_of(load_scenario, str(f), split_sets(["outcomes.win_buyer=2"]).scenario)
    assert msg.startswith(str(f)) and "sales.reps: must be >= 0" in msg
    assert "outcomes.win_buyer: must be <= 1 (got 2) (from --set)" in msg
    assert "sales.reps: must be >= 0 (got -1)\n" in msg + "\n" and "sales.reps: must be >= 0 (got -1) (from --set)" not in msg
