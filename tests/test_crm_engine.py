"""Engine support for calibration: over-dispersed arrivals, win chance per channel, cycle sigma.
Defaults change nothing (the existing suite checks that); these check the new behaviour against
its analytic value."""
from __future__ import annotations

import datetime as dt

import numpy as np
from scipy import stats

from sim.config.scenario import Arrivals, Scenario
from sim.crm.calibrate import every_lead_mql_policy
from sim.experiment.replication import run_replication
from sim.vocab import CHANNELS
from sim.world.arrivals import arrival_grid, draw_arrivals
from sim.world.luck import streams

START = dt.date(2024, 1, 1)
FLAT = {"weekday_profile": {d: 1.0 for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "hourly_profile": [1.0] * 24}


def daily_counts(cfg: Arrivals, days: int, seed: int = 3) -> np.ndarray:
    end = days * 1440.0
    t, _ = draw_arrivals(arrival_grid(cfg, START, end), end, np.random.SeedSequence(seed))
    return np.bincount((t // 1440).astype(int), minlength=days)


def test_without_dispersion_the_poisson_draws_are_the_original_stream():
    cfg = Arrivals(leads_per_year=20_000)
    end = 60 * 1440.0
    grid = arrival_grid(cfg, START, end)
    ss = np.random.SeedSequence(11)
    t, _ = draw_arrivals(grid, end, ss)
    counts = streams(ss, ("counts", "placement"))["counts"].poisson(grid.mu)   # the layout before the change
    assert t.size == counts.sum()


def test_day_dispersion_gives_negative_binomial_daily_counts():
    m, k, days = 50.0, 4.0, 3000
    n = daily_counts(Arrivals(leads_per_year=m * 365.25, day_dispersion=k, **FLAT), days)
    se_mean = np.sqrt((m + m * m / k) / days)
    assert abs(n.mean() - m) < 4 * se_mean                        # the multiplier has mean 1
    k_hat = n.mean() ** 2 / (n.var(ddof=1) - n.mean())
    assert 0.8 * k < k_hat < 1.25 * k                              # variance m + m^2 / k
    plain = daily_counts(Arrivals(leads_per_year=m * 365.25, **FLAT), days)
    assert 0.85 < plain.var(ddof=1) / plain.mean() < 1.15          # without it: Poisson


def _scenario(**outcomes) -> Scenario:
    return Scenario.model_validate({
        "start_date": START, "horizon": {"warmup": "0d", "window": "120d", "runout": "400d"},
        "arrivals": {"leads_per_year": 15_000, "channel_mix": {"paid_search": 0.5, "organic": 0.5}},
        "engagement": {"entry_event": {c: {"contact_form": 1.0} for c in CHANNELS}, "entry_hand_raise_intent": 0.0},
        "response": {"contact_rate": 1.0, "decay": "none"},
        "sales": {"reps": 20},
        "outcomes": {"sql_buyer": 1.0, "sql_non_buyer": 1.0, "opportunity_buyer": 1.0, "opportunity_non_buyer": 1.0,
                     "delay_sigma": 0.1, **outcomes},
    })


def test_win_by_channel_replaces_the_buyer_dependent_win_chance():
    sc = _scenario(win_by_channel={"paid_search": 0.6, "organic": 0.1})
    pol = every_lead_mql_policy()
    r = run_replication(sc, [pol], seed=5)
    o, w = r.runs[pol.name].outcomes, r.world
    for name, p in (("paid_search", 0.6), ("organic", 0.1)):
        closed = (o.won | o.lost) & (w.channel == CHANNELS.index(name))
        won = int((o.won & closed).sum())
        lo, hi = stats.binomtest(won, int(closed.sum())).proportion_ci(0.999)
        assert closed.sum() > 500 and lo <= p <= hi


def test_cycle_sigma_sets_the_spread_of_the_opportunity_to_close_time():
    sc = _scenario(cycle="20d", cycle_sigma=1.2)
    pol = every_lead_mql_policy()
    r = run_replication(sc, [pol], seed=6)
    o = r.runs[pol.name].outcomes
    closed = ~np.isnan(o.close_time) & r.world.in_cohort     # the cohort has 400 days of run-out
    d = np.log(o.close_time[closed] - o.opportunity_time[closed])
    iqr_sigma = (np.percentile(d, 75) - np.percentile(d, 25)) / (2 * stats.norm.ppf(0.75))
    assert abs(np.median(d) - np.log(20 * 1440)) < 0.1
    assert 1.1 < iqr_sigma < 1.3


def test_outcome_delays_need_clock_time_and_dispersion_has_a_floor():
    import pytest
    from pydantic import ValidationError

    from sim.config.scenario import Outcomes
    for field in ("sql_delay", "opportunity_delay", "cycle"):
        with pytest.raises(ValidationError, match="business time"):
            Outcomes.model_validate({field: "5bd"})
    with pytest.raises(ValidationError):
        Arrivals(day_dispersion=5e-324)
    assert Arrivals(day_dispersion=0.01).day_dispersion == 0.01
