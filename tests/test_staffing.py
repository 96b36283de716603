"""`funnelsim staffing`: the analytic minimum team next to the simulated service level (content,
not digits), and bad arguments exit 2 with one clear message."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.commands.staffing import parse_rate
from sim.measure import erlang

BASE = ["staffing", "--mql-rate", "6", "--handle-time", "10m", "--sla", "30m", "--target", "0.8"]


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_analytic_table_names_the_erlang_c_minimum_team():
    r = run(*BASE, "--no-sim")
    assert r.exit_code == 0, r.output
    expected = erlang.staffing_for_service_level(6 / 60, 1 / 10, 30.0, 0.8)
    assert f"analytic minimum team (*): {expected} reps" in r.output
    for header in ("reps", "P(wait)", "mean wait", "utilisation", "Erlang C"):
        assert header in r.output
    assert "simulated" not in r.output


def test_patience_switches_to_erlang_a_and_shows_abandonment():
    r = run(*BASE, "--patience", "15m", "--no-sim")
    assert r.exit_code == 0, r.output
    assert "Erlang A" in r.output and "P(leaves)" in r.output
    expected = erlang.staffing_for_service_level(6 / 60, 1 / 10, 30.0, 0.8, theta=1 / 15)
    assert f"analytic minimum team (*): {expected} reps" in r.output


def test_simulated_column_and_the_realistic_minimum_team():
    """Business hours, cadence and decay need more reps than the 24/7 formula (MQLs arriving at night
    and at weekends wait for the morning), and the command says how many."""
    r = run(*BASE[:-4], "--sla", "2bh", "--target", "0.8", "-n", "2", "--days", "14", "--neighbours", "1")
    assert r.exit_code == 0, r.output
    assert "simulated (95% CI)" in r.output
    analytic = int(re.search(r"analytic minimum team \(\*\): (\d+) reps", r.output).group(1))
    m = re.search(r"minimum team (\d+) reps", r.output.replace("\n", " "))
    assert m is not None, r.output
    assert int(m.group(1)) > analytic


@pytest.mark.parametrize("args, needle", [
    (["--mql-rate", "lots"], "--mql-rate"),
    (["--mql-rate", "-3"], "--mql-rate"),
    (["--handle-time", "2bh"], "clock time"),
    (["--handle-time", "0m"], "longer than zero"),
    (["--sla", "soon"], "--sla"),
    (["--target", "1.5"], "--target"),
    (["--target", "0"], "--target"),
    (["--patience", "ten"], "--patience"),
    (["--scenario", "no-such-scenario"], "no-such-scenario"),
])
def test_bad_arguments_exit_2_with_a_message(args, needle):
    opts = dict(zip(BASE[1::2], BASE[2::2]))
    for k, v in zip(args[::2], args[1::2]):
        opts[k] = v
    argv = ["staffing"] + [x for kv in opts.items() for x in kv]
    r = CliRunner().invoke(main, argv)
    assert r.exit_code == 2, r.output
    assert needle in r.output


def test_rate_units():
    assert parse_rate("6") == parse_rate("6/h") == pytest.approx(6.0)
    assert parse_rate("144/d") == pytest.approx(6.0)
    assert parse_rate("1008/w") == pytest.approx(6.0)
