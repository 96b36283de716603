"""The unit of work shipped to an executor: one world (scenario x point x replication) with every
policy played on it. A task is a small, picklable spec (validated inputs as plain dicts + seed),
never a large object; its result is a few rows and a daily series (numpy columns: a single run
needs no pandas), re-assembled by id.

`execute` is a top-level function of plain data in, plain data out, so sequential, process and
Dask executors give bit-for-bit identical results. `execute_group` runs several tasks of the same
world (a sweep's points that change only policies, for one replication) in one call, generating
the world once: the same results as one `execute` per task, less work.
"""
from __future__ import annotations

import hashlib
import json
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.shared_scoring import SharedScoring
from sim.experiment.replication import Replication, run_replication
from sim.measure.spikes import spike_kpis
from sim.measure.timeseries import Columns, concat_columns, daily_columns
from sim.world.generate import generate_world

if TYPE_CHECKING:
    import pandas as pd

NESTED = {"terminal_states": "state_", "rejection_reasons": "reason_"}   # nested KPI -> its column prefix


@dataclass(frozen=True)
class TaskSpec:
    """Everything needed to reproduce one world's runs."""

    id: str
    scenario_name: str
    point: int
    values: dict[str, Any]          # the point's factor values (dotted path -> value)
    replication: int
    seed: int
    scenario: dict[str, Any]        # Scenario.model_dump(mode="json"), overrides applied
    policies: tuple[dict[str, Any], ...]  # Policy.model_dump(mode="json") each
    events: bool = False            # also return the per-lead event log
    check: bool = False             # debug mode: verify every invariant

    def fingerprint(self) -> str:
        """Hash of the inputs (not the flags): a resumed experiment must have the same tasks."""
        blob = json.dumps([self.id, self.scenario, list(self.policies), self.seed, self.replication],
                          sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class TaskResult:
    id: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    timeseries: Columns | None = None       # the daily series of every policy, one after the other
    events: dict[str, pd.DataFrame] | None = None
    error: str | None = None
    last: bool = True               # the last result with rows of its group: a writer saves the group here


def world_key(spec: TaskSpec) -> str:
    """Tasks with the same key play on the same world (same scenario inputs, seed and replication)."""
    return json.dumps([spec.scenario_name, spec.scenario, spec.seed, spec.replication], sort_keys=True, default=str)


def flatten(kpis: dict[str, Any]) -> dict[str, Any]:
    """KPIs as one flat row: nested counts become state_<name> / reason_<name> columns."""
    row = {k: v for k, v in kpis.items() if k not in NESTED}
    for key, prefix in NESTED.items():
        row.update({f"{prefix}{k}": v for k, v in kpis.get(key, {}).items()})
    return row


def unflatten(row: dict[str, Any]) -> dict[str, Any]:
    """A flat row back to the run's shape: state_/reason_ columns as nested {name: value}."""
    out: dict[str, Any] = {}
    nested: dict[str, Any] = {k: {} for k in NESTED}
    for k, v in row.items():
        for key, prefix in NESTED.items():
            if k.startswith(prefix):
                nested[key][k[len(prefix):]] = v
                break
        else:
            out[k] = v
    return {**out, **nested}


def run_id(spec: TaskSpec, policy: str) -> str:
    return f"{spec.id}:{policy}"


def keys(spec: TaskSpec, policy: str) -> dict[str, Any]:
    return {"run_id": run_id(spec, policy), "scenario": spec.scenario_name, "policy": policy, "point": spec.point,
            "replication": spec.replication, "seed": spec.seed, **spec.values}


def _error(tid: str, e: Exception) -> TaskResult:
    return TaskResult(tid, error=traceback.format_exception_only(type(e), e)[-1].strip())


def execute(spec: TaskSpec) -> TaskResult:
    """Run the task; an exception becomes `TaskResult.error` so one failure loses nothing else."""
    return execute_group((spec,))[0]


def execute_group(specs: tuple[TaskSpec, ...] | list[TaskSpec]) -> list[TaskResult]:
    """Run tasks that share one world (equal `world_key`), in order, generating the world once.
    Each task gets its own result, as from `execute`; the last result without an error is marked
    `last` (the others not), so a writer can save the group as one part. The tasks' policies share
    the threshold-free part of scoring (`SharedScoring`): a threshold sweep scores the world once."""
    if not specs:
        return []
    first = specs[0]
    key = world_key(first)
    if any(world_key(s) != key for s in specs[1:]):
        raise ValueError("execute_group: the tasks do not share one world")
    try:
        scenario = Scenario.model_validate(first.scenario)
        world = generate_world(scenario, first.seed, first.replication) if len(specs) > 1 else None
        cal = BusinessCalendar.from_scenario(scenario)
    except Exception as e:  # noqa: BLE001 - every task of the group fails the same way
        return [_error(s.id, e) for s in specs]
    parsed: list[list[Policy] | Exception] = []
    for spec in specs:
        try:
            parsed.append([Policy.model_validate(p) for p in spec.policies])
        except Exception as e:  # noqa: BLE001 - this task fails, the others run
            parsed.append(e)
    shared = (SharedScoring(world, [p for ps in parsed if not isinstance(ps, Exception) for p in ps])
              if world is not None else None)
    out = []
    for spec, policies in zip(specs, parsed):
        try:
            if isinstance(policies, Exception):
                raise policies
            rep = run_replication(scenario, policies, spec.seed, spec.replication, check=spec.check,
                                  world=world, calendar=cal, scores=shared, keep_scored=False)   # tables never read them
            res = collect(spec, rep)
            res.last = False
            out.append(res)
        except Exception as e:  # noqa: BLE001 - recorded with the task id and reported at the end
            out.append(_error(spec.id, e))
    ok = [r for r in out if r.error is None]
    if ok:
        ok[-1].last = True
    return out


def collect(spec: TaskSpec, rep: Replication) -> TaskResult:
    """Rows, daily series (and event logs) of every policy on this world."""
    rows, series, events = [], [], {}
    for name, run in rep.runs.items():
        d = daily_columns(rep.world, rep.scenario, rep.calendar, run.log, run.outcomes, run.roster)
        row = {**keys(spec, name), **flatten(run.kpis), **spike_kpis(d, rep.scenario)}
        rows.append(row)
        k = keys(spec, name)
        n = d["day"].size
        for c in ("run_id", "scenario", "policy", "point", "replication"):   # as DataFrame.assign would
            d[c] = np.full(n, k[c], dtype=object if isinstance(k[c], str) else np.int64)
        series.append(d)
        if spec.events:
            events[run_id(spec, name)] = event_log(rep, name)
            events[f"{ATTEMPTS_DIR}/{run_id(spec, name)}"] = attempt_log(rep, name)
            if rep.world.accounts is not None:      # the account layer: one row per engaged account too
                events[f"{ACCOUNTS_DIR}/{run_id(spec, name)}"] = accounts_log(rep, name)
    return TaskResult(spec.id, rows, concat_columns(series), events or None)


def event_log(rep: Replication, name: str) -> pd.DataFrame:
    """Per lead of the measured cohort: where it came from and when it passed each stage (columns
    after `state`: the first MQL's tier, the rejection reason code, attempts over all episodes and
    the rep of the first one, -1 if never touched)."""
    import pandas as pd
    w, out, log = rep.world, rep.runs[name].outcomes, rep.runs[name].log
    c = np.flatnonzero(w.in_cohort)
    from sim.vocab import ALL_TERMINAL_STATES, CHANNELS, REJECTION_REASONS, TERMINAL_STATES, TIERS
    states = ALL_TERMINAL_STATES if rep.scenario.competitor.enabled else TERMINAL_STATES
    first_rep = np.full(w.n, -1, np.int64)
    touched, first = np.unique(log.at_lead, return_index=True)     # attempts are logged in time order
    first_rep[touched] = log.at_rep[first]
    return pd.DataFrame({
        "lead": c, "channel": pd.Categorical.from_codes(w.channel[c], pd.Index(CHANNELS)),
        "arrival": w.arrival[c], "buyer": w.buyer[c],
        "first_mql": np.where(np.isfinite(out.first_mql[c]), out.first_mql[c], np.nan),
        "first_touch": out.first_touch[c], "contact": out.contact_time[c], "sal": out.sal[c],
        "rejected": out.rejected[c], "sql": out.sql_time[c], "opportunity": out.opportunity_time[c],
        "close": out.close_time[c], "won": out.won[c], "amount": out.amount[c],
        "episodes": out.episodes[c], "recycles": out.recycles[c],
        "state": pd.Categorical.from_codes(out.state[c], pd.Index(states)),
        "first_tier": pd.Categorical.from_codes(out.first_tier[c], pd.Index(TIERS)),
        "reason": pd.Categorical.from_codes(out.reason[c], pd.Index(REJECTION_REASONS)),
        "attempts": np.bincount(log.at_lead, minlength=w.n)[c], "first_rep": first_rep[c],
    })


ATTEMPTS_DIR = "attempts"     # events/attempts/<run>.parquet: the attempt table of each run


def attempt_log(rep: Replication, name: str) -> pd.DataFrame:
    """One row per attempt on a lead of the measured cohort, in the order they started: lead,
    episode (0 = its first MQL), attempt (1-based within the episode), start (minutes), rep, reached
    and handle (minutes the rep spent on it)."""
    import pandas as pd
    w, log = rep.world, rep.runs[name].log
    ep = np.lexsort((log.ep_index, log.ep_lead))             # episodes by lead, then episode
    ends = np.cumsum(log.ep_attempts[ep])
    by_lead = np.argsort(log.at_lead, kind="stable")         # a lead's attempts fill its episodes in order
    j = np.searchsorted(ends, np.arange(by_lead.size), side="right")
    episode = np.empty(by_lead.size, np.int64)
    attempt = np.empty(by_lead.size, np.int64)
    episode[by_lead] = log.ep_index[ep][j]
    attempt[by_lead] = np.arange(by_lead.size) - (ends[j] - log.ep_attempts[ep][j]) + 1
    keep = w.in_cohort[log.at_lead]
    return pd.DataFrame({"lead": log.at_lead[keep], "episode": episode[keep], "attempt": attempt[keep],
                         "start": log.at_start[keep], "rep": log.at_rep[keep], "reached": log.at_contact[keep],
                         "handle": log.at_handle[keep]})


ACCOUNTS_DIR = "accounts"     # events/accounts/<run>.parquet: the account table of each run (worlds with accounts)


def accounts_log(rep: Replication, name: str) -> pd.DataFrame:
    """Per account with a lead in the measured cohort (worlds with accounts): see `account_table`."""
    import pandas as pd

    from sim.measure.accounts import ADVANCE, account_table
    from sim.vocab import COMPANY_SIZES, INDUSTRIES, REGIONS
    run = rep.runs[name]
    t = account_table(rep.world, run.log, run.outcomes)
    df = pd.DataFrame(t)
    for col, names in (("company_size", COMPANY_SIZES), ("industry", INDUSTRIES), ("region", REGIONS),
                       ("state", ADVANCE)):
        df[col] = pd.Categorical.from_codes(t[col], pd.Index(names))
    return df


def kpi_names(spec: TaskSpec) -> list[str]:
    """The KPI columns a task of this design produces, from a tiny empty world (milliseconds), so
    typos in KPI names are refused before a long run starts."""
    sc = Scenario.model_validate(spec.scenario)
    sc = sc.model_copy(update={"arrivals": sc.arrivals.model_copy(update={"leads_per_year": 0.0})})
    tiny = TaskSpec(spec.id, spec.scenario_name, spec.point, spec.values, 0, spec.seed, sc.model_dump(mode="json"),
                    spec.policies[:1])
    res = execute(tiny)
    if res.error:
        raise RuntimeError(res.error)
    skip = set(keys(tiny, "x"))
    names = [k for k in res.rows[0] if k not in skip]
    names += [k for k in ("spike_backlog_peak", "spike_normal_queue", "spike_clear_days", "spike_cleared")
              if k not in names]
    return names
