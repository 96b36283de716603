"""Reading Scenario and Policy TOML files, applying `--set a.b=value` overrides, and turning every
failure into one ConfigError that names the file (or the `--set`), the field path and the fix.

Nothing here raises anything but ConfigError for bad input: malformed or non-UTF-8 files, files
too large or nested too deep, numbers that are not finite or absurdly large, unknown fields, wrong
types, values out of range, and `--set` paths that do not exist in the schema.
"""
from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any, Iterable, TypeVar

from pydantic import BaseModel, ValidationError

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.config.units import MINUTES, Duration

M = TypeVar("M", bound=BaseModel)
MAX_FILE_BYTES = 2_000_000
MAX_NUMBER = 1e15                       # no field of a scenario or a policy needs more
MAX_DURATION_MINUTES = 100 * 365 * 1440.0  # a century
_REPR_LIMIT = 60


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


# --------------------------------------------------------------------------------------------
# Walking the schema (pydantic models, dicts, lists, unions) along a path
# --------------------------------------------------------------------------------------------

_MISSING = object()


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _members(tp: Any) -> list[Any]:
    """The alternatives of a type: [tp] for a plain type, the non-None members of a union."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _members(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            if a is not type(None):
                out.extend(_members(a))
        return out
    return [tp]


def _is_section(tp: Any) -> bool:
    """Can a value of this type hold named or indexed children (a table or a list)?"""
    return any(_is_model(m) or typing.get_origin(m) in (dict, list, tuple) for m in _members(tp))


def _child(tp: Any, key: Any) -> Any:
    """The type of `key` inside a value of type `tp`, or _MISSING."""
    for m in _members(tp):
        if _is_model(m):
            if isinstance(key, str) and key in m.model_fields:
                return m.model_fields[key].annotation
        elif typing.get_origin(m) is dict:
            args = typing.get_args(m)
            return args[1] if len(args) == 2 else Any
        elif typing.get_origin(m) in (list, tuple):
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                args = [a for a in typing.get_args(m) if a is not Ellipsis]
                if not args:
                    return Any
                i = int(key)
                return args[i] if typing.get_origin(m) is tuple and len(args) > 1 and i < len(args) else args[0]
        elif m is Any:
            return Any
    return _MISSING


def _fields_of(tp: Any) -> list[str]:
    """Field names of the model(s) a type may be."""
    out: list[str] = []
    for m in _members(tp):
        if _is_model(m):
            out.extend(f for f in m.model_fields if f not in out)
    return out


_UNION_TAG = re.compile(r"^[A-Za-z_-]+\[.*\]$")


def _clean_loc(model: type[BaseModel], loc: tuple) -> tuple[list, bool, int | None, bool]:
    """A pydantic error location as the user's path. Returns (parts, is_key_error, union_at,
    branch_is_model): pydantic puts a tag for the union member into the location
    (`literal[...]`, `function-after[..., DecayCurve]`); those are dropped, and `union_at` tells
    where the union was (index into parts) and whether this branch was the table (model) one."""
    parts: list = []
    tp: Any = model
    key_error = False
    union_at: int | None = None
    branch_is_model = False
    for part in loc:
        if part == "[key]":
            key_error = True
            continue
        members = _members(tp) if tp is not _MISSING else []
        if isinstance(part, str) and len(members) > 1 and _child(tp, part) is _MISSING:
            # a union member tag
            union_at = len(parts)
            chosen = next((m for m in members if _is_model(m) and m.__name__ in part), None)
            branch_is_model = chosen is not None
            tp = chosen if chosen is not None else _MISSING
            continue
        if tp is _MISSING and isinstance(part, str) and _UNION_TAG.match(part):
            union_at = len(parts)
            continue
        parts.append(part)
        tp = _child(tp, part) if tp is not _MISSING else _MISSING
    return parts, key_error, union_at, branch_is_model


def format_path(parts: Iterable) -> str:
    """("arrivals", "spikes", 0, "start") -> "arrivals.spikes[0].start"."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out


def _type_at(model: type[BaseModel], parts: list) -> Any:
    tp: Any = model
    for p in parts:
        if tp is _MISSING:
            return _MISSING
        tp = _child(tp, p)
    return tp


def _value_at(data: Any, parts: list) -> Any:
    node = data
    for p in parts:
        if isinstance(node, dict) and p in node:
            node = node[p]
        elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            node = node[p]
        else:
            return _MISSING
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
    inp = err.get("input", _MISSING)
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
        allowed = _fields_of(_type_at(model, parts[:-1]))
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

    if inp is not _MISSING and (not isinstance(inp, (dict, BaseModel)) or kind in _EXPECTED):
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
    parts, key_error, _, _ = _clean_loc(model, tuple(err["loc"]))
    path, text = _message(err, parts, key_error, model)
    return f"{path}: {text}" if path else text


def _problems(model: type[BaseModel], data: dict[str, Any], errors: list[dict]) -> list[tuple[str, str]]:
    """(path, message) per problem: union branches merged, duplicates removed."""
    described = []
    for err in errors:
        parts, key_error, union_at, branch_is_model = _clean_loc(model, tuple(err["loc"]))
        described.append((parts, key_error, union_at, branch_is_model, err))

    # Errors from the alternatives of one union: keep the branch matching what the user wrote.
    by_union: dict[str, list[int]] = {}
    for i, (parts, _, union_at, _, _) in enumerate(described):
        if union_at is not None:
            by_union.setdefault(format_path(parts[:union_at]), []).append(i)
    drop: set[int] = set()
    suffix: dict[int, str] = {}
    for upath, idx in by_union.items():
        branches = {described[i][3] for i in idx}
        if len(branches) < 2:
            continue
        upath_parts = described[idx[0]][0][: described[idx[0]][2]]
        wrote_table = isinstance(_value_at(data, upath_parts), dict)
        for i in idx:
            if described[i][3] != wrote_table:
                drop.add(i)
        if not wrote_table:
            fields = _fields_of(_type_at(model, upath_parts))
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


def _bad_types(model: type[BaseModel], data: Any, parts: list | None = None) -> Iterable[tuple[list, str]]:
    """Values pydantic would quietly misread: true/false where a number is expected (read as 1/0),
    a number where a date or a time of day is expected (read as a Unix timestamp or seconds, with
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
    tp = _type_at(model, parts)
    if tp is _MISSING:
        return
    members = _members(tp)
    if Any in members:
        return
    number = isinstance(data, (int, float)) and not isinstance(data, bool)
    if isinstance(data, bool) and bool not in members and any(m in (int, float) for m in members):
        yield parts, f"expected a number (got {short_repr(data)})"
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

def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every way it can fail into a ConfigError."""
    src = str(path)
    try:
        if not path.exists():
            raise ConfigError(src, ["file not found (give a path, or a name from `funnelsim list`)"])
        if path.is_dir():
            raise ConfigError(src, ["is a directory, expected a .toml file"])
        if not path.is_file():
            raise ConfigError(src, ["is not a regular file, expected a .toml file"])
        with path.open("rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ConfigError(src, [f"cannot read: {e.strerror or e}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(src, [f"file is larger than {MAX_FILE_BYTES:,} bytes; config files are small text files"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError(src, [f"not UTF-8 text (bad byte at line {line}); save the file as UTF-8"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(src, [f"malformed TOML: {e}"]) from None
    except RecursionError:
        raise ConfigError(src, ["malformed TOML: nested too deeply"]) from None
    except ValueError as e:  # integers with more than 4300 digits
        what = "a number has too many digits" if "digits" in str(e) else str(e)
        raise ConfigError(src, [f"malformed TOML: {what}"]) from None


def parse_value(text: str) -> Any:
    """A --set value: TOML syntax if it parses (numbers, booleans, lists, inline tables, quoted
    strings, dates), otherwise the bare text as a string (so `--set routing.discipline=priority`
    works)."""
    try:
        parsed = tomllib.loads(f"v = {text}")
    except (tomllib.TOMLDecodeError, RecursionError, ValueError):
        return text
    return parsed["v"] if set(parsed) == {"v"} else text


def check_path(model: type[BaseModel], path: str) -> list[str]:
    """Check a dotted --set path against the schema; the keys, or ConfigError."""
    keys = path.split(".")
    src = f"--set {path}"
    if not path or not all(k.strip() for k in keys):
        raise ConfigError(src, ["empty part in the dotted path (write e.g. sales.reps=8)"])
    tp: Any = model
    for i, k in enumerate(keys):
        here = ".".join(keys[:i]) or model.__name__.lower()
        if i > 0 and not _is_section(tp):
            raise ConfigError(src, [f"{'.'.join(keys[:i])} is a single value, not a section: "
                                    f"write --set {'.'.join(keys[:i])}=VALUE"])
        child = _child(tp, k)
        if child is _MISSING:
            fields = _fields_of(tp)
            if fields:
                close = difflib.get_close_matches(k, fields, 1, 0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise ConfigError(src, [f"{k!r} is not a field of {here}{hint} (fields there: {', '.join(fields)})"])
            raise ConfigError(src, [f"{k!r} is not a valid key or index in {here}"])
        tp = child
    return keys


def apply_overrides(data: dict[str, Any], overrides: list[tuple[str, Any]], source: str,
                    model: type[BaseModel] | None = None) -> dict[str, Any]:
    """Set dotted paths in nested dicts (a copy). With `model`, paths are checked against its schema
    first. The result is validated like the file."""
    out = _deepcopy(data)
    for path, value in overrides:
        keys = check_path(model, path) if model is not None else path.split(".")
        if not all(k.strip() for k in keys):
            raise ConfigError(f"--set {path}", ["empty part in the dotted path (write e.g. sales.reps=8)"])
        node: Any = out
        for depth, k in enumerate(keys[:-1]):
            where = ".".join(keys[: depth + 1])
            if isinstance(node, list):
                node = _list_item(node, k, path, where)
                continue
            nxt = node.get(k)
            if nxt is None and keys[depth + 1].isdigit():
                raise ConfigError(f"--set {path}", [f"{where} is not in the file, so it has no items to index; "
                                                    f"set the whole list, e.g. --set {where}=[...]"])
            if nxt is None or (model is not None and not isinstance(nxt, (dict, list))):
                nxt = node[k] = {}   # absent, or a scalar (e.g. a preset name) the schema allows as a table
            elif not isinstance(nxt, (dict, list)):
                raise ConfigError(f"--set {path}", [f"{where} is a single value, not a section"])
            node = nxt
        last = keys[-1]
        if isinstance(node, list):
            idx = _index(node, last, path, ".".join(keys[:-1]))
            node[idx] = value
        else:
            node[last] = value
    return out


def _index(node: list, key: str, path: str, where: str) -> int:
    n = len(node)
    if not key.isdigit() or int(key) >= n:
        raise ConfigError(f"--set {path}", [f"{where} has {n} item{'' if n == 1 else 's'}; use an index from 0 to "
                                            f"{n - 1}, or set the whole list" if n else
                                            f"{where} is empty; set the whole list, e.g. --set {where}=[...]"])
    return int(key)


def _list_item(node: list, key: str, path: str, where: str) -> Any:
    item = node[_index(node, key, path, where.rsplit(".", 1)[0])]
    if not isinstance(item, dict):
        raise ConfigError(f"--set {path}", [f"{where} is a single value, not a section"])
    return item


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d


def load_model(model: type[M], path: Path, overrides: list[tuple[str, Any]] | None = None) -> M:
    """Read, override and validate one file; the file's stem is the default name."""
    data = read_toml(path)
    if "name" in model.model_fields:
        data.setdefault("name", path.stem)
    data = apply_overrides(data, overrides or [], str(path), model)
    return validate_data(model, data, str(path), [p for p, _ in overrides or []])


def kind_of(data: dict[str, Any]) -> str:
    """Guess whether a parsed file is a scenario or a policy, for `funnelsim validate`."""
    scenario_keys = set(Scenario.model_fields) - {"name", "description"}
    policy_keys = set(Policy.model_fields) - {"name", "description"}
    s, p = len(scenario_keys & data.keys()), len(policy_keys & data.keys())
    return "policy" if p > s else "scenario"
