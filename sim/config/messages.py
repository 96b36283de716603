"""Turning pydantic validation errors (and the extra checks of `sim.config.extra_checks`) into one
ConfigError whose lines each name a field path, what is wrong and what is allowed, blamed on
`--set` when the command line caused them."""
from __future__ import annotations

import difflib
import re
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sim.config.errors import ConfigError
from sim.config.extra_checks import bad_durations, bad_numbers, bad_types
from sim.config.file_kind import kind_hint
from sim.config.scenario import Scenario
from sim.config.schema_walk import (
    MISSING,
    FieldPath,
    clean_loc,
    fields_of,
    format_path,
    short_repr,
    type_at,
    value_at,
)

M = TypeVar("M", bound=BaseModel)


_EXPECTED = {
    "model_type": "expected a table of fields (a [section] or {{ key = value }})",
    "model_attributes_type": "expected a table of fields (a [section] or {{ key = value }})",
    "dict_type": "expected a table (a [section] or {{ key = value }})",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text in quotes",
    "list_type": "expected a list [ ... ]",
    "tuple_type": "expected a list [ ... ]",
    "date_type": "expected a date such as 2026-01-05",
    "date_parsing": "expected a date such as 2026-01-05",
    "date_from_datetime_parsing": "expected a date such as 2026-01-05",
    "date_from_datetime_inexact": "expected a date such as 2026-01-05 (no time of day)",
    "time_type": "expected a time of day such as 09:00:00",
    "time_parsing": "expected a time of day such as 09:00:00",
}
_BOUND = {"greater_than_equal": (">=", "ge"), "greater_than": (">", "gt"), "less_than_equal": ("<=", "le"),
          "less_than": ("<", "lt")}


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def _message(err: ErrorDetails, parts: FieldPath, key_error: bool, model: type[BaseModel]) -> tuple[str, str]:
    """(path, what is wrong) for one pydantic error."""
    kind = err["type"]
    msg = str(err.get("msg", ""))
    ctx = err.get("ctx") or {}
    inp = err.get("input", MISSING)
    path = format_path(parts)

    if key_error:
        table, key = format_path(parts[:-1]), parts[-1] if parts else "?"
        expected = ctx.get("expected")
        text = f"{key!r} is not an allowed key"
        if expected:
            text += f"; keys here must be one of {expected}"
            close = difflib.get_close_matches(str(key), re.findall(r"'([^']*)'", expected), 1)
            if close:
                text += f" (did you mean {close[0]!r}?)"
        return table, text

    if kind == "extra_forbidden":
        allowed = fields_of(type_at(model, parts[:-1]))
        name = str(parts[-1]) if parts else "?"
        text = "unknown field"
        close = difflib.get_close_matches(name, allowed, 1, 0.6)
        if close:
            text += f"; did you mean {close[0]!r}?"
        if allowed:
            text += f" (fields here: {', '.join(allowed)})"
        return path, text

    if kind == "missing":
        if parts and isinstance(parts[-1], int):
            return format_path(parts[:-1]), f"too few items: item {parts[-1] + 1} is missing"
        return path, "required field is missing"

    if kind == "literal_error" and ctx.get("expected"):
        text = f"must be one of {ctx['expected']}"
    elif kind in _BOUND:
        op, key = _BOUND[kind]
        text = f"must be {op} {_num(ctx.get(key))}"
    elif kind in _EXPECTED:
        text = _EXPECTED[kind].format()
    elif kind in ("too_short", "too_long"):
        text = msg.replace(" after validation", "").replace("Input should", "should").replace("List should", "should")
        text = text[0].lower() + text[1:] if text else text
    elif kind.startswith(("value_error", "assertion_error")):
        text = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    else:
        text = msg.replace("Input should", "should")
        text = text[0].lower() + text[1:] if text else kind

    if inp is not MISSING and (not isinstance(inp, (dict, BaseModel)) or kind in _EXPECTED):
        got = short_repr(inp)
        try:
            raw = repr(inp)
        except Exception:  # pragma: no cover
            raw = got
        if got not in text and raw not in text:
            text += f" (got {got})"
    return path, text


def describe(err: ErrorDetails, model: type[BaseModel] = Scenario) -> str:
    """One pydantic error as `path: what is wrong (got value)`."""
    parts, key_error, _, _ = clean_loc(model, tuple(err["loc"]))
    path, text = _message(err, parts, key_error, model)
    return f"{path}: {text}" if path else text


def _problems(model: type[BaseModel], data: dict[str, Any], errors: list[ErrorDetails]) -> list[tuple[str, str]]:
    """(path, message) per problem: union branches merged, duplicates removed."""
    described = []
    for err in errors:
        parts, key_error, union_at, branch_is_model = clean_loc(model, tuple(err["loc"]))
        described.append((parts, key_error, union_at, branch_is_model, err))

    # Errors from the alternatives of one union: keep the branch matching what the user wrote.
    by_union: dict[str, list[int]] = {}
    for i, (parts, _, union_at, _, _) in enumerate(described):
        if union_at is not None:
            by_union.setdefault(format_path(parts[:union_at]), []).append(i)
    drop: set[int] = set()
    suffix: dict[int, str] = {}
    for _upath, idx in by_union.items():
        branches = {described[i][3] for i in idx}
        if len(branches) < 2:
            continue
        upath_parts = described[idx[0]][0][: described[idx[0]][2]]
        wrote_table = isinstance(value_at(data, upath_parts), dict)
        for i in idx:
            if described[i][3] != wrote_table:
                drop.add(i)
        if not wrote_table:
            fields = fields_of(type_at(model, upath_parts))
            if fields:
                keep = [i for i in idx if i not in drop]
                if keep:
                    suffix[keep[0]] = f", or a table with fields {', '.join(fields)}"

    out: list[tuple[str, str]] = []
    for i, (parts, key_error, _, _, err) in enumerate(described):
        if i in drop:
            continue
        path, text = _message(err, parts, key_error, model)
        if i in suffix:
            m = re.search(r" \(got [^)]*\)$", text)
            text = text[: m.start()] + suffix[i] + text[m.start():] if m else text + suffix[i]
        if (path, text) not in out:
            out.append((path, text))
    return out


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

def _matches(path: str, override: str, text: str = "") -> bool:
    """Does a problem at `path` come from a --set of `override`?"""
    if not path:
        return False
    if (path == override or path.startswith(override + ".") or path.startswith(override + "[")
            or override.startswith(path + ".")):
        return True
    # a required sibling missing from the table the --set created (e.g. decay.kind for decay.half_life)
    return text == "required field is missing" and "." in path and path.rsplit(".", 1)[0] == override.rsplit(".", 1)[0]


def validate_data(model: type[M], data: dict[str, Any], source: str,
                  overrides: Iterable[str] = ()) -> M:
    """Build a model from plain data or raise ConfigError naming every bad field path.
    `overrides` are the dotted paths set on the command line: problems there are blamed on
    `--set`, not on the file."""
    problems: list[tuple[str, str]] = [(format_path(p), m) for p, m in bad_numbers(data)]
    problems += [(format_path(p), m) for p, m in bad_types(model, data)]
    result = None
    try:
        result = model.model_validate(data)
    except ValidationError as e:
        bad_paths = {p for p, _ in problems}
        problems += [(p, m) for p, m in _problems(model, data, e.errors()) if p not in bad_paths]
    except (RecursionError, OverflowError, ValueError, TypeError) as e:  # a validator that did not expect this input
        if not problems:
            problems.append(("", f"cannot be checked: {type(e).__name__}: {e}"))
    if result is not None and not problems:
        problems += [(format_path(p), m) for p, m in bad_durations(result, [])]
    if not problems:
        return result  # type: ignore[return-value]
    raise _error(source, problems, list(overrides), model, data)


def _error(source: str, problems: list[tuple[str, str]], overrides: list[str], model: type[BaseModel],
           data: dict[str, Any]) -> ConfigError:
    """One ConfigError: blamed on `--set` when every problem comes from the command line."""
    lines: list[tuple[str, str, list[str]]] = []
    for path, text in problems:
        dotted = path.replace("[", ".").replace("]", "")
        lines.append((path, text, [o for o in overrides if _matches(dotted, o, text)]))
    blamed = list(dict.fromkeys(o for _, _, hits in lines for o in hits))
    if blamed and all(hits for _, _, hits in lines):
        single = blamed[0] if len(blamed) == 1 else None
        msgs = [text if single and path.replace("[", ".").replace("]", "") == single else f"{path}: {text}"
                for path, text, _ in lines]
        return ConfigError(f"--set {', '.join(blamed)} (on {source})", msgs)
    msgs = []
    for path, text, hits in lines:
        line = f"{path}: {text}" if path else text
        if hits:
            line += " (from --set)"
        elif not path and overrides:   # a cross-field check: the overrides may be involved
            line += f" (with --set {', '.join(overrides)})"
        msgs.append(line)
    hint = kind_hint(model, data, problems)
    return ConfigError(source, ([hint] if hint else []) + msgs)


