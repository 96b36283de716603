"""Which kind of input file a parsed TOML table is (scenario or policy), for `funnelsim validate`
and for the hint "this looks like a policy file" when one is given where the other belongs."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sim.config.policy import Policy
from sim.config.scenario import Scenario


def kind_hint(model: type[BaseModel], data: dict[str, Any], problems: list[tuple[str, str]]) -> str | None:
    """'this looks like a policy file' when a policy was given where a scenario was expected."""
    if model not in (Scenario, Policy) or not isinstance(data, dict):
        return None
    unknown_top = [p for p, t in problems if t.startswith("unknown field") and "." not in p and "[" not in p]
    if not unknown_top:
        return None
    other = "policy" if model is Scenario else "scenario"
    if kind_of(data) == other:
        flag = "use it with --policy/-p" if other == "policy" else "give it as the SCENARIO argument"
        return f"this looks like a {other} file, not a {model.__name__.lower()} ({flag})"
    return None


def kind_of(data: dict[str, Any]) -> str:
    """Guess whether a parsed file is a scenario or a policy, for `funnelsim validate`."""
    scenario_keys = set(Scenario.model_fields) - {"name", "description"}
    policy_keys = set(Policy.model_fields) - {"name", "description"}
    s, p = len(scenario_keys & data.keys()), len(policy_keys & data.keys())
    return "policy" if p > s else "scenario"
