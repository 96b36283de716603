"""What one run of the sales process did, as flat arrays: the event log every KPI is measured from.
Kept apart from the engine so measurement code imports a plain record, not SimPy."""
from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.sales.team import TeamLog


@dataclass(frozen=True)
class SalesLog:
    """What the sales process did, as flat arrays (the event log the KPIs are measured from)."""

    # one row per MQL episode
    ep_lead: np.ndarray
    ep_index: np.ndarray
    ep_mql_time: np.ndarray
    ep_tier: np.ndarray
    ep_score: np.ndarray
    ep_attempts: np.ndarray
    ep_first_touch: np.ndarray
    ep_end_time: np.ndarray
    ep_status: np.ndarray
    # one row per attempt (a rep's touch)
    at_lead: np.ndarray
    at_rep: np.ndarray
    at_start: np.ndarray
    at_handle: np.ndarray
    at_contact: np.ndarray
    # the waiting queue: every change (time, number waiting) and a sample at each midnight
    q_time: np.ndarray
    q_len: np.ndarray
    day_queue: np.ndarray
    day_oldest_age: np.ndarray
    reps: int


def build_log(episodes: list, team: TeamLog) -> SalesLog:
    """The SalesLog of a finished run: the episode objects (read once, column by column) and the
    team's log (attempt columns, queue changes from a level of 0 at time 0, midnight samples)."""
    f8, i8 = np.float64, np.int64

    def col(attr: str, dtype) -> np.ndarray:
        return np.fromiter(map(attrgetter(attr), episodes), dtype=dtype, count=len(episodes))

    q_len = np.zeros(len(team.q_change) + 1, dtype=i8)
    np.cumsum(team.q_change, out=q_len[1:])
    return SalesLog(
        ep_lead=col("lead", i8), ep_index=col("index", i8), ep_mql_time=col("mql_time", f8),
        ep_tier=col("tier", np.int8), ep_score=col("score", f8), ep_attempts=col("attempts", i8),
        ep_first_touch=col("first_touch", f8), ep_end_time=col("end_time", f8),
        ep_status=col("status", np.int8),
        at_lead=np.array(team.item, i8), at_rep=np.array(team.worker, i8), at_start=np.array(team.start, f8),
        at_handle=np.array(team.handle, f8), at_contact=np.array(team.contact, bool),
        q_time=np.array([0.0, *team.q_time], f8), q_len=q_len,
        day_queue=np.array(team.day_queue, i8), day_oldest_age=np.array(team.day_oldest, f8),
        reps=team.workers,
    )
