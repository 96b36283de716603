"""Pieces every command shares: the exit-code convention, common options, output-folder checks and
the progress bar. Bad input exits with code 2 and one message on stderr, before anything runs and
before anything is written."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Callable, NoReturn, TypeVar

import click

if TYPE_CHECKING:
    from rich.progress import Progress

    from sim.experiment.precision import Precision

F = TypeVar("F", bound=Callable[..., Any])   # a click command being decorated

# pydantic and the config models (ConfigError's module), rich's console and progress bar are imported
# where used, so that `funnelsim --help` loads none of them.

DEFAULT_SEED = 20260105
EXIT_BAD_INPUT = 2
EXIT_WRITE_FAILED = 1


def fail(err: Exception | str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print one message on stderr and exit (2 = bad input)."""
    click.echo(f"error: {err}", err=True)
    sys.exit(code)


class MainGroup(click.Group):
    """The command group; remembers the raw arguments for the manifest's command line, and gives
    click's own usage errors the same 'error: ' prefix as ours (click prints 'Error: ')."""

    # Commands in sim/commands/ are imported only when used (a lazy group, as in click's docs), so
    # `funnelsim --help`, `list`, `validate` and `schema` never pay for pandas, scipy or SimPy:
    # name -> (module, function, the summary `--help` lists; a test keeps it equal to the docstring's).
    LAZY: dict[str, tuple[str, str, str]] = {
        "compare": ("sim.commands.experiment", "compare", "Every --policy on the same N worlds of SCENARIO"),
        "sweep": ("sim.commands.experiment", "sweep", "A full factorial grid over any scenario or policy field"),
        "experiment": ("sim.commands.experiment", "experiment", "Run the design in an experiment FILE"),
        "recommend": ("sim.commands.experiment", "recommend", "Recommend the best setting in a saved sweep"),
        "import-crm": ("sim.commands.crm", "import_crm", "Read a CRM export through a mapping"),
        "calibrate": ("sim.commands.crm", "calibrate", "Fit a scenario to the export"),
        "backtest": ("sim.commands.crm", "backtest", "Score real historical leads with each policy"),
        "fit-scoring": ("sim.commands.crm", "fit_scoring", "Fit a points table by logistic regression"),
        "report": ("sim.commands.report", "report", "Build OUTPUT_DIR/report.html"),
        "staffing": ("sim.commands.staffing", "staffing", "How many SDRs for a service level"),
        "explain": ("sim.commands.explain", "explain", "Why did lead LEAD_ID go there: its story under each policy"),
        "app": ("sim.commands.app", "app", "Serve the live what-if app for SCENARIO in a browser"),
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.LAZY])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.LAZY and name not in self.commands:
            import importlib
            module, attr, _ = self.LAZY[name]
            self.add_command(getattr(importlib.import_module(module), attr), name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of `--help`, without importing the lazy commands."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))          # as click.Group does
        rows = []
        for name in names:
            if name in self.LAZY and name not in self.commands:
                rows.append((name, self.LAZY[name][2]))
            else:
                rows.append((name, self.commands[name].get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["funnelsim.argv"] = list(args)
        return super().parse_args(ctx, args)

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.ClickException as e:
            raise _lower_prefix(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException as e:
            raise _lower_prefix(e) from None


def _lower_prefix(e: click.ClickException) -> click.ClickException:
    """The exception, printing 'error: ' where click prints 'Error: ' (one prefix for every error)."""
    import io
    show = e.show

    def lower(file: IO[Any] | None = None) -> None:
        buf = io.StringIO()
        show(file=buf)
        text = buf.getvalue()
        text = "error: " + text[len("Error: "):] if text.startswith("Error: ") else text.replace("\nError: ", "\nerror: ", 1)
        click.echo(text, file=file if file is not None else sys.stderr, nl=False)

    e.show = lower  # type: ignore[method-assign]
    return e


def command_line() -> list[str]:
    """The command as typed (program name + arguments), also under click's test runner."""
    ctx = click.get_current_context(silent=True)
    if ctx is None or "funnelsim.argv" not in ctx.meta:
        return list(sys.argv)
    return [ctx.find_root().info_name or "funnelsim", *ctx.meta["funnelsim.argv"]]


def common_options(f: F) -> F:
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


def print_warnings(warnings: list[str]) -> None:
    """Inputs that are valid but probably not meant (sim.config.warnings): one line each on stderr."""
    for w in warnings:
        click.echo(f"warning: {w}", err=True)


def check_out(out: Path) -> None:
    """Refuse an output folder that exists or cannot be created, before anything runs."""
    from sim.config.loading import ConfigError
    if os.path.lexists(out):
        raise ConfigError(str(out), ["already exists; results are never overwritten (choose a new folder)"])
    anc = out.absolute().parent
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise ConfigError(str(out), [f"cannot create it: {anc} is a file, not a folder"])
    if not os.access(anc, os.W_OK | os.X_OK):
        raise ConfigError(str(out), [f"cannot create it: no permission to write in {anc}"])


def progress_bar(total: int, label: str, quiet: bool) -> Progress:
    """A progress bar on stderr (hidden with --json or when quiet)."""
    from rich.markup import escape
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.present import console
    return Progress(TextColumn(escape(label)), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeRemainingColumn(), console=console(stderr=True), transient=True, disable=quiet)


def precision_options(f: F) -> F:
    """`--precision` and `--max-replications`, on every command that runs replications."""
    f = click.option("--max-replications", "max_replications", type=click.IntRange(5, 10_000), default=200,
                     show_default=True, help="with --precision: stop here even if a target is not reached")(f)
    f = click.option("--precision", "precision", multiple=True, metavar="KPI:HALF_WIDTH",
                     help="run replications in batches until this KPI's 95% interval (and each paired "
                          "difference's) is this narrow, e.g. bookings:5% or mql_to_sql_rate:0.01 (repeatable)")(f)
    return f


def precision_spec(targets: tuple[str, ...], maximum: int, replications: int | None) -> Precision | None:
    """The Precision of `--precision` (None without it); `-n`, when given, is the first batch (at
    least 5). Raises ConfigError for a malformed target."""
    from sim.config.loading import ConfigError
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
