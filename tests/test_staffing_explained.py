"""`staffing` says why the 24/7 formula and the simulation disagree, from the scenario."""
from __future__ import annotations

from click.testing import CliRunner

from sim.cli import main
from sim.commands.staffing import parse_duration, why_they_differ
from sim.inputs import load_policy, load_scenario


def test_the_explanation_is_computed_from_the_scenario_and_policy():
    sc, pol = load_scenario("baseline"), load_policy("seed-example")
    line = why_they_differ(sc, pol, 1, 6 / 60, 1 / 10, 1.0, parse_duration("1bd", "the SLA"))
    hours = len(sc.calendar.workdays) * (sc.calendar.close.hour - sc.calendar.open.hour)
    assert f"works {hours} of 168 h ({hours / 168:.0%})" in line
    p, a = sc.response.contact_rate, pol.cadence.max_attempts
    assert f"about {sum((1 - p) ** k for k in range(a)):.1f} attempts per MQL (up to {a}" in line
    assert "the queue grows without bound" in line            # 1 rep: 6 MQLs an hour cannot be kept up with
    assert "1bd is 8 working hours in the simulation but 24 clock hours in the formula" in line
    half = why_they_differ(sc, pol, 40, 6 / 60, 1 / 10, 0.5, parse_duration("2h", "the SLA"))
    assert "50% of it on MQLs" in half and "grows without bound" not in half and "clock hours" not in half


def test_staffing_prints_it_next_to_the_table():
    r = CliRunner().invoke(main, ["staffing", "--mql-rate", "6", "--handle-time", "10m", "--sla", "1bd", "--target",
                                  "0.8", "-n", "2", "--days", "7", "--neighbours", "0"])
    assert r.exit_code == 0, r.output
    assert "why the columns differ:" in r.output and "out of hours" in r.output
