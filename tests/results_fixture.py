"""Small saved results folders for report tests, written by the real results writer
(`sim.compare` / `sim.sweep` with `out=`) on a scaled-down scenario (default `workshop`, 3,000
leads a year, a 4-week window: a fraction of a second per run). The writer builds no report from
the Python API, so the tests build it themselves.
"""
from __future__ import annotations

from pathlib import Path

import sim

SMALL = dict(leads=3000.0, days=28)
SEED = 7


def comparison_folder(folder: Path, replications: int = 3,
                      policies: tuple[str, ...] = ("seed-example", "volume", "fit-and-intent"),
                      scenario: str = "workshop", **kw) -> Path:
    """Every policy on the same `replications` worlds (the first policy is the baseline)."""
    size = {**SMALL, **kw}
    sim.compare(scenario, list(policies), replications=replications, seed=SEED, out=folder, **size)
    return folder


def sweep_folder(folder: Path, values: dict[str, list], replications: int = 2,
                 policies: tuple[str, ...] = ("seed-example",), scenario: str = "workshop",
                 maximise: str | None = "bookings", subject_to: tuple[str, ...] = ("sla_compliance>=0.1",),
                 **kw) -> Path:
    """A full-factorial sweep over `values` ({path: [values]}); with `maximise`, the folder holds
    the recommender's recommendation.json."""
    size = {**SMALL, **kw}
    sim.sweep(scenario, list(policies), values, replications=replications, seed=SEED, maximise=maximise,
              subject_to=list(subject_to) if maximise else [], out=folder, **size)
    return folder
