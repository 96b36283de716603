"""`compare`, `sweep`, `experiment` and `recommend`: replications on common worlds, with intervals,
paired differences, grids and recommendations, run sequentially, on local processes or on Dask."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, cast

import click

from sim.commands.common import (
    EXIT_BAD_INPUT,
    F,
    check_out,
    command_line,
    common_options,
    fail,
    given,
    precision_options,
    precision_spec,
    print_warnings,
    progress_bar,
)
from sim.config.loading import ConfigError, load_model
from sim.experiment.task_plan import Plan, build_plan

if TYPE_CHECKING:
    from sim.config.experiment import ObjectiveSpec
    from sim.experiment.precision import Precision

EXIT_RUN_FAILED = 1
EXIT_INTERRUPTED = 130


def engine_options(f: F) -> F:
    """Execution and storage options shared by compare, sweep and experiment."""
    f = click.option("--check", is_flag=True, help="debug mode: verify every invariant of every run")(f)
    f = click.option("--events", is_flag=True, help="also save a per-lead event log (events/*.parquet)")(f)
    f = click.option("--resume", type=click.Path(path_type=Path, file_okay=False),
                     help="finish an interrupted run of the same command in this folder")(f)
    f = click.option("--out", type=click.Path(path_type=Path), help="results folder (default: outputs/<name>-<time>)")(f)
    f = click.option("--json", "as_json", is_flag=True,
                     help="print the results as one JSON object on stdout (docs: reference/json)")(f)
    f = click.option("--dask", metavar="local|ADDRESS",
                     help="run on Dask: 'local' starts a LocalCluster with --workers workers; or tcp://host:port")(f)
    f = click.option("--workers", "-w", type=click.IntRange(1, 512), default=1, show_default=True,
                     help="local worker processes")(f)
    return f


def objective_options(f: F) -> F:
    f = click.option("--delta", metavar="X|X%",
                     help="indifference zone for the KPI objective: differences smaller than this do not matter "
                          "(a number in its units, or a % of its scale; default 5%)")(f)
    f = click.option("--subject-to", "subject_to", multiple=True, metavar="KPI>=VALUE",
                     help="constraint for --maximise/--minimise, e.g. sla_compliance_standard>=0.9 (repeatable)")(f)
    f = click.option("--minimise", multiple=True, metavar="KPI|PATH",
                     help="recommend the setting that minimises this KPI, or the smallest value of a swept "
                          "setting such as sales.reps (repeatable: settings first, a KPI breaks ties)")(f)
    f = click.option("--maximise", multiple=True, metavar="KPI|PATH",
                     help="recommend the setting that maximises this KPI (or swept setting)")(f)
    return f


def objective_spec(maximise: Iterable[str] | str | None, minimise: Iterable[str] | str | None,
                   subject_to: Iterable[str], delta: str | None = None) -> ObjectiveSpec | None:
    from sim.config.experiment import Objective
    maximise, minimise = list(maximise or ()), list(minimise or ())
    if not (maximise or minimise):
        if subject_to:
            raise ConfigError("--subject-to", ["constraints need --maximise KPI or --minimise KPI"])
        return None
    from pydantic import ValidationError
    try:
        return Objective(maximise=maximise or None, minimise=minimise or None, subject_to=list(subject_to),
                         delta=delta).spec()
    except (ValidationError, ValueError) as e:
        msgs = [err["msg"].removeprefix("Value error, ") for err in e.errors()] if isinstance(e, ValidationError) \
            else [str(e)]
        raise ConfigError("--maximise/--minimise/--subject-to/--delta", msgs) from None


def warn_constraints(spec: ObjectiveSpec | None) -> None:
    """Constraint bounds outside what their KPI can be (a share >= 90), on stderr before running."""
    if not spec or not spec["constraints"]:
        return              # nothing to check: do not import recommend (and scipy.stats) for nothing
    from sim.experiment.recommend import constraint_warnings, parse_constraint
    for w in constraint_warnings([parse_constraint(c) for c in spec["constraints"]]):
        click.echo(f"warning: {w}", err=True)


def execute(plan: Plan, out: Path | None, resume: Path | None, workers: int, dask: str | None,
            as_json: bool) -> None:
    """Check the output folder, run with a progress bar, save, report, print; exit 1 if a task
    failed (the others are saved), 130 on Ctrl-C (the folder stays marked incomplete)."""
    from sim.experiment.execution import run_plan
    from sim.experiment.executors import EngineError
    from sim.experiment.store import timestamped
    from sim.experiment.writer import ResumeError
    try:
        check_kpis(plan)
        if resume is not None:
            folder = resume
        else:
            folder = out if out is not None else timestamped(Path.cwd() / "outputs", plan.name)
            check_out(folder)
    except ConfigError as e:
        fail(e)
    print_warnings(plan.warnings)
    label = f"{plan.name}: {len(plan.tasks) * len(plan.policies)} runs"
    try:
        with progress_bar(plan.runs_total, label, as_json) as bar:
            task = bar.add_task("runs", total=plan.runs_total)
            outcome = run_plan(plan, folder, workers=workers, dask=dask, resume=resume is not None,
                               command=command_line(), progress=lambda k: bar.advance(task, k),
                               on_finished=report_hook)
    except (ResumeError, EngineError) as e:
        fail(str(e))
    except FileExistsError:
        fail(f"{folder}: already exists; results are never overwritten (nothing written)")
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: partial results in {folder} (marked INCOMPLETE); finish with the same "
                   f"command plus --resume {folder}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    from sim.commands.show import print_results  # pandas: not on a single `run`'s path
    print_results(outcome.results, as_json)
    if not as_json:
        print_precision(outcome.results.manifest)
        click.echo(f"results written to {folder}")
        if (folder / "report.html").is_file():
            click.echo(f"report: {folder / 'report.html'}")
    if outcome.errors:
        click.echo(f"error: {len(outcome.errors)} of {len(plan.tasks)} worlds failed (see {folder / 'errors.json'}); "
                   f"the rest are saved. First: {outcome.errors[0]['task']}: {outcome.errors[0]['error']}", err=True)
        sys.exit(EXIT_RUN_FAILED)


def print_precision(manifest: dict[str, Any]) -> None:
    """What --precision reached, one line per target."""
    if "precision" in manifest:
        from sim.experiment.precision import lines
        for line in lines(manifest["precision"]):
            click.echo(line)


def check_kpis(plan: Plan) -> None:
    """KPI names in the design (shown KPIs, objective, constraints) must exist."""
    import difflib

    from sim.experiment.world_task import kpi_names
    wanted = list(plan.kpis)
    if plan.precision:
        wanted += [t.kpi for t in plan.precision.targets]
    if plan.objective:      # recommend imports scipy.stats: only with an objective
        from sim.experiment.recommend import parse_constraint
        kpi = plan.objective.get("kpi")
        wanted += [*([kpi] if kpi else []),
                   *(parse_constraint(c).kpi for c in plan.objective["constraints"])]
        swept = plan.factor_paths
        bad = [d["path"] for d in plan.objective.get("decisions", []) if d["path"] not in swept]
        if bad:
            raise ConfigError("--maximise/--minimise", [f"{b!r} is not swept here; a setting can be an objective "
                                                        f"only when it is varied (swept: {', '.join(swept) or 'none'})"
                                                        for b in bad])
    if not wanted or not plan.tasks:
        return
    known = kpi_names(plan.tasks[0])
    bad = [k for k in dict.fromkeys(wanted) if k not in known]
    if bad:
        hints = []
        for k in bad:
            close = difflib.get_close_matches(k, known, 1, 0.6)
            hints.append(f"{k!r} is not a KPI" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise ConfigError("KPI names", hints + ["KPIs are the columns of runs.csv, e.g. " + ", ".join(known[:12])])


def report_hook(folder: Path) -> None:
    """Build report.html (and figures/) from the saved results, before the folder is marked complete."""
    from sim.report import build_report
    build_report(folder)


@click.command()
@click.argument("scenario")
@click.option("--policy", "-p", "policies", multiple=True, required=True, help="policy name or file; the first is the baseline")
@click.option("--replications", "-n", type=click.IntRange(2, 10_000), default=20, show_default=True,
              help="worlds; every policy meets the same ones")
@engine_options
@precision_options
@common_options
def compare(scenario: str, policies: tuple[str, ...], replications: int, workers: int, dask: str | None,
            as_json: bool, out: Path | None, resume: Path | None, events: bool, check: bool,
            precision: tuple[str, ...], max_replications: int, sets: tuple[str, ...], leads: float | None,
            reps: int | None, days: int | None, seed: int) -> None:
    """Every --policy on the same N worlds of SCENARIO: means with 95% intervals and each policy's
    paired difference from the first."""
    try:
        plan = build_plan("compare", f"compare-{scenario_stem(scenario)}", [scenario], list(policies), sets=sets,
                          leads=leads, reps=reps, days=days, replications=replications, seed=seed,
                          events=events, check=check,
                          precision=precision_spec(precision, max_replications,
                                                   replications if given("replications") else None))
    except ConfigError as e:
        fail(e)
    execute(plan, out, resume, workers, dask, as_json)


@click.command()
@click.argument("scenario")
@click.option("--policy", "-p", "policies", multiple=True, required=True, help="policy name or file (repeatable)")
@click.option("--vary", "varies", multiple=True, required=True, metavar="PATH=VALUES",
              help="a swept setting: start:stop:step or a,b,c (repeatable: full factorial)")
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=10, show_default=True,
              help="worlds per point (the same worlds at every point)")
@objective_options
@engine_options
@precision_options
@common_options
def sweep(scenario: str, policies: tuple[str, ...], varies: tuple[str, ...], replications: int,
          maximise: tuple[str, ...], minimise: tuple[str, ...], subject_to: tuple[str, ...], delta: str | None,
          workers: int, dask: str | None, as_json: bool, out: Path | None, resume: Path | None, events: bool,
          check: bool, precision: tuple[str, ...], max_replications: int, sets: tuple[str, ...],
          leads: float | None, reps: int | None, days: int | None, seed: int) -> None:
    """A full factorial grid over any scenario or policy field, e.g. --vary mql.threshold=40:90:5
    --vary sales.reps=4,6,8, on common worlds; optionally recommend the best point."""
    from sim.experiment.design import grid, manifest_factors, parse_vary
    try:
        factors = [parse_vary(v) for v in varies]
        objective = objective_spec(maximise, minimise, subject_to, delta)
        plan = build_plan("sweep", f"sweep-{scenario_stem(scenario)}", [scenario], list(policies), sets=sets,
                          leads=leads, reps=reps, days=days, replications=replications, seed=seed,
                          factors=manifest_factors(factors),
                          points=grid(factors), objective=objective, events=events, check=check,
                          precision=precision_spec(precision, max_replications,
                                                   replications if given("replications") else None))
    except ConfigError as e:
        fail(e)
    warn_constraints(objective)
    execute(plan, out, resume, workers, dask, as_json)


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=True))
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), help="override the file's replications")
@engine_options
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="override the file's seed")
@click.option("--days", type=click.IntRange(1, 36_500), help="measurement window in days")
@click.option("--reps", type=click.IntRange(0, 10_000), help="number of SDRs (overrides scenarios and policies)")
@click.option("--leads", type=click.FloatRange(0, 50_000_000), help="lead arrivals per year (channels scaled in proportion)")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="override any field, after the file's `set`")
@precision_options
def experiment(file: Path, replications: int | None, workers: int, dask: str | None, as_json: bool,
               out: Path | None, resume: Path | None, events: bool, check: bool, seed: int | None,
               days: int | None, reps: int | None, leads: float | None, sets: tuple[str, ...],
               precision: tuple[str, ...], max_replications: int) -> None:
    """Run the design in an experiment FILE (name or path): scenarios x policies x grid or Latin
    hypercube x replications, with an optional objective."""
    try:
        plan = plan_from_file(file, replications, seed, events, check, sets=sets, leads=leads, reps=reps, days=days,
                              precision=precision_spec(precision, max_replications, replications))
    except ConfigError as e:
        fail(e)
    warn_constraints(plan.objective)
    execute(plan, out, resume, workers, dask, as_json)


def plan_from_file(file: Path, replications: int | None, seed: int | None, events: bool, check: bool,
                   sets: tuple[str, ...] = (), leads: float | None = None, reps: int | None = None,
                   days: int | None = None, precision: Precision | None = None) -> Plan:
    from sim.config.experiment import Experiment
    from sim.experiment.design import check_factor_path, factor, grid, latin_hypercube, manifest_factors
    from sim.inputs import relative_to
    path = resolve_experiment(str(file))
    ex = load_model(Experiment, path)
    base = path.parent
    scen = [relative_to(base, s) for s in ex.scenarios]
    pols = [relative_to(base, p) for p in ex.policies]
    n = replications or ex.replications
    team = reps
    sd = ex.seed if seed is None else seed
    if ex.lhs is not None:
        for p in ex.lhs.ranges:
            check_factor_path(p, f"{path}: lhs.ranges.{p}")
        points = latin_hypercube(dict(ex.lhs.ranges), ex.lhs.samples, sd)
        factors = [{"path": p, "values": sorted({pt[p] for pt in points})} for p in ex.lhs.ranges]
        method = "lhs"
    else:
        fs = [factor(p, v, f"{path}: grid.{p}") for p, v in ex.grid.items()]
        points, factors, method = grid(fs), manifest_factors(fs), "grid"
    return build_plan("experiment", ex.name, scen, pols, sets=[*ex.set, *sets], leads=leads, reps=team, days=days,
                      replications=n, seed=sd, factors=factors,
                      points=points, method=method, kpis=ex.kpis,
                      objective=ex.objective.spec() if ex.objective else None, events=events, check=check,
                      precision=precision)


def resolve_experiment(name: str) -> Path:
    """A path, or a name in ./experiments or the project's experiments folder."""
    from sim.inputs import resolve
    return resolve("experiments", name)


def scenario_stem(s: str) -> str:
    return Path(s).stem if s.endswith(".toml") else s


@click.command()
@click.argument("folder", type=click.Path(path_type=Path, file_okay=False))
@objective_options
@click.option("--add", is_flag=True,
              help="run the replications the recommendation asks for (the settings that cannot be told apart, "
                   "on new worlds) and recommend again; writes a new results folder (--out)")
@click.option("--confirm", type=click.IntRange(0, 10_000), default=0,
              help="with --add, also run at least this many fresh replications of every setting still in contention")
@click.option("--max-add", type=click.IntRange(1, 100_000), default=200, show_default=True,
              help="with --add, at most this many new replications per setting")
@click.option("--out", type=click.Path(path_type=Path), help="with --add: the new results folder (default FOLDER-more)")
@click.option("--workers", "-w", type=click.IntRange(1, 512), default=1, show_default=True,
              help="with --add: local worker processes")
@click.option("--json", "as_json", is_flag=True, help="print the recommendation as JSON")
def recommend(folder: Path, maximise: tuple[str, ...], minimise: tuple[str, ...], subject_to: tuple[str, ...],
              delta: str | None, add: bool, confirm: int, max_add: int, out: Path | None, workers: int,
              as_json: bool) -> None:
    """Recommend the best setting in a saved sweep or experiment FOLDER by ranking and selection:
    the setting that is within --delta of the best with probability >= 95%, or the settings that
    cannot be told apart and how many more replications would settle it (--add runs them)."""
    from sim.experiment.recommend import recommend_from_spec
    from sim.experiment.results import load_results
    try:
        spec = objective_spec(maximise, minimise, subject_to, delta)
        res = load_results(folder)
        if spec is None:
            spec = res.manifest.get("objective")
            if spec is None:
                raise ConfigError("--maximise", ["give --maximise KPI or --minimise KPI (these results have no objective)"])
            if delta is not None:
                spec = cast("ObjectiveSpec", {**spec, "delta": delta})    # the manifest's spec, another delta
    except ConfigError as e:
        fail(e)
    except (FileNotFoundError, ValueError) as e:
        fail(str(e))
    try:
        rec = recommend_from_spec(res.runs, spec, res.factors)
    except ValueError as e:
        fail(str(e), EXIT_BAD_INPUT)
    if rec is None:
        fail(f"{folder}: no runs to recommend from")
    for w in rec.get("warnings") or []:
        click.echo(f"warning: {w}", err=True)
    if add:
        from sim.experiment.more import add_replications
        target = out if out is not None else folder.with_name(folder.name + "-more")
        try:
            check_out(target)
        except ConfigError as e:
            fail(e)
        if not as_json:
            from sim.commands.show import print_recommendation
            print_recommendation(rec, False)
        try:
            res2, added = add_replications(res, rec, spec, target, max_add=max_add, confirm=confirm, workers=workers,
                                           on_finished=report_hook)
        except ValueError as e:
            fail(str(e), EXIT_BAD_INPUT)
        if not as_json:
            click.echo(f"added {added} runs; results written to {target}")
        if res2.recommendation is None:
            fail(f"{target}: no recommendation from the added runs")
        rec = res2.recommendation
    from sim.commands.show import print_recommendation
    print_recommendation(rec, as_json)
