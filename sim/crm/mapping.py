"""A mapping file: which column of a CRM export means what, in the simulator's vocabulary.

Why a file and not code: every CRM names its columns differently (HubSpot "Create Date", Salesforce
"CreatedDate", Olist "first_contact_date"), and the translation of raw values (a lead source
"Google" -> channel `paid_search`, an occupation "Student" -> seniority `student`) is a business
judgement the user must be able to read and change. Columns that leak the outcome (set by sales
after contact) are declared in `leaky_columns`: they can never feed a feature a policy scores.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from sim.config.base import Strict
from sim.config.errors import ConfigError
from sim.config.loading import load_model
from sim.vocab import Channel, CompanySize, EmailKind, EventType, Industry, Region, Seniority

AttributeName = Literal["seniority", "company_size", "industry", "region", "email_kind"]
ATTRIBUTE_VALUES: dict[str, Any] = {   # name -> its Literal type (get_args gives the values)
    "seniority": Seniority, "company_size": CompanySize, "industry": Industry,
                                     "region": Region, "email_kind": EmailKind}


class AttributeMap(Strict):
    """One fit attribute read from a column: raw value -> vocabulary value (`map`), or for a numeric
    column (number of employees) upper bounds per value (`bins`, e.g. { micro = 10, small = 49 }: a
    value goes to the first bin whose bound it does not exceed); `default` for empty or unlisted
    values (so a policy scoring it sees a neutral, documented value)."""

    column: str
    map: dict[str, str] = Field(default_factory=dict, description="raw value -> vocabulary value")
    bins: dict[str, float] = Field(default_factory=dict, description="vocabulary value -> inclusive upper bound")
    default: str = Field(description="vocabulary value for empty, unlisted or out-of-range raw values")

    @model_validator(mode="after")
    def _one_kind(self) -> "AttributeMap":
        if self.map and self.bins:
            raise ValueError("give either `map` (text values) or `bins` (a numeric column), not both")
        return self


class EventMap(Strict):
    """Engagement events read from one column. Numeric column: `type` occurs floor(value / per)
    times (capped at max_count). Categorical column: `values` maps a raw value to the event type it
    records (one occurrence); unlisted values record nothing."""

    column: str
    type: EventType | None = Field(None, description="event type of a numeric count column")
    per: float = Field(1.0, gt=0, description="column units per occurrence (e.g. 300 seconds on site = 1)")
    max_count: int = Field(50, ge=1, le=1000, description="cap on occurrences from one row (outliers)")
    values: dict[str, EventType] = Field(default_factory=dict, description="raw value -> event type (categorical)")

    @model_validator(mode="after")
    def _kind(self) -> "EventMap":
        if (self.type is None) == (not self.values):
            raise ValueError("give either `type` (a numeric count column) or `values` (a categorical column)")
        return self


class Leads(Strict):
    """The leads (or MQLs) export: one row per lead."""

    id: str = Field(description="column with a unique lead id")
    created: str | None = Field(None, description="column with the creation (or MQL) date/time")
    date_format: str | None = Field(None, description="strftime format of every date column (default: ISO, inferred)")
    order: str | None = Field(None, description="column giving creation order when there is no date (e.g. a lead number)")
    source: str = Field(description="column with the lead source / channel / origin")
    sources: dict[str, Channel] = Field(description="raw source value -> channel; unlisted values are bad rows")
    missing_source: Channel | None = Field(None, description="channel for an empty source (default: a bad row)")
    outcome: str | None = Field(None, description="column that says whether the lead converted (won)")
    won_values: list[str] = Field(["1", "true", "yes", "won", "closed won"],
                                  description="outcome values meaning won (case-insensitive)")
    won_date: str | None = Field(None, description="column with the won (close) date")
    amount: str | None = Field(None, description="column with the deal amount")
    owner: str | None = Field(None, description="column with the owner (rep) id")
    account: str | None = Field(None, description="column with the lead's account / company id (HubSpot company ID, "
                                                  "Salesforce AccountId); empty values are leads not matched to an "
                                                  "account")
    stages: dict[str, str] = Field(default_factory=dict,
                                   description="stage name -> column with the date the lead reached it (e.g. sql)")
    attributes: dict[AttributeName, AttributeMap] = Field(default_factory=dict)
    events: list[EventMap] = Field(default_factory=list)


class Deals(Strict):
    """An optional closed-deals export joined to the leads by `lead_id` (every row is a won deal)."""

    lead_id: str = Field(description="column holding the lead id the deal came from")
    won_date: str = Field(description="column with the won date")
    amount: str | None = None
    owner: str | None = Field(None, description="column with the closing rep's id")
    sdr: str | None = Field(None, description="column with the id of the rep who worked the lead (team size)")


class Mapping(Strict):
    """A whole mapping file."""

    name: str = "crm"
    description: str = ""
    leaky_columns: list[str] = Field(default_factory=list,
                                     description="columns set after contact (they leak the outcome): never features")
    leads: Leads
    deals: Deals | None = None

    @model_validator(mode="after")
    def _vocabulary(self) -> "Mapping":
        from typing import get_args
        for name, a in self.leads.attributes.items():
            allowed = get_args(ATTRIBUTE_VALUES[name])
            bad = sorted({v for v in [*a.map.values(), *a.bins, a.default] if v not in allowed})
            if bad:
                raise ValueError(f"leads.attributes.{name}: {', '.join(map(repr, bad))} not in the vocabulary "
                                 f"({', '.join(allowed)})")
        return self

    def feature_columns(self) -> dict[str, str]:
        """feature (attr_<name> / ev_<type>) -> the columns it is built from, joined by ', '."""
        out: dict[str, list[str]] = {}
        for name, a in self.leads.attributes.items():
            out.setdefault(f"attr_{name}", []).append(a.column)
        for e in self.leads.events:
            for t in ([e.type] if e.type else sorted(set(e.values.values()))):
                out.setdefault(f"ev_{t}", []).append(e.column)
        return {k: ", ".join(dict.fromkeys(v)) for k, v in out.items()}

    def leaky_features(self) -> dict[str, str]:
        """feature -> the leaky column it reads (these may never be scored)."""
        leaky = set(self.leaky_columns)
        return {f: cols for f, cols in self.feature_columns().items() if leaky & set(cols.split(", "))}


def load_mapping(path: Path) -> Mapping:
    """Read and validate a mapping file, or ConfigError naming the file and the field."""
    m = load_model(Mapping, Path(path))
    if m.leads.created is None and m.leads.order is None:
        raise ConfigError(str(path), ["leads: give `created` (a date column) or `order` (a creation-order column)"])
    return m
