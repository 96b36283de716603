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


def test_auc_interval_matches_hanley_mcneil_and_narrows_with_data():
    from sim.crm.backtest import auc_interval
    lo, hi = auc_interval(0.8, 50, 50)
    # Hanley & McNeil (1982) table: SE(0.8; 50, 50) ~ 0.044
    assert math.isclose((hi - lo) / 2 / 1.96, 0.044, abs_tol=0.002)
    lo2, hi2 = auc_interval(0.8, 500, 500)
    assert lo < lo2 < 0.8 < hi2 < hi
    assert auc_interval(0.99, 10, 10)[1] == 1.0          # clipped: an AUC cannot exceed 1
