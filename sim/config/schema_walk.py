"""Walking the config schema (pydantic models, dicts, lists, unions) along a field path: what type
lives at `a.b[0].c`, which fields a section allows, and how to print a path and a value for a
user. Used to check `--set` paths and to phrase validation messages."""
from __future__ import annotations

import datetime as dt
import re
import types
import typing
from typing import Any, Iterable

from pydantic import BaseModel

_REPR_LIMIT = 60

MISSING = object()
FieldPath = list[str | int]   # ["arrivals", "spikes", 0, "start"]: table keys and list indexes


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def member_types(tp: Any) -> list[Any]:
    """The alternatives of a type: [tp] for a plain type, the non-None members of a union."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return member_types(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            if a is not type(None):
                out.extend(member_types(a))
        return out
    return [tp]


def is_section(tp: Any) -> bool:
    """Can a value of this type hold named or indexed children (a table or a list)?"""
    return any(is_model(m) or typing.get_origin(m) in (dict, list, tuple) for m in member_types(tp))


def child_type(tp: Any, key: Any) -> Any:
    """The type of `key` inside a value of type `tp`, or MISSING."""
    for m in member_types(tp):
        if is_model(m):
            if isinstance(key, str) and key in m.model_fields:
                return m.model_fields[key].annotation
        elif typing.get_origin(m) is dict:
            kv = typing.get_args(m)
            return kv[1] if len(kv) == 2 else Any
        elif typing.get_origin(m) in (list, tuple):
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                args = [a for a in typing.get_args(m) if a is not Ellipsis]
                if not args:
                    return Any
                i = int(key)
                return args[i] if typing.get_origin(m) is tuple and len(args) > 1 and i < len(args) else args[0]
        elif m is Any:
            return Any
    return MISSING


def fields_of(tp: Any) -> list[str]:
    """Field names of the model(s) a type may be."""
    out: list[str] = []
    for m in member_types(tp):
        if is_model(m):
            out.extend(f for f in m.model_fields if f not in out)
    return out


_UNION_TAG = re.compile(r"^[A-Za-z_-]+\[.*\]$")


def clean_loc(model: type[BaseModel], loc: tuple[str | int, ...]) -> tuple[FieldPath, bool, int | None, bool]:
    """A pydantic error location as the user's path. Returns (parts, is_key_error, union_at,
    branch_is_model): pydantic puts a tag for the union member into the location
    (`literal[...]`, `function-after[..., DecayCurve]`); those are dropped, and `union_at` tells
    where the union was (index into parts) and whether this branch was the table (model) one."""
    parts: FieldPath = []
    tp: Any = model
    key_error = False
    union_at: int | None = None
    branch_is_model = False
    for part in loc:
        if part == "[key]":
            key_error = True
            continue
        members = member_types(tp) if tp is not MISSING else []
        if isinstance(part, str) and len(members) > 1 and child_type(tp, part) is MISSING:
            # a union member tag
            union_at = len(parts)
            chosen = next((m for m in members if is_model(m) and m.__name__ in part), None)
            branch_is_model = chosen is not None
            tp = chosen if chosen is not None else MISSING
            continue
        if tp is MISSING and isinstance(part, str) and _UNION_TAG.match(part):
            union_at = len(parts)
            continue
        parts.append(part)
        tp = child_type(tp, part) if tp is not MISSING else MISSING
    return parts, key_error, union_at, branch_is_model


def format_path(parts: Iterable[str | int]) -> str:
    """("arrivals", "spikes", 0, "start") -> "arrivals.spikes[0].start"."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def type_at(model: type[BaseModel], parts: FieldPath) -> Any:
    tp: Any = model
    for p in parts:
        if tp is MISSING:
            return MISSING
        tp = child_type(tp, p)
    return tp


def value_at(data: Any, parts: FieldPath) -> Any:
    node = data
    for p in parts:
        if isinstance(node, dict) and p in node:
            node = node[p]
        elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            node = node[p]
        else:
            return MISSING
    return node


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

def short_repr(value: Any) -> str:
    """A value as the user wrote it, shortened: huge numbers and long strings are abbreviated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 150:
        try:
            digits = str(len(str(abs(value))))
        except ValueError:  # beyond Python's int-to-text limit
            digits = f"{int(value.bit_length() * 0.30103)}+"
        return f"a {digits}-digit number"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, (dt.date, dt.time, dt.datetime)):
        return value.isoformat()
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - defensive (exotic objects)
        text = f"a {type(value).__name__}"
    return text if len(text) <= _REPR_LIMIT else text[: _REPR_LIMIT - 3] + "..."
