"""Business calendar: clock <-> working time, deadlines, working periods."""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.calendar import BusinessCalendar
from sim.config.scenario import Scenario
from sim.config.units import Duration

MON = dt.date(2026, 1, 5)  # a Monday (the default scenario start)
H, D = 60.0, 1440.0


def at(day: int, hour: float) -> float:
    return day * D + hour * H


def make(holidays=(), days: int = 120, workdays=("mon", "tue", "wed", "thu", "fri"),
         open_=dt.time(9), close=dt.time(17)) -> BusinessCalendar:
    return BusinessCalendar(MON, list(workdays), open_, close, list(holidays), days * D)


CAL = make(holidays=[dt.date(2026, 1, 14), dt.date(2026, 2, 2)])
times = st.floats(min_value=-2 * D, max_value=CAL.end + 3 * D, allow_nan=False)


def test_defaults_from_scenario():
    cal = BusinessCalendar.from_scenario(Scenario())
    assert cal.workday_minutes == 480
    assert cal.start_date == MON and cal.day_date(0).weekday() == 0
    assert cal.end >= (28 + 182 + 180 + 60) * D
    assert cal.business_between(at(0, 0), at(7, 0)) == 5 * 8 * H   # one full working week


def test_week_totals_and_weekend_flat():
    cal = make()
    assert cal.business_between(at(0, 0), at(7, 0)) == 2400
    assert cal.business_between(at(4, 17), at(7, 9)) == 0          # Fri close -> Mon open
    assert cal.business_between(at(0, 10), at(0, 12.5)) == 150
    assert cal.business_time(at(5, 12)) == cal.business_time(at(6, 23))


def test_add_business_units():
    cal = make()
    assert cal.add(at(4, 16.5), Duration.parse("1bh")) == at(7, 9.5)   # Fri 16:30 + 1bh = Mon 9:30
    assert cal.add(at(0, 10), "1bd") == at(1, 10)                       # Mon 10:00 + 1bd = Tue 10:00
    assert cal.add(at(0, 10), "5bd") == at(7, 10)                       # a working week later
    assert cal.add(at(5, 3), "30bm") == at(7, 9.5)                      # from the weekend
    assert cal.add(at(0, 17), "1bd") == at(1, 17)                       # day end -> that day's close
    assert cal.add(at(0, 20), "0bh") == at(0, 20)                       # never earlier than t
    assert cal.add(at(0, 10), "2h") == at(0, 12)                        # clock units ignore the calendar
    assert cal.add(at(4, 16), "1d") == at(5, 16)


def test_holidays_skipped():
    cal = make(holidays=[dt.date(2026, 1, 6)])                          # Tuesday
    assert cal.add(at(0, 10), "1bd") == at(2, 10)
    assert cal.business_between(at(1, 0), at(2, 0)) == 0
    assert not cal.is_open(at(1, 10))
    assert cal.next_open(at(0, 18)) == at(2, 9)
    assert cal.business_between(at(0, 0), at(7, 0)) == 4 * 480


def test_open_next_open_period_end():
    cal = make()
    assert cal.is_open(at(0, 9)) and cal.is_open(at(0, 16.99)) and not cal.is_open(at(0, 17))
    assert not cal.is_open(at(0, 8.99)) and not cal.is_open(at(5, 12)) and not cal.is_open(-1.0)
    assert cal.next_open(at(0, 8)) == at(0, 9)
    assert cal.next_open(at(0, 12)) == at(0, 12)
    assert cal.next_open(at(4, 17)) == at(7, 9)
    assert cal.next_open(-100.0) == at(0, 9)
    assert cal.period_end(at(2, 9)) == at(2, 17)
    with pytest.raises(ValueError):
        cal.period_end(at(2, 18))
    assert cal.next_open(cal.end + 1) == math.inf


def test_all_holiday_horizon():
    days = 30
    cal = make(holidays=[MON + dt.timedelta(days=i) for i in range(days)], days=days)
    assert cal.total_business == 0
    assert cal.next_open(0.0) == math.inf and cal.next_open(at(10, 10)) == math.inf
    assert cal.add(0.0, "1bh") == math.inf
    assert cal.business_time(at(12, 10)) == 0


def test_beyond_horizon_is_flat_and_deadlines_infinite():
    cal = make(days=14)
    assert cal.business_time(cal.end + 5 * D) == cal.total_business == 10 * 480
    assert cal.business_time(math.inf) == cal.total_business
    assert cal.clock_time(cal.total_business) == at(11, 17)          # last working day's close
    assert cal.clock_time(cal.total_business + 1) == math.inf
    assert cal.add(at(11, 16), "2bh") == math.inf
    np.testing.assert_array_equal(cal.business_time(np.array([-np.inf, np.inf, np.nan])),
                                  [0, cal.total_business, np.nan])


def test_other_hours_and_workdays():
    cal = make(workdays=["sat", "sun"], open_=dt.time(8, 30), close=dt.time(12, 15))
    assert cal.workday_minutes == 225
    assert cal.next_open(at(0, 10)) == at(5, 8.5)
    assert cal.business_between(at(0, 0), at(7, 0)) == 450
    with pytest.raises(ValueError):
        make(workdays=["funday"])
    with pytest.raises(ValueError):
        make(open_=dt.time(17), close=dt.time(9))


@settings(max_examples=300, deadline=None)
@given(times)
def test_round_trip_and_inverse_properties(t):
    b = CAL.business_time(t)
    t2 = CAL.clock_time(b)
    assert CAL.business_time(t2) == pytest.approx(b, abs=1e-6)
    if b > 0:
        assert t2 <= t + 1e-6                                           # earliest time with that B
        assert CAL.is_open(t2) or CAL.is_open(t2 - 1e-3)                # inside or at the end of a period
    if CAL.is_open(t):
        assert t2 == pytest.approx(t, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=CAL.total_business, allow_nan=False))
def test_clock_time_round_trip(b):
    assert CAL.business_time(CAL.clock_time(b)) == pytest.approx(b, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.lists(times, min_size=1, max_size=50))
def test_vectorised_equals_scalar(ts):
    arr = np.array(ts)
    np.testing.assert_allclose(CAL.business_time(arr), [CAL.business_time(t) for t in ts])
    bs = CAL.business_time(arr)
    np.testing.assert_allclose(CAL.clock_time(bs), [CAL.clock_time(float(b)) for b in bs])
    np.testing.assert_array_equal(CAL.day_index(arr), [CAL.day_index(t) for t in ts])
    np.testing.assert_allclose(CAL.elapsed(arr[:1], arr, True), [CAL.elapsed(ts[0], t, True) for t in ts])
    np.testing.assert_allclose(CAL.elapsed(arr[:1], arr, False), [CAL.elapsed(ts[0], t, False) for t in ts])
    assert isinstance(CAL.business_time(np.float64(ts[0])), float)
    for d in ("4bh", "1bd", "0bm", "90m"):
        np.testing.assert_allclose(CAL.add(arr, d), [CAL.add(t, d) for t in ts])


@settings(max_examples=200, deadline=None)
@given(times, times)
def test_monotone_and_flat_when_closed(t0, t1):
    lo, hi = min(t0, t1), max(t0, t1)
    assert CAL.business_time(lo) <= CAL.business_time(hi)
    # B grows at most one minute per minute, and only while open.
    assert CAL.business_between(lo, hi) <= hi - lo + 1e-9
    if not CAL.is_open(lo) and CAL.next_open(lo) >= hi:
        assert CAL.business_between(lo, hi) == 0


@settings(max_examples=200, deadline=None)
@given(times)
def test_working_period_consistency(t):
    n = CAL.next_open(t)
    assert n >= t or t < 0
    if math.isfinite(n):
        assert CAL.is_open(n)
        assert CAL.business_between(max(t, 0.0), n) == 0
        e = CAL.period_end(n)
        assert e > n and not CAL.is_open(e)
        assert CAL.business_between(n, e) == pytest.approx(e - n)


def test_dense_grid_flat_outside_hours():
    t = np.arange(0, CAL.end, 7.0)
    b = CAL.business_time(t)
    open_ = np.array([CAL.is_open(x) for x in t])
    db = np.diff(b)
    assert (db >= 0).all()
    # B grows over a step only if the step starts or ends inside a working period.
    grows = db > 0
    assert not (grows & ~open_[:-1] & ~open_[1:]).any()


@settings(max_examples=300, deadline=None)
@given(times, st.sampled_from(["5bm", "2bh", "1bd", "3bd", "0bh", "90m", "2d", "1w"]))
def test_specialised_adder_equals_add(t, d):
    """The SimPy loop's per-duration adder gives exactly the floats of add()."""
    assert CAL.adder(d)(t) == CAL.add(t, d)


def test_queueing_textbook_calendar_is_open_around_the_clock():
    sc = Scenario.model_validate({"queueing": {"enabled": True}})
    cal = BusinessCalendar.from_scenario(sc)
    assert cal.workday_minutes == 1440.0 and cal.is_open(0.0) and cal.is_open(5 * 1440 + 1439.99)
    assert cal.add(100.0, "2bh") == 220.0                      # business time is clock time
    real = Scenario.model_validate({"queueing": {"enabled": True, "sales": "scenario"}})
    assert not BusinessCalendar.from_scenario(real).is_open(0.0)   # the scenario's hours stay
