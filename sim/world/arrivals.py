"""Lead arrivals: a non-homogeneous Poisson process per channel, drawn exactly on an hourly grid.

The rate is piecewise constant within each clock hour (volume x channel share x weekday weight x
hour-of-day weight x active spikes), so drawing a Poisson count per (hour, channel) bin and placing
its arrivals uniformly inside the hour samples that process exactly, with a handful of numpy calls
instead of per-lead thinning.

Over-dispersion (`Arrivals.day_dispersion` = k): each calendar day's rate is multiplied by a
Gamma(k, 1/k) draw (mean 1, variance 1/k) shared by every channel and hour of that day, so the daily
count is negative-binomial (variance m + m^2/k). The multipliers come from their own sub-stream of the
arrival stream, so the Poisson draws of a world without it are unchanged.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sim.config.scenario import Arrivals, Scenario
from sim.vocab import CHANNELS, WEEKDAYS
from sim.world.luck import streams
from sim.world.population import shares_vector

MINUTES_PER_HOUR = 60.0
MINUTES_PER_DAY = 1440.0
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class Horizon:
    """The simulated time axis in minutes since start_date 00:00."""

    window_start: float
    window_end: float
    end: float


@dataclass(frozen=True)
class ArrivalGrid:
    """Expected arrivals per (hour bin, channel): `mu[b, c]` over [start[b], start[b] + width[b])."""

    start: np.ndarray   # float64[bins], minutes
    width: np.ndarray   # float64[bins], minutes (60, except a partial last hour)
    mu: np.ndarray      # float64[bins, len(CHANNELS)]
    day_shape: float | None = None   # gamma shape of the day-level rate multiplier (None = Poisson)

    @property
    def expected_total(self) -> float:
        return float(self.mu.sum())


def horizon_bounds(scenario: Scenario) -> Horizon:
    """Warm-up, then the measurement window, then the run-out (all clock durations)."""
    h = scenario.horizon
    warmup, window, runout = h.warmup.minutes, h.window.minutes, h.runout.minutes
    return Horizon(window_start=warmup, window_end=warmup + window, end=warmup + window + runout)


def date_to_minutes(day: dt.date, start_date: dt.date) -> float:
    """Minutes from start_date 00:00 to `day` 00:00 (negative before the start)."""
    return (day - start_date).days * MINUTES_PER_DAY


def _normalised(weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scale weights to mean 1, so a profile shapes the rate without changing the volume."""
    scaled: NDArray[np.float64] = weights * (weights.shape[0] / weights.sum())
    return scaled


def channel_shares(cfg: Arrivals) -> NDArray[np.float64]:
    """float64[len(CHANNELS)]: channel mix normalised to sum 1 (absent channels get 0)."""
    shares = shares_vector(cfg.channel_mix, CHANNELS)
    normalised: NDArray[np.float64] = shares / shares.sum()
    return normalised


def arrival_grid(cfg: Arrivals, start_date: dt.date, end: float) -> ArrivalGrid:
    """The integrated arrival rate on the hourly grid covering [0, end).

    Weekdays missing from `weekday_profile` weigh 1 (the profile is relative). A spike multiplies
    every hour whose start lies in [spike start, spike start + duration) for its channel (or all)."""
    n_bins = int(np.ceil(end / MINUTES_PER_HOUR))
    hour = np.arange(n_bins, dtype=np.int64)
    start = hour * MINUTES_PER_HOUR
    width = np.minimum(MINUTES_PER_HOUR, end - start)

    weekday_w = _normalised(shares_vector(cfg.weekday_profile, WEEKDAYS, 1.0))
    hourly_w = _normalised(np.asarray(cfg.hourly_profile, dtype=np.float64))
    weekday = (start_date.weekday() + hour // 24) % 7
    per_minute = cfg.leads_per_year / (DAYS_PER_YEAR * MINUTES_PER_DAY)
    base = per_minute * weekday_w[weekday] * hourly_w[hour % 24] * width          # [bins]
    mu = base[:, None] * channel_shares(cfg)[None, :]                              # [bins, channels]

    for spike in cfg.spikes:
        s = date_to_minutes(spike.start, start_date)
        e = s + spike.duration.minutes
        first = max(0, int(np.ceil(s / MINUTES_PER_HOUR)))
        stop = min(n_bins, int(np.ceil(e / MINUTES_PER_HOUR)))
        if first >= stop:
            continue
        cols = slice(None) if spike.channel is None else CHANNELS.index(spike.channel)
        mu[first:stop, cols] *= spike.multiplier
    return ArrivalGrid(start=start, width=width, mu=mu, day_shape=cfg.day_dispersion)


def draw_arrivals(grid: ArrivalGrid, end: float, ss: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """(arrival float64[n] ascending, channel int8[n]): Poisson counts per bin, uniform within it."""
    rng = streams(ss, ("counts", "placement", "day_rate"))   # append only
    mu = grid.mu
    if grid.day_shape is not None and mu.shape[0]:
        day = (grid.start // MINUTES_PER_DAY).astype(np.int64)
        k = grid.day_shape
        mult = rng["day_rate"].gamma(k, 1.0 / k, size=int(day[-1]) + 1)
        mu = mu * mult[day][:, None]
    counts = rng["counts"].poisson(mu).ravel()                           # bin-major, channel-minor
    n_channels = grid.mu.shape[1]
    cell = np.repeat(np.arange(counts.shape[0], dtype=np.int64), counts)
    bin_of = cell // n_channels
    channel = (cell % n_channels).astype(np.int8)
    times = grid.start[bin_of] + grid.width[bin_of] * rng["placement"].random(cell.shape[0])
    # x + w*u can round up to the bin's end; only at the horizon's end does that matter.
    np.minimum(times, np.nextafter(end, -np.inf), out=times)
    order, ordered = stable_order(times)
    return ordered, channel[order]


def stable_order(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(`np.argsort(x, kind="stable")`, x in that order), exactly, for float arrays without NaN: the
    default (SIMD) sort, then equal values put back in index order. About twice as fast on 10M
    arrivals as the stable sort (timsort), which a world draws once."""
    order = np.argsort(x)
    ordered = x[order]
    tie = np.flatnonzero(ordered[1:] == ordered[:-1])
    if tie.size:
        pos = np.union1d(tie, tie + 1)                  # every element of a run of equal values
        order[pos] = order[pos][np.lexsort((order[pos], ordered[pos]))]
        ordered = x[order]
    return order, ordered
