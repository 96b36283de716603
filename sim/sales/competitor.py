"""Competitor first response: while a buyer waits for us, a competitor may answer first and win it.

Why a mechanism beside the response-decay curves: the curves say *that* late contact converts
worse; a competitor with a hazard that grows with the wait says *why* for part of it, and makes the
loss visible as its own reason (`lost_to_competitor`). Each lead's competitor times are Weibull
draws from its own counter-based luck (one per MQL episode for the wait for a first touch, one for
the wait from SQL to the AE meeting), so every policy meets the same competitor on the same world
(common random numbers) and only our speed decides who is first.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.config.scenario import Scenario
from sim.world.model import lead_uniforms

# Counter-based luck purposes of this module (sim.world.model numbers 1-4; kept far from them).
PURPOSE_COMPETITOR_FIRST_TOUCH = 65     # k = the lead's MQL episode index
PURPOSE_COMPETITOR_MEETING = 66         # k = 0: the wait from SQL to the AE meeting


@dataclass(frozen=True)
class CompetitorClock:
    """Weibull(shape, scale) competitor times, in clock minutes since the wait began. `scale`
    inf is a hazard of zero (nobody is taken); `buyers_only`: leads not in market are never taken."""

    shape: float
    scale: float                 # wait for the first touch, minutes
    meeting_scale: float         # wait from SQL to the AE meeting, minutes
    buyers_only: bool = True

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> CompetitorClock | None:
        """The scenario's competitor, or None when it is off."""
        c = scenario.competitor
        if not c.enabled:
            return None
        scale = c.scale.minutes
        meeting = scale if c.meeting_scale is None else c.meeting_scale.minutes
        return cls(c.shape, scale, meeting, c.buyers_only)

    def survival(self, wait: np.ndarray, meeting: bool = False) -> np.ndarray:
        """P(not yet taken) after `wait` minutes: exp(-(wait / scale)^shape)."""
        scale = self.meeting_scale if meeting else self.scale
        if math.isinf(scale):
            return np.ones(np.shape(wait))
        out: np.ndarray = np.exp(-np.power(np.maximum(wait, 0.0) / scale, self.shape))
        return out

    def times(self, keys: np.ndarray, buyer: np.ndarray, k: np.ndarray | int, meeting: bool = False) -> np.ndarray:
        """Competitor time (minutes after the wait began; inf = never) for leads with these luck
        keys, in-market flags and counters: scale (-ln(1 - u))^(1 / shape)."""
        scale = self.meeting_scale if meeting else self.scale
        n = np.shape(keys)[0]
        if math.isinf(scale) or n == 0:
            return np.full(n, np.inf)
        purpose = PURPOSE_COMPETITOR_MEETING if meeting else PURPOSE_COMPETITOR_FIRST_TOUCH
        u = np.clip(lead_uniforms(keys, purpose, k), 0.0, 1.0 - 1e-16)
        t = scale * np.power(-np.log1p(-u), 1.0 / self.shape)
        out: np.ndarray = np.where(buyer, t, np.inf) if self.buyers_only else t
        return out
