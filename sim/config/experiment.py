"""Experiment files (`experiments/NAME.toml`): the whole design of a study in one file - scenarios x
policies x a grid or Latin hypercube over settings x replications, the seed, the KPIs to show and
an optional objective with constraints for a recommendation."""
from __future__ import annotations

import math
import re
from typing import Any, NotRequired, TypedDict

from pydantic import Field, field_validator, model_validator

from sim.config.base import Strict

# KPI, comparison, bound (a % suffix means hundredths): "sla_compliance_standard>=0.9", "mql_to_sql_rate<=40%"
CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|>|<)\s*([-+0-9.eE]+%?)\s*$")


class DecisionSpec(TypedDict):
    """A swept setting the objective optimises directly (a dotted path) and its direction."""
    path: str
    direction: str            # "max" or "min"


class ObjectiveSpec(TypedDict):
    """An objective as plain data, as the plan and the manifest keep it (Objective.spec())."""
    kpi: str | None
    direction: str            # "max" or "min"
    constraints: list[str]
    decisions: NotRequired[list[DecisionSpec]]
    delta: NotRequired[float | str]


DEFAULT_DELTA = "5%"         # of the largest |mean| of the KPI objective among feasible settings


def parse_delta(text: str | float | None) -> tuple[float, bool]:
    """(value, relative): "5%" -> (0.05, True); "20000" or 20000 -> (20000.0, False)."""
    if text is None:
        text = DEFAULT_DELTA
    if isinstance(text, (int, float)):
        v, rel = float(text), False
    else:
        s = str(text).strip()
        rel = s.endswith("%")
        try:
            v = float(s[:-1]) / 100 if rel else float(s)
        except ValueError:
            raise ValueError(f"--delta {text!r}: give a number in the objective's units or a percentage "
                             "like 5%") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"--delta {text!r}: must be zero or more")
    return v, rel


class LatinHypercube(Strict):
    """Sample `samples` points spread evenly over the ranges (scipy.stats.qmc.LatinHypercube)."""

    samples: int = Field(20, ge=1, le=10_000, description="number of design points")
    ranges: dict[str, tuple[float, float]] = Field(description="dotted path -> [low, high]; integer fields are rounded")

    @field_validator("ranges")
    @classmethod
    def _ordered(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        if not v:
            raise ValueError("give at least one range, e.g. \"mql.threshold\" = [40, 90]")
        bad = [k for k, (lo, hi) in v.items() if not lo < hi]
        if bad:
            raise ValueError(f"low must be below high for {', '.join(bad)}")
        return v


class Objective(Strict):
    """What to recommend: the setting that maximises (or minimises) a KPI and/or swept settings
    (decision variables, written as their dotted path: `minimise = "sales.reps"`) subject to
    constraints. Swept settings are optimised first, in the order given, the KPI breaks ties."""

    maximise: str | list[str] | None = Field(None, description="KPI or swept setting(s) to maximise, e.g. bookings")
    minimise: str | list[str] | None = Field(None, description="KPI or swept setting(s) to minimise, e.g. "
                                                               "cost_per_won or sales.reps")
    subject_to: list[str] = Field(default_factory=list,
                                  description='constraints like "sla_compliance_standard>=0.9" or "mql_to_sql_rate<=40%"')
    delta: float | str | None = Field(None, description='indifference zone: differences in the KPI objective smaller '
                                                        'than this do not matter; a number in its units or "2%" of '
                                                        'its scale (default 5%)')

    @staticmethod
    def _names(v: str | list[str] | None) -> list[str]:
        return [] if v is None else [v] if isinstance(v, str) else list(v)

    @model_validator(mode="after")
    def _one_goal(self) -> "Objective":
        names = [*self._names(self.maximise), *self._names(self.minimise)]
        if not names:
            raise ValueError("give maximise or minimise (a KPI, or a swept setting such as sales.reps)")
        kpis = [n for n in names if "." not in n]
        if len(kpis) > 1:
            raise ValueError(f"exactly one of maximise or minimise can name a KPI (got {', '.join(kpis)}): one KPI "
                             "objective at most; put the others in subject_to (swept settings such as sales.reps "
                             "may be added)")
        if len(set(names)) < len(names):
            raise ValueError("an objective is given twice")
        if isinstance(self.delta, str):
            parse_delta(self.delta)
        elif self.delta is not None and not self.delta >= 0:
            raise ValueError("delta must be zero or more")
        return self

    @field_validator("subject_to")
    @classmethod
    def _constraints(cls, v: list[str]) -> list[str]:
        bad = [c for c in v if not CONSTRAINT.match(c)]
        if bad:
            raise ValueError(f"write each constraint as KPI>=VALUE or KPI<=VALUE (got {', '.join(map(repr, bad))})")
        return v

    @property
    def kpi(self) -> str | None:
        """The KPI objective (a name without a dot), if any."""
        return next((n for n in [*self._names(self.maximise), *self._names(self.minimise)] if "." not in n), None)

    def spec(self) -> ObjectiveSpec:
        """Plain data for the plan and the manifest: the KPI objective and its direction, the
        decision variables (swept settings) in order, the constraints and delta."""
        up = self._names(self.maximise)
        decisions: list[DecisionSpec] = [{"path": n, "direction": "max" if n in up else "min"}
                                         for n in [*up, *self._names(self.minimise)] if "." in n]
        kpi = self.kpi
        out: ObjectiveSpec = {"kpi": kpi, "direction": "max" if kpi is None or kpi in up else "min",
               "constraints": list(self.subject_to)}
        if decisions:
            out["decisions"] = decisions
        if self.delta is not None:
            out["delta"] = self.delta
        return out


class Experiment(Strict):
    """A study: what to run, how often, and what to look at."""

    name: str = Field("experiment", min_length=1, max_length=80, description="used in the output folder name")
    description: str = Field("", description="one line shown by `funnelsim list`")
    scenarios: list[str] = Field(min_length=1, description="scenario names or paths (relative to this file)")
    policies: list[str] = Field(min_length=1, description="policy names or paths; the first is the baseline")
    replications: int = Field(20, ge=1, le=10_000, description="worlds per design point (common to all)")
    seed: int = Field(20260105, ge=0, le=2**63 - 1, description="root random seed")
    set: list[str] = Field(default_factory=list, description='overrides for every run, e.g. ["sales.reps=8"]')
    grid: dict[str, list[Any] | str] = Field(default_factory=dict,
                                        description='full factorial: path -> [values] or "start:stop:step"')
    lhs: LatinHypercube | None = Field(None, description="Latin hypercube instead of a grid")
    kpis: list[str] = Field(default_factory=list, description="KPIs shown in the summary table (all are saved)")
    objective: Objective | None = Field(None, description="recommend the best setting under constraints")

    @model_validator(mode="after")
    def _one_design(self) -> "Experiment":
        if self.grid and self.lhs is not None:
            raise ValueError("use either [grid] or [lhs], not both")
        return self
