"""Play a calibrated scenario through the engine and compare it with the history it came from.

Why through the engine and not a formula: what a user will later run is the engine, with its
queues, contact failures, rejections and a run-out that cuts off late deals. Solving the per-channel
win chance from a pilot run of the engine (win = 1 gives each channel's chance of reaching a close
inside the horizon) and then checking fresh replications against the data tests the scenario as used.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.crm.calibrate import Calibration
from sim.experiment.replication import run_replication
from sim.vocab import CHANNELS

MINUTES_PER_DAY = 1440.0
MIN_ORIGIN_MQLS = 100


@dataclass
class SimSample:
    mqls: np.ndarray          # int[replications, channels]: cohort MQLs
    won: np.ndarray           # int[replications, channels]: cohort leads won
    daily: np.ndarray         # leads per day in the window, all replications pooled
    close_days: np.ndarray    # MQL -> won, days, all replications pooled

    def rate(self) -> np.ndarray:
        """Pooled MQL->won per channel (nan where no MQLs)."""
        m = self.mqls.sum(axis=0)
        return np.where(m > 0, self.won.sum(axis=0) / np.maximum(m, 1), np.nan)


def simulate(scenario: Scenario, policy: Policy, seed: int, replications: int) -> SimSample:
    """Cohort MQLs and wins per channel, daily arrivals and time to close over `replications` worlds."""
    mqls, won, daily, close = [], [], [], []
    n_days = int(round(scenario.horizon.window.minutes / MINUTES_PER_DAY))
    for rep in range(replications):
        r = run_replication(scenario, [policy], seed, rep)
        w, o = r.world, r.runs[policy.name].outcomes
        cohort = w.in_cohort
        is_mql = np.isfinite(o.first_mql) & cohort
        is_won = o.won & cohort
        mqls.append(np.bincount(w.channel[is_mql], minlength=len(CHANNELS)))
        won.append(np.bincount(w.channel[is_won], minlength=len(CHANNELS)))
        day = ((w.arrival[cohort] - w.window_start) // MINUTES_PER_DAY).astype(np.int64)
        daily.append(np.bincount(day, minlength=n_days)[:n_days])
        close.append((o.close_time[is_won] - o.first_mql[is_won]) / MINUTES_PER_DAY)
    return SimSample(np.array(mqls), np.array(won), np.concatenate(daily), np.concatenate(close))


def solve_win_by_channel(cal: Calibration, policy: Policy, seed: int, replications: int) -> tuple[Scenario, dict[str, dict[str, float | str]]]:
    """The calibrated Scenario with outcomes.win_by_channel solved so the simulated MQL->won per
    channel equals the observed one, and the pilot's chance of closing per channel."""
    channels = list(cal.scenario["arrivals"]["channel_mix"])
    pilot_data = _with_win(cal.scenario, {c: 1.0 for c in channels})
    pilot = simulate(Scenario.model_validate(pilot_data), policy, seed, replications)
    reach = pilot.rate()
    target = cal.observed.by_channel["rate"]
    win: dict[str, float] = {}
    notes: dict[str, dict[str, float | str]] = {}
    for c in channels:
        r = reach[CHANNELS.index(c)]
        t = float(target.get(c, np.nan))
        if not np.isfinite(t) or not np.isfinite(r) or r <= 0:
            continue
        win[c] = round(float(min(1.0, t / r)), 6)
        notes[c] = {"observed_mql_to_won": t, "simulated_chance_to_close": float(r), "win_chance": win[c]}
        if t > r:
            notes[c]["warning"] = "observed MQL->won exceeds the chance to close: win chance capped at 1"
    cal.scenario = _with_win(cal.scenario, win)
    # The engine adds the wait for a first conversation (nights, weekends, unreached attempts) before
    # the cycle starts: shrink the cycle's median by the ratio of observed to pilot medians (both
    # truncated alike by the data end), once, so the whole MQL -> won time matches.
    obs = cal.observed.close_days[cal.observed.close_days > 0]
    cycle = cal.scenario["outcomes"].get("cycle")
    if cycle and obs.size and pilot.close_days.size:
        factor = float(np.median(obs) / np.median(pilot.close_days))
        days = float(cycle.rstrip("d")) * factor
        cal.scenario["outcomes"]["cycle"] = f"{max(days, 0.01):.4f}d"
        notes["cycle_median_adjustment"] = {"factor": factor, "cycle_median_days": days}
    return Scenario.model_validate(cal.scenario), notes


def _with_win(data: dict[str, Any], win: dict[str, Any]) -> dict[str, Any]:
    out = {**data, "outcomes": {**data["outcomes"], "win_by_channel": win}}
    return out


def compare(cal: Calibration, sim: SimSample) -> dict[str, Any]:
    """Observed vs simulated: KS of arrivals per day and of time to close, and each origin's observed
    95% interval against its channel's simulated MQL->won."""
    obs = cal.observed
    ks_daily = stats.ks_2samp(obs.daily.to_numpy(), sim.daily)
    pos = obs.close_days[obs.close_days > 0]
    ks_close = stats.ks_2samp(pos, sim.close_days) if pos.size and sim.close_days.size else None
    rate = sim.rate()
    rows = []
    for src, r in obs.by_source.iterrows():
        if r["n"] < MIN_ORIGIN_MQLS or not isinstance(r["channel"], str):
            continue
        s = float(rate[CHANNELS.index(r["channel"])])
        rows.append({"source": src, "channel": r["channel"], "n": int(r["n"]), "observed": float(r["rate"]),
                     "lo": float(r["lo"]), "hi": float(r["hi"]), "simulated": s,
                     "inside": bool(r["lo"] <= s <= r["hi"])})
    return {
        "arrivals_per_day": {"ks_statistic": float(ks_daily.statistic), "ks_pvalue": float(ks_daily.pvalue),
                             "observed_mean": float(obs.daily.mean()), "simulated_mean": float(sim.daily.mean()),
                             "observed_variance_to_mean": float(obs.daily.var() / obs.daily.mean()),
                             "simulated_variance_to_mean": float(sim.daily.var() / sim.daily.mean())},
        "time_to_close": None if ks_close is None else {
            "ks_statistic": float(ks_close.statistic), "ks_pvalue": float(ks_close.pvalue),
            "observed_median_days": float(np.median(pos)), "simulated_median_days": float(np.median(sim.close_days)),
            "observed_n": int(pos.size), "simulated_n": int(sim.close_days.size)},
        "mql_to_won_by_source": rows,
        "all_sources_inside": all(r["inside"] for r in rows),
        "simulated_by_channel": {c: float(rate[i]) for i, c in enumerate(CHANNELS) if np.isfinite(rate[i])},
    }


def comparison_table(result: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(result["mql_to_won_by_source"])
