"""Where a what-if starts: a scenario of the project (any in scenarios/, including one written by
`calibrate`) with a policy, or a results folder under outputs/ (its scenario and baseline policy,
read from its manifest). The browser only ever picks a key from `start_choices`; keys are checked
again against the project's folders before anything is read.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sim.app.guard import safe_path
from sim.config.errors import ConfigError
from sim.config.policy import Policy
from sim.config.scenario import Scenario

MAX_FOLDERS = 50          # newest results folders offered


@dataclass(frozen=True)
class Choice:
    key: str              # "scenarios/workshop.toml" or "outputs/<folder>"
    label: str


@dataclass
class Start:
    scenario: Scenario
    policy: Policy


def start_choices(root: Path) -> list[Choice]:
    """Scenario files and results folders (with a manifest) inside the project folder `root`."""
    out = []
    sc = root / "scenarios"
    if sc.is_dir():
        out += [Choice(f"scenarios/{f.name}", f"scenario {f.stem}") for f in sorted(sc.glob("*.toml"))]
    res = root / "outputs"
    if res.is_dir():
        folders = sorted((d for d in res.iterdir() if (d / "manifest.json").is_file()),
                         key=lambda d: d.stat().st_mtime, reverse=True)[:MAX_FOLDERS]
        out += [Choice(f"outputs/{d.name}", f"results {d.name}") for d in folders]
    return out


def load_start(key: str, root: Path, policy: str | Policy = "seed-example") -> Start:
    """The scenario and policy a choice stands for; ConfigError for anything outside the project's
    folders or not a scenario file / results folder. A scenario file comes with `policy` (a policy
    the page has now, or the name of one in policies/); a results folder with its baseline policy."""
    from sim.config.loading import load_model
    from sim.inputs import load_policy
    path = safe_path(key, root, ("scenarios", "outputs"))
    if path.suffix == ".toml" and path.parent.name == "scenarios":
        return Start(load_model(Scenario, path), policy if isinstance(policy, Policy) else load_policy(policy, []))
    manifest = path / "manifest.json"
    if not manifest.is_file():
        raise ConfigError(key, ["not a scenario file or a results folder (no manifest.json)"])
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        scenario = Scenario.model_validate(next(iter(data["scenarios"].values())))
        pol = Policy.model_validate(data["policies"][data.get("baseline") or next(iter(data["policies"]))])
    except (OSError, ValueError, KeyError, StopIteration, TypeError) as e:
        raise ConfigError(key, [f"cannot read the results folder's manifest: {e}"]) from None
    return Start(scenario, pol)
