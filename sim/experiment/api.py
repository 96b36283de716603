"""The Python API for notebooks: `sim.compare`, `sim.sweep` (and `sim.load_results`, re-exported):
inputs by name, path, object or variant, a plan built and run with `sim.experiment.execution`."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from sim.experiment.execution import Outcome, run_plan
from sim.experiment.precision import precision_from
from sim.experiment.results import Results, load_results
from sim.experiment.task_plan import Plan, Source, build_plan

if TYPE_CHECKING:   # re-exported; imported on use (module __getattr__) as sim.experiment.recommend loads scipy.stats
    from sim.experiment.recommend import Constraint


def compare(scenario: Source, policies: list[Source], replications: int = 20, seed: int = 20260105, *,
            sets: Sequence[str] = (), out: str | Path | None = None, workers: int = 1, dask: str | None = None,
            precision: Sequence[str] = (), max_replications: int = 200, **kw: Any) -> Results:
    """Every policy on the same `replications` worlds of the scenario. Returns Results
    (`.runs`, `.summary()`, `.differences()`); with `out`, also writes a results folder there.
    With `precision=["bookings:5%"]`, replications run in batches (the first of `replications`, at
    least 5) until each target holds or `max_replications` is reached; see
    `results.manifest["precision"]`."""
    plan = build_plan("compare", _name(scenario), [scenario], list(policies), sets=sets, replications=replications,
                      seed=seed, precision=precision_from(precision, max_replications, replications), **kw)
    call = _call("compare", [_name(scenario), [_name(p) for p in policies]],
                 {"replications": replications, "seed": seed, "sets": list(sets), "precision": list(precision),
                  **kw})
    return _finish(plan, out, workers, dask, call)


def sweep(scenario: Source, policy: Source | list[Source], vary: dict[str, Any], replications: int = 10,
          seed: int = 20260105, *, sets: Sequence[str] = (), maximise: str | list[str] | None = None,
          subject_to: Sequence[str] = (), minimise: str | list[str] | None = None, delta: str | float | None = None,
          out: str | Path | None = None, workers: int = 1, dask: str | None = None, precision: Sequence[str] = (),
          max_replications: int = 200, **kw: Any) -> Results:
    """A full factorial grid over `vary` ({dotted path: values or "start:stop:step"}), on common
    worlds. With `maximise="bookings"` and `subject_to=["sla_compliance_standard>=0.9"]` the
    results carry a `.recommendation` (`minimise="sales.reps"`: the smallest feasible team;
    `delta`: the indifference zone, see docs/how-to/choose-a-setting.md). `precision` as in
    `compare`, at every point."""
    from sim.config.experiment import Objective
    from sim.experiment.design import factor, grid, manifest_factors
    from sim.experiment.recommend import parse_constraint
    factors = [factor(path, vals, f"vary {path}") for path, vals in vary.items()]
    objective = Objective(maximise=maximise, minimise=minimise, delta=delta,
                          subject_to=[str(parse_constraint(c)).replace(" ", "") for c in subject_to]).spec() \
        if (maximise or minimise) else None
    unswept = [d["path"] for d in (objective.get("decisions", []) if objective else []) if d["path"] not in vary]
    if unswept:
        raise ValueError(f"{', '.join(unswept)}: a setting can be an objective only when it is in `vary`")
    pols = policy if isinstance(policy, list) else [policy]
    plan = build_plan("sweep", _name(scenario), [scenario], pols, sets=sets, replications=replications, seed=seed,
                      factors=manifest_factors(factors), points=grid(factors),
                      objective=objective, precision=precision_from(precision, max_replications, replications),
                      **kw)
    call = _call("sweep", [_name(scenario), [_name(p) for p in pols], dict(vary)],
                 {"replications": replications, "seed": seed, "sets": list(sets), "maximise": maximise,
                  "minimise": minimise, "subject_to": list(subject_to), "delta": delta, "precision": list(precision),
                  **kw})
    return _finish(plan, out, workers, dask, call)


def _call(fn: str, args: list[Any], kwargs: dict[str, Any]) -> list[str]:
    """The Python call that made these results, for the manifest's "how to reproduce" (objects
    given instead of names are shown by name: their full settings are in the manifest)."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items() if v not in (None, [], ())]
    return ["python", "-c", f"import sim; sim.{fn}({', '.join(parts)})"]


def _finish(plan: Plan, out: str | Path | None, workers: int, dask: str | None, command: list[str] | None = None) -> Results:
    outcome = run_plan(plan, Path(out) if out is not None else None, workers=workers, dask=dask, command=command)
    if outcome.errors:
        failed = ", ".join(e["task"] for e in outcome.errors[:5])
        raise RuntimeError(f"{len(outcome.errors)} task(s) failed ({failed}...): {outcome.errors[0]['error']}")
    return outcome.results


def _name(src: Source) -> str:
    return src if isinstance(src, str) else src.name


def __getattr__(name: str) -> Any:
    """`Constraint` (re-exported) without importing sim.experiment.recommend, and its scipy.stats,
    on every run."""
    if name == "Constraint":
        from sim.experiment.recommend import Constraint
        return Constraint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")



__all__ = ["compare", "sweep", "load_results", "run_plan", "build_plan", "Results", "Outcome", "Constraint"]
