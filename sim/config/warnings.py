"""Warnings: inputs that are valid but probably not what the user meant.

A what-if tool must not stay silent when a setting cannot have the effect its author expects: a
campaign spike dated after the simulation ends, shares that do not add up, an SLA target change
that only moves the measurement, a clock-time target that counts the nights. Such inputs are not
errors (each has a legitimate use), so they run, but each gets one line that names the file, the
field path and the fix, in the style of ConfigError. The CLI prints them on stderr and in `--json`,
and the results folder records them in `manifest["warnings"]`.

Everything here is a pure function of validated Scenario and Policy objects returning a list of
messages (no I/O), so `validate`, the plan builder and tests share it. The catalogue, with what
triggers each warning and the fix, is docs/reference/warnings.md.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.vocab import TIERS

MIX_TOLERANCE = 1e-3            # shares written with 3 decimals may be off 1 by rounding
BUSINESS_UNIT = {"m": "bm", "h": "bh", "d": "bd"}


# ---- scenario ---------------------------------------------------------------------------------

def horizon_span(sc: Scenario) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the simulated time: start_date + warm-up + window + run-out."""
    start = dt.datetime.combine(sc.start_date, dt.time())
    h = sc.horizon
    return start, start + dt.timedelta(minutes=h.warmup.minutes + h.window.minutes + h.runout.minutes)


def _span_text(start: dt.datetime, end: dt.datetime) -> str:
    last = (end - dt.timedelta(microseconds=1)).date()
    return f"{start.date()} to {last} (start_date + warm-up + window + run-out)"


def date_warnings(sc: Scenario, source: str) -> list[str]:
    """Spikes and holidays that fall entirely outside the simulated time change nothing."""
    start, end = horizon_span(sc)
    span = _span_text(start, end)
    out = []
    for i, s in enumerate(sc.arrivals.spikes):
        s0 = dt.datetime.combine(s.start, dt.time())
        s1 = s0 + dt.timedelta(minutes=s.duration.minutes)
        if s1 <= start or s0 >= end:
            out.append(f"{source}: arrivals.spikes[{i}].start: {s.start} is outside the simulated time {span}, so "
                       f"the spike {s.name!r} changes nothing; date it inside that span, or lengthen the horizon")
    for i, d in enumerate(sc.calendar.holidays):
        if not start <= dt.datetime.combine(d, dt.time()) < end:
            out.append(f"{source}: calendar.holidays[{i}]: {d} is outside the simulated time {span}, so it changes "
                       "nothing; check the year, or remove it")
    return out


def mixes(sc: Scenario) -> list[tuple[str, Mapping[Any, float]]]:
    """(field path, shares) of every categorical mix in the scenario (keys: each vocabulary's names)."""
    out: list[tuple[str, Mapping[Any, float]]] = [("arrivals.channel_mix", sc.arrivals.channel_mix)]
    pop = sc.population
    attrs = ("seniority", "company_size", "industry", "region", "email_kind")
    out += [(f"population.{a}", getattr(pop, a)) for a in attrs]
    for ch, mix in pop.by_channel.items():
        out += [(f"population.by_channel.{ch}.{a}", getattr(mix, a)) for a in attrs if getattr(mix, a) is not None]
    out += [(f"engagement.entry_event.{ch}", m) for ch, m in sc.engagement.entry_event.items()]
    return out


def mix_warnings(sc: Scenario, source: str) -> list[str]:
    """The one rule for every mix: shares are normalised to sum 1, and a total off 1 is reported."""
    out = []
    for path, shares in mixes(sc):
        total = float(sum(shares.values()))
        if total > 0 and abs(total - 1.0) > MIX_TOLERANCE:
            fix = (f"add the missing {1 - total:.3g} (a channel or category left out?)" if total < 1
                   else f"remove the extra {total - 1:.3g}")
            out.append(f"{source}: {path}: shares sum to {total:.4g}, not 1; they are normalised to sum 1 (each "
                       f"multiplied by {1 / total:.3g}); {fix} so the shares are the ones meant")
    return out


def scenario_warnings(sc: Scenario, source: str) -> list[str]:
    """Everything valid but probably not meant in one scenario."""
    return date_warnings(sc, source) + mix_warnings(sc, source)


# ---- policy (against a scenario's calendar) ---------------------------------------------------

def night_minutes(sc: Scenario) -> float | None:
    """Length of the overnight closed stretch of the scenario's business calendar (None: 24/7)."""
    if sc.queueing.textbook:
        return None
    cal = sc.calendar
    day = (cal.close.hour * 60 + cal.close.minute) - (cal.open.hour * 60 + cal.open.minute)
    return 1440.0 - day


def clock_sla_warnings(pol: Policy, source: str, sc: Scenario) -> list[str]:
    """A clock-time SLA target shorter than a night off is breached by every MQL that arrives near
    the end of a working day: it measures the nights, not the team."""
    night = night_minutes(sc)
    if night is None or night <= 0:
        return []
    out = []
    cal = sc.calendar
    for t in TIERS:
        d = getattr(pol.sla.targets, t)
        if not d.is_business and d.minutes < night:
            v = int(d.value) if float(d.value).is_integer() else d.value
            better = f'"{v}{BUSINESS_UNIT.get(d.unit, "bh")}"'
            out.append(f"{source}: sla.targets.{t}: \"{d}\" is clock time, shorter than the night off "
                       f"({night / 60:g}h from {cal.close:%H:%M} to {cal.open:%H:%M}), so an MQL arriving late in a "
                       f"working day breaches it overnight; write {better} to count working time only")
    return out


# ---- several policies -------------------------------------------------------------------------

def sla_difference_warnings(policies: list[tuple[str, str, Policy]], scenarios: list[Scenario]) -> list[str]:
    """SLA settings that differ from the baseline's (the first policy) but drive no decision: the
    targets act only under breach_action "escalate" (a breached MQL goes to the front of the
    queue), recycle_after only under "recycle"; routing, triage and the cadence never read them, and
    the textbook queue mode ignores breach actions. Otherwise only the measurement moves."""
    if len(policies) < 2:
        return []
    textbook = bool(scenarios) and all(sc.queueing.textbook for sc in scenarios)
    base_label, _, base = policies[0]
    out = []
    for _label, source, pol in policies[1:]:
        acts = set() if textbook else {base.sla.breach_action, pol.sla.breach_action}
        for t in TIERS:
            a, b = getattr(pol.sla.targets, t), getattr(base.sla.targets, t)
            if a != b and "escalate" not in acts:
                why = ("the textbook queue mode (queueing.sales = \"textbook\") ignores breach actions" if textbook
                       else "neither has sla.breach_action = \"escalate\"")
                fix = ("use queueing.sales = \"scenario\" for the policy's SLA to act" if textbook
                       else "set sla.breach_action = \"escalate\" if the target should move breached MQLs to the front "
                            "of the queue")
                out.append(f"{source}: sla.targets.{t}: \"{a}\" here, \"{b}\" in the baseline {base_label!r}, but "
                           f"{why}, so no lead is handled differently: only SLA compliance is measured against another "
                           f"target; {fix}")
        if pol.sla.recycle_after != base.sla.recycle_after and "recycle" not in acts:
            why = ("the textbook queue mode ignores breach actions" if textbook
                   else "neither has sla.breach_action = \"recycle\"")
            out.append(f"{source}: sla.recycle_after: \"{pol.sla.recycle_after}\" here, \"{base.sla.recycle_after}\" "
                       f"in the baseline {base_label!r}, but {why}, so it changes nothing; set sla.breach_action = "
                       "\"recycle\" for it to act, or drop the difference")
    return out


def plan_warnings(scenarios: list[tuple[str, Scenario]], policies: list[tuple[str, str, Policy]]) -> list[str]:
    """Warnings for a study: each scenario, each policy against each scenario's calendar, and the
    policies against the baseline. `scenarios` is [(source, Scenario)], `policies` is
    [(label, source, Policy)], baseline first. Duplicates are dropped, order kept."""
    out: list[str] = []
    for source, sc in scenarios:
        out += scenario_warnings(sc, source)
    for _, source, pol in policies:
        for _, sc in scenarios:
            out += clock_sla_warnings(pol, source, sc)
    out += sla_difference_warnings(policies, [sc for _, sc in scenarios])
    for source, sc in scenarios:
        out += stream_warnings(sc, source, [pol for _, _, pol in policies])
    return list(dict.fromkeys(out))


def stream_warnings(sc: Scenario, source: str, policies: list[Policy]) -> list[str]:
    """stream.mode = "on" that cannot be fully applied: the world is drawn whole (queueing mode),
    or account-unit policies keep every lead's engagement events (sim.experiment.streamed)."""
    if sc.stream.mode != "on":
        return []
    from sim.config.scenario import stream_blocker
    reason = stream_blocker(sc)
    if reason is not None:
        return [f"{source}: stream.mode: \"on\" is not applied because {reason}; the world is drawn whole "
                "(set stream.mode = \"off\" to silence this)"]
    accounts = sorted({p.name for p in policies if p.mql.unit != "lead"})
    if accounts:
        return [f"{source}: stream.mode: policies {', '.join(accounts)} score accounts across leads, so the "
                "streamed world keeps every lead's engagement events (same draws, less memory saved); "
                "run lead-unit policies on their own to drop them"]
    return []


def policy_warnings(pol: Policy, source: str) -> list[str]:
    """For `validate` of a policy file alone: checked against the default business calendar."""
    return clock_sla_warnings(pol, source, Scenario())
