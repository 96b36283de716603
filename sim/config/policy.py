"""Policy: what the company decides. Scoring points, caps, decay, the MQL rule and its gates,
SLA tiers and breach actions, the follow-up cadence, routing, recycling; optionally headcount.

Defaults are the seed article's example point table (fit, behaviour and negative points of the
MQL guides the project is built from) with a threshold of 60, as in policies/seed-example.toml.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sim.config.accounts import AccountRule
from sim.config.base import Strict, require_clock, require_positive
from sim.config.units import Duration, dur
from sim.vocab import CompanySize, EmailKind, EventType, Industry, Region, Seniority


class Icp(Strict):
    """The company's *belief* about its ideal customer profile (may differ from the scenario's truth).
    An empty list means "any"."""

    company_sizes: list[CompanySize] = Field(["small", "mid", "large", "enterprise"],
                                             description="company sizes the policy counts as ICP (empty = any)")
    industries: list[Industry] = Field(["software", "financial_services", "healthcare", "manufacturing"],
                                       description="industries the policy counts as ICP (empty = any)")
    regions: list[Region] = Field([], description="regions the policy counts as ICP (empty = any)")
    seniorities: list[Seniority] = Field([], description="seniorities the policy counts as ICP (empty = any)")


class Fit(Strict):
    """Fit points by attribute value (negative allowed). Missing values score 0."""

    seniority: dict[Seniority, float] = Field({"c_suite": 20, "vp": 15, "director": 15, "manager": 15, "ic": 5,
                                               "student": -20},
                                              description="fit points per seniority (absent = 0)")
    company_size: dict[CompanySize, float] = Field({"micro": -15, "mid": 10, "large": 5},
                                                   description="fit points per company size (absent = 0)")
    industry: dict[Industry, float] = Field({"software": 10, "financial_services": 10, "healthcare": 10,
                                             "manufacturing": 10, "retail": -10, "education": -10,
                                             "public_sector": -10, "other": -10},
                                            description="fit points per industry (absent = 0)")
    region: dict[Region, float] = Field({}, description="fit points per region (absent = 0)")
    email_kind: dict[EmailKind, float] = Field({"personal": -5}, description="fit points per email kind (absent = 0)")
    existing_customer: float = Field(0.0, description="fit points added for a lead at an existing customer")


class EventPoints(Strict):
    """Points for one engagement type: `points[i]` for the (i+1)-th occurrence, `then` for every later
    one, and an optional lifetime `cap` on this type's total."""

    points: list[float] = Field(min_length=1, description="points for the 1st, 2nd, ... occurrence of this event type")
    then: float | None = Field(None, description="points for occurrences beyond the list (default: 0)")
    cap: float | None = Field(None, ge=0, description="maximum lifetime points from this event type")


def _ep(*points: float, then: float | None = None, cap: float | None = None) -> EventPoints:
    return EventPoints(points=list(points), then=then, cap=cap)


class Decay(Strict):
    """How behaviour points fade. none; half_life (points halve every `half_life`); inactivity (lose
    `drop` of the behaviour score for each full `every` without any engagement); window (only events
    in the last `window` count)."""

    mode: Literal["none", "half_life", "inactivity", "window"] = Field(
        "none", description="how behaviour points fade: none, half_life, inactivity or window")
    half_life: Duration = Field(dur("30d"), description="mode half_life: behaviour points halve every this long "
                                                        "(clock units, e.g. \"30d\")")
    every: Duration = Field(dur("30d"), description="mode inactivity: each full span this long without engagement "
                                                    "costs `drop` (clock units)")
    drop: float = Field(0.2, ge=0, le=1, description="mode inactivity: share (0-1) of the behaviour score lost per "
                                                     "full `every` without engagement")
    window: Duration = Field(dur("60d"), description="mode window: only events this recent count (clock units)")

    _clock = field_validator("half_life", "every", "window")(require_clock)


class Negative(Strict):
    """Negative behaviour signals."""

    no_email_open_days: float = Field(30, gt=0, description="inactivity span for the no-opens penalty, in days")
    no_email_open_points: float = Field(-5, le=0, description="points while there was no email open in that span")


class Scoring(Strict):
    """Lead score = min(fit, fit_cap) + min(behaviour, behaviour_cap) + negatives; leads outside the
    policy's ICP are capped at non_icp_cap in total."""

    fit: Fit = Field(Fit(), description="fit points by the lead's attributes")
    behaviour: dict[EventType, EventPoints] = Field({
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
    }, description="behaviour points per engagement event type (types left out score 0; setting this table "
                   "replaces the whole default table)")
    negative: Negative = Field(Negative(), description="negative behaviour signals (the no-email-opens penalty)")
    fit_cap: float | None = Field(None, description="maximum fit points (none = uncapped)")
    behaviour_cap: float | None = Field(None, ge=0, description="maximum behaviour points (none = uncapped)")
    non_icp_cap: float | None = Field(None, description="maximum total score for leads outside the policy ICP")
    decay: Decay = Field(Decay(), description="how behaviour points fade over time")


class Gates(Strict):
    """Hard conditions an MQL must meet whatever its score."""

    business_email_only: bool = Field(False, description="only leads with a business email address can become MQLs")
    exclude_competitors: bool = Field(True, description="leads with a competitor's email domain never become MQLs")
    icp_only: bool = Field(False, description="only leads inside the policy's ICP can become MQLs")


class FastLane(Strict):
    """Demo requests skip scoring: immediate MQL in the demo tier."""

    demo_request: bool = Field(True, description="a demo request makes the lead an MQL at once, whatever its score")
    respect_gates: bool = Field(True, description="the gates still apply to fast-lane MQLs")


class Mql(Strict):
    """When a lead becomes an MQL. rule = "total": score >= threshold (or the company-size segment's
    threshold); rule = "fit_and_behaviour": fit >= fit_min and behaviour >= behaviour_min."""

    rule: Literal["total", "fit_and_behaviour"] = Field(
        "total", description="total: score >= threshold; fit_and_behaviour: fit >= fit_min and behaviour >= "
                             "behaviour_min")
    threshold: float = Field(60, ge=0, le=10_000,
                             description="points; a lead becomes an MQL when its total score reaches this (rule = total)")
    thresholds_by_size: dict[CompanySize, Annotated[float, Field(ge=0, le=10_000)]] = Field(
        {}, description="segment thresholds (rule = total)")
    fit_min: float = Field(40, ge=-10_000, le=10_000,
                           description="points; minimum fit score for an MQL (rule = fit_and_behaviour)")
    behaviour_min: float = Field(30, ge=0, le=10_000,
                                 description="points; minimum behaviour score, negatives included, for an MQL "
                                             "(rule = fit_and_behaviour)")
    high_intent: float = Field(80, ge=0, le=10_000, description="score from which an MQL is in the high_intent tier "
                               "(at or below the threshold: every non-demo MQL is high intent)")
    gates: Gates = Field(Gates(), description="hard conditions an MQL must meet whatever its score")
    fast_lane: FastLane = Field(FastLane(), description="demo requests that skip scoring")
    unit: Literal["lead", "account", "hybrid"] = Field(
        "lead", description="what qualifies: lead (MQL), account (MQA, by `account`), or hybrid (a lead MQL whose account "
                            "is an MQA too); the demo fast lane applies in every mode")
    account: AccountRule = Field(AccountRule(), description="the MQA rule (unit = account or hybrid)")



class SlaTargets(Strict):
    """Time to first touch per tier. Clock units (m, h, d) count every minute; business units
    (bm, bh, bd) count only working time. "24 h" and "48 h" in the seed articles are read as one and
    two business days (the benchmark: respond within 8 business hours): a 24-clock-hour target is
    breached by every MQL that arrives on a Friday evening."""

    demo: Duration = Field(dur("5bm"), description="time to first touch for demo-tier MQLs (clock or business units)")
    high_intent: Duration = Field(dur("2bh"), description="time to first touch for high-intent MQLs (clock or "
                                                          "business units)")
    standard: Duration = Field(dur("1bd"), description="time to first touch for standard MQLs (clock or business units)")
    re_engaged: Duration = Field(dur("2bd"), description="time to first touch for MQLs re-engaged after a recycle "
                                                         "(clock or business units)")


class Sla(Strict):
    """Follow-up SLA and what happens when it is breached."""

    targets: SlaTargets = Field(SlaTargets(), description="time-to-first-touch target per MQL tier")
    breach_action: Literal["none", "escalate", "recycle"] = Field(
        "none", description="escalate = move to the front of the queue; recycle = back to nurture when untouched "
                            "for recycle_after after the MQL, or when a due follow-up waits that long")
    recycle_after: Duration = Field(dur("3bd"), description="untouched this long after MQL -> back to nurture (recycle)")
    reassign_after: Duration | None = Field(None, description="an MQL still untouched this long after it was assigned "
                                                              "goes to another available rep (round-robin assignment "
                                                              "only); none = never. Chosen without a source")

    _positive = field_validator("recycle_after")(require_positive)  # zero would recycle every MQL untouched

    @field_validator("reassign_after")
    @classmethod
    def _reassign(cls, v: Duration | None) -> Duration | None:
        return v if v is None else require_positive(v)


class Cadence(Strict):
    """A worked lead: up to max_attempts touches, spaced by `spacing` (default 3 in 5 business days)."""

    max_attempts: int = Field(3, ge=1, le=50, description="touches a rep makes before giving up on an unreached MQL")
    spacing: Duration = Field(dur("2bd"), description="wait between one attempt and the next (clock or business units)")
    threading: Literal["single", "spread", "cover"] | None = Field(
        None, description="account work items (mql.unit account or hybrid): single = every attempt calls the item's "
                          "contact; spread = attempt k calls contact k mod c of the account's engaged contacts at the "
                          "item's opening (multi-threading), the item's own contact first, then decision seniorities, "
                          "then the most engaged, until one is reached; cover = spread, and after the first "
                          "conversation the remaining attempts keep calling the contacts not reached yet (buying-group "
                          "coverage, at the rep time each call costs). Each call uses the called contact's own luck. "
                          "Any value also measures contacts touched per account and the account SLA (in a scenario with [accounts]); unset = single "
                          "without those KPIs (as before). Chosen without a source")


# the short form `routing.discipline` and the (assignment, order) pair it names
_SHORT = {"fifo": ("pooled", "fifo"), "priority": ("pooled", "priority"), "freshest": ("pooled", "freshest"),
          "round_robin": ("round_robin", "fifo"), "owner": ("owner", "fifo")}


class Routing(Strict):
    """Which MQL a free rep takes next, as two rules: `assignment` (which reps may take an MQL:
    pooled = any rep from one shared queue; round_robin = each MQL in turn to one rep's own queue;
    weighted_round_robin = in turn, in proportion to `weights`) and `order` (which waiting MQL goes
    first: fifo oldest, priority tier then score, freshest newest). `discipline` is the short form of
    one pair: fifo, priority, freshest = pooled with that order; round_robin = round_robin with fifo.
    The other half may be given beside it (discipline = "priority" with assignment = "round_robin"
    is round robin in priority order); an explicit value of the same half must agree. Triage: when the backlog exceeds
    triage_backlog, reps skip (recycle) leads scoring below triage_min_score."""

    discipline: Literal["fifo", "priority", "freshest", "round_robin", "owner"] | None = Field(
        "fifo", description="short form of (assignment, order): fifo, priority or freshest (pooled with that "
                            "order), round_robin (round_robin, fifo) or owner (owner, fifo: each account's owner "
                            "rep); none when the pair has no short form")
    triage_backlog: int | None = Field(None, ge=0, description="MQLs waiting above which reps triage (skip and recycle "
                                                               "low scorers); none = never triage")
    triage_min_score: float = Field(70, description="points; during triage, untouched non-demo MQLs scoring below "
                                                    "this are recycled")
    assignment: Literal["pooled", "round_robin", "weighted_round_robin", "owner"] | None = Field(
        None, description="which reps may take an MQL: pooled (one shared queue), round_robin or "
                          "weighted_round_robin (each MQL in turn to one rep's own queue), owner (each account's "
                          "owner rep); default: from `discipline`")
    order: Literal["fifo", "priority", "freshest"] | None = Field(
        None, description="which waiting MQL a free rep takes first: fifo (oldest), priority (tier, then score) or "
                          "freshest (newest); default: from `discipline`")
    weights: list[Annotated[float, Field(gt=0, le=1000)]] = Field(
        [], description="weighted_round_robin: relative share of new MQLs per rep (rep i gets weights[i]; reps "
                        "beyond the list weigh 1); whole numbers give exact counts over a cycle of sum(weights) "
                        "MQLs. Chosen without a source")
    ramp_weight: float = Field(1.0, gt=0, le=1000, description="weighted_round_robin: weight multiplier of a rep "
                                                               "still ramping (e.g. 0.5 = half the share of MQLs); "
                                                               "1 = no change. Chosen without a source")
    daily_cap: int | None = Field(None, ge=1, le=100_000,
                                  description="new MQLs a rep may take per calendar day (round robin: assigned to "
                                              "the rep; pooled: first touches by the rep, who then takes nothing "
                                              "more from the pool that day); none = no cap. Chosen without a source")
    by_region: bool = Field(False, description="round robin: assign each MQL to a rep of the lead's region (scenario "
                                               "sales.time_zones.rep_regions) when one may take it, else to any rep")
    skip_unavailable: bool = Field(True, description="round robin: skip reps who are away (PTO, sick, not yet hired, "
                                                     "left) when assigning; only matters with a [sales] roster")

    @model_validator(mode="after")
    def _pair(self) -> "Routing":
        """Check that the short form and the pair agree, and keep one way of writing the result:
        the short form when the pair has one (assignment and order stay as given), else the pair
        in full (discipline none). The short form names one half of the pair (an order, or the
        round_robin assignment): only an explicit value of that same half can contradict it; the
        other half may be given beside it. `pair` is the resolved (assignment, order)."""
        explicit = "discipline" in self.model_fields_set and self.discipline is not None
        base = _SHORT[self.discipline] if self.discipline is not None else ("pooled", "fifo")
        if explicit:
            names_order = self.discipline not in ("round_robin", "owner")
            field, value, implied = ("order", self.order, base[1]) if names_order else \
                ("assignment", self.assignment, base[0])
            if value is not None and value != implied:
                raise ValueError(f"routing.discipline = {self.discipline!r} means {field} {implied!r}, which conflicts "
                                 f"with routing.{field} = {value!r}; give either the short form routing.discipline "
                                 "or the pair routing.assignment + routing.order")
        if self.assignment is None and self.order is None:
            return self
        pair = (self.assignment or base[0], self.order or base[1])
        short = {v: k for k, v in _SHORT.items()}.get(pair)
        object.__setattr__(self, "discipline", short)
        if short is None:
            object.__setattr__(self, "assignment", pair[0])
            object.__setattr__(self, "order", pair[1])
        return self

    @property
    def pair(self) -> tuple[str, str]:
        """(assignment, order), resolved from whichever form was given."""
        base = _SHORT[self.discipline] if self.discipline is not None else ("pooled", "fifo")
        return (self.assignment or base[0], self.order or base[1])


class Recycle(Strict):
    """Recycled MQLs return to nurture; their later engagement may make them MQLs again (tier
    re_engaged). A lead recycled max_recycles times stays in nurture for good: the default 2 is
    "two chances, then back to nurture" (MQL, recycle, re-MQL, recycle, stays); 1 = never re-MQL."""

    max_recycles: int = Field(2, ge=1, le=100, description="recycles after which a lead stays in nurture")
    reset_behaviour: bool = Field(True, description="behaviour points restart from zero after a recycle")
    requalify_accounts: bool = Field(
        False, description="mql.unit account or hybrid: a recycled account item comes back (tier re_engaged) the next "
                           "time its account rule holds after the recycle (with reset_behaviour, on engagement after "
                           "it; hybrid: at the lead's next MQL once the account qualifies again); false = it stays in "
                           "nurture, as before. Chosen without a source")


class Policy(Strict):
    """What the company decides."""

    name: str = Field("seed-example", description="label of this policy in results and reports")
    description: str = Field("The seed article's point table, threshold 60",
                             description="one line shown by `funnelsim list`")
    icp: Icp = Field(Icp(), description="the company's belief about its ideal customer profile")
    scoring: Scoring = Field(Scoring(), description="lead scoring: fit and behaviour points, caps, negatives, decay")
    mql: Mql = Field(Mql(), description="when a lead becomes an MQL: rule, thresholds, gates, fast lane")
    sla: Sla = Field(Sla(), description="time-to-first-touch targets per tier and the action on a breach")
    cadence: Cadence = Field(Cadence(), description="follow-up attempts per MQL and their spacing")
    routing: Routing = Field(Routing(), description="which MQL a free rep takes next, and backlog triage")
    recycle: Recycle = Field(Recycle(), description="what happens to recycled MQLs")
    reps: int | None = Field(None, ge=0, le=10_000, description="headcount decided by this policy (overrides the scenario)")

    @model_validator(mode="after")
    def _reassign_needs_owner(self) -> "Policy":
        if self.sla.reassign_after is not None and self.routing.pair[0] == "pooled":
            raise ValueError("sla.reassign_after moves an MQL from one rep's queue to another's, but routing.assignment "
                             "is pooled (one shared queue); set routing.assignment = \"round_robin\" (or "
                             "weighted_round_robin), or remove sla.reassign_after")
        return self

    @model_validator(mode="after")
    def _account_rollup_decay(self) -> "Policy":
        if self.mql.unit != "lead" and self.scoring.decay.mode not in ("none", "half_life"):
            raise ValueError(f"mql.unit = {self.mql.unit!r} rolls contacts' scores up to the account, which needs "
                             f"scoring.decay.mode none or half_life (got {self.scoring.decay.mode!r})")
        return self

    @model_validator(mode="after")
    def _requalify_needs_account_unit(self) -> "Policy":
        if self.recycle.requalify_accounts and self.mql.unit == "lead":
            raise ValueError("recycle.requalify_accounts brings recycled *account* items back, but mql.unit is \"lead\" "
                             "(recycled leads already re-MQL on their own engagement); set mql.unit = \"account\" or "
                             "\"hybrid\", or remove recycle.requalify_accounts")
        return self

    @model_validator(mode="after")
    def _spread_needs_account_items(self) -> "Policy":
        if self.cadence.threading not in ("spread", "cover"):
            return self
        if self.mql.unit == "lead":
            raise ValueError(f"cadence.threading = \"{self.cadence.threading}\" spreads an account's attempts over its contacts, but "
                             "mql.unit is \"lead\" (every lead its own work item); set mql.unit = \"account\" or "
                             "\"hybrid\", or cadence.threading = \"single\"")
        if self.mql.account.work_items != "account":
            raise ValueError(f"cadence.threading = \"{self.cadence.threading}\" works each account as one item, but "
                             "mql.account.work_items is \"contact\" (one item per engaged contact); set "
                             "mql.account.work_items = \"account\", or cadence.threading = \"single\"")
        return self

