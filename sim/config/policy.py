"""Policy: what the company decides. Scoring points, caps, decay, the MQL rule and its gates,
SLA tiers and breach actions, the follow-up cadence, routing, recycling; optionally headcount.

Defaults are the seed-example point table of REFERENCES.md with a threshold of 60.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sim.config.base import Strict, require_clock, require_positive
from sim.config.scenario import CompanySize, EmailKind, EventType, Industry, Region, Seniority
from sim.config.units import Duration, dur


class Icp(Strict):
    """The company's *belief* about its ideal customer profile (may differ from the scenario's truth).
    An empty list means "any"."""

    company_sizes: list[CompanySize] = ["small", "mid", "large", "enterprise"]
    industries: list[Industry] = ["software", "financial_services", "healthcare", "manufacturing"]
    regions: list[Region] = []
    seniorities: list[Seniority] = []


class Fit(Strict):
    """Fit points by attribute value (negative allowed). Missing values score 0."""

    seniority: dict[Seniority, float] = {"c_suite": 20, "vp": 15, "director": 15, "manager": 15, "ic": 5,
                                         "student": -20}
    company_size: dict[CompanySize, float] = {"micro": -15, "mid": 10, "large": 5}
    industry: dict[Industry, float] = {"software": 10, "financial_services": 10, "healthcare": 10,
                                       "manufacturing": 10, "retail": -10, "education": -10,
                                       "public_sector": -10, "other": -10}
    region: dict[Region, float] = {}
    email_kind: dict[EmailKind, float] = {"personal": -5}
    existing_customer: float = 0.0


class EventPoints(Strict):
    """Points for one engagement type: `points[i]` for the (i+1)-th occurrence, `then` for every later
    one, and an optional lifetime `cap` on this type's total."""

    points: list[float] = Field(min_length=1)
    then: float | None = Field(None, description="points for occurrences beyond the list (default: 0)")
    cap: float | None = Field(None, ge=0, description="maximum lifetime points from this event type")


def _ep(*points: float, then: float | None = None, cap: float | None = None) -> EventPoints:
    return EventPoints(points=list(points), then=then, cap=cap)


class Decay(Strict):
    """How behaviour points fade. none; half_life (points halve every `half_life`); inactivity (lose
    `drop` of the behaviour score for each full `every` without any engagement); window (only events
    in the last `window` count)."""

    mode: Literal["none", "half_life", "inactivity", "window"] = "none"
    half_life: Duration = dur("30d")
    every: Duration = dur("30d")
    drop: float = Field(0.2, ge=0, le=1)
    window: Duration = dur("60d")

    _clock = field_validator("half_life", "every", "window")(require_clock)


class Negative(Strict):
    """Negative behaviour signals."""

    no_email_open_days: float = Field(30, gt=0, description="inactivity span for the no-opens penalty, in days")
    no_email_open_points: float = Field(-5, le=0, description="points while there was no email open in that span")


class Scoring(Strict):
    """Lead score = min(fit, fit_cap) + min(behaviour, behaviour_cap) + negatives; leads outside the
    policy's ICP are capped at non_icp_cap in total."""

    fit: Fit = Fit()
    behaviour: dict[EventType, EventPoints] = {
        "demo_request": _ep(50),
        "contact_form": _ep(30),
        "pricing_visit": _ep(15, 10),
        "comparison_visit": _ep(10),
        "webinar_product": _ep(20),
        "webinar_educational": _ep(10),
        "email_click_product": _ep(5, then=5, cap=15),
        "email_click_content": _ep(2, then=2, cap=6),
        "bofu_download": _ep(15),
        "tofu_download": _ep(5, then=5, cap=15),
        "newsletter_signup": _ep(3),
    }
    negative: Negative = Negative()
    fit_cap: float | None = Field(None, description="maximum fit points (none = uncapped)")
    behaviour_cap: float | None = Field(None, ge=0, description="maximum behaviour points (none = uncapped)")
    non_icp_cap: float | None = Field(None, description="maximum total score for leads outside the policy ICP")
    decay: Decay = Decay()


class Gates(Strict):
    """Hard conditions an MQL must meet whatever its score."""

    business_email_only: bool = False
    exclude_competitors: bool = True
    icp_only: bool = Field(False, description="only leads inside the policy's ICP can become MQLs")


class FastLane(Strict):
    """Demo requests skip scoring: immediate MQL in the demo tier."""

    demo_request: bool = True
    respect_gates: bool = Field(True, description="the gates still apply to fast-lane MQLs")


class Mql(Strict):
    """When a lead becomes an MQL. rule = "total": score >= threshold (or the company-size segment's
    threshold); rule = "fit_and_behaviour": fit >= fit_min and behaviour >= behaviour_min."""

    rule: Literal["total", "fit_and_behaviour"] = "total"
    threshold: float = Field(60, ge=0, le=10_000)
    thresholds_by_size: dict[CompanySize, float] = Field({}, description="segment thresholds (rule = total)")
    fit_min: float = Field(40, ge=-10_000, le=10_000)
    behaviour_min: float = Field(30, ge=0, le=10_000)
    high_intent: float = Field(80, ge=0, le=10_000, description="score from which an MQL is in the high_intent tier")
    gates: Gates = Gates()
    fast_lane: FastLane = FastLane()

    @field_validator("thresholds_by_size")
    @classmethod
    def _segments(cls, v: dict) -> dict:
        bad = [k for k, x in v.items() if not 0 <= x <= 10_000]
        if bad:
            raise ValueError(f"thresholds must be between 0 and 10000 ({', '.join(bad)})")
        return v


class SlaTargets(Strict):
    """Time to first touch per tier. Clock units (m, h, d) count every minute; business units
    (bm, bh, bd) count only working time. "24 h" and "48 h" in the seed articles are read as one and
    two business days (the benchmark: respond within 8 business hours): a 24-clock-hour target is
    breached by every MQL that arrives on a Friday evening."""

    demo: Duration = dur("5bm")
    high_intent: Duration = dur("2bh")
    standard: Duration = dur("1bd")
    re_engaged: Duration = dur("2bd")


class Sla(Strict):
    """Follow-up SLA and what happens when it is breached."""

    targets: SlaTargets = SlaTargets()
    breach_action: Literal["none", "escalate", "recycle"] = Field(
        "none", description="escalate = move to the front of the queue; recycle = back to nurture when untouched "
                            "for recycle_after after the MQL, or when a due follow-up waits that long")
    recycle_after: Duration = Field(dur("3bd"), description="untouched this long after MQL -> back to nurture (recycle)")

    _positive = field_validator("recycle_after")(require_positive)  # zero would recycle every MQL untouched


class Cadence(Strict):
    """A worked lead: up to max_attempts touches, spaced by `spacing` (default 3 in 5 business days)."""

    max_attempts: int = Field(3, ge=1, le=50)
    spacing: Duration = dur("2bd")


class Routing(Strict):
    """Which MQL a free rep takes next. fifo (oldest first), priority (tier, then score), freshest
    (newest first), round_robin (assigned in turn to per-rep queues, each worked oldest first).
    Triage: when the backlog exceeds triage_backlog, reps skip (recycle) leads scoring below
    triage_min_score."""

    discipline: Literal["fifo", "priority", "freshest", "round_robin"] = "fifo"
    triage_backlog: int | None = Field(None, ge=0)
    triage_min_score: float = 70


class Recycle(Strict):
    """Recycled MQLs return to nurture; their later engagement may make them MQLs again (tier
    re_engaged). A lead recycled max_recycles times stays in nurture for good: the default 2 is
    "two chances, then back to nurture" (MQL, recycle, re-MQL, recycle, stays); 1 = never re-MQL."""

    max_recycles: int = Field(2, ge=1, le=100, description="recycles after which a lead stays in nurture")
    reset_behaviour: bool = Field(True, description="behaviour points restart from zero after a recycle")


class Policy(Strict):
    """What the company decides."""

    name: str = "seed-example"
    description: str = "The seed article's point table, threshold 60"
    icp: Icp = Icp()
    scoring: Scoring = Scoring()
    mql: Mql = Mql()
    sla: Sla = Sla()
    cadence: Cadence = Cadence()
    routing: Routing = Routing()
    recycle: Recycle = Recycle()
    reps: int | None = Field(None, ge=0, le=10_000, description="headcount decided by this policy (overrides the scenario)")

    @model_validator(mode="after")
    def _reachable(self) -> "Policy":
        if self.mql.rule == "total" and self.mql.high_intent < self.mql.threshold and not self.mql.thresholds_by_size:
            raise ValueError(f"mql.high_intent ({self.mql.high_intent}) must be >= mql.threshold ({self.mql.threshold})")
        return self
