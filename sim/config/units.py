"""Durations with units, so files say "5m", "2h", "3d" or "5bd" instead of bare numbers.

Internally every time is in minutes (float). A business-day duration ("bd") cannot be turned into
clock minutes without a calendar, so a :class:`Duration` keeps its unit kind and the sales process
converts it through the business calendar when it is used.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

MINUTES = {"m": 1.0, "h": 60.0, "d": 1440.0, "w": 10080.0}
BUSINESS_UNITS = ("bm", "bh", "bd")
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|h|d|w|bm|bh|bd)\s*$")
DURATION_HELP = ('a duration such as "5m", "2h", "3d" (clock days), "2w", or in business time '
                 '"30bm" (business minutes), "4bh" (business hours), "5bd" (business days)')


@dataclass(frozen=True)
class Duration:
    """A non-negative length of time: `value` in `unit` (m, h, d, w clock; bm, bh, bd business)."""

    value: float
    unit: str

    @property
    def is_business(self) -> bool:
        return self.unit in BUSINESS_UNITS

    @property
    def minutes(self) -> float:
        """Clock minutes; for business units, the nominal length (1bd = 1 working day of 8h
        is *not* assumed here: callers with a calendar must use `business_minutes`)."""
        if self.is_business:
            raise ValueError(f"{self} is in business time; convert it with a BusinessCalendar")
        return self.value * MINUTES[self.unit]

    def business_minutes(self, workday_minutes: float) -> float:
        """Length in the minutes it is measured in: working minutes for business units (given the
        length of one working day), clock minutes for clock units."""
        if self.unit == "bd":
            return self.value * workday_minutes
        if self.unit == "bh":
            return self.value * 60.0
        if self.unit == "bm":
            return self.value
        return self.value * MINUTES[self.unit]

    def __str__(self) -> str:
        v = int(self.value) if float(self.value).is_integer() else self.value
        return f"{v}{self.unit}"

    @classmethod
    def parse(cls, text: Any) -> "Duration":
        if isinstance(text, Duration):
            return text
        if isinstance(text, bool) or not isinstance(text, str):
            shown = str(text).lower() if isinstance(text, bool) else repr(text)
            raise ValueError(f"expected {DURATION_HELP}, got {shown}")
        m = _PATTERN.match(text)
        if not m:
            raise ValueError(f"expected {DURATION_HELP}, got {text!r}")
        value = float(m.group(1))
        if not math.isfinite(value) or value > 1e9:
            raise ValueError(f"{text!r} is too long a duration")
        return cls(value, m.group(2))

    # pydantic integration: validated from a string, serialised back to the same string.
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        return {"type": "string", "pattern": _PATTERN.pattern, "description": DURATION_HELP}


def dur(text: str) -> Duration:
    """Shorthand for defaults in the schemas: dur("2h")."""
    return Duration.parse(text)


class SchemaGenerator(GenerateJsonSchema):
    """JSON Schema generation that writes Duration defaults as the text a file uses ("5bm"), not as
    the dataclass's fields (pydantic encodes defaults without the type's own serializer)."""

    def encode_default(self, dft: Any) -> Any:
        return super().encode_default(_durations_as_text(dft))


def _durations_as_text(v: Any) -> Any:
    if isinstance(v, Duration):
        return str(v)
    if isinstance(v, (list, tuple)):
        return type(v)(_durations_as_text(x) for x in v)
    if isinstance(v, dict):
        return {k: _durations_as_text(x) for k, x in v.items()}
    return v
