"""`funnelsim staffing`: how many SDRs for a service level. The analytic answer (Erlang C, or Erlang A
with a patience) for a team working around the clock, next to what the simulator says for the same
teams once business hours, the policy's cadence and response decay are switched back on.

Why both: the textbook number is what capacity-planning spreadsheets give; the simulated column is
what that team really achieves (MQLs that arrive at night wait for the morning, follow-ups take
rep time, unreached leads come back). The simulation uses the scenario's queueing mode with
`sales = "scenario"`: the same Poisson MQL stream, the real calendar and cadence.
"""
from __future__ import annotations

import math
import re
import time
from typing import TYPE_CHECKING, Any

import click
import numpy as np
from rich.table import Table

from sim import format as F
from sim.commands.common import DEFAULT_SEED, fail
from sim.config.loading import ConfigError
from sim.config.units import Duration
from sim.measure import erlang
from sim.measure.stats import mean_ci

if TYPE_CHECKING:
    from sim.calendar import BusinessCalendar
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario

PER = {"h": 1.0, "d": 24.0, "w": 168.0, "m": 730.0}     # clock hours per unit of --mql-rate
_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?:/\s*([hdwm]))?\s*$")


def parse_rate(text: str) -> float:
    """MQLs per hour from '6', '6/h', '120/d', '500/w' or '2000/m' (per 730-hour month)."""
    m = _RATE.match(text)
    if not m:
        raise click.BadParameter(f"{text!r}: give MQLs per hour, or per day/week/month as e.g. 120/d, 500/w, 2000/m")
    rate = float(m.group(1)) / PER[m.group(2) or "h"]
    if not 0 < rate <= 1_000_000:
        raise click.BadParameter(f"{text!r}: the rate must be above 0 and at most 1,000,000 an hour")
    return rate


def parse_duration(text: str, what: str, business_ok: bool = True) -> Duration:
    try:
        d = Duration.parse(text)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if d.value <= 0:
        raise click.BadParameter(f"{text!r}: {what} must be longer than zero")
    if d.is_business and not business_ok:
        raise click.BadParameter(f"{text!r}: {what} must be clock time (m, h, d, w)")
    return d


class _DurationType(click.ParamType):  # type: ignore[type-arg]  # generic only in recent click (>= 8.1 allowed)
    name = "duration"

    def __init__(self, what: str, business_ok: bool = True):
        self.what, self.business_ok = what, business_ok

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Duration:
        if isinstance(value, Duration):
            return value
        try:
            return parse_duration(value, self.what, self.business_ok)
        except click.BadParameter as e:
            self.fail(e.message, param, ctx)


class _RateType(click.ParamType):  # type: ignore[type-arg]  # generic only in recent click (>= 8.1 allowed)
    name = "rate"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_rate(value)
        except click.BadParameter as e:
            self.fail(e.message, param, ctx)


def analytic_row(c: int, lam: float, mu: float, theta: float, t: float) -> dict[str, Any]:
    """Erlang C (theta = 0) or Erlang A measures of a 24/7 team of c, rates per minute, t in minutes."""
    if theta == 0.0:
        return {"p_wait": erlang.erlang_c(c, lam / mu), "sl": erlang.mmc_service_level(c, lam, mu, t),
                "wait": erlang.mmc_mean_wait(c, lam, mu), "abandon": 0.0}
    a = erlang.erlang_a(c, lam, mu, theta)
    return {"p_wait": a.p_wait, "sl": a.service_level(t), "wait": a.mean_wait, "abandon": a.p_abandon}


def simulated_sl(scenario_name: str, policy_name: str, c: int, rate: float, handle: Duration,
                 patience: Duration | None, sla: Duration, days: int, time_share: float, n: int,
                 seed: int) -> tuple[float, float]:
    """(mean, 95% half-width over the replications) of P(first touch within the SLA) for a team of c under
    the scenario's calendar, cadence and decay, on the Poisson MQL stream. Untouched MQLs are misses."""
    from sim.experiment.replication import run_replication
    from sim.inputs import load_policy, load_scenario

    over = [("queueing.enabled", True), ("queueing.sales", "scenario"), ("queueing.mql_rate", rate),
            ("queueing.handle_time", str(handle)), ("sales.reps", c), ("sales.mql_time_share", time_share),
            ("sales.handle_time", {"dist": "exponential", "mean": str(handle), "conversation_mean": str(handle)}),
            ("horizon.warmup", "7d"), ("horizon.window", f"{days}d"), ("horizon.runout", "14d")]
    if patience is not None:
        over.append(("queueing.patience", str(patience)))
    sc = load_scenario(scenario_name, over)
    pol = load_policy(policy_name)
    values = []
    for r in range(n):
        rep = run_replication(sc, [pol], seed, r)
        log, world, cal = rep.runs[pol.name].log, rep.world, rep.calendar
        first = log.ep_index == 0
        m = first & (log.ep_mql_time >= world.window_start) & (log.ep_mql_time < world.window_end)
        mql, touch = log.ep_mql_time[m], log.ep_first_touch[m]
        ok = np.zeros(mql.size, dtype=bool)
        hit = ~np.isnan(touch)
        ok[hit] = np.asarray(cal.elapsed(mql[hit], touch[hit], sla.is_business)) <= sla_minutes(sla, cal) + 1e-9
        values.append(float(ok.mean()) if ok.size else float("nan"))
    mean, lo, hi, _ = mean_ci(np.array(values))
    return mean, (hi - lo) / 2


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def why_they_differ(scenario: Scenario, policy: Policy, c: int, lam: float, mu: float, time_share: float, sla: Duration) -> str:
    """One line on why the 24/7 formula and the simulation disagree, computed from the scenario
    and the policy: the working hours (and the wait of MQLs arriving outside them), the share of
    rep time on MQLs, the follow-up attempts of the cadence, the decay of contact with the wait,
    and what a business-time SLA means in clock time. `lam`, `mu` per minute."""
    cal, cad, resp = scenario.calendar, policy.cadence, scenario.response
    day = (cal.close.hour * 60 + cal.close.minute) - (cal.open.hour * 60 + cal.open.minute)
    days = sorted({WEEKDAYS.index(d) for d in cal.workdays})
    open_share = len(days) * day / (7 * 1440)
    # a minute grid over one week: the wait from each minute to the next opening
    working = np.zeros(7 * 1440, bool)
    start = cal.open.hour * 60 + cal.open.minute
    for d in days:
        working[d * 1440 + start: d * 1440 + start + day] = True
    idx = np.flatnonzero(working)
    m = np.arange(7 * 1440)
    nxt = idx[np.searchsorted(idx, m) % idx.size]
    wait = np.where(working, 0, (nxt - m) % (7 * 1440))
    closed = ~working
    p = resp.contact_rate
    attempts = sum((1 - p) ** k for k in range(cad.max_attempts))
    capacity = open_share * time_share / attempts          # of the 24/7 formula's capacity per rep
    load = lam / (c * mu * capacity)
    parts = [f"the formula's team works 168 h a week on first touches only; in {scenario.name} a rep works "
             f"{len(days) * day / 60:.0f} of 168 h ({F.share(open_share, 0)})",
             f"{F.share(time_share, 0)} of it on MQLs" if time_share < 1 else None,
             f"and {policy.name}'s cadence makes about {attempts:.1f} attempts per MQL (up to {cad.max_attempts}, "
             f"{F.share(p, 0)} reached per attempt at {resp.reference_delay}, less as the wait grows: response decay "
             f"{resp.decay if isinstance(resp.decay, str) else 'curve'})",
             f"so {c} rep{'s' if c != 1 else ''} give{'' if c != 1 else 's'} {F.share(capacity, 0)} of the capacity the "
             f"formula counts (load {F.share(load, 0)}{': the queue grows without bound' if load >= 1 else ''})",
             f"{F.share(closed.mean(), 0)} of MQLs arrive out of hours and wait {wait[closed].mean() / 60:.0f} h on average "
             "for the next opening"]
    if sla.is_business:
        parts.append(f"and {sla} is {sla.business_minutes(day) / 60:g} working hours in the simulation but "
                     f"{sla.business_minutes(24 * 60) / 60:g} clock hours in the formula")
    return "why the columns differ: " + "; ".join(x for x in parts if x) + "."


def sla_minutes(sla: Duration, cal: BusinessCalendar) -> float:
    """The SLA in the minutes it is measured in: business minutes of this calendar, or clock minutes."""
    return sla.business_minutes(cal.workday_minutes)


def _fmt_wait(minutes: float) -> str:
    if math.isinf(minutes):
        return "unbounded"
    return F.duration(minutes, "minutes") if minutes < 120 else F.duration(minutes / 60, "hours")


def _sim_cell(mean: float, hw: float, n: int) -> str:
    """The simulated share within the SLA and its 95% half-width ('82.4% ± 3.1 pp'; 'every world'
    when the worlds agree), by the same rules as every other table."""
    return F.cell({"mean": mean, "lower": mean - hw, "upper": mean + hw, "n": n, "n_total": n, "status": "ok"},
                  "share")


@click.command()
@click.option("--mql-rate", required=True, type=_RateType(),
              help="MQLs per hour around the clock, or per day/week/month: 6, 120/d, 500/w, 2000/m")
@click.option("--handle-time", required=True, type=_DurationType("the handling time", business_ok=False),
              help="mean rep time per MQL attempt, e.g. 10m")
@click.option("--sla", required=True, type=_DurationType("the SLA"),
              help="time to first touch promised, e.g. 2h (clock) or 2bh (business hours)")
@click.option("--target", required=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="share of MQLs to touch within the SLA, e.g. 0.8")
@click.option("--patience", type=_DurationType("the patience", business_ok=False),
              help="mean time a waiting MQL stays warm (Erlang A); default: forever (Erlang C)")
@click.option("--scenario", "scenario_name", default="baseline", show_default=True,
              help="scenario whose calendar and response decay the simulation uses")
@click.option("--policy", "policy_name", default="seed-example", show_default=True,
              help="policy whose cadence the simulation uses")
@click.option("--replications", "-n", type=click.IntRange(2, 200), default=4, show_default=True,
              help="simulated worlds per team size")
@click.option("--days", type=click.IntRange(7, 3650), default=28, show_default=True,
              help="measurement window of each simulated world, in days")
@click.option("--neighbours", type=click.IntRange(0, 20), default=2, show_default=True,
              help="team sizes shown either side of the analytic answer")
@click.option("--time-share", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
              help="share of a rep's working time spent on MQLs in the simulation")
@click.option("--no-sim", is_flag=True, help="analytic table only")
@click.option("--seed", type=click.IntRange(0), default=DEFAULT_SEED, show_default=True)
def staffing(mql_rate: float, handle_time: Duration, sla: Duration, target: float, patience: Duration | None,
             scenario_name: str, policy_name: str, replications: int, days: int, neighbours: int, time_share: float,
             no_sim: bool, seed: int) -> None:
    """How many SDRs for a service level: Erlang C / A for a team working 24/7, next to the simulated
    service level of the same teams under the scenario's business hours, cadence and decay."""
    lam, mu = mql_rate / 60.0, 1.0 / handle_time.minutes              # per minute
    theta = 0.0 if patience is None else 1.0 / patience.minutes
    t = sla.business_minutes(24 * 60.0)   # 24/7: business = clock
    try:
        best = erlang.staffing_for_service_level(lam, mu, t, target, theta=theta, max_c=10_000)
    except ValueError as e:
        fail(f"--target {target}: {e}")
    if not no_sim:
        from sim.inputs import load_policy, load_scenario
        try:
            load_scenario(scenario_name), load_policy(policy_name)
        except ConfigError as e:
            fail(e)
        mqls = mql_rate * 24 * (days + 21) * replications * (2 * neighbours + 1)
        if mqls > 20_000_000:
            fail(f"--mql-rate {mql_rate:g}/h x --days {days} x {2 * neighbours + 1} team sizes x {replications} "
                 f"replications: about {mqls:,.0f} simulated MQLs; use fewer --days, --replications or --neighbours, "
                 "or --no-sim")

    from rich.console import Console
    con = Console(width=max(110, Console().width))
    model = "Erlang C" if theta == 0 else f"Erlang A (mean patience {patience})"
    con.print(f"[bold]Staffing[/bold] for {mql_rate:.3g} MQLs/h ({mql_rate * 168:,.0f} a week), handling {handle_time}, "
              f"target: {F.share(target, 0)} touched within {sla}. Analytic: {model}, team working 24/7.")
    table = Table()
    for h in ("reps", "P(wait)", f"P(touch <= {sla})", "mean wait", "utilisation"):
        table.add_column(h, justify="right")
    if theta > 0:
        table.add_column("P(leaves)", justify="right")
    if not no_sim:
        table.add_column("simulated (95% CI)", justify="right")
        table.caption = (f"simulated: P(touch <= {sla}) for the same team under {scenario_name}'s business hours "
                         f"and response decay with {policy_name}'s cadence")
    sizes = range(max(1, best - neighbours), best + neighbours + 1)
    t0 = time.perf_counter()
    sim_best = None
    for c in sizes:
        a = analytic_row(c, lam, mu, theta, t)
        row = [f"{c}" + (" *" if c == best else ""), F.share(a["p_wait"]), F.share(a["sl"]), _fmt_wait(a["wait"]),
               F.share(lam / (c * mu), 0)]
        if theta > 0:
            row.append(F.share(a["abandon"]))
        if not no_sim:
            mean, hw = simulated_sl(scenario_name, policy_name, c, mql_rate, handle_time, patience, sla, days,
                                       time_share, replications, seed)
            row.append(_sim_cell(mean, hw, replications))
            if sim_best is None and mean >= target:
                sim_best = c
        table.add_row(*row, style="bold" if c == best else None)
    con.print(table)
    con.print(f"analytic minimum team (*): {best} reps (24/7, {model}).")
    if no_sim:
        return
    from sim.inputs import load_policy, load_scenario
    con.print(why_they_differ(load_scenario(scenario_name), load_policy(policy_name), sizes[0], lam, mu, time_share,
                              sla), highlight=False)

    def meets(c: int) -> tuple[bool, float, float]:
        mean, hw = simulated_sl(scenario_name, policy_name, c, mql_rate, handle_time, patience, sla, days,
                                   time_share, replications, seed)
        return mean >= target, mean, hw

    found: tuple[int, tuple[float, float] | None] | None = None if sim_best is None else (sim_best, None)
    if found is None:      # beyond the table: gallop up, then bisect (service level rises with the team)
        lo, hi, step, cap = sizes[-1], sizes[-1] + 1, 1, 20 * best + 20
        ok, mean, hw = meets(hi)
        while not ok and hi < cap:
            lo, step = hi, 2 * step
            hi = min(cap, hi + step)
            ok, mean, hw = meets(hi)
        if ok:
            found = (hi, (mean, hw))
            while hi - lo > 1:
                mid = (lo + hi) // 2
                ok, mean, hw = meets(mid)
                lo, hi = (lo, mid) if ok else (mid, hi)
                if ok:
                    found = (mid, (mean, hw))
    if found is None:
        verdict = f"no team up to {20 * best + 20} reps reaches {F.share(target, 0)}"
    else:
        c, res = found
        extra = "" if res is None else f" (simulated {_sim_cell(*res, replications)})"
        verdict = f"minimum team {c} reps{extra}, vs {best} from the 24/7 formula"
    con.print(f"[bold]simulated[/bold] with {scenario_name}'s business hours, {policy_name}'s cadence and response "
              f"decay: {verdict}. {replications} worlds x {days} days per team size, "
              f"{time.perf_counter() - t0:.0f} s; untouched MQLs count as misses; waits in "
              f"{'business' if sla.is_business else 'clock'} time.")
