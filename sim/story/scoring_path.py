"""The score part of a lead's story: its score after every engagement event, the rule that made
it an MQL (or the gate or threshold that kept it out), and the tier that rule gave it.

Read from the scalar scoring oracle (`sim.decisions.oracle`), the literal semantics of the MQL
rule, on the same world the run used. After a recycle with `recycle.reset_behaviour`, behaviour
restarts from zero: events after the recycle are scored on that fresh path, as the re-MQL search
of the sales process does.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Callable

from sim.config.policy import Policy
from sim.decisions.mql import TOL, Rules, fit_points, in_icp, passes_gates, threshold_of
from sim.decisions.oracle import ScorePoint, score_lead
from sim.vocab import COMPANY_SIZES, DEMO_REQUEST, EMAIL_KINDS, EVENT_TYPES
from sim.world.model import World


def pts(v: float) -> str:
    """Points as written in a policy file: '60', '62.5', '-5'."""
    r = round(float(v), 2)
    return f"{r:g}" if r != 0 else "0"


class ScorePaths:
    """The score after each of a lead's events, on the path in force at that event: the full
    history until the first recycle, then (with reset_behaviour) a path restarted at each recycle."""

    def __init__(self, world: World, policy: Policy, rules: Rules, lead: int, recycles: list[float]):
        self.policy, self.rules, self.lead = policy, rules, lead
        self.resets = sorted(recycles) if policy.recycle.reset_behaviour else []
        paths: list[list[ScorePoint]] = [score_lead(world, policy, lead, rules=rules)]
        paths += [score_lead(world, policy, lead, reset_at=t, rules=rules) for t in self.resets]
        self.paths = [{p.event: p for p in path} for path in paths]
        self.full = paths[0]
        self.fit = float(fit_points(rules, world, lead))
        self.icp = bool(in_icp(rules, world, lead))
        self.eligible = bool(passes_gates(rules, world, lead, self.icp))
        self.threshold = float(threshold_of(rules, world, lead))
        self.size = COMPANY_SIZES[int(world.company_size[lead])]
        self.email = EMAIL_KINDS[int(world.email_kind[lead])]

    def point(self, event: int, t: float) -> ScorePoint | None:
        """The score after global event `event` (at time t) on the path in force then: the last
        recycle strictly before t restarted it (events at the recycle's own time do not score)."""
        k = bisect_left(self.resets, t)       # resets strictly before t
        return self.paths[k].get(event)

    # -- sentences ---------------------------------------------------------------------------
    def score_text(self, p: ScorePoint) -> str:
        parts = [f"fit {pts(p.fit)}", f"behaviour {pts(p.behaviour)}"]
        if p.penalty:
            parts.append(f"no-open penalty {pts(p.penalty)}")
        capped = not self.icp and self.rules.non_icp_cap is not None and p.total < p.fit + p.behaviour + p.penalty
        text = f"score {pts(p.total)} ({', '.join(parts)}{'; capped outside the ICP' if capped else ''})"
        return text

    def rule_text(self, p: ScorePoint) -> str:
        """Why this event made the lead an MQL."""
        r, mql = self.rules, self.policy.mql
        if p.fast_lane and p.kind == DEMO_REQUEST:
            gates = " (it passes the gates)" if mql.fast_lane.respect_gates else " (gates not applied to the fast lane)"
            return f"fast lane: a demo request is an MQL whatever the score{gates}"
        if r.rule == "total":
            seg = f" for {self.size} companies" if self.size in mql.thresholds_by_size else ""
            return f"rule total: score {pts(p.total)} >= threshold {pts(self.threshold)}{seg}"
        return (f"rule fit_and_behaviour: fit {pts(p.fit)} >= {pts(r.fit_min)} and behaviour "
                f"{pts(p.behaviour + p.penalty)} >= {pts(r.behaviour_min)}")

    def tier_text(self, tier: str, total: float, re_mql: bool) -> str:
        if tier == "demo":
            return "tier demo (a demo request)"
        if re_mql:
            return "tier re_engaged (an MQL again after a recycle)"
        hi = self.rules.high_intent
        if tier == "high_intent":
            return f"tier high_intent (score {pts(total)} >= {pts(hi)})"
        return f"tier standard (score {pts(total)} < high_intent {pts(hi)})"

    def gate_failures(self) -> list[str]:
        """The policy's gates this lead fails (empty if it passes them all)."""
        g, out = self.policy.mql.gates, []
        if g.icp_only and not self.icp:
            out.append("mql.gates.icp_only: outside the policy's ICP")
        if g.business_email_only and self.email != "business":
            out.append(f"mql.gates.business_email_only: a {self.email} email")
        if g.exclude_competitors and self.email == "competitor":
            out.append("mql.gates.exclude_competitors: a competitor's email")
        return out

    def why_not_mql(self, at: Callable[[float], str], later: float | None = None) -> str:
        """Why the first MQL never came (`later`: the scorer's MQL time when it falls after the run;
        `at` writes a time)."""
        if later is not None:
            return f"its MQL would come at {at(later)}, after the run's end"
        if not self.full:
            return "no engagement events: the score is evaluated at events only, so it never moved"
        fails = self.gate_failures()
        fast = self.rules.fast_lane
        demo = any(p.kind == DEMO_REQUEST for p in self.full)
        if fails:
            lane = (" (its demo request does not take the fast lane either: mql.fast_lane.respect_gates)"
                    if demo and fast else "")
            return "stopped by a gate: " + "; ".join(fails) + lane
        best = max(self.full, key=lambda p: p.total)
        if self.rules.rule == "total":
            return (f"highest score {pts(best.total)} (after its {EVENT_TYPES[best.kind]} at {at(best.time)}) "
                    f"stayed below the threshold {pts(self.threshold)}")
        if self.fit < self.rules.fit_min - TOL:
            return f"fit {pts(self.fit)} is below mql.fit_min {pts(self.rules.fit_min)}"
        top = max(p.behaviour + p.penalty for p in self.full)
        return f"behaviour peaked at {pts(top)}, below mql.behaviour_min {pts(self.rules.behaviour_min)}"
