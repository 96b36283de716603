"""The CLI answers at once: `import sim.cli` (what every `funnelsim` call pays) loads none of the
heavy libraries; the commands that need them are imported when they run. A test of what is
imported, not a timer."""
from __future__ import annotations

import math
import subprocess
import sys

import click
import numpy as np
import pytest

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


# What one `run` (one replication, no --out, no --json) needs is the engine (numpy, SimPy) and rich.
# Not these: scipy.stats alone costs more than the simulation.
NOT_ON_RUN = ("scipy.stats", "scipy.optimize", "scipy.integrate", "scipy.spatial", "scipy.linalg", "matplotlib",
              "dask", "distributed", "sim.report", "sim.experiment.recommend", "sim.experiment.selection",
              "sim.crm", "jinja2")


def _loaded_after(args: list[str], names: tuple[str, ...]) -> list[str]:
    code = (f"import sys; sys.argv = ['funnelsim', *{args!r}]; from sim.cli import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
            f"print('LOADED:', ' '.join(m for m in {names!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return out.rstrip().rsplit("LOADED:", 1)[1].split()


def test_single_replication_run_loads_only_what_it_needs():
    assert _loaded_after(["run", "workshop", "-p", "seed-example", "--days", "30"], NOT_ON_RUN) == []


# A single `run` prints its table and steady-state check from rows and numpy columns: no pandas
# (nor pyarrow, which pandas loads), no scipy, no matplotlib.
TABLE_LIBRARIES = ("pandas", "pyarrow", "scipy", "matplotlib")


def test_single_run_loads_no_table_or_figure_library():
    assert _loaded_after(["run", "workshop", "-p", "seed-example"], TABLE_LIBRARIES) == []


def _same(a: object, b: object) -> bool:
    return a == b or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b))


@pytest.mark.parametrize("shape", ["flat", "growing", "ramp"])
def test_steady_state_of_single_runs_is_the_same_from_numpy_columns_and_from_a_dataframe(shape):
    """The pandas-free path of `diagnose` (one replication per policy, as a single `run` keeps
    them) gives every number of the DataFrame path, exactly."""
    import pandas as pd

    from sim.measure.steady import diagnose
    rng = np.random.default_rng(7)
    days = np.arange(200)
    level = {"flat": np.full(200, 12.0), "growing": 2 + 0.4 * days, "ramp": np.minimum(days, 40) / 2}[shape]
    parts = []
    for policy in ("a", "b"):
        q = np.maximum(level * (1 + rng.normal(0, 0.2, days.size)), 0)
        parts.append({"day": days, "in_window": days >= 21, "queue_mean": q, "queue_at_midnight": np.round(q),
                      "oldest_wait_business_hours": 0.1 * q, "touches": np.where(days % 7 < 5, 30, 0),
                      "rep_utilisation": np.where(days % 7 < 5, 0.7, np.nan),
                      "scenario": np.full(days.size, "s", dtype=object), "policy": np.full(days.size, policy, dtype=object),
                      "point": np.zeros(days.size, np.int64), "replication": np.zeros(days.size, np.int64)})
    cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
    from_numpy = [d.as_dict() for d in diagnose(cols)]
    from_pandas = [d.as_dict() for d in diagnose(pd.DataFrame(cols))]
    assert len(from_numpy) == 2 and [d.keys() for d in from_numpy] == [d.keys() for d in from_pandas]
    for x, y in zip(from_numpy, from_pandas):
        assert all(_same(x[k], y[k]) for k in x), {k: (x[k], y[k]) for k in x if not _same(x[k], y[k])}


def test_results_kept_in_memory_read_as_rows_or_as_a_table_alike():
    from sim.experiment.results import Results
    rows = [{"run_id": "t:a", "scenario": "s", "policy": "a", "point": 0, "replication": 0, "seed": 1, "won": 3},
            {"run_id": "t:b", "scenario": "s", "policy": "b", "point": 0, "replication": 0, "seed": 1, "won": 4,
             "state_x": 1.0}]
    held = Results(None, {}, rows, {"day": np.arange(3)})
    assert held.run_rows() is rows and isinstance(held.daily_series, dict)   # nothing converted yet
    kpis, policies, baseline = held.kpi_names, held.policies, held.baseline
    table = Results(None, {}, held.runs, held.timeseries)       # the same results as DataFrames
    assert kpis == table.kpi_names == ["won", "state_x"]
    assert policies == table.policies == ["a", "b"] and baseline == table.baseline == "a"
    assert [r["won"] for r in table.run_rows()] == [3, 4]


def test_help_loads_no_config_models_and_no_rich_console():
    assert _loaded_after(["--help"], ("pydantic", "sim.config.loading", "rich.console", "rich.progress", "numpy")) == []


def test_theil_sen_is_scipys_theilslopes():
    """steady.theil_sen copies scipy.stats.theilslopes so that `run` need not import scipy.stats;
    it must give the very same numbers (ties in y included, which change Sen's interval)."""
    import numpy as np
    from scipy import stats

    from sim.measure.steady import LEVEL, theil_sen
    rng = np.random.default_rng(7)
    series = [rng.normal(size=n).cumsum() for n in (3, 4, 7, 12, 40)]
    series += [np.round(rng.normal(size=n) * 2) for n in (5, 9, 30)]          # many ties
    series += [np.array([1.0, 1.0, 2.0]), np.arange(10.0) ** 2, np.array([3.0, 1.0, 2.0, 2.0, 2.0, 5.0])]
    for y in series:
        s, _, lo, hi = stats.theilslopes(y, np.arange(y.size), alpha=LEVEL)
        assert theil_sen(y) == (float(s), float(lo), float(hi)), y


def test_package_version_is_importlib_metadatas():
    from importlib import metadata

    from sim.experiment.store import PACKAGES, package_version
    for name in (*PACKAGES, "no-such-package-startup"):
        try:
            want = metadata.version(name)
        except metadata.PackageNotFoundError:
            want = None
        assert package_version(name) == want, name
