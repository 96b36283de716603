"""`funnelsim`: the command line. Bad input exits with code 2 and one message, before anything runs
and before anything is written."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sim.config.loading import ConfigError, kind_of, read_toml, validate_data
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.inputs import list_files, load_policy, load_scenario, resolve, split_sets
from sim.present import console, replicated_table, single_run_table

DEFAULT_SEED = 20260105


def fail(err: Exception) -> None:
    click.echo(f"error: {err}", err=True)
    sys.exit(2)


def common_options(f):
    """Overrides shared by every command that runs a simulation."""
    f = click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="root random seed")(f)
    f = click.option("--days", type=click.IntRange(1, 36_500), help="measurement window in days")(f)
    f = click.option("--reps", type=click.IntRange(0, 10_000), help="number of SDRs (overrides scenario and policies)")(f)
    f = click.option("--leads", type=click.FloatRange(0, 50_000_000), help="lead arrivals per year (channels scaled in proportion)")(f)
    f = click.option("--set", "sets", multiple=True, metavar="PATH=VALUE",
                     help="override any field, e.g. --set sales.reps=8 --set mql.threshold=70")(f)
    return f


def load_inputs(scenario: str, policies: tuple[str, ...], sets, leads, reps, days) -> tuple[Scenario, list[Policy]]:
    o = split_sets(list(sets), leads, reps, days)
    sc = load_scenario(scenario, o.scenario)
    pols = [load_policy(p, o.policy) for p in policies]
    names = [p.name for p in pols]
    if len(set(names)) != len(names):
        raise ConfigError("--policy", [f"policy names must be unique, got {names}"])
    return sc, pols


def _json_safe(obj):
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    return obj


def progress_bar(total: int, label: str, quiet: bool):
    """A progress bar on stderr (hidden with --json or when quiet)."""
    return Progress(TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeRemainingColumn(), console=console(stderr=True), transient=True, disable=quiet)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="funnelsim")
def main() -> None:
    """Simulate a B2B marketing and sales funnel under alternative policies, on the same random world."""


@main.command()
@click.argument("scenario")
@click.option("--policy", "-p", "policies", multiple=True, required=True, help="policy name or file (repeatable)")
@click.option("--replications", "-n", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="worlds to run (each policy meets the same ones)")
@click.option("--json", "as_json", is_flag=True, help="print KPIs as one JSON object and nothing else")
@click.option("--out", type=click.Path(path_type=Path), help="write manifest.json and KPI tables to this new folder")
@common_options
def run(scenario, policies, replications, as_json, out, sets, leads, reps, days, seed):
    """Run SCENARIO under each --policy on the same world(s) and print the KPIs side by side."""
    try:
        sc, pols = load_inputs(scenario, policies, sets, leads, reps, days)
        if out is not None and out.exists():
            raise ConfigError(str(out), ["already exists; results are never overwritten (choose a new folder)"])
    except ConfigError as e:
        fail(e)
    comp = _compare(sc, pols, seed, replications, quiet=as_json)
    if as_json:
        if replications == 1:
            click.echo(json.dumps(_json_safe(comp.first.kpis())))
        else:
            click.echo(json.dumps(_json_safe(_summary_json(comp))))
    else:
        _print(comp, sc, replications)
    if out is not None:
        path = _write(out, sc, pols, seed, replications, comp)
        if not as_json:
            click.echo(f"results written to {path}")


def _compare(sc, pols, seed, replications, quiet):
    from sim.experiment.replicate import compare
    with progress_bar(replications, f"{sc.name}: {len(pols)} policies", quiet or replications < 2) as bar:
        task = bar.add_task("run", total=replications)
        return compare(sc, pols, seed, replications, progress=lambda k: bar.advance(task, k))


def _summary_json(comp) -> dict:
    s = comp.summary()
    out: dict = {}
    for p, df in s.groupby("policy", sort=False):
        out[p] = {r.kpi: {"mean": r.mean, "lower": r.lower, "upper": r.upper} for r in df.itertuples()}
    return out


def _print(comp, sc, replications) -> None:
    con = console()
    if replications == 1:
        con.print(single_run_table(comp.first.kpis(), f"{sc.name}: one replication"))
    else:
        con.print(replicated_table(comp.summary(), comp.differences(), f"{sc.name}: {replications} replications"))


def _write(out: Path, sc, pols, seed, replications, comp) -> Path:
    from sim.experiment.store import atomic_folder, manifest, write_json
    with atomic_folder(out) as tmp:
        write_json(tmp / "manifest.json", manifest(sc, pols, seed, replications))
        comp.runs.to_csv(tmp / "runs.csv", index=False)
        comp.summary().to_csv(tmp / "summary.csv", index=False)
        if len(pols) > 1:
            comp.differences().to_csv(tmp / "differences.csv", index=False)
        comp.daily.to_csv(tmp / "daily.csv", index=False)
        write_json(tmp / "kpis.json", _json_safe(comp.first.kpis()))
        _report(tmp, sc, pols, comp)
    return out


def _report(folder: Path, sc, pols, comp) -> None:
    from sim.report.basic import write_report
    write_report(folder, sc, pols, comp)


@main.command()
@click.option("--replications", "-n", type=click.IntRange(1, 1000), default=5, show_default=True)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True)
def demo(replications, seed):
    """The baseline scenario under a loose (volume) and a strict (fit-and-intent) MQL definition."""
    from sim.experiment.store import timestamped
    try:
        sc, pols = load_inputs("baseline", ("volume", "fit-and-intent"), (), None, None, None)
    except ConfigError as e:
        fail(e)
    comp = _compare(sc, pols, seed, replications, quiet=False)
    _print(comp, sc, replications)
    out = timestamped(Path.cwd() / "outputs", "demo")
    _write(out, sc, pols, seed, replications, comp)
    click.echo(f"results written to {out}")
    click.echo(f"report: {out / 'report.html'}")


@main.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="check with these overrides applied")
def validate(files, sets):
    """Check scenario and policy files; exit 2 with the problems if any is invalid."""
    bad = 0
    o = split_sets(list(sets)) if sets else None
    for f in files:
        try:
            path = Path(f) if Path(f).exists() else None
            if path is None:
                for kind in ("scenarios", "policies"):
                    try:
                        cand = resolve(kind, f)
                    except ConfigError:
                        continue
                    if cand.exists():
                        path = cand
                        break
            path = path or Path(f)
            data = read_toml(path)
            kind = kind_of(data)
            model = Policy if kind == "policy" else Scenario
            from sim.config.loading import apply_overrides
            if o:
                data = apply_overrides(data, o.policy if kind == "policy" else o.scenario, str(path))
            validate_data(model, data, str(path))
            click.echo(f"ok: {path} ({kind})")
        except ConfigError as e:
            click.echo(f"error: {e}", err=True)
            bad += 1
    sys.exit(2 if bad else 0)


@main.command()
@click.argument("kind", type=click.Choice(["scenario", "policy"]))
def schema(kind):
    """Print the JSON Schema of scenario or policy files."""
    model = Scenario if kind == "scenario" else Policy
    click.echo(json.dumps(model.model_json_schema(), indent=2))


@main.command(name="list")
def list_cmd():
    """The scenarios and policies found, with their one-line descriptions."""
    con = console()
    for kind in ("scenarios", "policies"):
        con.print(f"[bold]{kind}[/bold]")
        for name, path, desc in list_files(kind):
            con.print(f"  {name:<22} {desc}")


if __name__ == "__main__":  # pragma: no cover
    main()
