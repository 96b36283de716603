"""What `funnelsim validate` does with one file: guess its kind (scenario, policy, experiment or CRM
mapping), validate it, and list what is valid but probably not meant. Interface layer: it may use
the experiment planner (an experiment file gets the same checks as running it)."""
from __future__ import annotations

from pathlib import Path

from sim.config.loading import kind_of, read_toml
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.inputs import Overrides, load_experiment, load_policy, load_scenario, relative_to


def load_file(path: Path, overrides: Overrides | None = None) -> tuple[str, object]:
    """For `validate`: read a file, guess its kind (scenario, policy, experiment or CRM mapping),
    apply the matching overrides and validate it."""
    data = read_toml(path)
    if isinstance(data.get("scenarios"), list) or isinstance(data.get("policies"), list):
        return "experiment", load_experiment(path)
    if isinstance(data.get("leads"), dict):
        from sim.crm.mapping import load_mapping
        return "mapping", load_mapping(path)
    kind = kind_of(data)
    if kind == "policy":
        return kind, load_policy(str(path), overrides.policy if overrides else None)
    return kind, load_scenario(str(path), overrides.scenario if overrides else None)


def file_warnings(kind: str, obj: object, source: str) -> list[str]:
    """For `validate`: what is valid but probably not meant in one file (sim.config.warnings). A
    policy alone is checked against the default calendar; an experiment, its scenarios x policies."""
    from sim.config import warnings as w
    from sim.config.experiment import Experiment
    if kind == "scenario" and isinstance(obj, Scenario):
        return w.scenario_warnings(obj, source)
    if kind in ("policy", "policy variant") and isinstance(obj, Policy):
        return w.policy_warnings(obj, source)
    if kind != "experiment" or not isinstance(obj, Experiment):
        return []
    from sim.experiment.task_plan import build_plan  # the same checks as running it (its `set` applied)
    base = Path(source).parent
    plan = build_plan("experiment", obj.name, [relative_to(base, s) for s in obj.scenarios],
                      [relative_to(base, p) for p in obj.policies], sets=obj.set, replications=1)
    return plan.warnings
