"""Named random sub-streams and each lead's pre-drawn luck.

Why sub-streams: a world must depend only on (scenario, seed, replication), and a change to one part
of the scenario (say, engagement rates) must not reshuffle the draws of another (arrivals, luck).
Every purpose therefore reads its own child of the replication's SeedSequence, derived by *position*
without mutating the parent, so calling a generator twice with the same sequence gives the same draws.

Why pre-drawn luck: the sales process is run once per policy; the uniforms that decide a lead's
later chances (accept, qualify, win, deal size...) are fixed here, once, so every policy meets the
same luck (common random numbers) and paired comparisons are sharp. Fixed, not stored: each column
is a pure function of the world's seeds (`DrawnUniforms`, `KeyedUniforms`), computed for the leads a
consumer indexes, so the luck holds 8 bytes a lead (the key) instead of 80.
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
    uniform in [0, 1) per later chance, each field from its own child stream (`DrawnUniforms`:
    drawn when indexed, the same values as drawing them here)."""
    declared = {f.name for f in dataclasses.fields(Luck)}
    if declared != set(LUCK_FIELDS):
        raise RuntimeError(
            f"Luck fields {sorted(declared)} differ from LUCK_FIELDS {sorted(LUCK_FIELDS)}: append new "
            "fields to LUCK_FIELDS in sim/world/luck.py (never insert, or earlier luck changes)")
    key = np.random.default_rng(child(ss, 0)).integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64,
                                                         endpoint=True)
    columns = {name: cast(np.ndarray, DrawnUniforms(child(ss, i), 0, n))   # indexes like an array
               for i, name in enumerate(LUCK_FIELDS) if name != "key"}
    return Luck(key=key, **columns)


class UniformColumn:
    """What a luck column computed on demand shares: it looks like a float64[len] array to numpy
    (shape, dtype, `np.asarray`) and holds no bytes per lead. A subclass says how long it is
    (`__len__`) and how to compute all of it (`values`)."""

    __slots__ = ()

    def __len__(self) -> int:
        raise NotImplementedError

    def values(self) -> np.ndarray:
        """The whole column."""
        raise NotImplementedError

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self),)

    @property
    def dtype(self) -> np.dtype[np.float64]:
        return np.dtype(np.float64)

    @property
    def nbytes(self) -> int:
        """Bytes held per lead: none."""
        return 0

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        u = self.values()
        return u if dtype is None else u.astype(dtype)  # type: ignore[call-overload]  # any dtype numpy asks for


class DrawnUniforms(UniformColumn):
    """A luck column of a whole world, drawn from its child stream when a consumer indexes it:
    entry i is the i-th uniform `Generator.random` gives on that stream, the value `draw_luck`
    stored before (bit for bit: the PCG64 generator spends one 64-bit output per uniform, so it is
    advanced to the first lead asked for and draws only up to the last).

    Why: each column is used once or twice per policy (play_out), by the leads that reached that
    stage, yet a stored column is 8 bytes a lead for the whole run (72 MiB of the luck at 1M
    leads). Drawing a million uniforms costs about 4 ms. Like `KeyedUniforms`, it indexes like the
    float64 column it stands for, and `np.asarray(column)` materialises it."""

    __slots__ = ("seed", "start", "stop")

    def __init__(self, seed: np.random.SeedSequence, start: int, stop: int):
        self.seed = seed
        self.start = start      # the column is the stream's uniforms [start, stop)
        self.stop = stop

    def _draw(self, a: int, z: int) -> np.ndarray:
        """Entries [a, z) of the column (0 <= a <= z <= len)."""
        bits = np.random.PCG64(self.seed)       # what default_rng(seed) builds
        if self.start + a:
            bits.advance(self.start + a)
        return np.random.Generator(bits).random(z - a)

    def __getitem__(self, index: Any) -> Any:   # any numpy index of a float64[len] array
        n = self.stop - self.start
        if isinstance(index, (int, np.integer)) and -n <= index < n:
            i = int(index) % n if n else 0
            return self._draw(i, i + 1)[0]
        if isinstance(index, slice) and index.step in (None, 1):
            a, z, _ = index.indices(n)
            return self._draw(a, max(a, z))
        if isinstance(index, np.ndarray) and index.dtype.kind in "iu" and index.size:
            lo, hi = int(index.min()), int(index.max())
            if 0 <= lo and hi < n:          # draw only the leads from the first to the last asked for
                return self._draw(lo, hi + 1)[index - lo if lo else index]
        return self._draw(0, n)[index]

    def window(self, a: int, z: int) -> DrawnUniforms:
        """Entries [a, z) as a column of their own (nothing drawn), for `Luck.rows`."""
        return DrawnUniforms(self.seed, self.start + a, self.start + z)

    def __len__(self) -> int:
        return self.stop - self.start

    def values(self) -> np.ndarray:
        return self._draw(0, self.stop - self.start)


# Counter-based luck columns of a streamed world: purpose 0x4C00 + position in LUCK_FIELDS ("L"),
# apart from the purposes of model.py, sales/competitor.py, sales/handoff.py and sales/roster.py.
KEYED_LUCK_PURPOSE = 0x4C00


class KeyedUniforms(UniformColumn):
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

    def window(self, a: int, z: int) -> KeyedUniforms:
        """Entries [a, z) as a column of their own (a view of the keys, nothing computed), for `Luck.rows`."""
        return KeyedUniforms(self.key[a:z], self.purpose)

    def __len__(self) -> int:
        return int(self.key.shape[0])

    def values(self) -> np.ndarray:
        return lead_uniforms(self.key, self.purpose, 0)


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
