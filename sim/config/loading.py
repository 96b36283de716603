"""Reading Scenario and Policy TOML files, applying `--set a.b=value` overrides, and turning every
failure into one ConfigError that names the file (or the `--set`), the field path and the fix.

Nothing here raises anything but ConfigError for bad input: malformed or non-UTF-8 files, files
too large or nested too deep, numbers that are not finite or absurdly large, unknown fields, wrong
types, values out of range, and `--set` paths that do not exist in the schema.
"""
from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.config.errors import ConfigError
from sim.config.file_kind import kind_of
from sim.config.messages import M, validate_data
from sim.config.schema_walk import MISSING, child_type, fields_of, is_section

MAX_FILE_BYTES = 2_000_000

__all__ = ["ConfigError", "validate_data", "read_toml", "parse_value", "check_path", "apply_overrides",
           "load_model", "kind_of"]



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
        if i > 0 and not is_section(tp):
            raise ConfigError(src, [f"{'.'.join(keys[:i])} is a single value, not a section: "
                                    f"write --set {'.'.join(keys[:i])}=VALUE"])
        child = child_type(tp, k)
        if child is MISSING:
            fields = fields_of(tp)
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
    out: dict[str, Any] = _deepcopy(data)
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


def _index(node: list[Any], key: str, path: str, where: str) -> int:
    n = len(node)
    if not key.isdigit() or int(key) >= n:
        raise ConfigError(f"--set {path}", [f"{where} has {n} item{'' if n == 1 else 's'}; use an index from 0 to "
                                            f"{n - 1}, or set the whole list" if n else
                                            f"{where} is empty; set the whole list, e.g. --set {where}=[...]"])
    return int(key)


def _list_item(node: list[Any], key: str, path: str, where: str) -> Any:
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
