"""Response decay, the scenario section that says how interest fades while an MQL waits: a preset
fitted to a published study or a parametric curve, acting on the odds relative to a reference delay."""
from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from sim.config.base import Strict, allow_zero_clock
from sim.config.units import Duration, dur


class DecayCurve(Strict):
    """A parametric response-decay curve q(t), q(0) = 1. `kind` picks the formula:
    exponential 2^(-t/half_life); two_phase (1-w) 2^(-t/fast) + w 2^(-t/slow);
    hyperbolic (1 + t/t0)^(-a)."""

    kind: Literal["exponential", "two_phase", "hyperbolic"] = Field(
        description="curve formula: exponential, two_phase or hyperbolic")
    half_life: Duration | None = Field(None, description="exponential: delay at which the odds halve (clock units)")
    fast: Duration | None = Field(None, description="two_phase: half-life of the fast phase (clock units)")
    slow: Duration | None = Field(None, description="two_phase: half-life of the slow phase (clock units)")
    slow_weight: float | None = Field(None, ge=0, le=1, description="two_phase: weight w (0-1) of the slow phase")
    t0: Duration | None = Field(None, description="hyperbolic: time scale t0 (clock units)")
    a: float | None = Field(None, gt=0, le=10, description="hyperbolic: exponent a (> 0); larger = faster decay")

    @model_validator(mode="after")
    def _params(self) -> "DecayCurve":
        need = {"exponential": ("half_life",), "two_phase": ("fast", "slow", "slow_weight"),
                "hyperbolic": ("t0", "a")}[self.kind]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            article = "an" if self.kind[0] in "aeiou" else "a"
            raise ValueError(f"{article} {self.kind} curve needs {', '.join(missing)}")
        for n in ("half_life", "fast", "slow", "t0"):
            d = getattr(self, n)
            if d is not None and (d.is_business or d.value <= 0):
                raise ValueError(f"{n} must be a positive clock duration")
        return self


DecayPreset = Literal["seed", "lrm2007", "hbr2011", "velocify2012", "none"]
DECAY_PRESETS: tuple[str, ...] = get_args(DecayPreset)


class Response(Strict):
    """How interest decays while an MQL waits. q(t) is the relative odds of converting when reached
    t after the MQL (the studies' ratios are odds ratios). The scenario's base chances
    (contact_rate, outcomes.sql_*) hold at `reference_delay`; at delay t their odds are multiplied
    by q(t)/q(reference_delay), split between reaching the lead (share `contact_share`, in log terms)
    and qualifying it (the rest)."""

    decay: DecayPreset | DecayCurve = Field("seed", description="preset name or a parametric curve")
    reference_delay: Duration = Field(dur("1h"), description="delay at which the base chances hold")
    contact_share: float = Field(0.3, ge=0, le=1, description="share of the decay acting on contact (rest on qualification)")
    contact_rate: float = Field(0.6, ge=0, le=1, description="chance an attempt at the reference delay reaches the lead")

    @field_validator("reference_delay")
    @classmethod
    def _clock(cls, v: Duration) -> Duration:
        allow_zero_clock(v)
        if v.minutes > 30 * 1440:
            raise ValueError("must be at most 30 days (the decay curves are not meaningful beyond)")
        return v
