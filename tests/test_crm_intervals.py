"""Backtest rates come with exact binomial intervals (small real samples must not be over-read)."""
import math

from scipy import stats

from sim.crm.backtest import proportion


def test_exact_interval_brackets_the_rate_and_matches_clopper_pearson():
    r = proportion("x", 22, 26)
    assert r["x_lower"] < r["x"] == 22 / 26 < r["x_upper"]
    # Clopper-Pearson bounds are beta quantiles
    assert math.isclose(r["x_lower"], stats.beta.ppf(0.025, 22, 5), rel_tol=1e-6)
    assert math.isclose(r["x_upper"], stats.beta.ppf(0.975, 23, 4), rel_tol=1e-6)
    edge = proportion("y", 0, 10)
    assert edge["y_lower"] == 0 and 0.25 < edge["y_upper"] < 0.35       # 0 of 10 is not "0%" for sure
    assert all(math.isnan(v) for v in proportion("z", 0, 0).values())
