"""More replications for a recommendation: rerun the settings that cannot yet be told apart on new
worlds (new replication indices, the same for every setting, so common random numbers still pair
them), from the fully resolved inputs in a results folder's manifest, and write a new folder with
the old and the new runs together (results are never overwritten).
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from sim.config.experiment import ObjectiveSpec
from sim.experiment.results import Results, load_results


def wanted(rec: dict[str, Any], confirm: int = 0, max_add: int = 200) -> dict[tuple[str, int], int]:
    """{(scenario, point): new replications} from the recommendation's `more_replications`, at
    least `confirm` for every setting that cannot be excluded, at most `max_add` each."""
    want: dict[tuple[str, int], int] = {}
    for s in (rec.get("more_replications") or {}).get("settings", []):
        key = (s["scenario"], int(s["point"]))
        want[key] = max(want.get(key, 0), int(s["more"]))
    if confirm:
        for s in rec.get("cannot_exclude") or []:
            key = (s["scenario"], int(s["point"]))
            want[key] = max(want.get(key, 0), confirm)
    return {k: min(v, max_add) for k, v in want.items() if v > 0}


def add_replications(res: Results, rec: dict[str, Any], spec: ObjectiveSpec, out: Path, *, max_add: int = 200, confirm: int = 0,
                     workers: int = 1, on_finished: Callable[[Path], None] | None = None) -> tuple[Results, int]:
    """Run the replications `rec` asks for and write `out` = old runs + new runs, with a fresh
    recommendation. Returns (the new results, runs added)."""
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.experiment.execution import manifest as make_manifest
    from sim.experiment.execution import run_plan
    from sim.experiment.recommend import recommend_from_spec
    from sim.experiment.task_plan import build_plan
    from sim.experiment.writer import ResultsWriter

    want = wanted(rec, confirm, max_add)
    if not want:
        raise ValueError("the recommendation needs no more replications (give --confirm N to run fresh ones anyway)")
    mf = res.manifest
    design = mf.get("design") or {}
    points = [p["values"] for p in design.get("points", [])] or [{}]
    scen = [Scenario.model_validate(d) for d in mf["scenarios"].values()]
    pols = [Policy.model_validate(d) for d in mf["policies"].values()]
    start = int(res.runs["replication"].max()) + 1
    plan = build_plan(mf.get("kind", "sweep"), mf.get("name", "more"), scen, pols, factors=design.get("factors", []),
                      points=points, replications=start + max(want.values()), seed=int(mf["seed"]),
                      method=design.get("method", "grid"), kpis=mf.get("kpis") or [], objective=spec)
    plan.tasks = [t for t in plan.tasks if t.replication >= start
                  and t.replication - start < want.get((t.scenario_name, t.point), 0)]
    outcome = run_plan(plan, None, workers=workers)
    if outcome.errors:
        raise ValueError(f"{len(outcome.errors)} new runs failed: {outcome.errors[0]['error']}")
    new = outcome.results.runs
    runs = pd.concat([res.runs, new[[c for c in res.runs.columns if c in new.columns]]], ignore_index=True)
    rec2 = recommend_from_spec(runs, spec, res.factors)
    m2 = copy.deepcopy(mf)
    m2.update({k: v for k, v in make_manifest(plan, None).items() if k in ("created", "git_commit", "git_dirty")})
    m2["objective"] = spec
    m2["added"] = [*mf.get("added", []), {"from": str(res.path) if res.path else None, "first_replication": start,
                                          "replications": {f"{s}/point {p}": n for (s, p), n in want.items()},
                                          "runs": len(new)}]
    w = ResultsWriter.create(out, m2, [])
    w.finish(runs, res.factors, res.baseline, [], rec2)
    ts = [t for t in (res.timeseries, outcome.results.timeseries) if t is not None and len(t)]
    if ts:
        pd.concat(ts, ignore_index=True).to_parquet(out / "timeseries.parquet", index=False)
    if on_finished is not None:          # e.g. the report, built by the interface layer
        on_finished(out)
    w.mark_complete()
    return load_results(out), len(new)
