"""From what the user asked (scenarios, policies, overrides, factors, replications, seed) to the
list of tasks: every input validated up front, so a bad value anywhere in a sweep is refused with
exit 2 before anything runs or is written.

Common random numbers: task (scenario, point, replication r) builds its world from (seed, r), so
every policy and every point meets the same worlds.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from sim.config.loading import ConfigError, apply_overrides, validate_data
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.design import point_sets
from sim.experiment.precision import Precision
from sim.experiment.task import TaskSpec
from sim.inputs import check_size, load_policy, load_scenario, split_sets

MAX_TASKS = 200_000


@dataclass
class Plan:
    """A fully resolved experiment design."""

    name: str
    kind: str                                   # run | compare | sweep | experiment | demo
    scenarios: dict[str, Scenario]              # base scenarios by name (overrides applied, no factors)
    policies: dict[str, Policy]                 # base policies by name
    factors: list[dict]                         # [{"path": ..., "values": [...]}]
    points: list[dict[str, Any]]                # factor values of each point
    replications: int
    seed: int
    tasks: list[TaskSpec] = field(default_factory=list)
    method: str = "grid"
    kpis: list[str] = field(default_factory=list)
    objective: dict | None = None
    precision: Precision | None = None          # run replications in batches until these hold

    @property
    def baseline(self) -> str:
        return next(iter(self.policies))

    @property
    def factor_paths(self) -> list[str]:
        return [f["path"] for f in self.factors]

    @property
    def runs_total(self) -> int:
        return len(self.tasks) * len(self.policies)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for t in self.tasks:
            h.update(t.fingerprint().encode())
        return h.hexdigest()[:16]

    def design(self) -> dict:
        return {"method": self.method, "factors": self.factors,
                "points": [{"point": i, "values": v} for i, v in enumerate(self.points)]}


Source = str | Scenario | Policy


def _materialise(model: type, src: Source, overrides: list[tuple[str, Any]]):
    """A validated model from a name/path or an object, with overrides applied."""
    if isinstance(src, str):
        obj = load_scenario(src, overrides) if model is Scenario else load_policy(src, overrides)
        return obj
    if not isinstance(src, model):
        raise TypeError(f"expected a {model.__name__}, a name or a path, got {type(src).__name__}")
    if not overrides:
        return src
    label = f"{model.__name__.lower()} {src.name!r}"
    data = apply_overrides(src.model_dump(mode="json"), overrides, label, model)
    obj = validate_data(model, data, label, [p for p, _ in overrides])
    if model is Scenario:
        check_size(obj, label)
    return obj


def build_plan(kind: str, name: str, scenarios: list[Source], policies: list[Source], *,
               sets: tuple[str, ...] | list[str] = (), leads: float | None = None, reps: int | None = None,
               days: int | None = None, factors: list[dict] | None = None, points: list[dict] | None = None,
               replications: int = 20, seed: int = 0, method: str = "grid", kpis: list[str] | None = None,
               objective: dict | None = None, events: bool = False, check: bool = False,
               precision: Precision | None = None) -> Plan:
    """Validate everything and list the tasks. Raises ConfigError for any bad input. With
    `precision`, tasks are listed up to its maximum of replications and the runner decides how many
    of them run."""
    if not scenarios:
        raise ConfigError("scenarios", ["no scenario given"])
    if not policies:
        raise ConfigError("--policy", ["no policy given (at least one --policy)"])
    base = split_sets(list(sets), leads, reps, days)
    points = points if points is not None else [{}]
    if precision is not None:
        replications = precision.maximum
    sc_base = {}
    for s in scenarios:
        obj = _materialise(Scenario, s, base.scenario)
        if obj.name in sc_base:
            raise ConfigError("scenarios", [f"scenario name {obj.name!r} appears more than once"])
        sc_base[obj.name] = (s, obj)
    pol_base = {}
    for p in policies:
        obj = _materialise(Policy, p, base.policy)
        if obj.name in pol_base:
            raise ConfigError("--policy", [f"policy names must be unique; {obj.name!r} appears more than once "
                                           "(give each policy file a different `name`)"])
        pol_base[obj.name] = (p, obj)
    n_tasks = len(sc_base) * len(points) * replications
    if n_tasks > MAX_TASKS:
        raise ConfigError("design", [f"{n_tasks:,} worlds to run (scenarios x points x replications); at most "
                                     f"{MAX_TASKS:,}: use fewer points or replications"])
    plan = Plan(name, kind, {k: v for k, (_, v) in sc_base.items()}, {k: v for k, (_, v) in pol_base.items()},
                factors or [], points, replications, seed, method=method, kpis=kpis or [], objective=objective,
                precision=precision)
    for si, (sname, (ssrc, sobj)) in enumerate(sc_base.items()):
        for pi, values in enumerate(points):
            extra = split_sets(point_sets(values)) if values else None
            sc = _materialise(Scenario, ssrc, base.scenario + extra.scenario) if extra and extra.scenario else sobj
            pols = [(_materialise(Policy, psrc, base.policy + extra.policy) if extra and extra.policy else pobj)
                    for psrc, pobj in pol_base.values()]
            sc_dump = sc.model_dump(mode="json")
            pol_dump = tuple(p.model_dump(mode="json") for p in pols)
            for r in range(replications):
                plan.tasks.append(TaskSpec(f"s{si}-p{pi}-r{r}", sname, pi, dict(values), r, seed, sc_dump, pol_dump,
                                           events=events, check=check))
    return plan
