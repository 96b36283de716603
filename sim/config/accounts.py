"""Settings of the account layer: the scenario's `[accounts]` table (a finite market of companies,
their hidden buying windows, buying groups, intent data, lead-to-account matching) and the policy's
`[mql.account]` table (the MQA rule). Kept apart from scenario.py and policy.py, which only gain one
field each, so the lead-only files and their defaults stay as they were.

Figures with a published source say so (buying-group size: IDC, Gartner, CEB; share in market:
Dawes 2021); the others are marked "chosen without a source".
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from sim.config.base import MIX_RULE, Strict, check_mix, require_clock
from sim.config.units import Duration, dur
from sim.vocab import COMPANY_SIZES, INDUSTRIES, REGIONS, SENIORITIES

CompanySize = Literal[COMPANY_SIZES]  # type: ignore[valid-type]
Industry = Literal[INDUSTRIES]  # type: ignore[valid-type]
Region = Literal[REGIONS]  # type: ignore[valid-type]
Seniority = Literal[SENIORITIES]  # type: ignore[valid-type]
BUYING_ROLES = ("decision_maker", "champion", "influencer", "user")
ROLES = (*BUYING_ROLES, "outside")        # "outside": a contact not in the buying group (a researcher)
Role = Literal[BUYING_ROLES]  # type: ignore[valid-type]
Share = Annotated[float, Field(ge=0, le=1)]


def _role_seniority() -> dict[str, dict[str, float]]:
    return {
        "decision_maker": {"c_suite": 0.45, "vp": 0.40, "director": 0.15},
        "champion": {"vp": 0.15, "director": 0.40, "manager": 0.45},
        "influencer": {"director": 0.20, "manager": 0.45, "ic": 0.35},
        "user": {"manager": 0.25, "ic": 0.75},
    }


class IntentSignal(Strict):
    """Third-party intent data (what intent vendors sell): a surge flag per account. A buying window
    is flagged with probability `hit_rate`, from `lag` after it opens to its end; an account out of
    market is flagged by mistake for `false_alarm_rate` of its time, in surges of `surge_length`.
    No independent accuracy study exists (vendors call bidstream data "directional"), so both rates
    are parameters; their defaults are chosen without a source."""

    hit_rate: float = Field(0.6, ge=0, le=1, description="share of buying windows the signal flags (chosen without a "
                                                         "source: no independent study published)")
    false_alarm_rate: float = Field(0.05, ge=0, le=0.9,
                                    description="share of an out-of-market account's time it is flagged anyway (chosen "
                                                "without a source)")
    lag: Duration = Field(dur("7d"), description="delay from a window's start to its flag (chosen without a source)")
    surge_length: Duration = Field(dur("30d"), description="length of one false-alarm surge (chosen without a source)")

    _clock = field_validator("lag", "surge_length")(require_clock)


class Accounts(Strict):
    """A finite market of accounts (companies). Each account is in market only inside its buying
    windows; the contacts of its buying group who engage show up as leads within weeks of the window's
    start. Every other lead is a researcher at a random account (weighted by company size), outside
    the buying group. Lead arrival times and channels are those of `[arrivals]`: the account layer
    decides who each arriving lead is, not when leads arrive."""

    count: int | None = Field(None, ge=1, le=50_000_000,
                              description="accounts in the market; none = 0.375 per lead a year (15,000 at 40k "
                                          "leads/year; chosen without a source)")
    company_size: dict[CompanySize, float] = Field(
        {"micro": 0.40, "small": 0.28, "mid": 0.20, "large": 0.08, "enterprise": 0.04},
        description=f"share of accounts per company size ({MIX_RULE}; chosen without a source: most companies are small)")
    industry: dict[Industry, float] | None = Field(None, description="share of accounts per industry (none = the "
                                                                     "population's lead mix)")
    region: dict[Region, float] | None = Field(None, description="share of accounts per region (none = the "
                                                                 "population's lead mix)")
    buying_group: dict[CompanySize, Annotated[float, Field(ge=1, le=100)]] = Field(
        {"micro": 1.3, "small": 2.5, "mid": 3.5, "large": 5.0, "enterprise": 8.0},
        description="mean buying-group size (people) per company size: 100-499 employees 3-4, 500-999 4-6, 1,000+ 5-7 "
                    "(IDC 2010-12), 6-10 in complex purchases (Gartner 2019), small companies 1-3")
    max_contacts: int = Field(20, ge=1, le=1000, description="cap on the size of one buying group (people)")
    show_up_share: float = Field(0.5, gt=0, le=1,
                                 description="share of a buying group's members who engage with marketing and become "
                                             "leads (chosen without a source)")
    in_market_share: float = Field(0.05, gt=0, le=0.5,
                                   description="average share of accounts inside a buying window at any time (about 5%: "
                                               "Dawes 2021, the '95/5' rule); scaled per account by truth.company_size and "
                                               "truth.industry")
    window_length: Duration = Field(dur("90d"), description="median length of a buying window (clock time; chosen "
                                                            "without a source: weeks to months)")
    window_sigma: float = Field(0.5, ge=0, le=2, description="lognormal sigma of window lengths (chosen without a source)")
    contact_spread: Duration = Field(dur("14d"),
                                     description="mean delay from a window's start to each engaging member's first visit "
                                                 "(exponential; members show up within weeks of each other; chosen without "
                                                 "a source)")
    researcher_weight: dict[CompanySize, Annotated[float, Field(ge=0)]] = Field(
        {"micro": 1.0, "small": 1.5, "mid": 3.0, "large": 5.0, "enterprise": 8.0},
        description="relative chance that a researcher lead comes from an account of each size (larger companies have "
                    "more staff reading content; chosen without a source)")
    role_mix: dict[Role, float] = Field(
        {"decision_maker": 0.2, "champion": 0.25, "influencer": 0.3, "user": 0.25},
        description=f"share of buying-group members per role ({MIX_RULE}; chosen without a source)")
    role_seniority: dict[Role, dict[Seniority, float]] = Field(
        default_factory=_role_seniority,
        description="seniority mix of the buying-group members of each role (shares; chosen without a source); members "
                    "outside the buying group follow the population's seniority mix")
    existing_customer_share: float = Field(0.04, ge=0, le=1, description="share of accounts that are customers already")
    open_deal_share: float = Field(0.03, ge=0, le=1, description="share of accounts with an open deal at the start")
    match_rate: float = Field(0.85, ge=0, le=1,
                              description="share of leads the CRM links to their account; the rest are orphans that look "
                                          "like new single-contact accounts (no public benchmark; chosen without a source: "
                                          "calibrate from a CRM export)")
    intent: IntentSignal | None = Field(None, description="third-party intent data per account; none = no intent data")
    win_coverage_weight: float = Field(
        0.5, ge=0, le=1,
        description="how much the win chance depends on the buying group reached: P(won) is multiplied by (1 - w) + w x "
                    "coverage, coverage = members reached by reps before the opportunity / group size (assumption chosen "
                    "without a source; CEB: purchase likelihood falls from 81% with one stakeholder to 31% with six)")
    one_opportunity_per_window: bool = Field(
        True, description="at most one opportunity per account per buying window: later ones of the same account are "
                          "merged into the first (they stay SQLs)")

    _mixes = field_validator("company_size", "industry", "region", "role_mix")(check_mix)
    _clock = field_validator("window_length", "contact_spread")(require_clock)

    @field_validator("role_seniority")
    @classmethod
    def _seniority_mixes(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        for mix in v.values():
            check_mix(mix)
        return v

    @field_validator("max_contacts")
    @classmethod
    def _groups_fit_the_cap(cls, v: int, info: ValidationInfo) -> int:
        groups = info.data.get("buying_group") or {}
        over = [f"{s} ({g:g})" for s, g in groups.items() if g > v]
        if over:
            raise ValueError(f"{v} is smaller than the mean buying group of {', '.join(over)}: raise max_contacts or "
                             f"lower accounts.buying_group")
        return v

    def largest_group(self) -> int:
        """The largest buying group this market can have (people)."""
        return int(self.max_contacts)


class AccountRule(Strict):
    """When an account is an MQA (marketing qualified account): account score = account fit (the
    policy's fit points for its size, industry and region) + the roll-up of its contacts' behaviour
    points (each contact capped at `contact_cap`, decayed like lead scores) + `intent_points` while
    its intent signal is on. The rule: score >= threshold and/or at least `min_engaged_contacts`
    engaged contacts (a scored engagement in the last `engaged_window`), optionally one of them in a
    decision seniority. Engagement-depth-and-breadth rules of this kind are what Engagio/Demandbase
    call MQAs; 6sense's 6QA adds the buying stage."""

    rollup: Literal["sum", "max", "top_k"] = Field("top_k", description="how contacts' behaviour adds up: sum, max, or "
                                                                       "the sum of the top_k contacts")
    top_k: int = Field(3, ge=1, le=50, description="contacts summed by rollup = top_k")
    contact_cap: float | None = Field(None, ge=0, description="points; most behaviour one contact adds (none = uncapped)")
    behaviour_cap: float | None = Field(None, ge=0, description="points; most behaviour the roll-up adds (none = uncapped)")
    threshold: float = Field(80, ge=0, le=10_000, description="points; account score for an MQA (chosen without a source)")
    min_engaged_contacts: int = Field(2, ge=0, le=1000,
                                      description="engaged contacts (buying-group breadth) an MQA needs (chosen without a "
                                                  "source)")
    combine: Literal["and", "or"] = Field("and", description="and: both score and contacts; or: either one")
    engaged_window: Duration = Field(dur("30d"), description="a contact counts as engaged for this long after a scored "
                                                             "event (seed articles: engagement older than 30-60 days "
                                                             "does not qualify)")
    decision_role: bool = Field(False, description="an MQA also needs an engaged contact in a decision seniority")
    decision_seniorities: list[Seniority] = Field(["c_suite", "vp", "director"],
                                                  description="seniorities the policy counts as decision roles")
    intent_points: float = Field(0.0, ge=0, le=10_000, description="points added while the account's intent signal is on")
    high_intent: float = Field(150, ge=0, le=10_000, description="account score from which an MQA is in the high_intent "
                                                                "tier")
    work_items: Literal["account", "contact"] = Field(
        "account", description="account: one work item per MQA (its triggering contact); contact: one per engaged "
                               "contact at the MQA (duplicate work, measured by duplicate_touches)")

    _clock = field_validator("engaged_window")(require_clock)


def pair_problems(accounts: Accounts | None, unit: str, rule: AccountRule) -> list[str]:
    """What makes an account rule impossible on a scenario's market (the scenario and the policy are
    valid each on its own): a breadth requirement larger than any buying group can be."""
    if unit == "lead" or rule.combine == "or":
        return []
    largest = accounts.largest_group() if accounts is not None else 1
    if rule.min_engaged_contacts > largest:
        where = ("accounts.max_contacts = " + str(largest)) if accounts is not None else \
            "no [accounts] table, so every lead is its own account"
        return [f"mql.account.min_engaged_contacts = {rule.min_engaged_contacts} is larger than any buying group "
                f"({where}): no account could ever qualify; lower it, or set mql.account.combine = \"or\""]
    return []
