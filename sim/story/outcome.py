"""The outcome part of a lead's story: after a rep reached it, SAL or rejection (with its reason
code), SQL, opportunity, won or lost, each with the chance that applied to this lead.

The stages and their times are LeadOutcomes' own (the run's); the chances are recomputed for the
lead with the same inputs as `sim.sales.outcomes.play_out` (rejection reasons that apply to its
true attributes, the buyer-dependent chances, the qualify part of response decay), so a stage not
reached says whether the lead's luck failed it or the run ended first.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from sim.config.scenario import Scenario
from sim.sales.accounts import coverage_at, win_probability
from sim.sales.handoff import HELD
from sim.sales.outcomes import TAKEN_FIRST_TOUCH, LeadOutcomes, rejection_probabilities
from sim.story.model import StoryEvent
from sim.vocab import REJECTION_REASONS
from sim.world.model import World
from sim.world.response import ResponseModel

MakeEvent = Callable[..., StoryEvent]     # (t, kind, text, episode=None, **data) -> StoryEvent


def _money(v: float) -> str:
    from sim.format import money
    return money(v)


def outcome_events(event: MakeEvent, world: World, scenario: Scenario, response: ResponseModel,
                   out: LeadOutcomes, lead: int, at: Callable[[float], str]) -> list[StoryEvent]:
    """Events from the contact on (none if the lead was never reached)."""
    ct = float(out.contact_time[lead])
    if math.isnan(ct):
        return []
    o, luck, end = scenario.outcomes, world.luck, world.end
    if out.competitor is not None and int(out.competitor[lead]) == TAKEN_FIRST_TOUCH:
        return [event(ct, "competitor_found", "reached, but a competitor had answered first: the buyer is gone "
                                              "(no acceptance, no SQL)")]
    buyer = bool(world.buyer[lead])
    who = "a buyer (hidden truth)" if buyer else "a non-buyer (hidden truth)"
    p = rejection_probabilities(world, scenario, np.array([lead]))[0]
    p_accept = float(np.prod(1.0 - p))
    applies = {REJECTION_REASONS[i]: float(x) for i, x in enumerate(p) if x > 0}
    listed = ", ".join(f"{r} {x:.2f}" for r, x in applies.items()) or "none apply"
    if out.rejected[lead]:
        reason = REJECTION_REASONS[int(out.reason[lead])]
        return [event(ct, "rejected", f"rejected by sales, reason code {reason} (chance of a rejection "
                                      f"{1 - p_accept:.2f}; reasons that apply: {listed})",
                      reason=reason, p_reject=1 - p_accept, reasons=applies)]
    ev = [event(ct, "sal", f"accepted by sales: SAL (chance {p_accept:.2f}; rejection reasons that apply: {listed})",
                p_accept=p_accept, reasons=applies)]

    delay = float(out.contact_delay[lead])
    base = o.sql_buyer if buyer else o.sql_non_buyer
    p_sql = float(np.asarray(response.qualify_probability(np.array([base]), np.array([delay])))[0])
    from sim.format import duration
    why_sql = f"chance {p_sql:.2f} for {who} reached {duration(delay / 60, 'clock hours')} after its MQL"
    sql = float(out.sql_time[lead])
    if math.isnan(sql):
        late = luck.sql[lead] < p_sql
        text = ("qualified, but the SQL would come after the run's end" if late
                else f"not qualified: disqualified ({why_sql})")
        return [*ev, event(ct, "disqualified", text, p_sql=p_sql, after_end=bool(late))]
    ev.append(event(sql, "sql", f"SQL ({why_sql})", p_sql=p_sql))

    p_opp = o.opportunity_buyer if buyer else o.opportunity_non_buyer
    opp = float(out.opportunity_time[lead])
    if math.isnan(opp) and out.meetings is not None:
        m = out.meetings
        held = np.flatnonzero((m.lead == lead) & (m.status == HELD))
        if held.size == 0:        # the AE events say why: no-shows, a competitor, or still waiting
            return ev
        sql = float(m.meeting_time[held[0]])     # told at the meeting that decided it
        if luck.opportunity[lead] < p_opp:    # the meeting's chance held: the account rule merged it
            return [*ev, event(sql, "no_opportunity", "no opportunity of its own: its account already opened one "
                                                      "in this buying window (accounts.one_opportunity_per_window)",
                               p_opportunity=p_opp, merged=True)]
        return [*ev, event(sql, "no_opportunity", f"no opportunity after the held meeting (chance {p_opp:.2f} for "
                                                  f"{who})", p_opportunity=p_opp, after_end=False)]
    if math.isnan(opp):
        late = luck.opportunity[lead] < p_opp
        other = _merged_into(world, scenario, out, lead) if late else None
        if other is not None:       # the chance held: the account rule merged it into another lead's
            return [*ev, event(sql, "no_opportunity", f"no opportunity of its own: its account already opened one "
                                                      f"in this buying window, with lead {other} "
                                                      "(accounts.one_opportunity_per_window)",
                               p_opportunity=p_opp, merged=True)]
        text = ("would become an opportunity after the run's end" if late
                else f"no opportunity (chance {p_opp:.2f} for {who})")
        return [*ev, event(sql, "no_opportunity", text, p_opportunity=p_opp, after_end=bool(late))]
    amount = float(out.amount[lead])
    at_meeting = " at the held discovery meeting" if out.meetings is not None else ""
    ev.append(event(opp, "opportunity", f"opportunity of {_money(amount)}{at_meeting} (chance {p_opp:.2f} for {who})",
                    p_opportunity=p_opp, amount=amount))

    p_win, why_win = _win_chance(scenario, world, out, lead)
    close = float(out.close_time[lead])
    if math.isnan(close):
        return [*ev, event(end, "open_opportunity", f"the opportunity was still open when the run ended "
                                                    f"({at(end)}; chance of winning {p_win:.2f}{why_win})", p_win=p_win)]
    kind = "won" if out.won[lead] else "lost"
    verb = f"won {_money(amount)}" if kind == "won" else "lost"
    return [*ev, event(close, kind, f"{verb} (chance of winning {p_win:.2f}{why_win})", p_win=p_win, amount=amount)]


def _win_chance(scenario: Scenario, world: World, out: LeadOutcomes, lead: int) -> tuple[float, str]:
    """The lead's chance of winning as the run set it (per channel when calibrated so, scaled by the
    buying-group coverage when `accounts.win_coverage_weight` > 0), and a few words on the scaling."""
    leads = np.array([lead])
    p = float(win_probability(world, scenario, leads)[0])
    cfg = scenario.accounts
    if world.accounts is None or cfg is None or cfg.win_coverage_weight <= 0:
        return p, ""
    reached, group = coverage_at(world, out, leads)
    if group[0] <= 0:
        return p, ""
    w = cfg.win_coverage_weight
    factor = (1.0 - w) + w * float(reached[0]) / float(group[0])
    return p * factor, (f"; {int(reached[0])} of the buying group's {int(group[0])} reached before the opportunity "
                        f"scale the base chance {p:.2f} by {factor:.2f} (accounts.win_coverage_weight = {w:g})")


def _merged_into(world: World, scenario: Scenario, out: LeadOutcomes, lead: int) -> int | None:
    """Another lead of the same account and buying window that holds the one opportunity the account
    rule allows (`accounts.one_opportunity_per_window`), or None."""
    book, cfg = world.accounts, scenario.accounts
    if book is None or cfg is None or not cfg.one_opportunity_per_window:
        return None
    same = np.flatnonzero((book.lead_account == book.lead_account[lead])
                          & (book.lead_window_at_arrival == book.lead_window_at_arrival[lead])
                          & ~np.isnan(out.opportunity_time))
    same = same[same != lead]
    return int(same[0]) if same.size else None
