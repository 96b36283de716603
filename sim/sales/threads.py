"""Multi-threaded cadences (policy `cadence.threading`): whom each account work item's attempts call.

Why: a buying group is several people; a rep who cannot reach the contact that triggered the MQA
can call the next one (multi-threading). `single` calls the item's own contact every time (the
engine as before, with each attempt's contact logged so contacts touched per account and the
account SLA are measured); `spread` rotates the attempts through the account's engaged contacts
at the item's opening, in the order `sim.decisions.account_work.thread_contacts` states, until one
is reached; `cover` goes on after the first conversation, calling the contacts not reached yet
(the engine's `SalesProcess.after_cover_attempt`). Under both the account is one work item
whatever the unit: hybrid keeps each CRM account's first lead entry (the other contacts are
reached through the rotation).
"""
from __future__ import annotations

import numpy as np

from sim.config.policy import Policy
from sim.decisions.account_work import AccountThreads, one_item_per_account
from sim.decisions.accounts import Entries
from sim.sales.process import Threads
from sim.world.model import World


def _single(lead: int, index: int, t: float) -> list[int]:
    """Every attempt calls the item's own contact."""
    return [lead]


def thread_plan(world: World, policy: Policy, entry: Entries) -> tuple[Entries, Threads | None]:
    """(what enters the sales queue, the rotation of each item) for the policy's cadence.threading;
    (entry, None) when it is unset (the default engine, unchanged)."""
    threading = policy.cadence.threading
    if threading is None:
        return entry, None
    if threading == "single":
        return entry, _single
    if policy.mql.unit == "hybrid":
        entry = one_item_per_account(world, entry)
    leads = np.flatnonzero(np.isfinite(entry.time) & (entry.time < world.end))
    return entry, AccountThreads(world, policy, leads, entry.time[leads])
