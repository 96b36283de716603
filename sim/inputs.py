"""Finding scenario and policy files by name or path, and routing command-line overrides
(`--set`, `--leads`, `--reps`, `--days`) to the right file. Interface layer: reads files only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.config.loading import ConfigError, check_path, kind_of, load_model, parse_value, read_toml
from sim.config.policy import Policy
from sim.config.scenario import Scenario

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("scenarios", "policies")
SINGULAR = {"scenarios": "scenario", "policies": "policy", "experiments": "experiment"}
MAX_LEADS_PER_WORLD = 10_000_000   # ~1 kB of memory per lead; the engine was measured up to 10M


def search_dirs(kind: str) -> list[Path]:
    """Where names are looked up: ./<kind>/ first, then the project's own folder."""
    dirs = [Path.cwd() / kind, PROJECT_ROOT / kind]
    return list(dict.fromkeys(d.resolve() for d in dirs if d.is_dir()))


def known_names(kind: str) -> list[str]:
    return sorted({f.stem for d in search_dirs(kind) for f in d.glob("*.toml")})


def _by_name(kind: str, name: str) -> Path | None:
    for d in search_dirs(kind):
        cand = d / f"{name}.toml"
        if cand.is_file():
            return cand
    return None


def _looks_like_path(text: str) -> bool:
    return text.endswith(".toml") or "/" in text or "\\" in text or text.startswith(".")


def resolve(kind: str, name_or_path: str) -> Path:
    """A path as given (if it exists or looks like a path), or a name found as <kind>/<name>.toml.
    `baseline.toml` that is not in the current folder is also looked up by name."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    if not name_or_path.strip():
        raise ConfigError(repr(name_or_path), [f"empty {SINGULAR[kind]} name"])
    if not _looks_like_path(name_or_path):
        found = _by_name(kind, name_or_path)
        if found:
            return found
        if p.exists():          # e.g. a directory of that name: read_toml says what is wrong
            return p
        known = known_names(kind)
        raise ConfigError(name_or_path, [f"no {SINGULAR[kind]} named {name_or_path!r}; known: {', '.join(known) or 'none'}"
                                         " (or give a path to a .toml file)"])
    if p.suffix == ".toml" and p.parent == Path(".") and not p.exists():
        found = _by_name(kind, p.stem)
        if found:
            return found
    return p


def find_any(name_or_path: str) -> Path:
    """For `validate`: a path, or a name of a scenario or a policy."""
    p = Path(name_or_path)
    if p.exists() or _looks_like_path(name_or_path):
        if not p.exists() and p.suffix == ".toml" and p.parent == Path("."):
            for kind in KINDS:
                found = _by_name(kind, p.stem)
                if found:
                    return found
        return p
    for kind in KINDS:
        found = _by_name(kind, name_or_path)
        if found:
            return found
    known = ", ".join(known_names("scenarios") + known_names("policies"))
    raise ConfigError(name_or_path, [f"no file, scenario or policy named {name_or_path!r}; known: {known or 'none'}"])


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
            out.append((f.stem, f, " ".join(desc.split())))
    return out


@dataclass
class Overrides:
    """Command-line changes to the files, validated like the files themselves."""

    scenario: list[tuple[str, Any]] = field(default_factory=list)
    policy: list[tuple[str, Any]] = field(default_factory=list)


SCENARIO_KEYS = set(Scenario.model_fields)
POLICY_KEYS = set(Policy.model_fields)
SHARED_KEYS = SCENARIO_KEYS & POLICY_KEYS


def split_sets(sets: list[str], leads: float | None = None, reps: int | None = None,
               days: int | None = None) -> Overrides:
    """Route each `--set path=value` to the scenario or the policies by its first key (prefix
    `scenario.` or `policy.` to be explicit). Paths are checked against the schema here, values
    when the files are validated."""
    o = Overrides()
    for item in sets:
        if "=" not in item:
            raise ConfigError(f"--set {item}", ["expected PATH=VALUE, e.g. --set sales.reps=8"])
        path, raw = item.split("=", 1)
        path, raw = path.strip(), raw.strip()
        src = f"--set {item}"
        if not path:
            raise ConfigError(src, ["the path before '=' is empty (e.g. --set sales.reps=8)"])
        if not raw:
            raise ConfigError(src, [f"no value after '='; write e.g. --set {path}=8 (quote text: '{path}=\"x\"')"])
        value = parse_value(raw)
        head, dot, rest = path.partition(".")
        if head in ("scenario", "policy"):
            if not dot or not rest:
                raise ConfigError(src, [f"nothing after '{head}.'; write e.g. --set "
                                        f"{'scenario.sales.reps=8' if head == 'scenario' else 'policy.mql.threshold=70'}"])
            target, model, sub = (o.scenario, Scenario, rest) if head == "scenario" else (o.policy, Policy, rest)
        elif head in SHARED_KEYS:
            raise ConfigError(src, [f"{head!r} is a field of both the scenario and the policies; "
                                    f"write scenario.{path} or policy.{path}"])
        elif head in SCENARIO_KEYS:
            target, model, sub = o.scenario, Scenario, path
        elif head in POLICY_KEYS:
            target, model, sub = o.policy, Policy, path
        else:
            import difflib
            close = difflib.get_close_matches(head, sorted(SCENARIO_KEYS | POLICY_KEYS), 1, 0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(src, [f"{head!r} is not a section of the scenario or the policy; {hint}"
                                    f"scenario: {', '.join(sorted(SCENARIO_KEYS - SHARED_KEYS))}; "
                                    f"policy: {', '.join(sorted(POLICY_KEYS - SHARED_KEYS))}"])
        try:
            check_path(model, sub)
        except ConfigError as e:
            raise ConfigError(src, e.problems) from None
        target.append((sub, value))
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
    sc = load_model(Scenario, path, overrides)
    check_size(sc, str(path))
    return sc


def load_policy(name_or_path: str, overrides: list[tuple[str, Any]] | None = None) -> Policy:
    path = resolve("policies", name_or_path)
    if overrides and any(k == "reps" for k, _ in overrides):
        # --reps: the scenario's team, unless the policy decides its own headcount
        data = read_toml(path)
        if data.get("reps") is None:
            overrides = [(k, v) for k, v in overrides if k != "reps"]
    return load_model(Policy, path, overrides)


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


def expected_leads(sc: Scenario) -> float:
    """About how many leads one world of this scenario holds (warm-up + window + run-out)."""
    days = (sc.horizon.warmup.minutes + sc.horizon.window.minutes + sc.horizon.runout.minutes) / 1440.0
    per_day = sc.arrivals.leads_per_year / 365.0
    mix = sc.arrivals.channel_mix
    total = sum(mix.values()) or 1.0
    extra = 0.0
    for s in sc.arrivals.spikes:
        share = mix.get(s.channel, 0.0) / total if s.channel else 1.0
        extra += (s.multiplier - 1.0) * (s.duration.minutes / 1440.0) * share
    return per_day * (days + max(extra, 0.0))


def check_size(sc: Scenario, source: str) -> None:
    """Refuse worlds too large to hold in memory, before anything runs."""
    n = expected_leads(sc)
    if n > MAX_LEADS_PER_WORLD:
        raise ConfigError(source, [f"arrivals.leads_per_year x horizon: one world would hold about {n:,.0f} leads; "
                                   f"the limit is {MAX_LEADS_PER_WORLD:,} (lower arrivals.leads_per_year "
                                   "or shorten the horizon)"])


def relative_to(base: Path, ref: str) -> str:
    """A scenario or policy named in an experiment file: paths are relative to the file, names are
    looked up as usual."""
    if ref.endswith(".toml") or "/" in ref:
        p = Path(ref)
        return str(p if p.is_absolute() else base / p)
    return ref


def load_experiment(path: Path):
    """An experiment file, validated, with every scenario and policy it names found and valid."""
    from sim.config.experiment import Experiment
    ex = load_model(Experiment, path)
    for kind, refs in (("scenarios", ex.scenarios), ("policies", ex.policies)):
        for ref in refs:
            target = relative_to(path.parent, ref)
            try:
                load_scenario(target) if kind == "scenarios" else load_policy(target)
            except ConfigError as e:
                raise ConfigError(str(path), [f"{kind}: {ref!r}: {p}" for p in e.problems]) from None
    return ex
