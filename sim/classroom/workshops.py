"""The workshop kit (`workshops/NN-name/exercise.toml`): each exercise's starting setting (scenario,
policy, levers, objective, constraint, replications) for the app's one-click start, and the insights
it teaches, each a claim on the model that `measure` checks: the change moves these KPIs up or down,
the paired difference's 95% interval excluding 0 (tests/test_workshops.py).

An insight compares two sides, each a scenario and the exercise's policy with settings changed.
Sides on the same scenario meet the same worlds (common random numbers); sides on two scenarios
(pooling: two teams of three vs one pool of six) meet different worlds, paired by replication
index, which is still a valid paired interval but without the variance reduction.
"""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

EXERCISE_FILE = "exercise.toml"


@dataclass(frozen=True)
class Side:
    """A scenario and a policy (names or paths) and settings changed in the policy (lever -> value)."""

    scenario: str
    policy: str
    settings: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Insight:
    claim: str
    reference: Side
    change: Side
    up: tuple[str, ...]
    down: tuple[str, ...]

    @property
    def common_worlds(self) -> bool:
        """Both sides meet the same worlds (common random numbers)."""
        return self.reference.scenario == self.change.scenario


@dataclass(frozen=True)
class Exercise:
    """One guided exercise (see workshops/README.md)."""

    slug: str                      # folder name, e.g. "01-threshold"
    folder: Path
    title: str
    question: str
    minutes: int
    scenario: str                  # name or path (paths resolved against the folder)
    policy: str
    replications: int
    levers: tuple[str, ...]
    objective: str
    constraint: str | None
    insights: tuple[Insight, ...]


@dataclass(frozen=True)
class Finding:
    """One KPI of one insight, measured: does the change move it the stated way?"""

    insight: Insight
    kpi: str
    direction: str                 # "up" | "down"
    diff: float                    # change minus reference
    lower: float
    upper: float
    n: int

    @property
    def holds(self) -> bool:
        """The 95% interval of the difference excludes 0 on the stated side."""
        if not (math.isfinite(self.lower) and math.isfinite(self.upper)):
            return False
        return self.lower > 0 if self.direction == "up" else self.upper < 0


def workshops_root() -> Path:
    from sim.inputs import PROJECT_ROOT
    return PROJECT_ROOT / "workshops"


def load_exercises(root: Path | None = None) -> list[Exercise]:
    """Every exercise under `root` (default: the project's workshops/), in folder order."""
    root = root or workshops_root()
    return [load_exercise(d) for d in sorted(root.iterdir()) if (d / EXERCISE_FILE).is_file()]


def load_exercise(folder: Path) -> Exercise:
    """Read `folder/exercise.toml`; ValueError naming the file and the field for a bad one."""
    path = folder / EXERCISE_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8"))

    def need(key: str, kind: type) -> Any:
        v = data.get(key)
        if not isinstance(v, kind):
            raise ValueError(f"{path}: {key}: expected {kind.__name__}, got {v!r}")
        return v

    scenario = _place(folder, need("scenario", str))
    policy = _place(folder, need("policy", str))

    def side(raw: Any, where: str) -> Side:
        if not isinstance(raw, dict) or set(raw) - {"scenario", "policy", "settings"}:
            raise ValueError(f"{path}: {where}: expected a table with `scenario`, `policy` and/or `settings`")
        settings = raw.get("settings", {})
        if not isinstance(settings, dict):
            raise ValueError(f"{path}: {where}.settings: expected a table of lever = value")
        sc = _place(folder, str(raw["scenario"])) if "scenario" in raw else scenario
        pol = _place(folder, str(raw["policy"])) if "policy" in raw else policy
        return Side(sc, pol, tuple(settings.items()))

    insights = []
    for i, raw in enumerate(data.get("insight", [])):
        where = f"insight[{i}]"
        up, down = tuple(raw.get("up", [])), tuple(raw.get("down", []))
        if not up and not down:
            raise ValueError(f"{path}: {where}: say which KPIs go `up` or `down`")
        insights.append(Insight(str(raw.get("claim", "")), side(raw.get("reference", {}), f"{where}.reference"),
                                side(raw.get("change", {}), f"{where}.change"), up, down))
    constraint = data.get("constraint")
    return Exercise(folder.name, folder, need("title", str), need("question", str), need("minutes", int), scenario,
                    policy, need("replications", int), tuple(need("levers", list)),
                    str(data.get("objective", "bookings")), str(constraint) if constraint else None, tuple(insights))


def _place(folder: Path, ref: str) -> str:
    """A scenario or policy reference: a name as it is, a `.toml` path relative to the folder."""
    return str(folder / ref) if ref.endswith(".toml") else ref


def side_policy(side: Side, name: str) -> Any:
    """The side's policy with its settings, validated as `--set` would."""
    from sim.inputs import load_policy
    return load_policy(side.policy, [*side.settings, ("name", name)])


def measure(ex: Exercise, seed: int = 20260105) -> list[Finding]:
    """Run every insight of the exercise at its replications and return one Finding per KPI.
    Sides on one scenario run in one experiment (each world generated once for all of them)."""
    import sim
    from sim.measure.stats import columns, difference

    sides = list(dict.fromkeys(s for ins in ex.insights for s in (ins.reference, ins.change)))
    label = {s: f"side{i}" for i, s in enumerate(sides)}
    runs = {}
    for scenario in dict.fromkeys(s.scenario for s in sides):
        mine = [s for s in sides if s.scenario == scenario]
        res = sim.compare(scenario, [side_policy(s, label[s]) for s in mine], replications=ex.replications,
                          seed=seed)
        for s in mine:
            df = res.runs[res.runs["policy"] == label[s]].sort_values("replication")
            runs[s] = columns(df.reset_index(drop=True))
    out = []
    for ins in ex.insights:
        base, other = runs[ins.reference], runs[ins.change]
        for direction, kpis in (("up", ins.up), ("down", ins.down)):
            for k in kpis:
                d = difference(base, other, k)
                out.append(Finding(ins, k, direction, d["diff"], d["lower"], d["upper"], int(d["n"])))
    return out
