"""Small saved results folders for report tests, in the layout `sim.experiment.results` documents.

Written here from `sim.experiment.run.run_replication` on a scaled-down `workshop` scenario, so the
report tests do not depend on the experiment writers (compare / sweep / experiment). A sweep is
the same at each value of the swept settings, stacked as design points.
"""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd

from sim.experiment.replicate import flatten
from sim.experiment.run import run_replication
from sim.experiment.store import write_json
from sim.inputs import load_policy, load_scenario, split_sets

SMALL = dict(leads=3000.0, days=28)
SEED = 7


def _inputs(sets: list[str], leads: float | None, days: int | None, policies: tuple[str, ...], scenario: str):
    o = split_sets(list(sets), leads, None, days)
    return load_scenario(scenario, o.scenario), [load_policy(p, o.policy) for p in policies]


def write_folder(folder: Path, points: list[dict], policies: tuple[str, ...], replications: int,
                 kind: str, leads: float | None = SMALL["leads"], days: int | None = SMALL["days"],
                 recommendation: dict | None = None, scenario: str = "workshop") -> Path:
    """Run every design point (a dict {setting path: value}) and write a complete results folder."""
    folder.mkdir(parents=True, exist_ok=False)
    runs, ts, scenarios, pols = [], [], {}, {}
    factors = list(points[0]) if points and points[0] else []
    for i, point in enumerate(points):
        sc, pl = _inputs([f"{k}={v}" for k, v in point.items()], leads, days, policies, scenario)
        scenarios[sc.name] = sc.model_dump(mode="json")
        for p in pl:
            pols.setdefault(p.name, p.model_dump(mode="json"))
        for rep in range(replications):
            one = run_replication(sc, pl, SEED, rep)
            for p in pl:
                run_id = f"{sc.name}-{i}-{p.name}-{rep}"
                runs.append({"run_id": run_id, "scenario": sc.name, "policy": p.name, "point": i, "replication": rep,
                             "seed": SEED, **point, **flatten(one.runs[p.name].kpis)})
                ts.append(one.daily(p.name).assign(run_id=run_id, scenario=sc.name, policy=p.name, point=i,
                                                   replication=rep))
    runs = pd.DataFrame(runs)
    runs.to_csv(folder / "runs.csv", index=False)
    pd.concat(ts, ignore_index=True).to_parquet(folder / "timeseries.parquet", index=False)
    manifest = {
        "kind": kind, "name": f"test-{kind}", "seed": SEED, "replications": replications,
        "command": ["funnelsim", kind, scenario, *sum((["-p", p] for p in policies), []), "-n", str(replications),
                    *(["--leads", str(int(leads))] if leads else []), *(["--days", str(days)] if days else []),
                    "--seed", str(SEED)],
        "baseline": policies[0], "scenarios": scenarios, "policies": pols,
        "design": {"factors": [{"path": f, "values": sorted({p[f] for p in points})} for f in factors],
                   "points": points},
        "created": "2026-11-22T12:00:00", "git_commit": None, "versions": {},
    }
    write_json(folder / "manifest.json", manifest)
    if recommendation is not None:
        (folder / "recommendation.json").write_text(json.dumps(recommendation), encoding="utf-8")
    (folder / "COMPLETE").write_text("")
    return folder


def comparison_folder(folder: Path, replications: int = 3,
                      policies: tuple[str, ...] = ("seed-example", "volume", "fit-and-intent"), **kw) -> Path:
    return write_folder(folder, [{}], policies, replications, "compare", **kw)


def sweep_folder(folder: Path, values: dict[str, list], replications: int = 2,
                 policies: tuple[str, ...] = ("seed-example",), recommend_at: dict | None = None, **kw) -> Path:
    """A full-factorial sweep over `values` ({path: [values]}); `recommend_at` writes a
    recommendation.json naming that point (as the sweep's recommender does)."""
    keys = list(values)
    points = [dict(zip(keys, combo)) for combo in itertools.product(*(values[k] for k in keys))]
    rec = None
    if recommend_at is not None:
        i = points.index(recommend_at)
        rec = {"objective": "bookings", "direction": "max", "constraints": ["sla_compliance>=0.5"],
               "candidates": len(points), "feasible": len(points),
               "best": {"scenario": kw.get("scenario", "workshop"), "point": i, "policy": policies[0], **recommend_at,
                        "mean": 0.0, "lower": 0.0, "upper": 0.0, "n": replications, "feasible": True},
               "win_share": 0.5}
    return write_folder(folder, points, policies, replications, "sweep", recommendation=rec, **kw)
