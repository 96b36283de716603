"""Finding scenario and policy files by name or path, and routing command-line overrides
(`--set`, `--leads`, `--reps`, `--days`) to the right file. Interface layer: reads files only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.config.loading import ConfigError, apply_overrides, parse_value, read_toml, validate_data
from sim.config.policy import Policy
from sim.config.scenario import Scenario

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def search_dirs(kind: str) -> list[Path]:
    """Where names are looked up: ./<kind>/ first, then the project's own folder."""
    dirs = [Path.cwd() / kind, PROJECT_ROOT / kind]
    return list(dict.fromkeys(d.resolve() for d in dirs if d.is_dir()))


def resolve(kind: str, name_or_path: str) -> Path:
    """A path as given, or a name found as <kind>/<name>.toml."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists() or "/" in name_or_path:
        return p
    for d in search_dirs(kind):
        cand = d / f"{name_or_path}.toml"
        if cand.exists():
            return cand
    known = sorted({f.stem for d in search_dirs(kind) for f in d.glob("*.toml")})
    raise ConfigError(name_or_path, [f"no {kind[:-1]} named {name_or_path!r}; known: {', '.join(known) or 'none'}"])


def list_files(kind: str) -> list[tuple[str, Path, str]]:
    """(name, path, one-line description) for every TOML file of a kind."""
    out = []
    seen = set()
    for d in search_dirs(kind):
        for f in sorted(d.glob("*.toml")):
            if f.stem in seen:
                continue
            seen.add(f.stem)
            try:
                desc = str(read_toml(f).get("description", ""))
            except ConfigError as e:
                desc = f"(unreadable: {e.problems[0]})"
            out.append((f.stem, f, desc))
    return out


@dataclass
class Overrides:
    """Command-line changes to the files, validated like the files themselves."""

    scenario: list[tuple[str, Any]]
    policy: list[tuple[str, Any]]


SCENARIO_KEYS = set(Scenario.model_fields)
POLICY_KEYS = set(Policy.model_fields)


def split_sets(sets: list[str], leads: float | None = None, reps: int | None = None,
               days: int | None = None) -> Overrides:
    """Route each `--set path=value` to the scenario or the policies by its first key (prefix
    `scenario.` or `policy.` to be explicit)."""
    o = Overrides([], [])
    for item in sets:
        if "=" not in item:
            raise ConfigError("--set", [f"{item!r}: expected path=value, e.g. --set sales.reps=8"])
        path, raw = item.split("=", 1)
        path, value = path.strip(), parse_value(raw.strip())
        head, _, rest = path.partition(".")
        if head == "scenario" and rest:
            o.scenario.append((rest, value))
        elif head == "policy" and rest:
            o.policy.append((rest, value))
        elif head in SCENARIO_KEYS - {"name", "description"}:
            o.scenario.append((path, value))
        elif head in POLICY_KEYS - {"name", "description"}:
            o.policy.append((path, value))
        else:
            raise ConfigError("--set", [f"{path}: unknown field; scenario sections are "
                                        f"{', '.join(sorted(SCENARIO_KEYS))}; policy sections are "
                                        f"{', '.join(sorted(POLICY_KEYS))} (prefix with scenario. or policy.)"])
    if leads is not None:
        o.scenario.append(("arrivals.leads_per_year", leads))
    if reps is not None:
        o.scenario.append(("sales.reps", reps))
        o.policy.append(("reps", reps))
    if days is not None:
        o.scenario.append(("horizon.window", f"{days}d"))
    return o


def load_scenario(name_or_path: str, overrides: list[tuple[str, Any]] | None = None) -> Scenario:
    path = resolve("scenarios", name_or_path)
    data = read_toml(path)
    data.setdefault("name", path.stem)
    return validate_data(Scenario, apply_overrides(data, overrides or [], str(path)), str(path))


def load_policy(name_or_path: str, overrides: list[tuple[str, Any]] | None = None) -> Policy:
    path = resolve("policies", name_or_path)
    data = read_toml(path)
    data.setdefault("name", path.stem)
    if overrides and any(k == "reps" for k, _ in overrides) and data.get("reps") is None:
        overrides = [(k, v) for k, v in overrides if k != "reps"]  # --reps: the scenario's team unless the policy sets one
    return validate_data(Policy, apply_overrides(data, overrides or [], str(path)), str(path))
