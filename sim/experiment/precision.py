"""Enough replications, decided by the tool: `--precision KPI:HALF_WIDTH` runs replications in
batches until every named KPI's 95% interval (and, when policies are compared, every paired
difference's) is that narrow, from `MIN_REPLICATIONS` up to a maximum.

The procedure is the sequential one of Law & Kelton (Simulation Modeling and Analysis, 5th ed.,
section 9.4.1), batched: after each batch the intervals are recomputed from all replications so far;
the run stops at the first check where every target holds. An absolute target is met when the
half-width is at most the target; a relative one ("5%") when half-width / |estimate| is at most
gamma / (1 + gamma), Law & Kelton's adjusted relative error, which makes the actual relative error
at most gamma. For a difference, a relative target is taken relative to the baseline policy's
estimate (a difference near zero has no useful relative size). The next batch size aims at the
replications the current half-width implies (half-width shrinks like 1 / sqrt(n)), at least a
quarter more than so far and at most four times as many, so a lucky early estimate is re-checked
before the run stops.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    import pandas as pd

MIN_REPLICATIONS = 5
MAX_REPLICATIONS = 200
_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*(%?)\s*$")


@dataclass(frozen=True)
class Target:
    """One precision target: `kpi` with a half-width, absolute or relative (a fraction)."""

    kpi: str
    half_width: float
    relative: bool = False

    def __str__(self) -> str:
        return f"{self.kpi}:{self.half_width * 100:g}%" if self.relative else f"{self.kpi}:{self.half_width:g}"

    def allowed(self, reference: float) -> float:
        """The half-width allowed around an estimate whose size is `reference`."""
        if not self.relative:
            return self.half_width
        g = self.half_width / (1 + self.half_width)
        return g * abs(reference) if math.isfinite(reference) else float("nan")


@dataclass(frozen=True)
class Precision:
    """What `--precision` asked for: the targets and the replication range."""

    targets: tuple[Target, ...]
    start: int = MIN_REPLICATIONS
    maximum: int = MAX_REPLICATIONS

    def spec(self) -> dict[str, Any]:
        return {"targets": [str(t) for t in self.targets], "start": self.start, "maximum": self.maximum}


def parse_target(text: str) -> Target:
    """`bookings:5%` (relative) or `mql_to_sql_rate:0.01` (absolute, in the KPI's own unit: shares
    are fractions). Raises ValueError with the expected form."""
    m = _SPEC.match(text)
    if not m:
        raise ValueError(f"{text!r}: expected KPI:HALF_WIDTH, e.g. bookings:5% (relative) or "
                         "mql_to_sql_rate:0.01 (absolute; shares are fractions)")
    value = float(m.group(2))
    relative = m.group(3) == "%"
    if value <= 0:
        raise ValueError(f"{text!r}: the half-width must be above 0")
    return Target(m.group(1), value / 100 if relative else value, relative)


def precision_from(targets: Iterable[str | Target] | None, maximum: int = MAX_REPLICATIONS, start: int | None = None) -> Precision | None:
    """A Precision from target texts (or Targets); None when there are none. `start` is the first
    batch (at least MIN_REPLICATIONS). Raises ValueError for a malformed target or range."""
    if not targets:
        return None
    parsed = tuple(t if isinstance(t, Target) else parse_target(t) for t in targets)
    first = max(MIN_REPLICATIONS, start or MIN_REPLICATIONS)
    if first > maximum:
        raise ValueError(f"the maximum of {maximum} replications is below the first batch of {first}")
    return Precision(parsed, first, maximum)


def assess(summary: pd.DataFrame, differences: pd.DataFrame | None, targets: tuple[Target, ...]) -> list[dict[str, Any]]:
    """Every target at every (scenario, point, policy) estimate and every paired difference: the
    half-width now, the one allowed, whether it is met, and the replications it suggests."""
    out: list[dict[str, Any]] = []
    for t in targets:
        rows = summary[summary["kpi"] == t.kpi]
        base = {(r.scenario, r.point, r.policy): float(r.mean) for r in rows.itertuples()}  # type: ignore[arg-type]
        for r in rows.itertuples():
            out.append(_check(t, f"{r.policy}", r, t.allowed(float(r.mean))))  # type: ignore[arg-type]
        if differences is not None and len(differences):
            for r in differences[differences["kpi"] == t.kpi].itertuples():
                ref = base.get((r.scenario, r.point, r.baseline), float("nan"))
                out.append(_check(t, f"{r.policy} - {r.baseline}", r, t.allowed(ref)))
    return out


def _check(t: Target, what: str, r: Any, allowed: float) -> dict[str, Any]:
    lo, hi, n = float(r.lower), float(r.upper), int(r.n)
    hw = (hi - lo) / 2 if math.isfinite(lo) and math.isfinite(hi) else float("nan")
    met = bool(math.isfinite(hw) and math.isfinite(allowed) and hw <= allowed)
    if met:
        need = n
    elif math.isfinite(hw) and math.isfinite(allowed) and allowed > 0 and hw > 0:
        need = math.ceil(n * (hw / allowed) ** 2)
    else:
        need = 2 * max(n, MIN_REPLICATIONS)          # no interval yet (too few): double and look again
    point = getattr(r, "point", 0)
    return {"target": str(t), "kpi": t.kpi, "what": what, "scenario": r.scenario, "point": int(point),
            "half_width": hw, "allowed": allowed, "n": n, "met": met, "needed": need}


def next_replications(n: int, checks: list[dict[str, Any]], maximum: int) -> int:
    """How many replications to have after the next batch (n when every target is met)."""
    unmet = [c for c in checks if not c["met"]]
    if not unmet or n >= maximum:
        return n
    want = int(max(c["needed"] for c in unmet))
    step = min(max(want, n + max(2, math.ceil(n / 4))), 4 * n)
    return min(maximum, step)


def report(checks: list[dict[str, Any]], n: int, maximum: int) -> dict[str, Any]:
    """What the manifest and the JSON say: replications used, and per target whether it was
    reached everywhere (with the widest half-width left)."""
    targets: dict[str, dict[str, Any]] = {}
    for c in checks:
        e = targets.setdefault(c["target"], {"target": c["target"], "met": True, "widest": None})
        e["met"] &= c["met"]
        ratio = c["half_width"] / c["allowed"] if c["allowed"] and math.isfinite(c["half_width"]) else math.inf
        if e["widest"] is None or ratio > e["widest"]["ratio"]:
            e["widest"] = {"what": c["what"], "point": c["point"], "half_width": c["half_width"],
                           "allowed": c["allowed"], "ratio": ratio}
    return {"replications": n, "maximum": maximum, "reached": all(t["met"] for t in targets.values()),
            "targets": list(targets.values())}


def lines(rep: dict[str, Any]) -> list[str]:
    """One sentence per target for the terminal."""
    out = []
    for t in rep["targets"]:
        w = t["widest"] or {}
        hw, allowed = w.get("half_width", math.nan), w.get("allowed", math.nan)
        if t["met"]:
            out.append(f"precision {t['target']}: reached with {rep['replications']} replications "
                       f"(widest half-width {hw:.4g} <= {allowed:.4g}, {w.get('what')})")
        else:
            out.append(f"precision {t['target']}: NOT reached at the maximum of {rep['replications']} replications "
                       f"(widest half-width {hw:.4g} > {allowed:.4g}, {w.get('what')}); raise --max-replications")
    return out
