"""Per-attempt chances of the sales process: handling-time draws from a lead's uniforms, and the
attempt luck of every item (pre-drawn in bulk for first episodes, scalar for the rest). Pure
functions of counter-based uniforms, so every policy sees the same luck on the same attempt."""
from __future__ import annotations

import math
from array import array
from statistics import NormalDist
from typing import cast

import numpy as np
from numpy.typing import NDArray

from sim.normal import ndtri
from sim.sales.episode import Episode, ThreadedEpisode
from sim.world.model import PURPOSE_CONTACT, PURPOSE_HANDLE, PURPOSE_PATIENCE, lead_uniform, lead_uniforms

ATTEMPTS_PER_EPISODE = 64  # counter stride: attempt k of episode e uses counter e * 64 + k

_INV_CDF = NormalDist().inv_cdf


def always(_t: float) -> float:
    """Contact probability of textbook queueing: every attempt reaches the lead."""
    return 1.0


def doubles(a: NDArray[np.floating]) -> array[float]:
    """A flat array('d') of the values: indexed from Python almost as fast as a list, without a float
    object per value (a quarter of the memory, no tolist)."""
    return array("d", np.ascontiguousarray(a, dtype=np.float64).tobytes())


class Handle:
    """Handling-time draws: lognormal (mean, cv), exponential or fixed, from a uniform."""

    def __init__(self, dist: str, mean: float, conversation_mean: float, cv: float):
        self.dist = dist
        self.means = (mean, conversation_mean)
        s2 = math.log1p(cv ** 2)
        self.sigma = math.sqrt(s2)
        self.mus = tuple(math.log(m) - s2 / 2 for m in self.means)

    def vector(self, u: NDArray[np.float64], contact: bool) -> NDArray[np.float64]:
        """The same draws as __call__, for arrays of uniforms."""
        if self.dist == "fixed":
            return np.full(np.shape(u), self.means[contact])
        u = np.clip(u, 1e-12, 1 - 1e-12)
        if self.dist == "exponential":
            return -self.means[contact] * np.log1p(-u)
        return np.exp(self.mus[contact] + self.sigma * ndtri(u))

    def __call__(self, u: float, contact: bool) -> float:
        if self.dist == "fixed":
            return self.means[contact]
        u = min(max(u, 1e-12), 1 - 1e-12)
        if self.dist == "exponential":
            return -self.means[contact] * math.log1p(-u)
        return math.exp(self.mus[contact] + self.sigma * _INV_CDF(u))


class AttemptLuck:
    """The luck of every attempt: contact uniform, handling time if reached / not reached, and the
    patience of each episode (queueing mode).

    The first `pre` attempts of every first MQL episode (the vast majority) are drawn here in bulk,
    as flat `array('d')`s indexed by `Episode.row + attempt` (`row` = position in arrival order x
    `pre`): the worker loop reads them inline. Every other attempt comes from `later`, the scalar
    path on the same counter-based uniforms, so both give the same floats."""

    def __init__(self, keys: np.ndarray, handle: Handle, first_leads: np.ndarray, pre: int,
                 patience: float | None, upfront: bool = True):
        """`upfront=False`: draw the first episodes' luck as the episodes are taken (`draw_to`),
        in arrival order, instead of all at once: a backlog never draws the luck of the MQLs
        still waiting (deferred arrivals, `sim.sales.arrivals`)."""
        self.keys, self.handle, self.pre, self.mean_patience = keys, handle, pre, patience
        self.first_leads = first_leads
        self.u_contact, self.h_reached, self.h_missed = array("d"), array("d"), array("d")
        self.drawn = 0              # first episodes whose luck is drawn: positions [0, drawn)
        self.draw_to(first_leads.shape[0] if upfront else 0)
        self._patience = array("d")
        if patience is not None:    # each first episode's patience (exponential)
            u = np.clip(lead_uniforms(keys[first_leads], PURPOSE_PATIENCE, 0), 0.0, 1 - 1e-12)
            self._patience = doubles(-patience * np.log1p(-u))

    def draw_to(self, n: int) -> None:
        """Draw the luck of the first episodes at positions [drawn, n) (appended in place: the
        worker loops' bound arrays stay valid)."""
        if n <= self.drawn:
            return
        pre = self.pre
        k = np.arange(pre, dtype=np.uint64)[None, :]
        lk = self.keys[self.first_leads[self.drawn:n]][:, None]
        uh = lead_uniforms(lk, PURPOSE_HANDLE, k)
        for out, values in ((self.u_contact, lead_uniforms(lk, PURPOSE_CONTACT, k)),
                            (self.h_reached, self.handle.vector(uh, True)),
                            (self.h_missed, self.handle.vector(uh, False))):
            out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
        self.drawn = n

    def later(self, ep: Episode) -> tuple[float, float, float]:
        """(contact uniform, handling time if reached, if not) of an attempt that was not pre-drawn."""
        key = int(self.keys[ep.lead])
        k = ep.index * ATTEMPTS_PER_EPISODE + ep.attempts
        uh = lead_uniform(key, PURPOSE_HANDLE, k)
        return lead_uniform(key, PURPOSE_CONTACT, k), self.handle(uh, True), self.handle(uh, False)

    def threaded(self, ep: Episode) -> tuple[float, float, float]:
        """`later` for a multi-threaded item: the attempt calls the rotation's next contact not
        reached yet (sets `ep.target`; without skips attempt k calls targets[k mod c]), its m-th
        call in this episode, with that contact's own uniforms (counter episode x 64 + m): every
        policy that calls a contact for the m-th time meets the same luck. With one target
        (threading single) these are `later`'s floats."""
        item = cast(ThreadedEpisode, ep)
        targets, reached = item.targets, item.reached
        c, pos = len(targets), item.pos
        for _ in range(c - 1):
            if targets[pos] not in reached:
                break
            pos = (pos + 1) % c
        target = targets[pos]
        item.pos = (pos + 1) % c
        item.target = target
        m = item.calls.get(target, 0)
        item.calls[target] = m + 1
        key = int(self.keys[target])
        ctr = item.index * ATTEMPTS_PER_EPISODE + m
        uh = lead_uniform(key, PURPOSE_HANDLE, ctr)
        return lead_uniform(key, PURPOSE_CONTACT, ctr), self.handle(uh, True), self.handle(uh, False)

    def patience(self, ep: Episode) -> float:
        """How long the episode waits for its first touch before it leaves (queueing mode)."""
        if ep.row >= 0:
            return self._patience[ep.row // max(self.pre, 1)]
        u = min(lead_uniform(int(self.keys[ep.lead]), PURPOSE_PATIENCE, ep.index), 1 - 1e-12)
        mean = self.mean_patience
        assert mean is not None, "patience() needs a mean patience (sim.sales.rules.Patience is built only with one)"
        return -mean * math.log1p(-u)
