"""Rep utilisation: blocked spans (handle / mql_time_share) are clipped to the window and split at
midnights, so utilisation is a share of available working time, in [0, 1], per window and per day."""
import numpy as np
import pytest

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.replication import run_replication
from sim.measure.kpis import blocked_business


def test_daily_and_window_utilisation_stay_in_the_unit_interval_and_add_up():
    sc = Scenario.model_validate({"horizon": {"warmup": "7d", "window": "21d", "runout": "21d"},
                                  "arrivals": {"leads_per_year": 3000}, "sales": {"reps": 1, "mql_time_share": 0.01}})
    rep = run_replication(sc, [Policy(name="p")], seed=0)
    run = rep.runs["p"]
    assert 0.0 <= run.kpis["rep_utilisation"] <= 1.0
    d = rep.daily("p")
    u = d["rep_utilisation"].dropna().to_numpy()
    assert u.size and np.all((u >= 0) & (u <= 1 + 1e-9))
    # the daily pieces of the blocked spans add up to the whole (nothing lost at midnights)
    cal, log = rep.calendar, run.log
    whole = blocked_business(log, cal, 0.01, 0.0, rep.world.end)
    avail = cal.business_between(np.arange(len(d)) * 1440.0, (np.arange(len(d)) + 1) * 1440.0) * log.reps
    assert np.nansum(d["rep_utilisation"].to_numpy() * avail) == pytest.approx(
        blocked_business(log, cal, 0.01, 0.0, len(d) * 1440.0), rel=1e-9)
    assert whole >= blocked_business(log, cal, 0.01, 0.0, len(d) * 1440.0)
