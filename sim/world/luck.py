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
from typing import Any, cast

import numpy as np

from sim.world.model import Luck, lead_uniforms

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


# Counter-based luck columns of a streamed world: purpose 0x4C00 + position in LUCK_FIELDS ("L"),
# apart from the purposes of model.py, sales/competitor.py, sales/handoff.py and sales/roster.py.
KEYED_LUCK_PURPOSE = 0x4C00


class KeyedUniforms:
    """A luck column computed on demand from the lead keys: entry i is
    ``lead_uniform(key[i], purpose, 0)``, a uniform in [0, 1) with 53 random bits.

    It indexes like the float64 column it stands for (any numpy index gives the float64 values of
    those leads), so the consumers, which always index a column by the leads they need, read it
    unchanged; it stores nothing per lead (8 bytes a lead less per column), and computes only the
    leads asked for. `np.asarray(column)` materialises it."""

    __slots__ = ("key", "purpose")

    def __init__(self, key: np.ndarray, purpose: int):
        self.key = key
        self.purpose = purpose

    def __getitem__(self, index: Any) -> np.ndarray:   # any numpy index of the key array
        return lead_uniforms(self.key[index], self.purpose, 0)

    def __len__(self) -> int:
        return int(self.key.shape[0])

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.key.shape)

    @property
    def dtype(self) -> np.dtype[np.float64]:
        return np.dtype(np.float64)

    @property
    def nbytes(self) -> int:
        """Bytes held per lead: none (the key is the Luck's own column)."""
        return 0

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        u = lead_uniforms(self.key, self.purpose, 0)
        return u if dtype is None else u.astype(dtype)  # type: ignore[call-overload]  # any dtype numpy asks for


def keyed_luck(n: int, ss: np.random.SeedSequence) -> Luck:
    """Per-lead luck of a streamed world: the uint64 `key` drawn as in a whole world (child stream 0
    of `ss`), every other field a `KeyedUniforms` column of that key (8 bytes a lead in all)."""
    key = np.random.default_rng(child(ss, 0)).integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64,
                                                         endpoint=True)
    return luck_of_keys(key)


def luck_of_keys(key: np.ndarray) -> Luck:
    """The counter-based Luck of these lead keys (see `keyed_luck`)."""
    columns = {name: cast(np.ndarray, KeyedUniforms(key, KEYED_LUCK_PURPOSE + i))   # indexes like an array
               for i, name in enumerate(LUCK_FIELDS) if name != "key"}
    return Luck(key=key, **columns)
