"""Finding scenario and policy files by name or path, and routing command-line overrides
(`--set`, `--leads`, `--reps`, `--days`) to the right file. Interface layer: reads files only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from sim.config.loading import ConfigError, load_model, parse_value, read_toml
from sim.config.paths import route
from sim.config.policy import Policy
from sim.config.scenario import Scenario

if TYPE_CHECKING:
    from sim.config.experiment import Experiment

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
    """Command-line changes to the files, validated like the files themselves. `team` is `--reps`:
    the scenario's sales.reps, and the headcount of every policy that decides its own (kept apart
    from `policy` overrides so that `--set policy.reps=3` always applies)."""

    scenario: list[tuple[str, Any]] = field(default_factory=list)
    policy: list[tuple[str, Any]] = field(default_factory=list)
    team: int | None = None


def split_override(item: str, src: str) -> tuple[str, Any]:
    """`PATH=VALUE` -> (path, parsed TOML value), or ConfigError."""
    if "=" not in item:
        raise ConfigError(src, ["expected PATH=VALUE, e.g. --set sales.reps=8"])
    path, raw = item.split("=", 1)
    path, raw = path.strip(), raw.strip()
    if not path:
        raise ConfigError(src, ["the path before '=' is empty (e.g. --set sales.reps=8)"])
    if not raw:
        raise ConfigError(src, [f"no value after '='; write e.g. --set {path}=8 (quote text: '{path}=\"x\"')"])
    return path, parse_value(raw)


def split_sets(sets: list[str], leads: float | None = None, reps: int | None = None,
               days: int | None = None) -> Overrides:
    """Route each `--set path=value` to the scenario or the policies (sim.config.paths.route: prefix
    `scenario.` or `policy.` to be explicit; a path either file could mean is refused). Paths are
    checked against the schema here, values when the files are validated."""
    o = Overrides()
    for item in sets:
        src = f"--set {item}"
        path, value = split_override(item, src)
        kind, sub = route(path, src)
        (o.scenario if kind == "scenario" else o.policy).append((sub, value))
    if leads is not None:
        o.scenario.append(("arrivals.leads_per_year", leads))
    if reps is not None:
        o.scenario.append(("sales.reps", reps))
        o.team = reps
    if days is not None:
        o.scenario.append(("horizon.window", f"{days}d"))
    return o


# ---- policy variants: `-p 'seed-example@mql.threshold=70@name="strict"'` ---------------------

@dataclass(frozen=True)
class Variant:
    """A policy named by `BASE@PATH=VALUE@...`: the base policy (name or path) with overrides.
    `label` is what results show: the `name` override if given, else the spec as written."""

    spec: str
    base: str
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def name(self) -> str | None:
        return next((v for k, v in reversed(self.overrides) if k == "name"), None)

    @property
    def label(self) -> str:
        return str(self.name) if self.name is not None else self.spec


def split_at(spec: str) -> list[str]:
    """Split on `@` outside quotes and brackets (a value may be `"a@b"` or `[..]`)."""
    parts: list[str] = []
    cur: list[str] = []
    quote: str | None = None
    depth, i = 0, 0
    while i < len(spec):
        c = spec[i]
        if quote:
            if c == "\\" and quote == '"' and i + 1 < len(spec):
                cur.append(c + spec[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(depth - 1, 0)
        elif c == "@" and depth == 0:
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    parts.append("".join(cur))
    return parts


def is_variant(spec: str) -> bool:
    return isinstance(spec, str) and "@" in spec and not Path(spec).is_file() and len(split_at(spec)) > 1


def parse_variant(spec: str) -> Variant:
    """`BASE@PATH=VALUE@...`: every path checked against the policy schema (ConfigError otherwise)."""
    spec = spec.strip()
    base, *items = (p.strip() for p in split_at(spec))
    src = f"--policy {spec}"
    if not base:
        raise ConfigError(src, ["no policy before '@'; write e.g. seed-example@mql.threshold=70"])
    overrides = []
    for item in items:
        if "=" not in item:
            raise ConfigError(src, [f"{item!r}: expected PATH=VALUE after '@', e.g. seed-example@mql.threshold=70"])
        path, value = split_override(item, src)
        _, sub = route(path, src, only="policy")
        overrides.append((sub, value))
    return Variant(spec, base, tuple(overrides))


def load_scenario(name_or_path: str, overrides: list[tuple[str, Any]] | None = None) -> Scenario:
    path = resolve("scenarios", name_or_path)
    sc = load_model(Scenario, path, overrides)
    check_size(sc, str(path))
    return sc


def load_policy(name_or_path: str, overrides: list[tuple[str, Any]] | None = None) -> Policy:
    """A policy file, or a variant `BASE@PATH=VALUE...` (overrides after the variant's; the
    variant's label becomes its name)."""
    if is_variant(name_or_path):
        v = parse_variant(name_or_path)
        pol = load_variant(v, overrides or [])
        return pol
    path = resolve("policies", name_or_path)
    return load_model(Policy, path, overrides)


def load_variant(v: Variant, before: list[tuple[str, Any]], after: Sequence[tuple[str, Any]] = ()) -> Policy:
    """The variant's base with `before` (e.g. --set), its own overrides, then `after` (e.g. a
    sweep point); problems in the variant's overrides are blamed on the variant."""
    path = resolve("policies", v.base)
    own = [p for p, _ in v.overrides]
    try:
        pol = load_model(Policy, path, [*before, *v.overrides, *after])
    except ConfigError as e:
        where = e.source.removeprefix("--set ").split(" (on ", 1)[0]
        if not e.source.startswith("--set ") or not any(p in where.split(", ") for p in own):
            raise
        single = "," not in where
        raise ConfigError(f"--policy {v.spec}", [f"{where}: {p}" if single and not p.startswith(where) else p
                                                 for p in e.problems]) from None
    return pol.model_copy(update={"name": v.label})


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
    looked up as usual (a policy variant's base likewise)."""
    if is_variant(ref):
        head, _, rest = ref.partition("@")
        return relative_to(base, head) + "@" + rest
    if ref.endswith(".toml") or "/" in ref:
        p = Path(ref)
        return str(p if p.is_absolute() else base / p)
    return ref


def load_experiment(path: Path) -> Experiment:
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
