"""The domain vocabulary, defined once. Integer codes index the world's numpy arrays.

Every categorical attribute is stored in the world as an int8 code = position in these tuples, so
scoring can use lookup tables (points[code]) instead of string comparisons. Each vocabulary is
written once, as the Literal type the config schemas check against; the tuple of names is derived.
"""
from __future__ import annotations

from typing import Literal, get_args

Channel = Literal["paid_search", "paid_social", "organic", "webinar", "referral", "outbound_list", "partner"]
CHANNELS: tuple[str, ...] = get_args(Channel)
Seniority = Literal["c_suite", "vp", "director", "manager", "ic", "student"]  # student = student/intern/freelancer
SENIORITIES: tuple[str, ...] = get_args(Seniority)
CompanySize = Literal["micro", "small", "mid", "large", "enterprise"]
COMPANY_SIZES: tuple[str, ...] = get_args(CompanySize)
COMPANY_SIZE_RANGES = {"micro": "1-10", "small": "11-49", "mid": "50-500", "large": "501-5,000", "enterprise": "5,001+"}
Industry = Literal["software", "financial_services", "healthcare", "manufacturing", "retail", "education",
                   "public_sector", "other"]
INDUSTRIES: tuple[str, ...] = get_args(Industry)
Region = Literal["north_america", "emea", "apac", "latam"]
REGIONS: tuple[str, ...] = get_args(Region)
EmailKind = Literal["business", "personal", "student", "competitor"]
EMAIL_KINDS: tuple[str, ...] = get_args(EmailKind)

# Engagement events. Hand-raisers first (what buyers do), then content consumption.
EventType = Literal[
    "demo_request", "contact_form", "pricing_visit", "comparison_visit", "webinar_product",
    "webinar_educational", "email_open", "email_click_product", "email_click_content",
    "bofu_download", "tofu_download", "newsletter_signup",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
HAND_RAISERS = ("demo_request", "contact_form", "pricing_visit", "comparison_visit", "webinar_product")
EVENT_CODE = {name: i for i, name in enumerate(EVENT_TYPES)}
DEMO_REQUEST = EVENT_CODE["demo_request"]
EMAIL_OPEN = EVENT_CODE["email_open"]

# SLA tiers, in priority order (0 = most urgent).
TIERS = ("demo", "high_intent", "standard", "re_engaged")
TIER_CODE = {name: i for i, name in enumerate(TIERS)}

# Why sales rejects an MQL (SAL rejected). Follows the lead's true attributes.
REJECTION_REASONS = ("wrong_title", "out_of_territory", "already_in_deal", "confirmed_non_buyer", "bad_contact_data")

# Where every lead of the cohort ends: exactly one of these.
TERMINAL_STATES = (
    "nurture",            # never became an MQL
    "recycled",           # was an MQL, went back to nurture (SLA breach, unreached, triaged) and stayed there
    "in_queue",           # MQL still waiting or being worked when the run ended
    "rejected",           # sales rejected it (reason code recorded)
    "disqualified",       # accepted (SAL) but sales found no SQL
    "sql",                # SQL that did not become an opportunity
    "opportunity_open",   # opportunity still open when the run ended
    "won",
    "lost",
)
# With a competitor (scenario `[competitor]` on) a lead may also end here: a buyer a competitor took
# while it waited for our first touch or for its AE meeting. Only then is it reported.
LOST_TO_COMPETITOR = "lost_to_competitor"
ALL_TERMINAL_STATES = (*TERMINAL_STATES, LOST_TO_COMPETITOR)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[str, ...] = get_args(Weekday)


def codes(names: tuple[str, ...]) -> dict[str, int]:
    """name -> code for one of the vocabularies above."""
    return {n: i for i, n in enumerate(names)}
