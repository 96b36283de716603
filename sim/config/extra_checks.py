"""Checks pydantic does not make: numbers no field can take (nan, inf, beyond +/-1e15), durations
longer than a century, and values pydantic's lax mode would quietly misread (true as 1, "60" as 60,
"yes" as true, a number as a date). Each yields (field path parts, message)."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

from pydantic import BaseModel

from sim.config.schema_walk import MISSING, FieldPath, member_types, short_repr, type_at
from sim.config.units import MINUTES, Duration

MAX_NUMBER = 1e15                       # no field of a scenario or a policy needs more
MAX_DURATION_MINUTES = 100 * 365 * 1440.0  # a century


def bad_numbers(data: Any, parts: FieldPath | None = None) -> Iterable[tuple[FieldPath, str]]:
    """Numbers no field can sensibly take: nan, inf, and magnitudes beyond MAX_NUMBER."""
    parts = parts or []
    if isinstance(data, dict):
        for k, v in data.items():
            yield from bad_numbers(v, parts + [k])
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from bad_numbers(v, parts + [i])
    elif isinstance(data, float) and not math.isfinite(data):
        yield parts, f"{short_repr(data)} is not allowed; use a finite number"
    elif isinstance(data, (int, float)) and not isinstance(data, bool) and abs(data) > MAX_NUMBER:
        yield parts, f"{short_repr(data)} is too large (numbers are limited to +/-{MAX_NUMBER:.0e})"


def bad_durations(value: Any, parts: FieldPath) -> Iterable[tuple[FieldPath, str]]:
    """Durations that are not finite or longer than a century (after validation)."""
    if isinstance(value, Duration):
        minutes = value.value * (MINUTES.get(value.unit) or {"bm": 1.0, "bh": 60.0, "bd": 1440.0}[value.unit])
        if not math.isfinite(minutes) or minutes > MAX_DURATION_MINUTES:
            yield parts, f"{short_repr(str(value)) if math.isfinite(value.value) else 'this duration'} is too long (at most 100 years)"
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from bad_durations(getattr(value, name), parts + [name])
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from bad_durations(v, parts + [k])
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from bad_durations(v, parts + [i])


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


def bad_types(model: type[BaseModel], data: Any, parts: FieldPath | None = None) -> Iterable[tuple[FieldPath, str]]:
    """Values pydantic would quietly misread: true/false where a number is expected (read as 1/0),
    a quoted number where a number is expected, anything but true/false for a switch, a number where a date or a time of day is expected (read as a Unix timestamp or seconds, with
    a time zone), and times with a time zone (the calendar's times are local)."""
    parts = parts or []
    if isinstance(data, dict):
        for k, v in data.items():
            yield from bad_types(model, v, parts + [k])
        return
    if isinstance(data, list):
        for i, v in enumerate(data):
            yield from bad_types(model, v, parts + [i])
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
        t: dt.time
        if isinstance(data, dt.time):
            t = data
        else:
            try:
                t = dt.time.fromisoformat(data.strip())
            except ValueError:
                return      # pydantic explains what is wrong
        if t.tzinfo is not None:
            yield parts, f"expected a local time of day without a time zone, such as 09:00:00 (got {short_repr(data)})"
