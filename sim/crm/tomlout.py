"""A small TOML writer for the files this package generates (scenarios, policies).

Why hand-written: the standard library reads TOML but cannot write it, and the generated files only
need tables, arrays of tables, strings, numbers, booleans, dates and lists of those. The files a
user keeps (the calibrated scenario, a learned policy) are read back and validated before they
are written, so a writer bug cannot go unnoticed.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v} to TOML")
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(round(v, 10))
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    if hasattr(v, "item"):           # numpy scalar
        return _value(v.item())
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(data: dict[str, Any], comments: dict[str, str] | None = None, _prefix: str = "") -> str:
    """TOML text: scalars and inline values first, then sub-tables, then arrays of tables. Nested
    dicts whose values are all scalars are written inline. `comments` maps a table path to a
    comment line written above it."""
    comments = comments or {}
    lines: list[str] = []
    tables, arrays = [], []
    for k, v in data.items():
        if isinstance(v, dict) and any(isinstance(x, (dict, list)) for x in v.values()) or (
                isinstance(v, dict) and len(v) > 6):
            tables.append((k, v))
        elif _is_table_list(v):
            arrays.append((k, v))
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    for k, v in tables:
        path = f"{_prefix}{_key(k)}"
        lines.append("")
        if path in comments:
            lines.append(f"# {comments[path]}")
        lines.append(f"[{path}]")
        lines.append(dumps(v, comments, f"{path}.").strip("\n"))
    for k, items in arrays:
        path = f"{_prefix}{_key(k)}"
        for item in items:
            lines.append("")
            lines.append(f"[[{path}]]")
            lines.append(dumps(item, comments, f"{path}.").strip("\n"))
    return "\n".join(x for x in lines) + "\n"
