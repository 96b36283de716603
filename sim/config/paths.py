"""Where a dotted override path (`--set PATH=VALUE`, a factor, a policy variant's `@PATH=VALUE`)
goes: the scenario or the policy, and which field. Paths are checked against the schema of the file
they route to; a path that could mean a field of either file is refused with both candidates,
because silently picking one is how `--set reps=3` became a no-op.

Rules:
* `scenario.X` / `policy.X` always go to that file (X checked against its schema).
* A bare path goes to the file whose schema has it from the root, unless the *other* file has a
  field of the same name deeper down (`reps`: policy `reps`, scenario `sales.reps`) or also has
  it from the root (`name`): then it is ambiguous and refused, naming the candidates.
* An unknown path is refused with the fields that end with it (`threshold` -> `policy.mql.threshold`).
"""
from __future__ import annotations

import typing
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from sim.config.errors import ConfigError
from sim.config.schema_walk import is_model, member_types

WILD = "*"      # a dict key or a list index in an enumerated schema path
PREFIXES = ("scenario", "policy")


def _models() -> dict[str, type[BaseModel]]:
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    return {"scenario": Scenario, "policy": Policy}


def _walk(tp: Any, prefix: tuple[str, ...], out: list[tuple[str, ...]], depth: int) -> None:
    if depth > 8:
        return
    for m in member_types(tp):
        if is_model(m):
            for name, f in m.model_fields.items():
                path = prefix + (name,)
                out.append(path)
                _walk(f.annotation, path, out, depth + 1)
        elif typing.get_origin(m) in (dict, list, tuple):
            args = [a for a in typing.get_args(m) if a is not Ellipsis]
            if args:
                _walk(args[-1], prefix + (WILD,), out, depth + 1)


@lru_cache(maxsize=None)
def schema_paths(kind: str) -> tuple[tuple[str, ...], ...]:
    """Every field path of the scenario or the policy schema; dict keys and list items are WILD."""
    out: list[tuple[str, ...]] = []
    _walk(_models()[kind], (), out, 0)
    return tuple(dict.fromkeys(out))


def _rooted(kind: str, keys: list[str]) -> bool:
    from sim.config.loading import check_path
    try:
        check_path(_models()[kind], ".".join(keys))
        return True
    except ConfigError:
        return False


def ending_with(kind: str, keys: list[str]) -> list[str]:
    """Named fields of `kind` whose path ends with `keys` (the last key a real field name, not a
    dict key), written with their file prefix: ["scenario.sales.reps"]."""
    n = len(keys)
    out = []
    for p in schema_paths(kind):
        if len(p) < n or p[-1] != keys[-1]:
            continue
        if all(s == k or s == WILD for s, k in zip(p[-n:], keys)):
            shown = ".".join(k if s == WILD else s for s, k in zip(p[-n:], keys))
            out.append(f"{kind}." + ".".join(p[:-n] + (shown,) if len(p) > n else (shown,)))
    return list(dict.fromkeys(out))


def describe(full: str) -> str:
    """The schema's description of a `scenario.X` / `policy.X` field path ("" if none)."""
    kind, _, rest = full.partition(".")
    tp: Any = _models().get(kind)
    desc = ""
    for k in rest.split("."):
        nxt = None
        for m in member_types(tp):
            if is_model(m) and k in m.model_fields:
                nxt, desc = m.model_fields[k].annotation, m.model_fields[k].description or ""
            elif typing.get_origin(m) in (dict, list, tuple) and typing.get_args(m):
                nxt, desc = typing.get_args(m)[-1], ""
        if nxt is None:
            return ""
        tp = nxt
    return desc


def route(path: str, src: str, only: str | None = None) -> tuple[str, str]:
    """(kind, path inside that file) for an override path, or ConfigError naming the candidates.
    `only`: the path must go to this file (a policy variant changes only its policy)."""
    head, dot, rest = path.partition(".")
    if head in PREFIXES:
        if not dot or not rest:
            raise ConfigError(src, [f"nothing after '{head}.'; write e.g. "
                                    f"{'scenario.sales.reps=8' if head == 'scenario' else 'policy.mql.threshold=70'}"])
        kind, sub = head, rest
    else:
        keys = path.split(".")
        rooted = [k for k in ([only] if only else PREFIXES) if all(x.strip() for x in keys) and _rooted(k, keys)]
        deeper = [c for k in PREFIXES if k not in rooted for c in ending_with(k, keys)] if rooted and not only else []
        if len(rooted) > 1 or deeper:
            cands = [f"{k}.{path}" for k in rooted] + deeper
            notes = "; ".join(f"{c}: {describe(c)}" for c in cands if describe(c))
            what = "is a field of both the scenario and the policy" if len(rooted) > 1 else "is ambiguous"
            raise ConfigError(src, [f"{path!r} {what}: write the full path, {' or '.join(cands)}"
                                    + (f" ({notes})" if notes else "")])
        if rooted:
            kind, sub = rooted[0], path
        else:
            kind, sub = _unknown(path, keys, src, only)
    if only is not None and kind != only:
        raise ConfigError(src, [f"{path} is a {kind} field; a policy variant changes only its policy "
                                f"(use --set {path}=... to change the {kind} for every policy)"])
    from sim.config.loading import check_path
    try:
        check_path(_models()[kind], sub)
    except ConfigError as e:
        raise ConfigError(src, e.problems) from None
    return kind, sub


def _unknown(path: str, keys: list[str], src: str, only: str | None) -> tuple[str, str]:
    """A bare path that is a field of neither file from the root: route it by its first key when
    that is a section of one file (check_path then says what is wrong there), else say which
    fields end with it."""
    import difflib
    models = _models()
    kinds = [only] if only else list(PREFIXES)
    head = keys[0]
    owners = [k for k in kinds if head in models[k].model_fields]
    if len(owners) == 1:
        return owners[0], path
    cands = [c for k in kinds for c in ending_with(k, keys)] if all(x.strip() for x in keys) else []
    if cands:
        shown = [c.split(".", 1)[1] for c in cands] if only else cands
        where = f"the {only}" if only else "the scenario or the policy"
        raise ConfigError(src, [f"{path!r} is not a field path from the top of {where}; "
                                f"did you mean {' or '.join(shown[:6])}?"])
    if only:
        other = next((k for k in PREFIXES if k != only and _rooted(k, keys)), None)
        if other:
            hint = " (the headcount a policy decides is policy reps)" if keys[-1] == "reps" else ""
            raise ConfigError(src, [f"{path} is a {other} field; a policy variant changes only its policy: use "
                                    f"--set {path}=... to change the {other} for every policy{hint}"])
        return only, path
    sc, po = set(models["scenario"].model_fields), set(models["policy"].model_fields)
    close = difflib.get_close_matches(head, sorted(sc | po), 1, 0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise ConfigError(src, [f"{head!r} is not a section of the scenario or the policy; {hint}"
                            f"scenario: {', '.join(sorted(sc - po))}; policy: {', '.join(sorted(po - sc))}"])
