"""From what the user asked (scenarios, policies, overrides, factors, replications, seed) to the
list of tasks: every input validated up front, so a bad value anywhere in a sweep is refused with
exit 2 before anything runs or is written.

Common random numbers: task (scenario, point, replication r) builds its world from (seed, r), so
every policy and every point meets the same worlds.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Sequence, overload

from sim.config.accounts import pair_problems
from sim.config.experiment import ObjectiveSpec
from sim.config.loading import ConfigError, apply_overrides, validate_data
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.design import point_sets, policy_labels
from sim.experiment.precision import Precision
from sim.experiment.world_task import TaskSpec
from sim.inputs import (
    Variant,
    check_size,
    is_variant,
    load_policy,
    load_scenario,
    load_variant,
    parse_variant,
    resolve,
    split_sets,
)

MAX_TASKS = 200_000


@dataclass
class Plan:
    """A fully resolved experiment design."""

    name: str
    kind: str                                   # run | compare | sweep | experiment | demo
    scenarios: dict[str, Scenario]              # base scenarios by name (overrides applied, no factors)
    policies: dict[str, Policy]                 # base policies by name
    factors: list[dict[str, Any]]               # [{"path": ..., "values": [...]}]
    points: list[dict[str, Any]]                # factor values of each point
    replications: int
    seed: int
    tasks: list[TaskSpec] = field(default_factory=list)
    method: str = "grid"
    kpis: list[str] = field(default_factory=list)
    objective: ObjectiveSpec | None = None
    precision: Precision | None = None          # run replications in batches until these hold
    warnings: list[str] = field(default_factory=list)   # valid but probably not meant (sim.config.warnings)

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

    def design(self) -> dict[str, Any]:
        return {"method": self.method, "factors": self.factors,
                "points": [{"point": i, "values": v} for i, v in enumerate(self.points)]}


Source = str | Scenario | Policy


@overload
def _materialise(model: type[Scenario], src: Source, overrides: list[tuple[str, Any]]) -> Scenario: ...
@overload
def _materialise(model: type[Policy], src: Source, overrides: list[tuple[str, Any]]) -> Policy: ...
def _materialise(model: type[Scenario] | type[Policy], src: Source,
                 overrides: list[tuple[str, Any]]) -> Scenario | Policy:
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
    if isinstance(obj, Scenario):
        check_size(obj, label)
    return obj


@dataclass(frozen=True)
class PolicyEntry:
    """One `--policy`: a name or path, a variant `BASE@PATH=VALUE...`, or a Policy object."""

    src: Source
    variant: Variant | None = None

    @classmethod
    def of(cls, src: Source) -> "PolicyEntry":
        if isinstance(src, str) and is_variant(src):
            return cls(src, parse_variant(src))
        return cls(src)

    @property
    def source(self) -> str:
        """Where the policy comes from, as warnings and errors name it."""
        if self.variant is not None:
            return self.variant.spec
        return str(resolve("policies", self.src)) if isinstance(self.src, str) else f"policy {self.src.name!r}"

    def label_parts(self, obj: Policy) -> tuple[str | None, str, str | None]:
        """(fixed label, name, file stem) for design.policy_labels."""
        if self.variant is not None:
            return self.variant.label, obj.name, None
        if isinstance(self.src, str):
            return None, obj.name, resolve("policies", self.src).stem
        return obj.name, obj.name, None

    def make(self, before: list[tuple[str, Any]], after: list[tuple[str, Any]], team: int | None,
             label: str | None = None) -> Policy:
        """The policy with --set (`before`), its variant overrides, a point's settings (`after`) and
        --reps (`team`: only for a policy that decides its own headcount)."""
        if self.variant is not None:
            obj = load_variant(self.variant, before, after)
        else:
            obj = _materialise(Policy, self.src, before + after)
        if team is not None and obj.reps is not None and obj.reps != team:
            obj = validate_data(Policy, {**obj.model_dump(mode="json"), "reps": team}, "--reps", ["reps"])
        if label is not None and obj.name != label:
            obj = obj.model_copy(update={"name": label})
        return obj


def build_plan(kind: str, name: str, scenarios: Sequence[Source], policies: Sequence[Source], *,
               sets: Sequence[str] = (), leads: float | None = None, reps: int | None = None,
               days: int | None = None, factors: list[dict[str, Any]] | None = None, points: list[dict[str, Any]] | None = None,
               replications: int = 20, seed: int = 0, method: str = "grid", kpis: list[str] | None = None,
               objective: ObjectiveSpec | None = None, events: bool = False, check: bool = False,
               precision: Precision | None = None) -> Plan:
    """Validate everything and list the tasks. Raises ConfigError for any bad input. Policies are
    labelled by design.policy_labels; `plan.warnings` lists what is valid but probably not meant.
    With `precision`, tasks are listed up to its maximum of replications and the runner decides how
    many of them run."""
    from sim.config.warnings import plan_warnings
    from sim.world.stream import streaming_applies
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
    entries = [PolicyEntry.of(p) for p in policies]
    objs = [e.make(base.policy, [], base.team) for e in entries]
    labels = policy_labels([e.label_parts(o) for e, o in zip(entries, objs)])
    pol_base = {lb: (e, o if o.name == lb else o.model_copy(update={"name": lb}))
                for lb, e, o in zip(labels, entries, objs)}
    for sname, (_, sobj) in sc_base.items():   # an account rule no account of the market could meet
        for lb, (_, pobj) in pol_base.items():
            problems = pair_problems(sobj.accounts, pobj.mql.unit, pobj.mql.account)
            if problems:
                raise ConfigError(f"policy {lb!r} on scenario {sname!r}", problems)
    n_tasks = len(sc_base) * len(points) * replications
    if n_tasks > MAX_TASKS:
        raise ConfigError("design", [f"{n_tasks:,} worlds to run (scenarios x points x replications); at most "
                                     f"{MAX_TASKS:,}: use fewer points or replications"])
    plan = Plan(name, kind, {k: v for k, (_, v) in sc_base.items()}, {k: v for k, (_, v) in pol_base.items()},
                factors or [], points, replications, seed, method=method, kpis=kpis or [], objective=objective,
                precision=precision)
    plan.warnings = plan_warnings([(_source(s), o) for s, o in sc_base.values()],
                                  [(lb, e.source, o) for lb, (e, o) in pol_base.items()])
    streamed: dict[bool, list[str]] = {}       # how each (scenario, point)'s world is drawn
    for si, (sname, (ssrc, sobj)) in enumerate(sc_base.items()):
        for pi, values in enumerate(points):
            extra = split_sets(point_sets(values)) if values else None
            sc = _materialise(Scenario, ssrc, base.scenario + extra.scenario) if extra and extra.scenario else sobj
            streamed.setdefault(streaming_applies(sc), []).append(f"{sname} point {pi}" if values else sname)
            pols = [(e.make(base.policy, extra.policy, base.team, lb) if extra and extra.policy else pobj)
                    for lb, (e, pobj) in pol_base.items()]
            sc_dump = sc.model_dump(mode="json")
            pol_dump = tuple(p.model_dump(mode="json") for p in pols)
            for r in range(replications):
                plan.tasks.append(TaskSpec(f"s{si}-p{pi}-r{r}", sname, pi, dict(values), r, seed, sc_dump, pol_dump,
                                           events=events, check=check))
    if len(streamed) == 2:
        plan.warnings.append(
            f"stream: the design's worlds are drawn two ways: {', '.join(streamed[True][:3])}"
            f"{' ...' if len(streamed[True]) > 3 else ''} streamed (stream.mode, auto from stream.auto_leads expected "
            f"leads), {', '.join(streamed[False][:3])}{' ...' if len(streamed[False]) > 3 else ''} whole: their "
            "results pair less well (common random numbers); set stream.mode = \"on\" or \"off\" in the scenario so "
            "every world is drawn the same way")
    return plan


def _source(src: Source) -> str:
    return str(resolve("scenarios", src)) if isinstance(src, str) else f"scenario {src.name!r}"
