"""The CLI answers at once: `import sim.cli` (what every `funnelsim` call pays) loads none of the
heavy libraries; the commands that need them are imported when they run. A test of what is
imported, not a timer."""
from __future__ import annotations

import subprocess
import sys

import click

from sim.cli import main
from sim.commands.common import MainGroup

HEAVY = ("scipy", "pandas", "matplotlib", "simpy", "pyarrow", "dask")


def test_import_sim_cli_loads_no_heavy_library():
    code = f"import sys, sim.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "", f"import sim.cli loads {out.strip()}"


def test_help_lists_every_command_without_importing_them():
    code = ("import sys; from click.testing import CliRunner; from sim.cli import main; "
            "r = CliRunner().invoke(main, ['--help']); print(r.output); "
            f"print('HEAVY:', ' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.rstrip().endswith("HEAVY:"), out
    for name in MainGroup.LAZY:
        assert f"  {name} " in out


def test_each_lazy_summary_is_the_start_of_its_commands_help():
    ctx = click.Context(main)
    for name, (_, _, summary) in MainGroup.LAZY.items():
        cmd = main.get_command(ctx, name)
        assert cmd is not None and cmd.name == name
        assert " ".join(cmd.help.split()).startswith(summary), (name, summary, cmd.help)
