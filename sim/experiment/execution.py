"""Running a plan on an executor: tasks submitted, results saved as they arrive (or kept in memory),
precision batches, the recommendation; the Python API on top of it is `sim.experiment.api`.

Results kept in memory stay rows and numpy columns (no pandas) until something needs a table;
writing a folder (`sim.experiment.writer`) and precision batches use pandas."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from sim.config.experiment import ObjectiveSpec
from sim.experiment.executors import make_executor, run_tasks
from sim.experiment.results import Results, Rows, load_results
from sim.experiment.store import provenance, write_json
from sim.experiment.task_plan import Plan
from sim.experiment.world_task import TaskResult, TaskSpec
from sim.measure.timeseries import Columns, concat_columns

if TYPE_CHECKING:
    import pandas as pd

    from sim.experiment.writer import ResultsWriter


@dataclass
class Outcome:
    """What running a plan produced: the results (in memory or read back from the folder) and the
    tasks that failed (id and error)."""

    results: Results
    errors: list[dict[str, Any]] = field(default_factory=list)


def manifest(plan: Plan, command: list[str] | None) -> dict[str, Any]:
    return {
        "kind": plan.kind, "name": plan.name, "command": command, "seed": plan.seed,
        "replications": plan.replications, "baseline": plan.baseline,
        "scenarios": {k: v.model_dump(mode="json") for k, v in plan.scenarios.items()},
        "policies": {k: v.model_dump(mode="json") for k, v in plan.policies.items()},
        "design": plan.design(), "kpis": plan.kpis, "objective": plan.objective,
        "tasks": len(plan.tasks), "runs": plan.runs_total, "fingerprint": plan.fingerprint(),
        **({"precision": plan.precision.spec()} if plan.precision else {}),
        "warnings": list(plan.warnings),
        **provenance(),
    }


def run_plan(plan: Plan, out: Path | None = None, *, workers: int = 1, dask: str | None = None,
             resume: bool = False, command: list[str] | None = None,
             progress: Callable[[int], None] | None = None,
             on_finished: Callable[[Path], None] | None = None) -> Outcome:
    """Run every task of the plan. With `out`, results are written there as they arrive (resumable
    with `resume=True`), `on_finished(folder)` runs before the completion marker (e.g. the report),
    and the returned results are read back from the folder. Without `out`, nothing is written."""
    mf = manifest(plan, command)
    ids = [t.id for t in plan.tasks]
    rows: dict[str, Rows] = {}            # by task id (in memory only, without `out`)
    series: dict[str, Columns] = {}
    errors: list[dict[str, Any]] = []
    npol = len(plan.policies)
    with make_executor(workers, dask) as (ex, parallelism):    # an engine that cannot start writes nothing
        writer: ResultsWriter | None = None
        done: set[str] = set()
        if out is not None:
            from sim.experiment.writer import ResultsWriter
            if resume:
                writer, done = ResultsWriter.resume(out, mf, ids)
            else:
                writer = ResultsWriter.create(out, mf, ids)
        if progress and done:
            progress(len(done) * npol)

        def on_result(res: TaskResult) -> None:
            if res.error is not None:
                errors.append({"task": res.id, "error": res.error})
            elif writer is not None:
                writer.add(res)
            else:
                rows[res.id] = res.rows
                if res.timeseries is not None:
                    series[res.id] = res.timeseries
            if progress:
                progress(npol)

        todo = [t for t in plan.tasks if t.id not in done]
        if plan.precision is None:
            run_tasks(ex, todo, parallelism, on_result)
        else:
            def so_far() -> pd.DataFrame:
                if writer is not None:
                    return writer.runs()
                import pandas as pd
                return pd.DataFrame(_assemble(rows, ids))
            used = _run_until_precise(plan, todo, lambda batch: run_tasks(ex, batch, parallelism, on_result),
                                      so_far, errors)
            mf.update(replications=used["replications"], precision={**mf["precision"], **used},
                      tasks=len(plan.tasks) // plan.replications * used["replications"])
            mf["runs"] = mf["tasks"] * npol
            if writer is not None:
                write_json(writer.folder / "manifest.json", mf)
    errors.sort(key=lambda e: ids.index(e["task"]))
    factors = plan.factor_paths
    rec_spec = plan.objective
    if writer is None:
        # re-assembled in task order, whatever the order of completion
        kept = _used_rows(_assemble(rows, ids), plan, mf)
        ts = _used_columns(concat_columns([series[t] for t in ids if t in series]) if series else {}, plan, mf)
        res = Results(None, mf, kept, ts, None, errors, complete=not errors)
        res.recommendation = _recommend(res.runs, rec_spec, factors) if rec_spec else None
        return Outcome(res, errors)
    runs = _used(writer.runs(), plan, mf)
    rec = _recommend(runs, rec_spec, factors)
    writer.finish(runs, factors, plan.baseline, errors, rec)
    if on_finished is not None:
        on_finished(writer.folder)
    if not errors:
        writer.mark_complete()
    return Outcome(load_results(writer.folder), errors)


def _used(df: pd.DataFrame, plan: Plan, mf: dict[str, Any]) -> pd.DataFrame:
    """The rows of the replications a precision run settled on (a resumed run may hold more)."""
    if plan.precision is None or df.empty or "replication" not in df:
        return df
    used: pd.DataFrame = df[df["replication"] < mf["replications"]].reset_index(drop=True)
    return used


def _used_rows(rows: Rows, plan: Plan, mf: dict[str, Any]) -> Rows:
    """`_used` for rows kept in memory."""
    if plan.precision is None:
        return rows
    return [r for r in rows if r["replication"] < mf["replications"]]


def _used_columns(cols: Columns, plan: Plan, mf: dict[str, Any]) -> Columns:
    """`_used` for numpy columns kept in memory."""
    if plan.precision is None or "replication" not in cols or not len(cols["replication"]):
        return cols
    keep = np.asarray(cols["replication"]) < mf["replications"]
    return {c: v[keep] for c, v in cols.items()}


def _assemble(rows: dict[str, Rows], ids: list[str]) -> Rows:
    """In-memory rows in task order, whatever the order of completion."""
    return [r for t in ids for r in rows.get(t, [])]


def _run_until_precise(plan: Plan, todo: list[TaskSpec], run_batch: Callable[[list[TaskSpec]], None],
                       so_far: Callable[[], pd.DataFrame], errors: list[dict[str, Any]]) -> dict[str, Any]:
    """Batches of replications until every precision target holds or the maximum is reached
    (the procedure is described in `sim.experiment.precision`); returns the precision report."""
    from sim.experiment import precision as pr
    from sim.experiment.results import differences_table, kpi_columns, summary_table
    want = plan.precision
    if want is None:
        raise ValueError("a plan without precision targets runs its replications in one batch")
    n, lo = min(want.start, want.maximum), 0
    factors = plan.factor_paths
    while True:
        run_batch([t for t in todo if lo <= t.replication < n])
        runs = so_far()
        if errors or runs.empty:
            return pr.report([], n, want.maximum)
        runs = runs[runs["replication"] < n]
        kpis = kpi_columns(runs.columns, factors)
        checks = pr.assess(summary_table(runs, kpis, factors),
                           differences_table(runs, kpis, factors, plan.baseline) if len(plan.policies) > 1 else None,
                           want.targets)
        nxt = pr.next_replications(n, checks, want.maximum)
        if nxt == n:
            return pr.report(checks, n, want.maximum)
        lo, n = n, nxt


def _recommend(runs: pd.DataFrame, spec: ObjectiveSpec | None, factors: list[str]) -> dict[str, Any] | None:
    if not spec:            # as recommend_from_spec, without importing it (and scipy.stats) for nothing
        return None
    from sim.experiment.recommend import recommend_from_spec
    return recommend_from_spec(runs, spec, factors)


__all__ = ["run_plan", "manifest", "Outcome"]
