"""The KPI registry: every KPI's name, label, kind, unit and, for shares and ratios, the counts it
is a ratio of. One source read by the statistics (which interval suits which kind), the terminal
tables, the JSON, the report and the health checks, so a KPI is described once.

Kinds decide the interval (see `sim.measure.stats`):

- ``count``: a number of things per world (leads, won deals); >= 0.
- ``money``: an amount per world (bookings, pipeline); >= 0, often heavy-tailed.
- ``duration``: a time per world (a p90 wait), with its `unit`; >= 0.
- ``number``: any other per-world level (a time-weighted queue length); >= 0.
- ``share``: a proportion in [0, 1]. With `numerator` and `denominator` it is estimated from the
  counts pooled over worlds (a ratio estimator); without them from the per-world shares.
- ``ratio``: a ratio of two per-world totals that is not a share (attempts per MQL, cost per won
  deal); >= 0, pooled like a share but unbounded above.

Importing this module is cheap (no numpy or pandas): the CLI reads it at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass

from sim.vocab import ALL_TERMINAL_STATES, TIERS

KINDS = ("count", "money", "duration", "number", "share", "ratio")


@dataclass(frozen=True)
class KPI:
    """What a KPI is. `denominator` may name several columns that add up (won + lost)."""

    name: str
    label: str
    kind: str
    unit: str = ""                       # durations: "clock hours", "business hours", "minutes", "days"
    numerator: str | None = None
    denominator: tuple[str, ...] = ()
    higher_is_better: bool | None = None
    help: str = ""
    events: str | None = None            # money made of countable events (bookings: won deals)

    @property
    def bounds(self) -> tuple[float, float]:
        """The values the KPI can take: shares in [0, 1], everything else in [0, inf)."""
        return (0.0, 1.0) if self.kind == "share" else (0.0, float("inf"))

    @property
    def pooled(self) -> bool:
        """Estimated from counts pooled over worlds (a ratio estimator)."""
        return self.numerator is not None and bool(self.denominator)


def _share(name: str, label: str, num: str, *den: str, better: bool | None = None, help: str = "") -> KPI:
    return KPI(name, label, "share", numerator=num, denominator=den, higher_is_better=better, help=help)


def _registry() -> dict[str, KPI]:
    k: list[KPI] = [
        KPI("leads", "Leads (cohort)", "count", help="leads created in the measurement window"),
        KPI("mqls", "MQLs", "count", help="cohort leads that became MQLs at least once"),
        KPI("mql_episodes", "MQL episodes", "count", help="times cohort leads entered the sales queue"),
        _share("lead_to_mql_rate", "Lead -> MQL", "mqls", "leads"),
        KPI("sals", "SALs", "count", higher_is_better=True),
        _share("mql_to_sal_rate", "MQL -> SAL", "sals", "mqls", better=True),
        KPI("rejected", "Rejected MQLs", "count", higher_is_better=False),
        _share("rejection_rate", "Rejected (of reached)", "rejected", "contacted", better=False),
        KPI("sqls", "SQLs", "count", higher_is_better=True),
        _share("mql_to_sql_rate", "MQL -> SQL", "sqls", "mqls", better=True,
               help="the share of cohort MQLs that sales qualified as SQLs"),
        _share("sal_to_sql_rate", "SAL -> SQL", "sqls", "sals", better=True),
        KPI("opportunities", "Opportunities", "count", higher_is_better=True),
        _share("sql_to_opportunity_rate", "SQL -> opportunity", "opportunities", "sqls", better=True),
        KPI("won", "Won", "count", higher_is_better=True, help="cohort leads whose deal was won"),
        KPI("lost", "Lost", "count"),
        _share("win_rate", "Win rate", "won", "won", "lost", better=True),
        _share("mql_to_won_rate", "MQL -> won", "won", "mqls", better=True),
        KPI("bookings", "Bookings", "money", higher_is_better=True, help="value of deals won", events="won"),
        KPI("pipeline", "Pipeline", "money", higher_is_better=True, help="value of opportunities opened",
            events="opportunities"),
        KPI("first_touch_p50_hours", "First touch p50", "duration", "clock hours", higher_is_better=False),
        KPI("first_touch_p90_hours", "First touch p90", "duration", "clock hours", higher_is_better=False),
        KPI("first_touch_p50_business_hours", "First touch p50", "duration", "business hours", higher_is_better=False),
        KPI("first_touch_p90_business_hours", "First touch p90", "duration", "business hours", higher_is_better=False,
            help="the business time from MQL to first touch that 90% of touched MQLs beat"),
        *[_share(f"sla_compliance_{t}", f"SLA met: {t.replace('_', ' ')}", f"sla_met_{t}", f"sla_episodes_{t}",
                 better=True, help=f"the share of {t.replace('_', '-')}-tier MQL episodes touched within that "
                                   "tier's SLA target (never touched counts as a breach)") for t in TIERS],
        *[KPI(f"sla_episodes_{t}", f"MQL episodes: {t.replace('_', ' ')}", "count") for t in TIERS],
        *[KPI(f"sla_met_{t}", f"SLA met episodes: {t.replace('_', ' ')}", "count") for t in TIERS],
        _share("sla_compliance", "SLA met: all tiers", "sla_met", "mql_episodes", better=True,
               help="the share of all MQL episodes touched within their tier's SLA target"),
        _share("never_touched_share", "Never touched", "never_touched", "mqls", better=False),
        _share("recycled_share", "Recycled", "recycled", "mqls"),
        _share("rep_utilisation", "Rep utilisation", "rep_busy_hours", "rep_available_hours",
               help="the share of the SDRs' working time taken by MQL work"),
        KPI("rep_busy_hours", "Rep hours on MQL work", "duration", "business hours"),
        KPI("rep_available_hours", "Rep hours available", "duration", "business hours"),
        KPI("attempts_per_mql", "Attempts per MQL episode", "ratio", numerator="attempts",
            denominator=("mql_episodes",)),
        KPI("attempts", "Attempts", "count"),
        KPI("contacted", "MQLs reached", "count"),
        KPI("never_touched", "MQLs never touched", "count", higher_is_better=False),
        KPI("recycled", "MQLs recycled", "count"),
        KPI("sla_met", "SLA met episodes", "count"),
        KPI("queue_mean", "Queue (mean)", "number", "MQLs", higher_is_better=False),
        KPI("queue_max", "Queue (max)", "count", higher_is_better=False),
        KPI("backlog_age_mean_business_hours", "Oldest wait (mean)", "duration", "business hours",
            higher_is_better=False),
        KPI("backlog_age_max_business_hours", "Oldest wait (max)", "duration", "business hours",
            higher_is_better=False),
        KPI("overload_days", "Overload days", "count", higher_is_better=False,
            help="working days that ended with an MQL waiting longer than one business day"),
        KPI("cost_total", "Cost (leads + rep time)", "money"),
        KPI("cost_per_mql", "Cost per MQL", "ratio", numerator="cost_total", denominator=("mqls",),
            higher_is_better=False),
        KPI("cost_per_won", "Cost per won deal", "ratio", numerator="cost_total", denominator=("won",),
            higher_is_better=False),
        KPI("buyers", "Buyers (truth)", "count"),
        KPI("buyer_mqls", "MQLs that were buyers (truth)", "count"),
        _share("mql_precision", "MQL precision (truth)", "buyer_mqls", "mqls", better=True,
               help="the share of MQLs that were really in-market buyers (the simulation knows; a CRM does not)"),
        _share("buyer_recall", "Buyer recall (truth)", "buyer_mqls", "buyers", better=True,
               help="the share of real buyers that the MQL definition caught"),
        KPI("buyers_in_nurture", "Buyers left in nurture", "count", higher_is_better=False),
        # queueing mode only (teaching): the simulated queue next to Erlang C / A
        KPI("queue_p_wait", "Queue: P(wait) simulated", "share"),
        KPI("erlang_p_wait", "Queue: P(wait) Erlang", "share"),
        KPI("queue_mean_wait_minutes", "Queue: mean wait simulated", "duration", "minutes"),
        KPI("erlang_mean_wait_minutes", "Queue: mean wait Erlang", "duration", "minutes"),
        KPI("queue_service_level", "Queue: touched within SLA simulated", "share"),
        KPI("erlang_service_level", "Queue: touched within SLA Erlang", "share"),
        KPI("queue_p_abandon", "Queue: P(abandon) simulated", "share"),
        KPI("erlang_p_abandon", "Queue: P(abandon) Erlang", "share"),
        # campaign spikes
        KPI("spike_backlog_peak", "Spike backlog peak", "number", "MQLs", higher_is_better=False),
        KPI("spike_normal_queue", "Normal queue at midnight", "number", "MQLs"),
        KPI("spike_cleared", "Spike backlog cleared (share of worlds)", "share", higher_is_better=True),
        KPI("spike_clear_days", "Days to clear the spike backlog", "duration", "days", higher_is_better=False),
        # the hand-off to AEs (scenario [handoff] on)
        _share("ae_utilisation", "AE utilisation", "ae_busy_hours", "ae_available_hours",
               help="AE working time blocked by discovery meetings (meeting time / time share)"),
        KPI("ae_busy_hours", "AE hours on discovery meetings", "duration", "business hours"),
        KPI("ae_available_hours", "AE hours available", "duration", "business hours"),
        KPI("sqls_waiting_for_ae", "SQLs waiting for an AE (mean)", "number", "SQLs", higher_is_better=False,
            help="time-average number of SQLs ready for a meeting with no AE slot free yet"),
        KPI("sqls_waiting_for_ae_max", "SQLs waiting for an AE (max)", "count", higher_is_better=False),
        KPI("sqls_handed_over", "SQLs handed to AEs", "count"),
        KPI("meetings_held", "Discovery meetings held", "count", higher_is_better=True),
        KPI("meetings", "Discovery meetings due", "count", help="held plus missed (no-shows)"),
        KPI("no_shows", "Meeting no-shows", "count", higher_is_better=False),
        _share("no_show_rate", "No-show rate", "no_shows", "meetings", better=False),
        _share("sql_to_meeting_rate", "SQL -> meeting held", "meetings_held", "sqls_handed_over", better=True),
        KPI("sqls_lost_no_show", "SQLs lost after no-shows", "count", higher_is_better=False),
        KPI("sqls_without_meeting_at_end", "SQLs still waiting for a meeting at the end", "count"),
        KPI("meeting_lead_time_p50_hours", "Meeting lead time p50", "duration", "clock hours",
            higher_is_better=False, help="from the SQL to its held discovery meeting"),
        KPI("meeting_lead_time_p50_business_hours", "Meeting lead time p50", "duration", "business hours",
            higher_is_better=False, help="from the SQL to its held discovery meeting"),
        KPI("meeting_lead_time_p90_business_hours", "Meeting lead time p90", "duration", "business hours",
            higher_is_better=False),
        # competitor first response (scenario [competitor] on)
        KPI("lost_to_competitor", "Lost to a competitor", "count", higher_is_better=False,
            help="buyers a competitor took while they waited for a first touch or an AE meeting"),
        KPI("lost_to_competitor_first_touch", "Lost to a competitor before the first touch", "count",
            higher_is_better=False),
        KPI("lost_to_competitor_meeting", "Lost to a competitor before the AE meeting", "count",
            higher_is_better=False),
        _share("lost_to_competitor_share", "Lost to a competitor (of MQLs)", "lost_to_competitor", "mqls",
               better=False),
        # accounts (scenarios with [accounts]): CRM accounts for what the company sees, true accounts for truth
        KPI("accounts_engaged", "Accounts engaged", "count", help="accounts with at least one cohort lead"),
        KPI("mqas", "MQAs", "count", help="CRM accounts handed to sales (a cohort lead of theirs entered the queue)"),
        KPI("mqas_in_market", "MQAs in market (truth)", "count"),
        _share("account_precision", "MQA precision (truth)", "mqas_in_market", "mqas", better=True,
               help="share of MQAs whose account was in a buying window when handed to sales"),
        KPI("in_market_accounts", "In-market accounts (truth)", "count",
            help="buying windows with at least one cohort lead of their buying group"),
        KPI("in_market_found", "In-market accounts found (truth)", "count"),
        _share("account_recall", "In-market account recall (truth)", "in_market_found", "in_market_accounts",
               better=True, help="share of in-market accounts handed to sales during their buying window"),
        KPI("mqa_opportunities", "MQAs with an opportunity", "count", higher_is_better=True),
        _share("mqa_to_opportunity_rate", "MQA -> opportunity", "mqa_opportunities", "mqas", better=True),
        KPI("accounts_won", "Accounts won", "count", higher_is_better=True),
        KPI("accounts_lost", "Accounts lost", "count"),
        _share("account_win_rate", "Account win rate", "accounts_won", "accounts_won", "accounts_lost", better=True),
        KPI("bookings_per_account", "Bookings per engaged account", "ratio", numerator="bookings",
            denominator=("accounts_engaged",), higher_is_better=True),
        KPI("pipeline_per_account", "Pipeline per engaged account", "ratio", numerator="pipeline",
            denominator=("accounts_engaged",), higher_is_better=True),
        KPI("coverage_reached", "Buying-group members reached at opportunity", "count"),
        KPI("coverage_group", "Buying-group members at opportunity", "count"),
        _share("buying_group_coverage", "Buying-group coverage at opportunity", "coverage_reached", "coverage_group",
               better=True, help="members reached by reps before the opportunity / buying-group size (in market)"),
        KPI("duplicate_touches", "Duplicate touches", "count", higher_is_better=False,
            help="attempts on a company another of its leads was already being worked for (90 days)"),
        _share("duplicate_touch_share", "Duplicate touches (of attempts)", "duplicate_touches", "attempts",
               better=False),
        KPI("orphan_leads", "Orphan leads", "count", higher_is_better=False,
            help="cohort leads the CRM did not link to their account"),
        _share("orphan_share", "Orphan leads (share)", "orphan_leads", "leads"),
        KPI("account_first_touch_p50_hours", "Account first seen -> first touch p50", "duration", "clock hours",
            higher_is_better=False, help="MQAs: from the account's first cohort lead to its first touch"),
        KPI("account_first_touch_p90_hours", "Account first seen -> first touch p90", "duration", "clock hours",
            higher_is_better=False),
        *[KPI(f"account_state_{st}", f"Accounts ending: {st.replace('_', ' ')}", "count",
              help="each engaged account counted once, at its most advanced lead") for st in ALL_TERMINAL_STATES],
        # multi-threaded account cadences (policy cadence.threading set; sim.measure.accounts.threading_kpis)
        KPI("contacts_touched", "Contacts touched (account work)", "count",
            help="distinct contacts the attempts on cohort items called"),
        KPI("accounts_touched", "Accounts touched", "count", help="CRM accounts with an attempt on a cohort item"),
        KPI("contacts_touched_per_account", "Contacts touched per account", "ratio", numerator="contacts_touched",
            denominator=("accounts_touched",), higher_is_better=True,
            help="distinct contacts called per account touched (multi-threading: more than one)"),
        KPI("account_sla_met", "MQAs touched within SLA", "count", higher_is_better=True),
        _share("account_sla_compliance", "SLA met: accounts", "account_sla_met", "mqas", better=True,
               help="MQAs whose first touch of any contact came within the SLA target of the tier of the "
                    "account's first item (clock from the MQA)"),
        # reps as people and routing like the routers (sim.measure.staffing)
        KPI("reassignments", "MQLs reassigned (SLA checkpoint)", "count", higher_is_better=False,
            help="MQL episodes of cohort leads moved to another rep untouched at sla.reassign_after"),
        KPI("reassignment_cost", "Cost of reassignments", "money", higher_is_better=False, events="reassignments",
            help="reassignments x scenario costs.reassignment (inside cost_total)"),
    ]
    return {x.name: x for x in k}


KPIS: dict[str, KPI] = _registry()


def kpi(name: str) -> KPI:
    """The registry entry of `name`; KPIs not registered (detail counts such as `ttft_demo_0_5m`,
    `state_won`, `reason_wrong_title`) are counts when their name says so, else plain numbers."""
    if name in KPIS:
        return KPIS[name]
    count_like = name.startswith(("state_", "reason_", "ttft_", "touched_", "sql_", "buyers_", "recycled_",
                                  "episodes_", "abandoned_", "re_mql_"))
    return KPI(name, name.replace("_", " "), "count" if count_like else "number")
