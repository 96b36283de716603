"""A results folder keeps its summary and differences tables: reading the folder back gives exactly
the tables a recomputation from its runs gives (so the report and the printed summary need not
recompute them), and a folder without them (written before they were saved) still gets them."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from sim.cli import main
from sim.experiment.results import differences_table, kpi_columns, load_results, summary_table


def _compare(out: Path) -> None:
    r = CliRunner().invoke(main, ["compare", "workshop", "-p", "seed-example", "-p", "volume", "-n", "2", "--days", "14", "--leads", "2000", "--out",
                                  str(out), "--json"])
    assert r.exit_code == 0, r.output


@pytest.mark.slow
def test_saved_summary_and_differences_equal_a_recomputation(tmp_path: Path):
    out = tmp_path / "s"
    _compare(out)
    assert (out / "summary.parquet").is_file() and (out / "differences.parquet").is_file()
    res = load_results(out)
    kpis = kpi_columns(res.runs.columns, res.factors)
    pd.testing.assert_frame_equal(res.summary(), summary_table(res.runs, kpis, res.factors))
    pd.testing.assert_frame_equal(res.differences(), differences_table(res.runs, kpis, res.factors, res.baseline))
    for stem in ("summary", "differences"):     # the CSV for people holds the same table
        pd.testing.assert_frame_equal(pd.read_csv(out / f"{stem}.csv"), getattr(res, stem)(), check_dtype=False)

    for stem in ("summary", "differences"):     # a folder written before they were saved
        (out / f"{stem}.parquet").unlink()
    older = load_results(out)
    pd.testing.assert_frame_equal(older.summary(), res.summary())
    pd.testing.assert_frame_equal(older.differences(), res.differences())
