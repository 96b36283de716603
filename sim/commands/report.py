"""`funnelsim report OUTPUT_DIR`: (re)build report.html and figures/ from a saved results folder,
without re-running anything. Bad input (not a results folder, unreadable tables) exits with code 2
and one message, with nothing written."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sim.commands.common import EXIT_WRITE_FAILED, fail

if TYPE_CHECKING:
    from sim.experiment.results import Results

NEEDED = ("scenario", "policy", "point", "replication")


def check_folder(folder: Path) -> tuple[Results | None, str | None]:
    """The results of `folder`, or a ConfigError-style message naming the file and the fix."""
    from sim.experiment.results import load_results
    if not folder.exists():
        return None, f"{folder}: no such folder (give the folder a compare, sweep, experiment, run --out or demo wrote)"
    if not folder.is_dir():
        return None, f"{folder}: is a file, not a results folder"
    try:
        res = load_results(folder)
    except FileNotFoundError as e:
        return None, f"{e}; give the folder a compare, sweep, experiment, run --out or demo wrote"
    except json.JSONDecodeError as e:
        return None, f"{folder / 'manifest.json'}: not valid JSON (line {e.lineno}: {e.msg}); restore it or re-run"
    except (OSError, ValueError) as e:
        return None, f"{folder}: cannot read the results ({e}); re-run the command that wrote them"
    if not isinstance(res.manifest, dict):
        return None, f"{folder / 'manifest.json'}: expected a JSON object"
    table = "runs.parquet" if (folder / "runs.parquet").exists() else "runs.csv"
    missing = [c for c in NEEDED if c not in res.runs.columns]
    if missing:
        return None, (f"{folder / table}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                      "(written by an older funnelsim?); re-run the command that wrote it")
    if res.runs["policy"].isna().any():      # (load_results refuses an empty runs table)
        return None, f"{folder / table}: no complete runs to report on"
    return res, None


@click.command()
@click.argument("output_dir", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="replace an existing report.html and figures/")
def report(output_dir: Path, force: bool) -> None:
    """Build OUTPUT_DIR/report.html (figures embedded; also figures/*.svg) from the saved
    results in OUTPUT_DIR. Nothing is re-run: the report is made from the folder's tables only."""
    from sim.report.build import REPORT, render
    res, problem = check_folder(output_dir)
    if problem or res is None:
        fail(problem or f"{output_dir}: no results")
    if (output_dir / REPORT).exists() and not force:
        fail(f"{output_dir / REPORT}: already exists; pass --force to rebuild it (nothing written)")
    try:
        path = render(res, output_dir, force=True)
    except OSError as e:
        fail(f"{output_dir}: could not write the report ({e.strerror or e}); nothing written", EXIT_WRITE_FAILED)
    click.echo(f"report: {path}")
