"""The debrief slide: every team's choice on the two trade-offs a funnel workshop is about, one
labelled point per team with its 95% interval bars, so the class sees why the leader won.

* volume vs quality: MQLs (x) against the MQL -> SQL rate (y): a lower threshold moves a team right
  and down;
* speed vs cost: rep utilisation (x) against the standard SLA met (y): a busier team answers later;
  the round's constraint is drawn when it is on one of these KPIs.

Colours say how the team stands on the leaderboard (the leader, cannot be told apart from it,
behind); a hollow marker is a team that did not meet the round's constraint (or it is unclear).
Drawn on a 16:9 slide with large type; written as PNG and/or PDF with matplotlib's object API (no
pyplot, no global backend).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.classroom.leaderboard import Leaderboard
    from sim.classroom.session import ClassroomSession

PANELS = (("mqls", "mql_to_sql_rate", "Volume vs quality"),
          ("rep_utilisation", "sla_compliance_standard", "Speed vs cost"))
LEADER, TIED, BEHIND = "#d97706", "#2563eb", "#6b7280"
SLIDE = (13.33, 7.5)           # inches: a 16:9 slide
FORMATS = (".png", ".pdf")


def debrief_figure(session: ClassroomSession, path: str | Path, round_no: int | None = None) -> list[Path]:
    """Draw the debrief of a round (default: the latest) and write it. A path ending in .png or .pdf
    is written as that; any other path gets both (`path.png` and `path.pdf`). Returns the files.
    ValueError when the round has no worlds played yet."""
    board = session.standings(round_no)
    runs = session.results(round_no)
    if not board.worlds or not runs:
        raise ValueError("no worlds played in this round yet: run the round first")
    fig = draw(board, runs)
    path = Path(path)
    outs = [path] if path.suffix.lower() in FORMATS else [path.with_name(path.name + s) for s in FORMATS]
    for out in outs:
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=150 if out.suffix.lower() == ".png" else None)
    return outs


def draw(board: Leaderboard, runs: dict[str, dict[int, dict[str, Any]]]) -> Any:
    """The figure (a matplotlib Figure) of a round's standings and per-world KPI rows."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from sim.measure.registry import kpi

    fig = Figure(figsize=SLIDE, layout="constrained")
    axes = fig.subplots(1, 2)
    rows = {r.team: r for r in board.rows}
    for i, (ax, (xk, yk, title)) in enumerate(zip(axes, PANELS)):
        undefined: list[str] = []
        for team, row in rows.items():
            x, y = _estimate(runs.get(team, {}), xk), _estimate(runs.get(team, {}), yk)
            if not (math.isfinite(x[0]) and math.isfinite(y[0])):
                undefined.append(team)      # e.g. no MQL of the SLA's tier in any world: said below
                continue
            colour = LEADER if row.leader else TIED if row.tied_with_leader else BEHIND
            hollow = row.constraint in ("not met", "unclear")
            ax.errorbar(x[0], y[0], xerr=_bars(x), yerr=_bars(y), fmt="o", ms=13, capsize=5, lw=2,
                        color=colour, mfc="white" if hollow else colour, mew=2.5, zorder=3)
            text = f"{team}  {_value(board.objective, row.estimate)}" if i == 0 else team
            ax.annotate(text, (x[0], y[0]), xytext=(9, 9), textcoords="offset points", fontsize=15,
                        fontweight="bold" if row.leader else "normal", color=colour, zorder=4)
        _constraint_line(ax, board.constraint, xk, yk)
        if undefined:
            ax.text(0.01, 0.01, f"not shown (a KPI here is not defined in their worlds): {', '.join(undefined)}",
                    transform=ax.transAxes, fontsize=12, color=BEHIND, va="bottom")
        ax.set_title(title, fontsize=20, pad=12)
        ax.set_xlabel(_label(kpi(xk)), fontsize=16)
        ax.set_ylabel(_label(kpi(yk)), fontsize=16)
        ax.tick_params(labelsize=13)
        ax.grid(alpha=0.3)
        ax.margins(x=0.15, y=0.12)
        for k, axis in ((xk, ax.xaxis), (yk, ax.yaxis)):
            if kpi(k).kind == "share":
                from matplotlib.ticker import PercentFormatter
                axis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    head = f"Round {board.round}: most {kpi(board.objective).label.lower()}"
    head += f" with {_constraint_text(board.constraint)}" if board.constraint else ""
    fig.suptitle(head, fontsize=22)
    marks = [Line2D([], [], marker="o", ls="", ms=12, color=LEADER, label="leader"),
             Line2D([], [], marker="o", ls="", ms=12, color=TIED, label="cannot be told apart from the leader"),
             Line2D([], [], marker="o", ls="", ms=12, color=BEHIND, label="behind")]
    if board.constraint:
        marks.append(Line2D([], [], marker="o", ls="", ms=12, color=BEHIND, mfc="white", mew=2.5,
                            label="constraint not met / unclear"))
    note = (f"Left: each team's {kpi(board.objective).label.lower()}. Bars: 95% intervals over {board.worlds} "
            "worlds, the same worlds for every team.")
    fig.legend(handles=marks, loc="outside lower center", ncol=len(marks), fontsize=13, frameon=False,
               title=note, title_fontsize=12)
    return fig


def _value(name: str, v: float) -> str:
    from sim import format as fmt
    from sim.measure.registry import kpi
    info = kpi(name)
    return fmt.value(v, info.kind, info.unit) if math.isfinite(v) else "?"


def _constraint_text(constraint: str) -> str:
    """`sla_compliance_standard>=0.9` as "SLA met: standard >= 90.0%"."""
    from sim.experiment.recommend import parse_constraint
    from sim.measure.registry import kpi
    c = parse_constraint(constraint)
    info = kpi(c.kpi)
    return f"{info.label} {c.op} {_value(c.kpi, c.bound)}"


def _estimate(team_runs: dict[int, dict[str, Any]], name: str) -> tuple[float, float, float]:
    """(estimate, lower, upper) of one KPI over a team's worlds (sim.measure.stats.estimate)."""
    import numpy as np

    from sim.measure.registry import kpi
    from sim.measure.stats import estimate
    if not team_runs:
        return math.nan, math.nan, math.nan
    info = kpi(name)
    names = [name, *([info.numerator] if info.numerator else []), *info.denominator]
    cols = {n: np.array([_float(r.get(n)) for r in team_runs.values()], float) for n in names}
    e = estimate(cols, name)
    return float(e["mean"]), float(e["lower"]), float(e["upper"])


def _bars(v: tuple[float, float, float]) -> Any:
    """Error-bar lengths below and above (none while the interval is not given)."""
    m, lo, hi = v
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    return [[max(m - lo, 0.0)], [max(hi - m, 0.0)]]


def _constraint_line(ax: Any, constraint: str | None, xk: str, yk: str) -> None:
    if not constraint:
        return
    from sim.experiment.recommend import parse_constraint
    c = parse_constraint(constraint)
    style = {"color": "#dc2626", "ls": "--", "lw": 2, "zorder": 1}
    if c.kpi == yk:
        ax.axhline(c.bound, **style)
        ax.annotate(_constraint_text(constraint), (0.01, c.bound), xycoords=("axes fraction", "data"), xytext=(0, 5),
                    textcoords="offset points", color="#dc2626", fontsize=13)
    elif c.kpi == xk:
        ax.axvline(c.bound, **style)


def _label(info: Any) -> str:
    unit = f" ({info.unit})" if info.unit else ""
    return f"{info.label}{unit}"


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan
