"""The leaderboard of a round: teams ranked on the round's objective (e.g. bookings), each with its
interval, whether it meets the round's constraint (e.g. standard SLA >= 90%) under noise, and which
teams cannot be told apart from the leader.

No new statistics: estimates and intervals are `sim.measure.stats.estimate` (the same as every
table of the project), the constraint is judged by `sim.experiment.selection.feasibility`
(met / unmet / undecided, Andradottir & Kim's tolerance as `recommend` uses it) and "cannot be told
apart" is multiple comparisons with the best on the paired worlds (`selection.select_best`). As in
`recommend`, alpha is shared by Bonferroni: half for the constraint, half for the ranking.

Order: teams that meet the constraint first, then those still unclear, then those that miss it;
within each group by the objective's estimate (best first). The leader is the first team; a team is
`tied_with_leader` when MCB cannot exclude it from being as good as the leader.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict

ALPHA = 0.05
CONSTRAINT_WORDS = {"met": "met", "unmet": "not met", "undecided": "unclear"}


class Shown(TypedDict):
    """What a row shows of an estimate: a `sim.measure.stats.Estimate` is one (it has these keys)."""

    mean: float
    lower: float
    upper: float
    status: str


@dataclass(frozen=True)
class LeaderboardRow:
    """One team's line. `constraint` is "met", "not met", "unclear" or None (no constraint)."""

    rank: int
    team: str
    objective: str                     # KPI name, e.g. "bookings"
    estimate: float                    # the objective's estimate over the worlds played
    lower: float                       # its 95% interval (NaN while too few worlds: see `status`)
    upper: float
    status: str                        # ok | too_few | undefined (sim.measure.stats)
    constraint: str | None
    constraint_estimate: float         # the constrained KPI's estimate (NaN without a constraint)
    constraint_lower: float
    constraint_upper: float
    leader: bool
    tied_with_leader: bool             # cannot be told apart from the leader (MCB on paired worlds)
    worlds: int
    settings: dict[str, Any] = field(default_factory=dict)   # the settings played (lever -> value)
    submitted: bool = True             # False: the team played the round's starting policy


@dataclass(frozen=True)
class Leaderboard:
    """A round's standings after `worlds` of `worlds_total` worlds (rows best first)."""

    round: int
    objective: str
    constraint: str | None
    rows: list[LeaderboardRow]
    worlds: int
    worlds_total: int
    probability: float                 # P(the leader is at least as good as every other team) >= this

    @property
    def complete(self) -> bool:
        return self.worlds >= self.worlds_total

    def __iter__(self) -> Iterator[LeaderboardRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> LeaderboardRow:
        return self.rows[i]


def check_objective(objective: str, constraint: str | None) -> None:
    """ValueError unless the objective and the constraint's KPI are registered KPIs."""
    from sim.measure.registry import KPIS
    if objective not in KPIS:
        raise ValueError(f"unknown objective {objective!r}; use a KPI such as bookings, pipeline, won or sqls")
    if constraint is not None:
        from sim.experiment.recommend import parse_constraint
        c = parse_constraint(constraint)
        if c.kpi not in KPIS:
            raise ValueError(f"unknown KPI {c.kpi!r} in the constraint {constraint!r}; "
                             "e.g. sla_compliance_standard>=0.9")


def rank(round_no: int, objective: str, constraint: str | None, runs: dict[str, dict[int, dict[str, Any]]],
         settings: dict[str, dict[str, Any]], submitted: dict[str, bool], worlds_total: int,
         alpha: float = ALPHA) -> Leaderboard:
    """The standings from `runs` (team -> replication -> KPI row; every team has the same
    replications, the worlds finished so far)."""
    import numpy as np

    from sim.experiment.selection import feasibility, select_best
    from sim.measure.registry import kpi
    from sim.measure.stats import estimate

    teams = list(runs)
    reps = sorted(set.intersection(*(set(r) for r in runs.values()))) if teams else []
    maximise = kpi(objective).higher_is_better is not False

    def column(team: str, name: str) -> Any:
        return np.array([_num(runs[team][r].get(name)) for r in reps], float)

    def columns(team: str) -> dict[str, Any]:
        names = set().union(*(runs[team][r] for r in reps)) if reps else set()
        return {n: column(team, n) for n in names if all(_is_num(runs[team][r].get(n)) for r in reps)}

    cols = {t: columns(t) for t in teams}
    est: dict[str, Shown] = {t: estimate(cols[t], objective) if reps else _empty() for t in teams}
    cons = None
    a_sel = alpha
    status = {t: "met" for t in teams}
    c_est: dict[str, Shown] = {t: _empty() for t in teams}
    if constraint is not None:
        from sim.experiment.recommend import parse_constraint, tolerance
        cons = parse_constraint(constraint)
        a_sel = alpha / 2
        for t in teams:
            f = feasibility(column(t, cons.kpi), cons.op, cons.bound, tolerance(cons), alpha / 2, max(1, len(teams)))
            status[t] = f.status
            c_est[t] = estimate(cols[t], cons.kpi) if reps else _empty()
    group = {"met": 0, "undecided": 1, "unmet": 2}
    sign = 1.0 if maximise else -1.0
    order = sorted(teams, key=lambda t: (group[status[t]], -sign * _or_inf(est[t]["mean"], maximise), t))
    tied: set[str] = set()
    probability = 0.0
    if teams and reps:
        X = np.column_stack([column(t, objective) for t in teams])
        for g in (0, 1, 2):
            rivals = [i for i, t in enumerate(teams) if group[status[t]] == g]
            if rivals:
                break
        sel = select_best(X, maximise=maximise, alpha=a_sel, rivals=rivals)
        leader_group = group[status[order[0]]]
        tied = {teams[i] for i in sel.cannot_exclude if group[status[teams[i]]] <= max(leader_group, 1)}
        probability = sel.probability
    if order:
        tied.add(order[0])
    rows = []
    for i, t in enumerate(order):
        e, c = est[t], c_est[t]
        rows.append(LeaderboardRow(
            rank=i + 1, team=t, objective=objective, estimate=e["mean"], lower=e["lower"], upper=e["upper"],
            status=e["status"], constraint=CONSTRAINT_WORDS[status[t]] if cons is not None else None,
            constraint_estimate=c["mean"], constraint_lower=c["lower"], constraint_upper=c["upper"],
            leader=i == 0, tied_with_leader=t in tied, worlds=len(reps), settings=dict(settings.get(t, {})),
            submitted=submitted.get(t, False)))
    return Leaderboard(round_no, objective, constraint, rows, len(reps), worlds_total, probability)


def _empty() -> Shown:
    return {"mean": math.nan, "lower": math.nan, "upper": math.nan, "status": "undefined"}


def _or_inf(x: float, maximise: bool) -> float:
    """NaN estimates sort last."""
    return x if math.isfinite(x) else (-math.inf if maximise else math.inf)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) or _is_numpy_number(v)


def _is_numpy_number(v: Any) -> bool:
    return type(v).__module__ == "numpy" and hasattr(v, "dtype") and v.dtype.kind in "biuf"


def _num(v: Any) -> float:
    return float(v) if _is_num(v) or isinstance(v, bool) else math.nan
