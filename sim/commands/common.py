"""Pieces every command shares: the exit-code convention, common options, output-folder checks and
the progress bar. Bad input exits with code 2 and one message on stderr, before anything runs and
before anything is written."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from sim.config.loading import ConfigError
from sim.present import console

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


def precision_options(f):
    """`--precision` and `--max-replications`, on every command that runs replications."""
    f = click.option("--max-replications", "max_replications", type=click.IntRange(5, 10_000), default=200,
                     show_default=True, help="with --precision: stop here even if a target is not reached")(f)
    f = click.option("--precision", "precision", multiple=True, metavar="KPI:HALF_WIDTH",
                     help="run replications in batches until this KPI's 95%% interval (and each paired "
                          "difference's) is this narrow, e.g. bookings:5%% or mql_to_sql_rate:0.01 (repeatable)")(f)
    return f


def precision_spec(targets: tuple[str, ...], maximum: int, replications: int | None):
    """The Precision of `--precision` (None without it); `-n`, when given, is the first batch (at
    least 5). Raises ConfigError for a malformed target."""
    from sim.experiment.precision import precision_from
    try:
        return precision_from(targets, maximum, replications)
    except ValueError as e:
        raise ConfigError("--precision", [str(e)]) from None


def given(name: str) -> bool:
    """Whether the user typed option `name` (rather than taking its default)."""
    from click.core import ParameterSource
    ctx = click.get_current_context()
    return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
