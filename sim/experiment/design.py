"""Experimental designs: which settings each point of a sweep uses.

A factor is a dotted path as in `--set` (`mql.threshold`, `sales.reps`, `scenario.response.decay`)
with its values. A full factorial grid takes every combination; a Latin hypercube
(`scipy.stats.qmc`) samples ranges when a grid would be too large. Every point is run on the same
replications (same worlds), so differences between points are paired too.
"""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.config.loading import ConfigError, parse_value
from sim.config.paths import route
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.config.schema_walk import child_type, member_types
from sim.inputs import split_sets

MAX_POINTS = 10_000


@dataclass(frozen=True)
class Factor:
    """One swept setting and the values it takes."""

    path: str
    values: tuple[Any, ...]


def _number(text: str, src: str) -> float | int:
    v = parse_value(text)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(src, [f"{text!r} is not a number (write e.g. 40:90:5 or 4,6,8)"])
    return v


def parse_range(path: str, spec: str, src: str) -> tuple[Any, ...]:
    """`40:90:5` (start:stop:step, stop included when on the grid) or `4,6,8` or a single value."""
    spec = spec.strip()
    if ":" in spec:
        parts = spec.split(":")
        if len(parts) != 3:
            raise ConfigError(src, ["a range is START:STOP:STEP, e.g. mql.threshold=40:90:5"])
        a, b, step = (_number(p, src) for p in parts)
        if step <= 0:
            raise ConfigError(src, [f"the step must be > 0, got {step}"])
        if b < a:
            raise ConfigError(src, [f"STOP ({b}) is below START ({a})"])
        n = int(math.floor((b - a) / step + 1e-9)) + 1
        if n > MAX_POINTS:
            raise ConfigError(src, [f"{n:,} values; at most {MAX_POINTS:,} (use a larger step)"])
        vals = [a + i * step for i in range(n)]
        if all(isinstance(x, int) for x in (a, b, step)):
            return tuple(int(v) for v in vals)
        return tuple(round(v, 10) for v in vals)
    items = [s for s in (x.strip() for x in spec.split(",")) if s]
    if not items:
        raise ConfigError(src, ["no values after '=' (write e.g. sales.reps=4,6,8)"])
    return tuple(parse_value(x) for x in items)


def parse_vary(item: str) -> Factor:
    """A `--vary PATH=VALUES` option."""
    src = f"--vary {item}"
    if "=" not in item:
        raise ConfigError(src, ["expected PATH=VALUES, e.g. --vary mql.threshold=40:90:5 or --vary sales.reps=4,6,8"])
    path, spec = (s.strip() for s in item.split("=", 1))
    return factor(path, spec, src)


def factor(path: str, values: str | list[Any] | tuple[Any, ...], src: str) -> Factor:
    """A factor from its dotted path and its values as written: "start:stop:step" / "a,b,c" text,
    or a list. The path is checked against the schema like --set."""
    check_factor_path(path, src)
    return Factor(path, parse_range(path, values, src) if isinstance(values, str) else tuple(values))


def manifest_factors(factors: list[Factor]) -> list[dict[str, Any]]:
    """Factors as plain data, the form a Plan and the manifest keep."""
    return [{"path": f.path, "values": list(f.values)} for f in factors]


def check_factor_path(path: str, src: str) -> None:
    """The path must be a field of the scenario or the policy (same rules as --set)."""
    try:
        split_sets([f"{path}=0"])
    except ConfigError as e:
        raise ConfigError(src, e.problems) from None


def _leaf_type(path: str) -> Any:
    """The annotation of the field a path points at (to round Latin-hypercube samples of integer fields)."""
    kind, rest = route(path, f"lhs.ranges.{path}")       # the same routing as --set
    tp: Any = Scenario if kind == "scenario" else Policy
    for k in rest.split("."):
        tp = child_type(tp, k)
    return tp


def grid(factors: list[Factor]) -> list[dict[str, Any]]:
    """Full factorial: every combination, the first factor varying slowest."""
    if not factors:
        return [{}]
    n = math.prod(len(f.values) for f in factors)
    if n > MAX_POINTS:
        raise ConfigError("--vary", [f"the grid has {n:,} points; at most {MAX_POINTS:,} (fewer values, or a "
                                     "Latin hypercube in an experiment file)"])
    paths = [f.path for f in factors]
    return [dict(zip(paths, combo)) for combo in itertools.product(*(f.values for f in factors))]


def latin_hypercube(ranges: dict[str, tuple[float, float]], samples: int, seed: int) -> list[dict[str, Any]]:
    """`samples` points spread over the ranges (scipy.stats.qmc.LatinHypercube); integer fields rounded."""
    # here, not at the top: scipy.stats would cost every `run` a few tenths of a second
    from scipy.stats import qmc
    paths = list(ranges)
    lo = np.array([ranges[p][0] for p in paths], float)
    hi = np.array([ranges[p][1] for p in paths], float)
    unit = qmc.LatinHypercube(d=len(paths), seed=np.random.default_rng(seed)).random(samples)
    pts = qmc.scale(unit, lo, hi) if len(paths) else unit
    ints = [int in member_types(_leaf_type(p)) and float not in member_types(_leaf_type(p)) for p in paths]  # int | None too
    out = []
    for row in pts:
        out.append({p: (int(round(v)) if is_int else float(round(v, 6))) for p, v, is_int in zip(paths, row, ints)})
    return out


def point_sets(point: dict[str, Any]) -> list[str]:
    """A point as `--set` items (values written as TOML)."""
    return [f"{path}={toml_value(v)}" for path, v in point.items()]


def toml_value(v: Any) -> str:
    """A Python value as TOML text (for the --set route and for the manifest)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        # a TOML basic string: JSON's escapes are TOML's, plus DEL, which TOML wants escaped too
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    return str(v)


def policy_labels(entries: list[tuple[str | None, str, str | None]]) -> list[str]:
    """What results show for each policy, from (fixed label, name, file stem) per policy: a variant
    or a Policy object has a fixed label (its `name`, else the variant's spec); a policy file shows
    its `name` when no other policy has that name or label, else its file stem. Two policies that
    would still show under one label are refused (ConfigError): results never merge two policies."""
    taken: dict[str, int] = {}
    for fixed, name, _ in entries:
        key = fixed if fixed is not None else name
        taken[key] = taken.get(key, 0) + 1
    labels = []
    for fixed, name, stem in entries:
        if fixed is not None:
            labels.append(fixed)
        elif taken[name] > 1 and stem is not None:
            labels.append(stem)
        else:
            labels.append(name)
    dup = sorted({lb for lb in labels if labels.count(lb) > 1})
    if dup:
        raise ConfigError("--policy", [f"policy labels must be unique: two policies would both show as {d!r} in "
                                       "the results (the same policy given twice?); give one a different label: "
                                       "@name=\"...\" for a variant, `name = \"...\"` in a file" for d in dup])
    return labels
