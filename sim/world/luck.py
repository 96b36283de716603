"""Named random sub-streams and each lead's pre-drawn luck.

Why sub-streams: a world must depend only on (scenario, seed, replication), and a change to one part
of the scenario (say, engagement rates) must not reshuffle the draws of another (arrivals, luck).
Every purpose therefore reads its own child of the replication's SeedSequence, derived by *position*
without mutating the parent, so calling a generator twice with the same sequence gives the same draws.

Why pre-drawn luck: the sales process is run once per policy; the uniforms that decide a lead's
later chances (accept, qualify, win, deal size...) are drawn here, once, so every policy meets the
same luck (common random numbers) and paired comparisons are sharp.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from sim.world.model import Luck

# Order of the per-field child streams. APPEND ONLY: a field's stream is its position here, so
# inserting or reordering would change the luck of every field after it.
LUCK_FIELDS: tuple[str, ...] = (
    "key", "reject", "reason", "sql", "opportunity", "win", "deal_size", "sql_delay",
    "opportunity_delay", "cycle",
)


def child(ss: np.random.SeedSequence, index: int) -> np.random.SeedSequence:
    """The `index`-th child of `ss`, like ``ss.spawn`` but pure (no spawn counter is advanced),
    so the same (parent, index) always names the same stream."""
    return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, index), pool_size=ss.pool_size)


def streams(ss: np.random.SeedSequence, names: tuple[str, ...]) -> dict[str, np.random.Generator]:
    """One independent Generator per name, by position in `names` (append new names at the end)."""
    return {name: np.random.default_rng(child(ss, i)) for i, name in enumerate(names)}


def draw_luck(n: int, ss: np.random.SeedSequence) -> Luck:
    """Per-lead luck: a uint64 `key` for counter-based draws (see `model.lead_uniforms`) and one
    uniform in [0, 1) per later chance, each field from its own child stream."""
    declared = {f.name for f in dataclasses.fields(Luck)}
    if declared != set(LUCK_FIELDS):
        raise RuntimeError(
            f"Luck fields {sorted(declared)} differ from LUCK_FIELDS {sorted(LUCK_FIELDS)}: append new "
            "fields to LUCK_FIELDS in sim/world/luck.py (never insert, or earlier luck changes)")
    rngs = streams(ss, LUCK_FIELDS)
    values: dict[str, np.ndarray] = {}
    for name, rng in rngs.items():
        if name == "key":
            values[name] = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
        else:
            values[name] = rng.random(n)
    return Luck(**values)
