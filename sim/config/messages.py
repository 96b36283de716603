"""Turning pydantic validation errors (and a few checks pydantic does not make) into one
ConfigError whose lines each name a field path, what is wrong and what is allowed."""
from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.config.schema_walk import (
    MISSING,
    clean_loc,
    fields_of,
    format_path,
    member_types,
    short_repr,
    type_at,
    value_at,
)
from sim.config.units import MINUTES, Duration

M = TypeVar("M", bound=BaseModel)
MAX_NUMBER = 1e15                       # no field of a scenario or a policy needs more
MAX_DURATION_MINUTES = 100 * 365 * 1440.0  # a century


class ConfigError(Exception):
    """Bad input. `str(err)` is the one message shown to the user (CLI exit code 2)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems) or ["invalid"]
        if len(self.problems) == 1:
            text = f"{source}: {self.problems[0]}"
        else:
            text = f"{source}: {len(self.problems)} problems\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(text)




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


def _message(err: dict, parts: list, key_error: bool, model: type[BaseModel]) -> tuple[str, str]:
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


def _describe(err: dict, model: type[BaseModel] = Scenario) -> str:
    """One pydantic error as `path: what is wrong (got value)`."""
    parts, key_error, _, _ = clean_loc(model, tuple(err["loc"]))
    path, text = _message(err, parts, key_error, model)
    return f"{path}: {text}" if path else text


def _problems(model: type[BaseModel], data: dict[str, Any], errors: list[dict]) -> list[tuple[str, str]]:
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

def _bad_numbers(data: Any, parts: list | None = None) -> Iterable[tuple[list, str]]:
    """Numbers no field can sensibly take: nan, inf, and magnitudes beyond MAX_NUMBER."""
    parts = parts or []
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _bad_numbers(v, parts + [k])
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _bad_numbers(v, parts + [i])
    elif isinstance(data, float) and not math.isfinite(data):
        yield parts, f"{short_repr(data)} is not allowed; use a finite number"
    elif isinstance(data, (int, float)) and not isinstance(data, bool) and abs(data) > MAX_NUMBER:
        yield parts, f"{short_repr(data)} is too large (numbers are limited to +/-{MAX_NUMBER:.0e})"


def _bad_durations(value: Any, parts: list) -> Iterable[tuple[list, str]]:
    """Durations that are not finite or longer than a century (after validation)."""
    if isinstance(value, Duration):
        minutes = value.value * (MINUTES.get(value.unit) or {"bm": 1.0, "bh": 60.0, "bd": 1440.0}[value.unit])
        if not math.isfinite(minutes) or minutes > MAX_DURATION_MINUTES:
            yield parts, f"{short_repr(str(value)) if math.isfinite(value.value) else 'this duration'} is too long (at most 100 years)"
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _bad_durations(getattr(value, name), parts + [name])
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _bad_durations(v, parts + [k])
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _bad_durations(v, parts + [i])


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
    problems: list[tuple[str, str]] = [(format_path(p), m) for p, m in _bad_numbers(data)]
    problems += [(format_path(p), m) for p, m in _bad_types(model, data)]
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
        problems += [(format_path(p), m) for p, m in _bad_durations(result, [])]
    if not problems:
        return result  # type: ignore[return-value]
    raise _error(source, problems, list(overrides), model, data)


def _error(source: str, problems: list[tuple[str, str]], overrides: list[str], model: type[BaseModel],
           data: dict) -> ConfigError:
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
    hint = _kind_hint(model, data, problems)
    return ConfigError(source, ([hint] if hint else []) + msgs)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _lax_bool(value: Any) -> bool:
    """Values pydantic's lax mode silently reads as a boolean."""
    if isinstance(value, (int, float)):
        return value in (0, 1)
    return isinstance(value, str) and value.strip().lower() in {"0", "1", "y", "n", "t", "f", "yes", "no", "on", "off",
                                                               "true", "false"}


def _bad_types(model: type[BaseModel], data: Any, parts: list | None = None) -> Iterable[tuple[list, str]]:
    """Values pydantic would quietly misread: true/false where a number is expected (read as 1/0),
    a quoted number where a number is expected, anything but true/false for a switch, a number where a date or a time of day is expected (read as a Unix timestamp or seconds, with
    a time zone), and times with a time zone (the calendar's times are local)."""
    parts = parts or []
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _bad_types(model, v, parts + [k])
        return
    if isinstance(data, list):
        for i, v in enumerate(data):
            yield from _bad_types(model, v, parts + [i])
        return
    tp = type_at(model, parts)
    if tp is MISSING:
        return
    members = member_types(tp)
    if Any in members:
        return
    number = isinstance(data, (int, float)) and not isinstance(data, bool)
    numeric_only = bool(members) and all(m in (int, float) for m in members)
    if isinstance(data, bool) and bool not in members and any(m in (int, float) for m in members):
        yield parts, f"expected a number (got {short_repr(data)})"
    elif isinstance(data, str) and numeric_only and _looks_numeric(data):
        # pydantic's lax mode would read "60" as 60: a quoted number is a typo worth pointing at
        yield parts, f"expected a number, without quotes (got {short_repr(data)})"
    elif members == [bool] and not isinstance(data, bool) and _lax_bool(data):
        # ... and "yes", "on" or 1 as true
        yield parts, f"expected true or false, without quotes (got {short_repr(data)})"
    elif dt.time in members and dt.time not in (type(data),) and number:
        yield parts, f"expected a time of day such as 09:00:00 (got {short_repr(data)})"
    elif dt.date in members and number:
        yield parts, f"expected a date such as 2026-01-05 (got {short_repr(data)})"
    elif dt.time in members and (isinstance(data, dt.time) or isinstance(data, str)):
        t = data
        if isinstance(data, str):
            try:
                t = dt.time.fromisoformat(data.strip())
            except ValueError:
                return      # pydantic explains what is wrong
        if t.tzinfo is not None:
            yield parts, f"expected a local time of day without a time zone, such as 09:00:00 (got {short_repr(data)})"


def _kind_hint(model: type[BaseModel], data: dict, problems: list[tuple[str, str]]) -> str | None:
    """'this looks like a policy file' when a policy was given where a scenario was expected."""
    if model not in (Scenario, Policy) or not isinstance(data, dict):
        return None
    unknown_top = [p for p, t in problems if t.startswith("unknown field") and "." not in p and "[" not in p]
    if not unknown_top:
        return None
    other = "policy" if model is Scenario else "scenario"
    if kind_of(data) == other:
        flag = "use it with --policy/-p" if other == "policy" else "give it as the SCENARIO argument"
        return f"this looks like a {other} file, not a {model.__name__.lower()} ({flag})"
    return None


# --------------------------------------------------------------------------------------------
# Files and overrides
# --------------------------------------------------------------------------------------------


def kind_of(data: dict[str, Any]) -> str:
    """Guess whether a parsed file is a scenario or a policy, for `funnelsim validate`."""
    scenario_keys = set(Scenario.model_fields) - {"name", "description"}
    policy_keys = set(Policy.model_fields) - {"name", "description"}
    s, p = len(scenario_keys & data.keys()), len(policy_keys & data.keys())
    return "policy" if p > s else "scenario"
