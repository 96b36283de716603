"""`funnelsim`: the command line. Bad input exits with code 2 and one message on stderr, before
anything runs and before anything is written."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.commands.common import (
    DEFAULT_SEED,
    EXIT_BAD_INPUT,
    EXIT_WRITE_FAILED,
    MainGroup,
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

if TYPE_CHECKING:
    from sim.experiment.results import Results
    from sim.experiment.task_plan import Plan

# Everything else is imported in the command that uses it: `funnelsim --help` (and the lazy
# commands of MainGroup) load neither pydantic and the config models nor rich's console.


@click.group(cls=MainGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnelsim")
def main() -> None:
    """Simulate a B2B marketing and sales funnel under alternative policies, on the same random world."""


@main.command()
@click.argument("scenario")
@click.option("--policy", "-p", "policies", multiple=True, required=True, help="policy name or file (repeatable)")
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="worlds to run (each policy meets the same ones); see also `compare`")
@click.option("--json", "as_json", is_flag=True,
              help="print the results as one JSON object on stdout and nothing else (docs: reference/json)")
@click.option("--out", type=click.Path(path_type=Path), help="write the results folder (tables, report.html) here")
@click.option("--check", is_flag=True, help="debug mode: verify every invariant of the run")
@precision_options
@common_options
def run(scenario: str, policies: tuple[str, ...], replications: int, as_json: bool, out: Path | None, check: bool,
        precision: tuple[str, ...], max_replications: int, sets: tuple[str, ...], leads: float | None,
        reps: int | None, days: int | None, seed: int) -> None:
    """Run SCENARIO under each --policy on the same world(s) and print the KPIs side by side.

    SCENARIO and each policy are names (`funnelsim list`) or paths to .toml files."""
    from sim.commands.experiment import check_kpis, print_precision
    from sim.config.loading import ConfigError
    from sim.experiment.task_plan import build_plan
    try:
        plan = build_plan("run", f"run-{Path(scenario).stem if scenario.endswith('.toml') else scenario}",
                          [scenario], list(policies), sets=sets, leads=leads, reps=reps, days=days,
                          replications=replications, seed=seed, check=check,
                          precision=precision_spec(precision, max_replications,
                                                   replications if given("replications") else None))
        if plan.kpis or plan.precision or plan.objective:   # else check_kpis has nothing to check (and
            check_kpis(plan)                                  # would import scipy.stats for nothing)
        if out is not None:
            check_out(out)
    except ConfigError as e:
        fail(e)
    res = _execute(plan, out, quiet=as_json)
    if as_json:
        from sim.experiment.results_json import results_json
        from sim.experiment.store import dumps
        click.echo(dumps(results_json(res)))
    elif len({r["replication"] for r in res.run_rows()}) == 1:
        _print_single(res)
    else:
        from sim.commands.show import print_results
        print_results(res, False)
        print_precision(res.manifest)
    if out is not None and not as_json:
        click.echo(f"results written to {out}")
        if (out / "report.html").is_file():
            click.echo(f"report: {out / 'report.html'}")


def _execute(plan: Plan, out: Path | None, quiet: bool) -> Results:
    """Run a plan with a progress bar; write the folder (report included) when `out` is given."""
    from sim.commands.experiment import report_hook
    from sim.experiment.execution import run_plan
    print_warnings(plan.warnings)
    from sim.format import plural
    with progress_bar(plan.runs_total, f"{plan.name}: {plural(len(plan.policies), 'policy', 'policies')} x "
                                       f"{plural(plan.replications, 'replication')}", quiet) as bar:
        task = bar.add_task("run", total=plan.runs_total)
        try:
            outcome = run_plan(plan, out, command=command_line(), progress=lambda k: bar.advance(task, k),
                               on_finished=report_hook)
        except FileExistsError:
            fail(f"{out}: already exists; results are never overwritten (nothing written)")
        except OSError as e:
            fail(f"{out}: could not write results ({e.strerror or e})", EXIT_WRITE_FAILED)
    if outcome.errors:
        fail(f"{outcome.errors[0]['task']}: {outcome.errors[0]['error']}", EXIT_WRITE_FAILED)
    return outcome.results


def _print_single(res: Results) -> None:
    """One replication's KPI table on stdout. Names from files are escaped: `[` would be read as markup.
    From the rows as they are (no pandas): each policy's first row."""
    from rich.markup import escape

    from sim.present import console, print_tables, single_run_table
    rows = res.run_rows()
    first = {str(r["policy"]): r for r in reversed(rows)}          # the first row of each policy ...
    names = list(dict.fromkeys(str(r["policy"]) for r in rows))    # ... in order of appearance
    kpis = {escape(p): {k: first[p].get(k) for k in res.kpi_names} for p in names}
    print_tables(console(), single_run_table(kpis, escape(f"{rows[0]['scenario']}: one replication")))
    from sim.measure.steady import flagged_lines
    for line in flagged_lines(res):
        click.echo(f"warning: {line}")


@main.command()
@click.option("--replications", "-n", type=click.IntRange(2, 1000), default=5, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True)
def demo(replications: int, seed: int) -> None:
    """The baseline scenario under a loose (volume) and a strict (fit-and-intent) MQL definition.

    Writes ./outputs/demo-<timestamp>/ (report.html inside) under the current folder."""
    from sim.commands.show import print_results
    from sim.config.loading import ConfigError
    from sim.experiment.store import timestamped
    from sim.experiment.task_plan import build_plan
    try:
        plan = build_plan("demo", "demo", ["baseline"], ["volume", "fit-and-intent"], replications=replications,
                          seed=seed)
        out = timestamped(Path.cwd() / "outputs", "demo")
        check_out(out)
    except ConfigError as e:
        fail(e)
    res = _execute(plan, out, quiet=False)
    print_results(res, False)
    click.echo(f"results written to {out}")
    click.echo(f"report: {out / 'report.html'}")


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="check with these overrides applied")
def validate(files: tuple[str, ...], sets: tuple[str, ...]) -> None:
    """Check scenario and policy FILES (paths or names); print ok or the problems for each and
    exit 2 if any is invalid. Valid but probably unintended settings are printed as warnings
    (stderr; exit 0)."""
    from sim.commands.validate_file import file_warnings, load_file
    from sim.config.loading import ConfigError
    from sim.inputs import find_any, is_variant, load_policy, split_sets
    try:
        o = split_sets(list(sets))
    except ConfigError as e:
        fail(e)
    bad = 0
    for f in files:
        path: str | Path
        kind: str
        obj: object
        try:
            if is_variant(f):                  # a policy variant: BASE@PATH=VALUE...
                path, kind, obj = f, "policy variant", load_policy(f, o.policy)
            else:
                path = find_any(f)
                kind, obj = load_file(path, o)
            click.echo(f"ok: {path} ({kind})")
            print_warnings(file_warnings(kind, obj, str(path)))
        except ConfigError as e:
            click.echo(f"error: {e}", err=True)
            bad += 1
    sys.exit(EXIT_BAD_INPUT if bad else 0)


@main.command()
@click.argument("kind", type=click.Choice(["scenario", "policy"]))
def schema(kind: str) -> None:
    """Print the JSON Schema of scenario or policy files."""
    import json

    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.config.units import SchemaGenerator
    model = Scenario if kind == "scenario" else Policy
    click.echo(json.dumps(model.model_json_schema(schema_generator=SchemaGenerator), indent=2))


@main.command(name="list")
def list_cmd() -> None:
    """The scenarios and policies found, with their one-line descriptions."""
    from rich.markup import escape

    from sim.inputs import list_files
    from sim.present import console
    con = console()
    for kind in ("scenarios", "policies"):
        con.print(f"[bold]{kind}[/bold]")
        files = list_files(kind)
        if not files:
            con.print("  (none found)")
        for name, _path, desc in files:
            con.print(f"  {escape(name):<22} {escape(desc)}", soft_wrap=True)


# Commands defined in sim/commands/ (one module each) are registered lazily: see MainGroup.LAZY.


if __name__ == "__main__":  # pragma: no cover
    main()
