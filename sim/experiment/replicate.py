"""Replications of a set of policies on one scenario: replication i is the same world for every
policy. Returns the tidy runs table (one row per policy x replication) plus the last
replication's objects for time series and figures."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.run import Replication, run_replication
from sim.measure.stats import paired, summarise

NESTED = ("terminal_states", "rejection_reasons")


def flatten(kpis: dict) -> dict:
    """KPIs as one flat row: nested counts become state_<name> / reason_<name> columns."""
    row = {k: v for k, v in kpis.items() if k not in NESTED}
    row.update({f"state_{k}": v for k, v in kpis.get("terminal_states", {}).items()})
    row.update({f"reason_{k}": v for k, v in kpis.get("rejection_reasons", {}).items()})
    return row


@dataclass
class Comparison:
    runs: pd.DataFrame          # one row per (policy, replication)
    first: Replication          # replication 0 (for daily series and figures)
    daily: pd.DataFrame         # replication 0's daily series, all policies

    @property
    def kpi_names(self) -> list[str]:
        return [c for c in self.runs.columns if c not in ("policy", "replication", "seed")]

    def summary(self) -> pd.DataFrame:
        return summarise(self.runs, self.kpi_names)

    def differences(self) -> pd.DataFrame:
        first = self.runs["policy"].iloc[0]
        return paired(self.runs, self.kpi_names, first)


def compare(scenario: Scenario, policies: list[Policy], seed: int, replications: int,
            progress: Callable[[int], None] | None = None) -> Comparison:
    """Run every policy on `replications` common worlds. `progress(k)` is called as each policy
    run completes (replications x policies calls in all)."""
    rows, first = [], None
    for rep in range(replications):
        r = run_replication(scenario, policies, seed, rep, on_policy_done=(lambda _n: progress(1)) if progress else None)
        if first is None:
            first = r
        for name, run in r.runs.items():
            rows.append({"policy": name, "replication": rep, "seed": seed, **flatten(run.kpis)})
    daily = pd.concat([first.daily(p.name).assign(policy=p.name) for p in policies], ignore_index=True)
    return Comparison(pd.DataFrame(rows), first, daily)
