"""Shared pieces of the config schemas: strict models (unknown fields are errors) and share checks."""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from sim.config.units import Duration
    from sim.vocab import Weekday


class Strict(BaseModel):
    """Base for every config model: unknown fields are refused (a typo must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=False, allow_inf_nan=False)


K = TypeVar("K", bound=str)   # the names of one vocabulary (a Literal of sim.vocab)

MIX_RULE = "shares not summing to 1 are normalised to sum 1, with a warning"


def check_mix(v: dict[K, float] | None) -> dict[K, float] | None:
    """A categorical mix: shares >= 0 with a positive total. The one rule for every mix: shares are
    normalised to sum 1 where used, and a total other than 1 gets a warning (sim.config.warnings)
    rather than an error, so counts or rounded shares still work but a forgotten category is seen."""
    if v is None:
        return v
    bad = [k for k, x in v.items() if x < 0]
    if bad:
        raise ValueError(f"shares must be >= 0 (negative for {', '.join(bad)})")
    if sum(v.values()) <= 0:
        raise ValueError("shares must have a positive total")
    return v


def weekday_profile_default() -> dict[Weekday, float]:
    """B2B inbound is heaviest Tue-Wed and light at weekends."""
    return {"mon": 1.15, "tue": 1.25, "wed": 1.2, "thu": 1.1, "fri": 0.9, "sat": 0.22, "sun": 0.18}


def require_positive(v: Duration) -> Duration:
    """A duration longer than zero, in any unit."""
    if v.value <= 0:
        raise ValueError("must be longer than zero")
    return v


def require_clock(v: Duration, positive: bool = True) -> Duration:
    """A duration that must be in clock units (business time needs a calendar the field has not)."""
    if v.is_business:
        raise ValueError(f"{v} is business time; use clock units (m, h, d, w)")
    return require_positive(v) if positive else v


def allow_zero_clock(v: Duration) -> Duration:
    """A clock duration that may be zero (e.g. an interest life of 0: every event at arrival)."""
    return require_clock(v, positive=False)
