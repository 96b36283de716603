"""The levers the app offers, each a dotted field path of the scenario or the policy. Label, unit,
range, choices and help text are read from the pydantic schema (the same source as the TOML files
and `funnelsim schema`), never written here a second time.
"""
from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from sim.config.schema_walk import is_model, member_types
from sim.config.units import Duration

# (group, path) of every control, in the order the page lists them.
LEVERS: tuple[tuple[str, str], ...] = (
    ("MQL definition", "policy.mql.rule"),
    ("MQL definition", "policy.mql.threshold"),
    ("MQL definition", "policy.mql.fit_min"),
    ("MQL definition", "policy.mql.behaviour_min"),
    ("MQL definition", "policy.mql.gates.icp_only"),
    ("MQL definition", "policy.mql.gates.business_email_only"),
    ("MQL definition", "policy.mql.gates.exclude_competitors"),
    ("MQL definition", "policy.mql.fast_lane.demo_request"),
    ("SLA", "policy.sla.targets.demo"),
    ("SLA", "policy.sla.targets.high_intent"),
    ("SLA", "policy.sla.targets.standard"),
    ("SLA", "policy.sla.targets.re_engaged"),
    ("SLA", "policy.sla.breach_action"),
    ("Team and routing", "policy.reps"),
    ("Team and routing", "policy.routing.discipline"),
    ("Team and routing", "policy.cadence.max_attempts"),
    ("Team and routing", "policy.cadence.spacing"),
    ("World", "scenario.arrivals.leads_per_year"),
    ("World", "scenario.arrivals.spikes.0.multiplier"),
    ("World", "scenario.response.decay"),
)


ACRONYMS = ("icp", "sla", "mql", "sdr")
LABELS = {"arrivals.spikes.0.multiplier": "Campaign spike (arrival-rate multiplier)",
          "mql.fit_min": "Fit minimum (points)", "mql.behaviour_min": "Behaviour minimum (points)",
          "mql.fast_lane.demo_request": "Fast lane for demo requests"}


@dataclass(frozen=True)
class Control:
    """What the page needs to draw one lever."""

    path: str                    # "policy.mql.threshold"
    group: str
    label: str
    widget: str                  # number | integer | select | switch | duration
    help: str
    options: tuple[str, ...] = ()
    lower: float | None = None
    upper: float | None = None

    @property
    def kind(self) -> str:
        return self.path.split(".", 1)[0]

    @property
    def sub(self) -> str:
        """The path inside its file: "mql.threshold"."""
        return self.path.split(".", 1)[1]

    @property
    def range_text(self) -> str:
        if self.lower is None and self.upper is None:
            return ""
        lo = "" if self.lower is None else f"{self.lower:g}"
        hi = "" if self.upper is None else f"{self.upper:g}"
        return f"{lo} to {hi}" if lo and hi else (f"at least {lo}" if lo else f"at most {hi}")


def _models() -> dict[str, type[BaseModel]]:
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    return {"scenario": Scenario, "policy": Policy}


def _field(model: type[BaseModel], keys: list[str]) -> tuple[Any, Any]:
    """(annotation, FieldInfo) at a dotted path; list indices step into the item type."""
    tp: Any = model
    info: Any = None
    for k in keys:
        if k.isdigit():
            args = [a for m in member_types(tp) for a in typing.get_args(m)]
            tp = args[0] if args else Any
            continue
        nxt = next((m for m in member_types(tp) if is_model(m) and k in m.model_fields), None)
        if nxt is None:
            raise KeyError(".".join(keys))
        info = nxt.model_fields[k]
        tp = info.annotation
    return tp, info


def _bounds(info: Any) -> tuple[float | None, float | None]:
    lo = hi = None
    for m in getattr(info, "metadata", []):
        lo = getattr(m, "ge", getattr(m, "gt", lo)) if lo is None else lo
        hi = getattr(m, "le", getattr(m, "lt", hi)) if hi is None else hi
    return lo, hi


def control(group: str, path: str) -> Control:
    kind, _, sub = path.partition(".")
    tp, info = _field(_models()[kind], sub.split("."))
    members = member_types(tp)
    options: tuple[str, ...] = ()
    for m in members:
        if typing.get_origin(m) is typing.Literal:
            options += tuple(str(a) for a in typing.get_args(m))
    if options:
        widget = "select"
    elif bool in members:
        widget = "switch"
    elif Duration in members:
        widget = "duration"
    elif int in members:
        widget = "integer"
    else:
        widget = "number"
    from sim.format import setting_name
    label = setting_name(sub)
    if label == " ".join(sub.split(".")[-2:]).replace("_", " "):        # no plain-words name: the field's
        words = sub.split(".")[-1].split("_")
        label = " ".join(w.upper() if w in ACRONYMS else w for w in words)
        label = label[0].upper() + label[1:]
    else:
        label = label[0].upper() + label[1:]
    label = LABELS.get(sub, label)
    lo, hi = _bounds(info)
    return Control(path, group, label, widget, info.description or "", options, lo, hi)


def controls() -> list[Control]:
    return [control(g, p) for g, p in LEVERS]


def label_of(path: str) -> str:
    """The label of a lever's control ("" for a path that is not a lever)."""
    return next((control(g, p).label for g, p in LEVERS if p == path), "")


def value_at(data: dict[str, Any], sub: str) -> Any:
    """The value at a dotted path of a settings dump (None when absent)."""
    node: Any = data
    for k in sub.split("."):
        if isinstance(node, list) and k.isdigit() and int(k) < len(node):
            node = node[int(k)]
        elif isinstance(node, dict) and k in node:
            node = node[k]
        else:
            return None
    return node
