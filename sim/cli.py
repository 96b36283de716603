"""`funnelsim`: the command line. Bad input exits with code 2 and one message on stderr, before
anything runs and before anything is written."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sim.config.loading import ConfigError
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.inputs import find_any, list_files, load_file, load_policy, load_scenario, split_sets
from sim.present import console, replicated_table, single_run_table

DEFAULT_SEED = 20260105
EXIT_BAD_INPUT = 2
EXIT_WRITE_FAILED = 1


def fail(err: Exception | str, code: int = EXIT_BAD_INPUT) -> None:
    """Print one message on stderr and exit (2 = bad input)."""
    click.echo(f"error: {err}", err=True)
    sys.exit(code)


class _Main(click.Group):
    """The command group; remembers the raw arguments for the manifest's command line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["funnelsim.argv"] = list(args)
        return super().parse_args(ctx, args)


def command_line() -> list[str]:
    """The command as typed (program name + arguments), also under click's test runner."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or "funnelsim.argv" not in ctx.meta:
        return list(sys.argv)
    return [ctx.find_root().info_name or "funnelsim", *ctx.meta["funnelsim.argv"]]


def common_options(f):
    """Overrides shared by every command that runs a simulation."""
    f = click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True,
                     help="root random seed")(f)
    f = click.option("--days", type=click.IntRange(1, 36_500), help="measurement window in days")(f)
    f = click.option("--reps", type=click.IntRange(0, 10_000), help="number of SDRs (overrides scenario and policies)")(f)
    f = click.option("--leads", type=click.FloatRange(0, 50_000_000), help="lead arrivals per year (channels scaled in proportion)")(f)
    f = click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
                     help="override any field, e.g. --set sales.reps=8 --set mql.threshold=70 "
                          "(values are TOML; prefix scenario. or policy. to be explicit)")(f)
    return f


def load_inputs(scenario: str, policies: tuple[str, ...], sets, leads, reps, days) -> tuple[Scenario, list[Policy]]:
    """Every input, validated, or ConfigError."""
    o = split_sets(list(sets), leads, reps, days)
    sc = load_scenario(scenario, o.scenario)
    pols = [load_policy(p, o.policy) for p in policies]
    names = [p.name for p in pols]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError("--policy", [f"policy names must be unique; {', '.join(map(repr, dupes))} appears more "
                                       "than once (give each policy file a different `name`)"])
    return sc, pols


def check_out(out: Path) -> None:
    """Refuse an output folder that exists or cannot be created, before anything runs."""
    if os.path.lexists(out):
        raise ConfigError(str(out), ["already exists; results are never overwritten (choose a new folder)"])
    anc = out.absolute().parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise ConfigError(str(out), [f"cannot create it: {anc} is a file, not a folder"])
    if not os.access(anc, os.W_OK | os.X_OK):
        raise ConfigError(str(out), [f"cannot create it: no permission to write in {anc}"])


def progress_bar(total: int, label: str, quiet: bool):
    """A progress bar on stderr (hidden with --json or when quiet)."""
    return Progress(TextColumn(escape(label)), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeRemainingColumn(), console=console(stderr=True), transient=True, disable=quiet)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnelsim")
def main() -> None:
    """Simulate a B2B marketing and sales funnel under alternative policies, on the same random world."""


@main.command()
@click.argument("scenario")
@click.option("--policy", "-p", "policies", multiple=True, required=True, help="policy name or file (repeatable)")
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="worlds to run (each policy meets the same ones)")
@click.option("--json", "as_json", is_flag=True, help="print KPIs as one JSON object on stdout and nothing else")
@click.option("--out", type=click.Path(path_type=Path), help="write manifest.json, KPI tables and report.html to this new folder")
@common_options
def run(scenario, policies, replications, as_json, out, sets, leads, reps, days, seed):
    """Run SCENARIO under each --policy on the same world(s) and print the KPIs side by side.

    SCENARIO and each policy are names (`funnelsim list`) or paths to .toml files."""
    try:
        sc, pols = load_inputs(scenario, policies, sets, leads, reps, days)
        if out is not None:
            check_out(out)
    except ConfigError as e:
        fail(e)
    comp = _compare(sc, pols, seed, replications, quiet=as_json)
    if as_json:
        from sim.experiment.store import dumps
        click.echo(dumps(kpis_json(comp, replications)))
    else:
        _print(comp, sc, replications)
    if out is not None:
        path = _write(out, sc, pols, seed, replications, comp)
        if not as_json:
            click.echo(f"results written to {path}")
            click.echo(f"report: {path / 'report.html'}")


def _compare(sc, pols, seed, replications, quiet):
    from sim.experiment.replicate import compare
    with progress_bar(replications * len(pols), f"{sc.name}: {len(pols)} policies x {replications} replications",
                      quiet) as bar:
        task = bar.add_task("run", total=replications * len(pols))
        return compare(sc, pols, seed, replications, progress=lambda k: bar.advance(task, k))


NESTED = {"terminal_states": "state_", "rejection_reasons": "reason_"}


def kpis_json(comp, replications: int) -> dict:
    """{policy: KPIs}. One replication: the KPI values, `terminal_states` and `rejection_reasons`
    as {name: count}. Several: each KPI as {mean, lower, upper, n} (95% interval), and the nested
    counts as {name: {mean, lower, upper, n}}. NaN becomes null when serialised."""
    if replications == 1:
        return comp.first.kpis()
    out: dict = {}
    for p, df in comp.summary().groupby("policy", sort=False):
        row: dict = {}
        nested: dict = {k: {} for k in NESTED}
        for r in df.itertuples():
            stat = {"mean": r.mean, "lower": r.lower, "upper": r.upper, "n": int(r.n)}
            for key, prefix in NESTED.items():
                if r.kpi.startswith(prefix):
                    nested[key][r.kpi[len(prefix):]] = stat
                    break
            else:
                row[r.kpi] = stat
        out[p] = {**row, **nested}
    return out


def _print(comp, sc, replications) -> None:
    """The KPI table on stdout. Names from files are escaped: `[` would be read as rich markup."""
    con = console()
    if replications == 1:
        kpis = {escape(name): k for name, k in comp.first.kpis().items()}
        con.print(single_run_table(kpis, escape(f"{sc.name}: one replication")))
    else:
        summary, diffs = comp.summary(), comp.differences()
        summary = summary.assign(policy=summary["policy"].map(escape))
        if len(diffs):
            diffs = diffs.assign(policy=diffs["policy"].map(escape), baseline=diffs["baseline"].map(escape))
        con.print(replicated_table(summary, diffs, escape(f"{sc.name}: {replications} replications")))


def _write(out: Path, sc, pols, seed, replications, comp) -> Path:
    """Write the result folder atomically; a failure exits with a message and leaves nothing."""
    from sim.experiment.store import atomic_folder, manifest, write_json
    try:
        with atomic_folder(out) as tmp:
            write_json(tmp / "manifest.json", manifest(sc, pols, seed, replications, command=command_line()))
            comp.runs.to_csv(tmp / "runs.csv", index=False)
            comp.summary().to_csv(tmp / "summary.csv", index=False)
            if len(pols) > 1:
                comp.differences().to_csv(tmp / "differences.csv", index=False)
            comp.daily.to_csv(tmp / "daily.csv", index=False)
            write_json(tmp / "kpis.json", comp.first.kpis())
            _report(tmp, sc, pols, comp)
    except FileExistsError:
        fail(f"{out}: already exists; results are never overwritten (nothing written)")
    except OSError as e:
        fail(f"{out}: could not write results ({e.strerror or e}); nothing written", EXIT_WRITE_FAILED)
    return out


def _report(folder: Path, sc, pols, comp) -> None:
    from sim.report.basic import write_report
    write_report(folder, sc, pols, comp)


@main.command()
@click.option("--replications", "-n", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True)
def demo(replications, seed):
    """The baseline scenario under a loose (volume) and a strict (fit-and-intent) MQL definition.

    Writes ./outputs/demo-<timestamp>/ (report.html inside) under the current folder."""
    from sim.experiment.store import timestamped
    try:
        sc, pols = load_inputs("baseline", ("volume", "fit-and-intent"), (), None, None, None)
        out = timestamped(Path.cwd() / "outputs", "demo")
        check_out(out)
    except ConfigError as e:
        fail(e)
    comp = _compare(sc, pols, seed, replications, quiet=False)
    _print(comp, sc, replications)
    _write(out, sc, pols, seed, replications, comp)
    click.echo(f"results written to {out}")
    click.echo(f"report: {out / 'report.html'}")


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="check with these overrides applied")
def validate(files, sets):
    """Check scenario and policy FILES (paths or names); print ok or the problems for each and
    exit 2 if any is invalid."""
    try:
        o = split_sets(list(sets))
    except ConfigError as e:
        fail(e)
    bad = 0
    for f in files:
        try:
            path = find_any(f)
            kind, _ = load_file(path, o)
            click.echo(f"ok: {path} ({kind})")
        except ConfigError as e:
            click.echo(f"error: {e}", err=True)
            bad += 1
    sys.exit(EXIT_BAD_INPUT if bad else 0)


@main.command()
@click.argument("kind", type=click.Choice(["scenario", "policy"]))
def schema(kind):
    """Print the JSON Schema of scenario or policy files."""
    import json
    model = Scenario if kind == "scenario" else Policy
    click.echo(json.dumps(model.model_json_schema(), indent=2))


@main.command(name="list")
def list_cmd():
    """The scenarios and policies found, with their one-line descriptions."""
    con = console()
    for kind in ("scenarios", "policies"):
        con.print(f"[bold]{kind}[/bold]")
        files = list_files(kind)
        if not files:
            con.print("  (none found)")
        for name, path, desc in files:
            con.print(f"  {escape(name):<22} {escape(desc)}", soft_wrap=True)


# Commands defined in sim/commands/ (one module each) are registered here, one line per command.


if __name__ == "__main__":  # pragma: no cover
    main()
