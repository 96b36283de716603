"""Exporting the app's current setting: scenario and policy TOML files that `funnelsim validate`
accepts as they are, and a normal results folder (report.html included) made by the normal runner
with normal replications, under outputs/.
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.crm.tomlout import dumps

OUTPUTS = "outputs"


def _drop_none(v: Any) -> Any:
    """TOML has no null: a field left out takes its default, which is what None means here."""
    if isinstance(v, dict):
        return {k: _drop_none(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [_drop_none(x) for x in v]
    return v


def toml_text(obj: BaseModel, kind: str) -> str:
    """The setting as a TOML file of its kind (read back and validated before it is returned)."""
    import tomllib

    from sim.config.messages import validate_data
    head = f"# {kind} exported from `funnelsim app` on {dt.date.today().isoformat()}\n"
    text = head + dumps(_drop_none(obj.model_dump(mode="json")))
    validate_data(type(obj), tomllib.loads(text), f"exported {kind}")
    return text


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "setting"


def stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")


def write_toml(obj: BaseModel, kind: str, root: Path, name: str) -> Path:
    """outputs/app-exports/<name>-<time>.toml; the path written."""
    folder = root / OUTPUTS / "app-exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{slug(name)}-{kind}-{stamp()}.toml"
    path.write_text(toml_text(obj, kind), encoding="utf-8")
    return path


def results_folder(scenario: dict[str, Any], reference: dict[str, Any], changed: dict[str, Any],
                   replications: int, seed: int, out: str) -> str:
    """Run the reference and the changed policy on `replications` worlds of the scenario with the
    normal runner and write the results folder with its report (top-level: runs in a worker)."""
    from sim.commands.experiment import report_hook
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.experiment.execution import run_plan
    from sim.experiment.task_plan import build_plan
    sc = Scenario.model_validate(scenario)
    pols: list[str | Scenario | Policy] = [Policy.model_validate(reference), Policy.model_validate(changed)]
    plan = build_plan("compare", f"app-{sc.name}", [sc], pols, replications=replications, seed=seed)
    outcome = run_plan(plan, Path(out), command=["funnelsim", "app"], on_finished=report_hook)
    if outcome.errors:
        raise RuntimeError(f"{outcome.errors[0]['task']}: {outcome.errors[0]['error']}")
    return out
