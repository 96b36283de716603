"""Scenario: what the world does. Lead volume, who the leads are, who really buys, how they engage,
how interest decays while they wait, the sales team, and what happens downstream.

Every field has a default; the defaults *are* the baseline mid-market B2B SaaS world
(`scenarios/baseline.toml` only names it). The policy never sees `truth`.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sim.config.accounts import Accounts
from sim.config.base import MIX_RULE, Strict, allow_zero_clock, check_mix, require_clock, weekday_profile_default
from sim.config.response import DECAY_PRESETS, DecayCurve, Response  # noqa: F401  (part of the scenario schema)
from sim.config.units import Duration, dur
from sim.vocab import (  # noqa: F401  (the Literal types are part of the scenario schema)
    CHANNELS,
    COMPANY_SIZES,
    EMAIL_KINDS,
    EVENT_TYPES,
    INDUSTRIES,
    REGIONS,
    SENIORITIES,
    WEEKDAYS,
    Channel,
    CompanySize,
    EmailKind,
    EventType,
    Industry,
    Region,
    Seniority,
    Weekday,
)

NonNeg = Field(ge=0)


class Horizon(Strict):
    """Warm-up (queues fill up, not measured), the measurement window (the cohort of leads created
    in it is measured), and the run-out (the cohort's outcomes finish). Leads keep arriving in the
    run-out, so the team stays as busy as in the window, but they are not counted in the cohort."""

    warmup: Duration = Field(dur("28d"), description="time simulated before the measured cohort starts")
    window: Duration = Field(dur("182d"), description="measurement window: leads created in it form the cohort")
    runout: Duration = Field(dur("180d"), description="time simulated after the window so the cohort's deals can close")

    _clock = field_validator("warmup", "runout")(allow_zero_clock)
    _window = field_validator("window")(require_clock)


class Calendar(Strict):
    """When reps work. Holidays are dates on which nobody works."""

    workdays: list[Weekday] = Field(["mon", "tue", "wed", "thu", "fri"], min_length=1, description="working weekdays")
    open: dt.time = Field(dt.time(9, 0), description="start of the working day (HH:MM)")
    close: dt.time = Field(dt.time(17, 0), description="end of the working day (HH:MM)")
    holidays: list[dt.date] = Field(default_factory=list, description="dates with no work")

    @field_validator("open", "close")
    @classmethod
    def _local(cls, v: dt.time) -> dt.time:
        if v.tzinfo is not None:
            raise ValueError("use a local time of day without a time zone, e.g. 09:00:00")
        return v

    @model_validator(mode="after")
    def _order(self) -> "Calendar":
        if self.close <= self.open:
            raise ValueError(f"close ({self.close}) must be after open ({self.open})")
        return self


class Spike(Strict):
    """A campaign that multiplies arrivals for a while (e.g. a webinar tripling leads for a week)."""

    name: str = Field("campaign", description="label shown in reports")
    start: dt.date = Field(description="first day of the spike")
    duration: Duration = Field(dur("7d"), description="how long the spike lasts (clock time)")
    multiplier: float = Field(3.0, gt=0, le=10_000, description="arrival-rate multiplier while it lasts")
    channel: Channel | None = Field(None, description="channel affected; all channels if omitted")

    _clock = field_validator("duration")(require_clock)


class Arrivals(Strict):
    """Lead arrivals: a non-homogeneous Poisson process per channel, optionally with a day-level
    gamma rate multiplier (mean 1) that makes daily counts negative-binomial, as real lead flows are."""

    leads_per_year: float = Field(40_000, ge=0, le=50_000_000, description="new leads per year, all channels")
    channel_mix: dict[Channel, float] = Field(
        {"paid_search": 0.22, "paid_social": 0.15, "organic": 0.25, "webinar": 0.12, "referral": 0.06,
         "outbound_list": 0.12, "partner": 0.08},
        description=f"share of leads per channel ({MIX_RULE})")
    weekday_profile: dict[Weekday, float] = Field(default_factory=weekday_profile_default,
                                                  description="relative arrival rate per weekday (normalised to mean 1; "
                                                              "a weekday left out has weight 1)")
    hourly_profile: list[float] = Field(
        [0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 1.0, 1.6, 1.9, 2.0, 1.9, 1.6, 1.8, 1.9, 1.8, 1.6, 1.3, 1.0, 0.8,
         0.7, 0.6, 0.45, 0.3], min_length=24, max_length=24,
        description="relative arrival rate for each hour 0-23 (normalised)")
    spikes: list[Spike] = Field(default_factory=list, description="campaign spikes")
    day_dispersion: float | None = Field(
        None, ge=0.01, le=1_000_000,
        description="shape k (>= 0.01) of a gamma day-level rate multiplier with mean 1 (variance 1/k), shared by all "
                    "channels: a day with mean m leads then has variance m + m^2/k (over-dispersed, as real "
                    "CRM exports are); none = plain Poisson")

    _mix = field_validator("channel_mix")(check_mix)

    @field_validator("weekday_profile", "hourly_profile")
    @classmethod
    def _profile(cls, v: dict[Weekday, float] | list[float]) -> dict[Weekday, float] | list[float]:
        values = list(v.values()) if isinstance(v, dict) else v
        if any(x < 0 for x in values) or sum(values) <= 0:
            raise ValueError("profile weights must be >= 0 with a positive total")
        return v


class AttributeMix(Strict):
    """Distributions of the lead's firmographics. Shares are normalised to sum 1 (a warning says so
    when they do not sum to 1)."""

    seniority: dict[Seniority, float] | None = Field(None, description="share of leads per seniority (none = the "
                                                                       f"population's mix; {MIX_RULE})")
    company_size: dict[CompanySize, float] | None = Field(None, description="share of leads per company size (none = "
                                                                            f"the population's mix; {MIX_RULE})")
    industry: dict[Industry, float] | None = Field(None, description="share of leads per industry (none = the "
                                                                     f"population's mix; {MIX_RULE})")
    region: dict[Region, float] | None = Field(None, description="share of leads per region (none = the "
                                                                 f"population's mix; {MIX_RULE})")
    email_kind: dict[EmailKind, float] | None = Field(None, description="share of leads per email kind (none = the "
                                                                        f"population's mix; {MIX_RULE})")

    _mix = field_validator("seniority", "company_size", "industry", "region", "email_kind")(check_mix)


def _by_channel_default() -> dict[Channel, AttributeMix]:
    """Outbound lists, paid social and referrals bring other people than the average channel."""
    return {
        "outbound_list": AttributeMix(seniority={"c_suite": 0.08, "vp": 0.14, "director": 0.26, "manager": 0.32,
                                                 "ic": 0.20, "student": 0.0},
                                      email_kind={"business": 0.97, "personal": 0.03, "student": 0.0,
                                                  "competitor": 0.0}),
        "paid_social": AttributeMix(seniority={"c_suite": 0.02, "vp": 0.04, "director": 0.09, "manager": 0.22,
                                               "ic": 0.43, "student": 0.20}),
        "referral": AttributeMix(seniority={"c_suite": 0.10, "vp": 0.14, "director": 0.22, "manager": 0.28,
                                            "ic": 0.24, "student": 0.02}),
    }


class Population(AttributeMix):
    """Who the leads are. `by_channel` overrides any of the mixes for one channel."""

    seniority: dict[Seniority, float] = Field({"c_suite": 0.04, "vp": 0.07, "director": 0.14, "manager": 0.25,
                                               "ic": 0.38, "student": 0.12},
                                              description=f"share of leads per seniority (absent = 0; {MIX_RULE})")
    company_size: dict[CompanySize, float] = Field({"micro": 0.18, "small": 0.22, "mid": 0.32, "large": 0.18,
                                                    "enterprise": 0.10},
                                                   description=f"share of leads per company size (absent = 0; {MIX_RULE})")
    industry: dict[Industry, float] = Field({"software": 0.26, "financial_services": 0.14, "healthcare": 0.10,
                                             "manufacturing": 0.12, "retail": 0.10, "education": 0.10,
                                             "public_sector": 0.06, "other": 0.12},
                                            description=f"share of leads per industry (absent = 0; {MIX_RULE})")
    region: dict[Region, float] = Field({"north_america": 0.52, "emea": 0.30, "apac": 0.12, "latam": 0.06},
                                        description=f"share of leads per region (absent = 0; {MIX_RULE})")
    email_kind: dict[EmailKind, float] = Field({"business": 0.72, "personal": 0.19, "student": 0.07,
                                                "competitor": 0.02},
                                               description=f"share of leads per email kind (absent = 0; {MIX_RULE})")
    existing_customer_share: float = Field(0.04, ge=0, le=1, description="share of leads at existing customers")
    open_deal_share: float = Field(0.03, ge=0, le=1, description="share of leads whose account already has an open deal")
    by_channel: dict[Channel, AttributeMix] = Field(
        default_factory=_by_channel_default,
        description="per-channel overrides of the attribute mixes (setting this table replaces all the "
                    "default overrides, not just the channels named)")


class Truth(Strict):
    """Ground truth the CRM never sees: P(buyer) = base_rate x the multipliers of the lead's
    attributes (capped at max_probability). This is the scenario's *true* ICP, which the policy's
    idea of the ICP may not match."""

    base_rate: float = Field(0.10, ge=0, le=1, description="in-market probability before multipliers")
    max_probability: float = Field(0.9, ge=0, le=1, description="cap on any lead's buyer probability")
    seniority: dict[Seniority, float] = Field({"c_suite": 1.6, "vp": 1.8, "director": 1.6, "manager": 1.2, "ic": 0.7,
                                               "student": 0.1},
                                              description="buyer-probability multiplier per seniority (absent = 1)")
    company_size: dict[CompanySize, float] = Field({"micro": 0.3, "small": 0.8, "mid": 1.6, "large": 1.3,
                                                    "enterprise": 0.9},
                                                   description="buyer-probability multiplier per company size "
                                                               "(absent = 1)")
    industry: dict[Industry, float] = Field({"software": 1.5, "financial_services": 1.3, "healthcare": 1.0,
                                             "manufacturing": 0.9, "retail": 0.8, "education": 0.5,
                                             "public_sector": 0.6, "other": 0.7},
                                            description="buyer-probability multiplier per industry (absent = 1)")
    channel: dict[Channel, float] = Field({"paid_search": 1.3, "paid_social": 0.6, "organic": 0.9, "webinar": 1.0,
                                           "referral": 2.0, "outbound_list": 0.5, "partner": 1.4},
                                          description="buyer-probability multiplier per channel (absent = 1)")
    email_kind: dict[EmailKind, float] = Field({"business": 1.0, "personal": 0.6, "student": 0.05,
                                                "competitor": 0.0},
                                               description="buyer-probability multiplier per email kind (absent = 1)")
    buyer_intent: tuple[float, float] = Field((5.0, 2.0), description="Beta(a, b) of a buyer's intent level")
    researcher_intent: tuple[float, float] = Field((1.2, 6.0), description="Beta(a, b) of a non-buyer's intent level")

    @field_validator("seniority", "company_size", "industry", "channel", "email_kind")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if x < 0]
        if bad:
            raise ValueError(f"multipliers must be >= 0 (negative for {', '.join(bad)})")
        return v

    @field_validator("buyer_intent", "researcher_intent")
    @classmethod
    def _beta(cls, v: tuple[float, float]) -> tuple[float, float]:
        if min(v) <= 0:
            raise ValueError("Beta parameters must both be > 0")
        return v


def _entry_event_default() -> dict[Channel, dict[EventType, float]]:
    """What a lead of each channel did to become a lead (outbound lists: nothing)."""
    return {
        "paid_search": {"tofu_download": 0.55, "bofu_download": 0.2, "demo_request": 0.08, "contact_form": 0.17},
        "paid_social": {"tofu_download": 0.8, "webinar_educational": 0.12, "newsletter_signup": 0.08},
        "organic": {"tofu_download": 0.5, "newsletter_signup": 0.3, "contact_form": 0.1, "demo_request": 0.03,
                    "bofu_download": 0.07},
        "webinar": {"webinar_educational": 0.7, "webinar_product": 0.3},
        "referral": {"contact_form": 0.35, "demo_request": 0.2, "tofu_download": 0.45},
        "partner": {"contact_form": 0.3, "webinar_product": 0.2, "bofu_download": 0.2, "tofu_download": 0.3},
    }


class Engagement(Strict):
    """How leads engage. Each lead has an interest envelope exp(-t / life) after it arrives; the
    expected number of events of each type over that life interpolates between the researcher and
    the buyer profile by the lead's intent (0 -> researcher, 1 -> buyer). Some leads get a second
    wave of interest later (re-engagement)."""

    interest_life: Duration = Field(dur("21d"), description="median time constant of a lead's interest envelope")
    interest_life_sigma: float = Field(0.6, ge=0, le=3, description="lognormal sigma of the interest life across leads")
    buyer: dict[EventType, float] = Field(
        {"demo_request": 0.22, "contact_form": 0.12, "pricing_visit": 1.2, "comparison_visit": 0.6,
         "webinar_product": 0.35, "webinar_educational": 0.3, "email_open": 6.0, "email_click_product": 0.8,
         "email_click_content": 0.5, "bofu_download": 0.5, "tofu_download": 0.5, "newsletter_signup": 0.1},
        description="expected events per interest life for a lead with intent 1")
    researcher: dict[EventType, float] = Field(
        {"demo_request": 0.002, "contact_form": 0.008, "pricing_visit": 0.1, "comparison_visit": 0.04,
         "webinar_product": 0.02, "webinar_educational": 0.2, "email_open": 3.0, "email_click_product": 0.08,
         "email_click_content": 0.35, "bofu_download": 0.06, "tofu_download": 0.5, "newsletter_signup": 0.15},
        description="expected events per interest life for a lead with intent 0")
    entry_event: dict[Channel, dict[EventType, float]] = Field(
        default_factory=_entry_event_default,
        description=f"the event that creates a lead, per channel (shares; {MIX_RULE}); channels absent here "
                    "(outbound_list) arrive with no event")
    entry_hand_raise_intent: float = Field(
        0.7, ge=0, le=1,
        description="how strongly a hand-raising entry event (demo, contact form) follows intent: 0 = channel shares "
                    "only, 1 = only in-market leads raise their hand on entry")
    reengage_share: float = Field(0.15, ge=0, le=1, description="share of leads with a second wave of interest")
    reengage_delay: Duration = Field(dur("90d"), description="mean delay from arrival to the second wave")
    reengage_strength: float = Field(0.6, ge=0, le=5, description="second wave's size relative to the first")

    _clock = field_validator("interest_life", "reengage_delay")(allow_zero_clock)

    @field_validator("buyer", "researcher")
    @classmethod
    def _rates(cls, v: dict[EventType, float]) -> dict[EventType, float]:
        bad = [k for k, x in v.items() if x < 0]
        if bad:
            raise ValueError(f"expected event counts must be >= 0 (negative for {', '.join(bad)})")
        return v

    @field_validator("entry_event")
    @classmethod
    def _entry(cls, v: dict[Channel, dict[EventType, float]]) -> dict[Channel, dict[EventType, float]]:
        for mix in v.values():
            check_mix(mix)
        return v


class HandleTime(Strict):
    """Rep time per attempt (a call plus logging, or a conversation)."""

    dist: Literal["lognormal", "exponential", "fixed"] = Field(
        "lognormal", description="distribution of the handling time: lognormal (mean, cv), exponential or fixed")
    mean: Duration = Field(dur("10m"), description="mean handling time of an attempt that does not reach the lead")
    conversation_mean: Duration = Field(dur("25m"), description="mean handling time of an attempt that reaches the lead")
    cv: float = Field(0.6, ge=0, le=5, description="coefficient of variation (lognormal only)")

    _clock = field_validator("mean", "conversation_mean")(require_clock)


class Skill(Strict):
    """How much reps differ: each rep's contact and qualification multipliers are lognormal with mean 1,
    drawn once per rep per world (the same for every policy). 0 = identical reps (today's model)."""

    contact_spread: float = Field(0.0, ge=0, le=2, description="sd of the log of a rep's contact multiplier (0.2 = "
                                                               "most reps within +/-40%); 0 = identical. Chosen "
                                                               "without a source")
    qualify_spread: float = Field(0.0, ge=0, le=2, description="sd of the log of a rep's qualification multiplier "
                                                               "(chance a reached MQL becomes an SQL); 0 = identical. "
                                                               "Chosen without a source")


class Ramp(Strict):
    """A new hire's productivity rises linearly from `start` to 1 over `weeks`: while ramping, the rep's
    contact chance is multiplied by it and each attempt takes 1/productivity as long. Reps on the team
    at time zero are fully ramped."""

    weeks: float = Field(0.0, ge=0, le=104, description="weeks from a hire's first day to full productivity; 0 = "
                                                        "none. SDR ramp is commonly quoted as ~3 months; chosen "
                                                        "without a source")
    start: float = Field(0.5, gt=0, le=1, description="productivity (0-1] on a hire's first day. Chosen without a "
                                                      "source")


class Attrition(Strict):
    """Reps leave at random (exponential time to leaving at `annual_rate`) and are replaced after
    `hiring_lag`; the replacement ramps. A rep leaving mid-attempt finishes that attempt; MQLs in a
    leaver's own queue go back to routing."""

    annual_rate: float = Field(0.0, ge=0, le=10, description="leavers per rep-year (0.35 = about a third of the "
                                                             "team per year); 0 = nobody leaves. Chosen without a "
                                                             "source")
    hiring_lag: Duration = Field(dur("45d"), description="clock time from a leaver's last day to the replacement's "
                                                         "first day. Chosen without a source")
    replace: bool = Field(True, description="leavers are replaced (after hiring_lag)")

    _clock = field_validator("hiring_lag")(allow_zero_clock)


class Pto(Strict):
    """One rep's planned time off: every day from start to end (inclusive)."""

    rep: int = Field(ge=0, le=10_000, description="the rep's seat: 0..reps-1 for the initial team, then the hires in "
                                                  "plan order")
    start: dt.date = Field(description="first day off")
    end: dt.date = Field(description="last day off (inclusive)")

    @model_validator(mode="after")
    def _order(self) -> "Pto":
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) must not be before start ({self.start})")
        return self


class Absence(Strict):
    """When reps are away: planned PTO (listed, or random weeks) and random sick days, on the business
    calendar. An away rep takes no work."""

    pto: list[Pto] = Field([], description="planned time off: [{rep, start, end}]")
    pto_days_per_year: float = Field(0.0, ge=0, le=100, description="random planned PTO per rep, in working days "
                                                                    "per year, taken in blocks of pto_block_days "
                                                                    "at random. Chosen without a source")
    pto_block_days: int = Field(5, ge=1, le=60, description="working days per random PTO block (5 = a week)")
    sick_days_per_year: float = Field(0.0, ge=0, le=100, description="random single sick days per rep per year (each "
                                                                     "working day independently). Chosen without a "
                                                                     "source")


class Hire(Strict):
    """Reps joining on a date (they ramp)."""

    date: dt.date = Field(description="first working day of the new reps")
    count: int = Field(1, ge=1, le=1000, description="reps joining that day")


class TimeZones(Strict):
    """Reps and leads in regions with their own local business hours: each region's clock is
    `offsets[region]` hours ahead of the calendar's (the calendar's hours, weekdays and holidays then
    hold in local time). A rep in a region works its local hours (several regions = follow the sun);
    an attempt outside the lead's local hours reaches it less often. Off while `offsets` is empty."""

    offsets: dict[Region, float] = Field({}, description="hours each region's local clock is ahead of the calendar's "
                                                         "(e.g. north_america = 0, emea = 6, apac = 13); regions left "
                                                         "out are at 0; empty = no time zones")
    rep_regions: list[Region] = Field([], description="region of each seat, in seat order (repeated when shorter); "
                                                      "empty = every rep works the calendar's hours")
    outside_hours_contact: float = Field(1.0, ge=0, le=1, description="multiplier of the contact chance of an attempt "
                                                                      "outside the lead's local business hours (0.5 = "
                                                                      "half as likely); 1 = no effect. Chosen without a "
                                                                      "source")

    @field_validator("offsets")
    @classmethod
    def _offsets(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, x in v.items() if not -24 < x < 24]
        if bad:
            raise ValueError(f"offsets must lie between -24 and 24 hours (not {', '.join(bad)})")
        return v


class Sales(Strict):
    """The SDR team that works MQLs."""

    reps: int = Field(6, ge=0, le=10_000, description="SDRs working MQLs")
    mql_time_share: float = Field(0.5, ge=0.01, le=1, description="share of a rep's working time available for MQL work")
    handle_time: HandleTime = Field(HandleTime(), description="rep time per attempt")
    territories: list[Region] = Field(["north_america", "emea", "apac"], description="regions the team sells to")
    skill: Skill = Field(Skill(), description="how much reps differ (contact and qualification multipliers)")
    ramp: Ramp = Field(Ramp(), description="a new hire's productivity over the first weeks")
    attrition: Attrition = Field(Attrition(), description="reps leaving at random, and their replacement")
    absence: Absence = Field(Absence(), description="planned PTO and random sick days")
    hires: list[Hire] = Field([], description="hiring plan: [{date, count}]; new reps ramp")
    time_zones: TimeZones = Field(TimeZones(), description="regions with local business hours (reps and leads)")


class Outcomes(Strict):
    """What happens once a rep reaches an MQL: acceptance (or rejection with a reason following the
    lead's true attributes), SQL, opportunity, won/lost, and when."""

    reject_wrong_title: dict[Seniority, float] = Field(
        {"c_suite": 0.0, "vp": 0.0, "director": 0.01, "manager": 0.03, "ic": 0.10, "student": 0.6},
        description="P(reject as wrong title) per seniority, for a reached lead (absent = 0)")
    reject_already_in_deal: float = Field(0.9, ge=0, le=1, description="P(reject) when the account has an open deal")
    reject_non_buyer: float = Field(0.10, ge=0, le=1, description="P(reject as confirmed non-buyer) for a lead not in market")
    bad_contact_data: dict[EmailKind, float] = Field(
        {"business": 0.01, "personal": 0.06, "student": 0.1, "competitor": 0.1},
        description="P(reject for bad contact data) per email kind (absent = 0)")
    sql_buyer: float = Field(0.75, ge=0, le=1, description="P(SQL | accepted, buyer) at the response reference delay")
    sql_non_buyer: float = Field(0.25, ge=0, le=1, description="P(SQL | accepted, not in market)")
    opportunity_buyer: float = Field(0.7, ge=0, le=1, description="P(opportunity | SQL, buyer)")
    opportunity_non_buyer: float = Field(0.25, ge=0, le=1, description="P(opportunity | SQL, not in market)")
    win_buyer: float = Field(0.30, ge=0, le=1, description="P(won | opportunity, buyer)")
    win_non_buyer: float = Field(0.03, ge=0, le=1, description="P(won | opportunity, not in market)")
    sql_delay: Duration = Field(dur("3d"), description="median time from first conversation to SQL")
    opportunity_delay: Duration = Field(dur("7d"), description="median time from SQL to opportunity")
    cycle: Duration = Field(dur("40d"), description="median time from opportunity to close")
    delay_sigma: float = Field(0.7, ge=0, le=3, description="lognormal sigma of the stage delays")
    cycle_sigma: float | None = Field(None, ge=0, le=3,
                                      description="lognormal sigma of the opportunity -> close time (none = delay_sigma)")
    win_by_channel: dict[Channel, Annotated[float, Field(ge=0, le=1)]] = Field(
        {}, description="P(won | opportunity) per channel, replacing win_buyer / win_non_buyer for leads of the "
                        "channels named (calibrated from exports that record wins but not who was in market)")
    deal_size: dict[CompanySize, float] = Field(
        {"micro": 4_000, "small": 9_000, "mid": 22_000, "large": 48_000, "enterprise": 110_000},
        description="median value of a won deal per company size, in currency units (absent = 0)")
    deal_size_sigma: float = Field(0.6, ge=0, le=3, description="lognormal sigma of deal size around the band median")

    _clock = field_validator("sql_delay", "opportunity_delay", "cycle")(allow_zero_clock)


    @field_validator("deal_size")
    @classmethod
    def _sizes(cls, v: dict[CompanySize, float]) -> dict[CompanySize, float]:
        if any(x < 0 for x in v.values()):
            raise ValueError("deal sizes must be >= 0")
        return v


class Costs(Strict):
    """Costs, for cost per MQL and per won deal."""

    per_lead: dict[Channel, float] = Field(
        {"paid_search": 120, "paid_social": 70, "organic": 15, "webinar": 60, "referral": 20, "outbound_list": 35,
         "partner": 50},
        description="acquisition cost of one lead per channel, in currency units (absent = 0)")
    rep_hourly: float = Field(45.0, ge=0, description="loaded cost of one rep hour")
    reassignment: float = Field(0.0, ge=0, description="cost of reassigning one MQL to another rep (sla.reassign_after), "
                                                       "in currency units: the hand-over's admin and context loss. "
                                                       "Chosen without a source")


class Queueing(Strict):
    """Textbook queue mode, for teaching and for validating the engine against Erlang C / Erlang A.

    When enabled, every lead is an MQL the moment it arrives, as a Poisson process at `mql_rate`
    (scoring, engagement and the policy's MQL rule are bypassed; each MQL is tier standard). With
    `sales = "textbook"` the sales process becomes M/M/c (+M): reps work 24/7, one attempt per MQL
    that always reaches the lead, each blocking its rep for an exponential time with mean
    `handle_time`, first come first served; the policy's cadence, SLA breach actions, triage and
    routing are ignored. With `sales = "scenario"` only the MQL stream is
    textbook: business hours, the policy's cadence, response decay and `sales.handle_time` apply.
    `patience`: a lead still waiting for its first touch after an exponential time with this mean
    goes cold and leaves (status abandoned; Erlang A); none = leads wait forever (Erlang C).
    Set `response.decay = "none"` too if the downstream outcomes should not decay with the wait."""

    enabled: bool = Field(False, description="turn the textbook queue mode on")
    mql_rate: float = Field(6.0, gt=0, le=1_000_000, description="MQLs per hour, around the clock (Poisson)")
    handle_time: Duration = Field(dur("10m"), description="mean handling time of an attempt (exponential), textbook sales")
    patience: Duration | None = Field(None, description="mean patience of a waiting MQL (exponential); none = infinite")
    sales: Literal["textbook", "scenario"] = Field(
        "textbook", description="textbook: 24/7 reps, one attempt, exponential handling; scenario: the scenario's "
                                "calendar, handling times and response decay with the policy's cadence")

    @field_validator("handle_time", "patience")
    @classmethod
    def _clock(cls, v: Duration | None) -> Duration | None:
        return v if v is None else require_clock(v)

    @property
    def textbook(self) -> bool:
        """The sales process is the textbook queue (24/7 reps, one attempt, exponential handling)."""
        return self.enabled and self.sales == "textbook"


class Handoff(Strict):
    """The hand-off to account executives (AEs), a second capacity stage; off by default (then every
    SQL becomes an opportunity at `outcomes.opportunity_*` after `outcomes.opportunity_delay`, as if
    AE time were unlimited). When on, an SQL needs a discovery meeting held by an AE in AE working
    time (the scenario's calendar, or around the clock): it can be booked no earlier than `notice`
    after the SQL, into the first free meeting slot (SQLs are served in order), and the meeting
    blocks its AE for `meeting_time / time_share` (the rest of that span is cycle work on open deals).
    A buyer misses a booked meeting with chance `no_show`; it is rebooked up to `rebooks` times, then
    lost (stays an SQL). A held meeting opens the opportunity at its own time with the usual
    `outcomes.opportunity_*` chance. Defaults chosen without a source."""

    enabled: bool = Field(False, description="turn the AE stage on (off: unlimited AE capacity, today's model)")
    aes: int = Field(3, ge=0, le=10_000, description="account executives holding discovery meetings "
                                                    "(chosen without a source)")
    meeting_time: Duration = Field(dur("1h"), description="AE time one discovery meeting takes, prep and notes "
                                                          "included (mean if exponential; chosen without a source)")
    time_share: float = Field(0.5, ge=0.01, le=1, description="share of an AE's working time for discovery "
                                                              "meetings, the rest is cycle work (chosen without a source)")
    service: Literal["fixed", "exponential"] = Field(
        "fixed", description="meeting time: fixed, or exponential with mean meeting_time (queueing checks)")
    notice: Duration = Field(dur("1bd"), description="earliest a meeting can be held after the SQL or a no-show "
                                                     "(business or clock time; chosen without a source)")
    no_show: float = Field(0.15, ge=0, le=1, description="chance a buyer misses a booked meeting "
                                                        "(chosen without a source)")
    rebooks: int = Field(1, ge=0, le=10, description="times a missed meeting is rebooked before the SQL is lost "
                                                     "(0: lost at the first no-show)")
    hours: Literal["business", "always"] = Field(
        "business", description="when AEs hold meetings: the scenario's calendar, or around the clock")
    ae_hourly: float = Field(70.0, ge=0, description="loaded cost of one AE hour on discovery meetings "
                                                     "(chosen without a source)")

    @field_validator("meeting_time")
    @classmethod
    def _clock(cls, v: Duration) -> Duration:
        return require_clock(v)


class Competitor(Strict):
    """Competitor first response, off by default: a buyer waiting for our first touch (or, with the
    AE stage on, for its discovery meeting) is taken by a competitor after a Weibull time since the
    wait began (clock time): hazard (shape / scale) (t / scale)^(shape - 1), growing with the wait
    when shape > 1. Drawn from each lead's own luck, so every policy meets the same competitor. A
    buyer still waiting when its competitor time comes ends `lost_to_competitor` (a rep who
    reaches it later finds it gone); it multiplies with the response decay curve (see the model
    background). Defaults chosen without a source."""

    enabled: bool = Field(False, description="turn competitor first response on")
    shape: float = Field(1.5, gt=0, le=20, description="Weibull shape: > 1 means the hazard grows with the wait "
                                                       "(chosen without a source)")
    scale: Duration = Field(dur("3d"), description="Weibull scale of the wait for a first touch: 63% of buyers "
                                                   "are gone by then (clock time; chosen without a source)")
    meeting_scale: Duration | None = Field(None, description="Weibull scale of the wait from SQL to the AE meeting "
                                                             "(clock time); none = scale")
    buyers_only: bool = Field(True, description="only in-market leads can be taken (a researcher buys from no one)")

    @field_validator("scale", "meeting_scale")
    @classmethod
    def _clock(cls, v: Duration | None) -> Duration | None:
        return v if v is None else require_clock(v)


class LoadQuality(Strict):
    """Load-dependent quality, off by default: when the SDR team's utilisation over the working
    day before a conversation is above `above`, SDRs rush: the conversation takes `handle_factor`
    of its time and its chance of qualifying (SQL) is multiplied by `qualify_factor`. Defaults
    chosen without a source."""

    enabled: bool = Field(False, description="turn load-dependent quality on")
    above: float = Field(0.85, ge=0, le=1, description="SDR utilisation (previous working day) above which "
                                                       "conversations suffer (chosen without a source)")
    qualify_factor: float = Field(0.8, ge=0, le=1, description="multiplier on the chance of SQL of a conversation "
                                                               "held under load (chosen without a source)")
    handle_factor: float = Field(0.8, gt=0, le=1, description="multiplier on the length of a conversation held "
                                                             "under load (chosen without a source)")


class Stream(Strict):
    """Streaming the world in chunks of arrivals, so memory does not grow with the horizon.

    A streamed world draws its arrivals for the whole horizon as usual, then each chunk's attributes,
    truth, engagement and luck from per-chunk child seeds (a different, equally valid draw of the same
    world: results change once, by design), with counter-based luck. When one replication runs
    lead-unit policies, each chunk is scored under every policy as it is drawn and the engagement
    events of leads that none of them makes an MQL are dropped. `mode = "auto"` streams worlds of at
    least `auto_leads` expected leads (today's sizes stay whole and bit-identical); see
    docs/background/performance.md."""

    mode: Literal["off", "on", "auto"] = Field(
        "auto", description="off: the whole world at once; on: always streamed; auto: streamed from auto_leads "
                            "expected leads in the world (default auto, chosen without a source)")
    chunk: Duration = Field(dur("28d"), description="arrival time per chunk (clock duration, at least 1 day; "
                                                    "default 4 weeks, chosen without a source)")
    auto_leads: int = Field(1_000_000, ge=1, description="expected leads in the world from which mode auto streams "
                                                         "(default 1M, chosen without a source: from there a streamed world "
                                                         "takes less memory than a whole one for the same CPU)")

    @field_validator("chunk")
    @classmethod
    def _chunk_at_least_a_day(cls, v: Duration) -> Duration:
        require_clock(v)
        if v.minutes < 1440.0:
            raise ValueError("stream.chunk must be at least 1d (a chunk of arrivals, e.g. '28d')")
        return v


def stream_blocker(scenario: Scenario) -> str | None:
    """Why this scenario's world cannot be streamed whatever `stream.mode` says, or None."""
    if scenario.queueing.enabled:
        return "queueing mode has no engagement events to stream"
    return None   # [accounts] streams too: the account layer is drawn whole, engagement and luck in chunks


class Scenario(Strict):
    """What the world does. Everything a policy cannot change."""

    name: str = Field("baseline", description="label of this scenario in results and reports")
    description: str = Field("Mid-market B2B SaaS, about 40k leads a year",
                             description="one line shown by `funnelsim list`")
    start_date: dt.date = Field(dt.date(2026, 1, 5), description="calendar date of time zero (weekdays, holidays)")
    horizon: Horizon = Field(Horizon(), description="warm-up, measurement window and run-out")
    calendar: Calendar = Field(Calendar(), description="when reps work: workdays, hours, holidays")
    arrivals: Arrivals = Field(Arrivals(), description="lead volume by channel, weekday and hour; campaign spikes")
    population: Population = Field(Population(), description="who the leads are (firmographic mixes)")
    truth: Truth = Field(Truth(), description="who really buys: the hidden true ICP")
    engagement: Engagement = Field(Engagement(), description="how leads engage over their interest life")
    response: Response = Field(Response(), description="how interest decays while an MQL waits")
    sales: Sales = Field(Sales(), description="the SDR team: headcount, time share, handling times, territories")
    outcomes: Outcomes = Field(Outcomes(), description="what happens after a rep reaches an MQL: rejection, SQL, "
                                                       "opportunity, won/lost, deal size")
    costs: Costs = Field(Costs(), description="lead and rep costs")
    queueing: Queueing = Field(Queueing(), description="textbook queue mode (Erlang C / A validation); off by default")
    handoff: Handoff = Field(Handoff(), description="the hand-off to account executives: a second capacity stage; "
                                                    "off by default")
    competitor: Competitor = Field(Competitor(), description="competitor first response while a buyer waits; "
                                                             "off by default")
    load_quality: LoadQuality = Field(LoadQuality(), description="conversations under SDR overload qualify less; "
                                                                 "off by default")
    accounts: Accounts | None = Field(None, description="a finite market of accounts with buying windows and buying groups "
                                                        "(leads become their contacts); none = each lead is its own account")
    stream: Stream = Field(Stream(), description="streaming the world in chunks of arrivals for large worlds; "
                                                 "auto by default (from 1M expected leads)")
