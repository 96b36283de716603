"""Reading Scenario and Policy TOML files, applying `--set a.b=value` overrides, and turning every
failure into one ConfigError that names the file, the field path and the fix.
"""
from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sim.config.policy import Policy
from sim.config.scenario import Scenario

M = TypeVar("M", bound=BaseModel)
MAX_FILE_BYTES = 2_000_000


class ConfigError(Exception):
    """Bad input. `str(err)` is the one message shown to the user (CLI exit code 2)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + ("; ".join(problems) if len(problems) == 1 else
                                          "\n  " + "\n  ".join(problems)))


def _describe(err: dict) -> str:
    path = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    msg = err["msg"]
    if kind == "extra_forbidden":
        return f"{path}: unknown field (check the spelling; `funnelsim schema` lists the fields)"
    if kind == "literal_error":
        return f"{path}: {msg} (got {err.get('input')!r})"
    if kind.startswith("value_error"):
        msg = msg.removeprefix("Value error, ")
    return f"{path}: {msg} (got {err.get('input')!r})" if "input" in err and not isinstance(err["input"], dict) else f"{path}: {msg}"


def validate_data(model: type[M], data: dict[str, Any], source: str) -> M:
    """Build a model from plain data or raise ConfigError naming every bad field path."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(source, [_describe(err) for err in e.errors()]) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, turning every way it can fail into a ConfigError."""
    src = str(path)
    if not path.exists():
        raise ConfigError(src, ["file not found (give a path, or a name from `funnelsim list`)"])
    if path.is_dir():
        raise ConfigError(src, ["is a directory, expected a .toml file"])
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(src, [f"cannot read: {e.strerror}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(src, [f"file is {len(raw)} bytes; config files are limited to {MAX_FILE_BYTES}"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(src, [f"not UTF-8 text (byte {e.start}); save the file as UTF-8"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(src, [f"malformed TOML: {e}"]) from None


def parse_value(text: str) -> Any:
    """A --set value: TOML syntax if it parses (numbers, booleans, lists, inline tables, quoted
    strings), otherwise the bare text as a string (so `--set routing.discipline=priority` works)."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: list[tuple[str, Any]], source: str) -> dict[str, Any]:
    """Set dotted paths in nested dicts (a copy). The result is validated like the file."""
    out = _deepcopy(data)
    for path, value in overrides:
        keys = path.split(".")
        if not all(keys):
            raise ConfigError(source, [f"--set {path}: empty part in the dotted path"])
        node = out
        for k in keys[:-1]:
            nxt = node.get(k)
            if nxt is None:
                nxt = node[k] = {}
            elif not isinstance(nxt, dict):
                raise ConfigError(source, [f"--set {path}: {k} is a value, not a section"])
            node = nxt
        node[keys[-1]] = value
    return out


def _deepcopy(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _deepcopy(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_deepcopy(v) for v in d]
    return d


def kind_of(data: dict[str, Any]) -> str:
    """Guess whether a parsed file is a scenario or a policy, for `funnelsim validate`."""
    scenario_keys = set(Scenario.model_fields) - {"name", "description"}
    policy_keys = set(Policy.model_fields) - {"name", "description"}
    s, p = len(scenario_keys & data.keys()), len(policy_keys & data.keys())
    return "policy" if p > s else "scenario"
