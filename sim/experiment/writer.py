"""Writing a results folder incrementally, so an interrupted experiment can be resumed.

While running, the folder holds `manifest.json`, an `INCOMPLETE` marker and one part per finished
group of tasks in `parts/` (named after the group's first task; its rows' `run_id` say which tasks
it holds). At the end the parts are assembled into the tables of the layout documented in
`sim/experiment/results.py`, and `COMPLETE` is written last. Ctrl-C (or a failed task) leaves the
folder marked incomplete, never one that looks complete; `--resume DIR` runs only the missing tasks
of the same design (checked by fingerprint).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment.results import COMPLETE, DIAGNOSTICS, differences_table, kpi_columns, summary_table
from sim.experiment.store import write_json
from sim.experiment.world_task import TaskResult
from sim.measure.timeseries import concat_columns

INCOMPLETE = "INCOMPLETE"
PARTS = "parts"


class ResumeError(ValueError):
    """A folder given to --resume cannot be resumed with this design."""


def _atomic_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _atomic_arrow(table: Any, path: Path) -> None:
    """`_atomic_parquet` for a pyarrow Table: the parts written while workers run skip pandas'
    conversion (half to two thirds of a part's CPU, taken from the workers' cores)."""
    import pyarrow.parquet as pq
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _saved_table(df: pd.DataFrame, path: Path) -> None:
    """Keep a computed table for `load_results`. Only a cache (its CSV is the record): a table
    parquet cannot hold (columns of mixed types) is simply recomputed when read."""
    try:
        _atomic_parquet(df, path)
    except (TypeError, ValueError):     # pyarrow's conversion errors derive from these
        path.with_name(path.name + ".tmp").unlink(missing_ok=True)


def _task_id(run_ids: pd.Series) -> pd.Series:
    """The task id of each run id (`<task id>:<policy>`; task ids hold no colon)."""
    return run_ids.astype(str).str.split(":", n=1).str[0]


class ResultsWriter:
    """One results folder: parts while running, tables and the completion marker at the end."""

    def __init__(self, folder: Path, task_ids: list[str], manifest: dict[str, Any] | None = None):
        self.folder = folder
        self.manifest = manifest or {}
        self.parts = folder / PARTS
        self.order = {tid: i for i, tid in enumerate(task_ids)}
        self._pending: list[TaskResult] = []     # results of a group not yet saved

    @classmethod
    def create(cls, folder: Path, manifest: dict[str, Any], task_ids: list[str]) -> "ResultsWriter":
        """A new folder (never an existing one)."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir()                       # FileExistsError if it exists: never overwrite
        w = cls(folder, task_ids, manifest)
        w._mark_incomplete("running")
        write_json(folder / "manifest.json", manifest)
        w.parts.mkdir()
        return w

    @classmethod
    def resume(cls, folder: Path, manifest: dict[str, Any], task_ids: list[str]) -> tuple["ResultsWriter", set[str]]:
        """Reopen an interrupted folder of the same design; returns the writer and the finished task ids."""
        import json
        mf = folder / "manifest.json"
        if not mf.is_file():
            raise ResumeError(f"{folder}: no manifest.json, so not a results folder to resume")
        if (folder / COMPLETE).exists():
            raise ResumeError(f"{folder}: already complete; nothing to resume")
        old = json.loads(mf.read_text(encoding="utf-8"))
        if old.get("fingerprint") != manifest.get("fingerprint"):
            raise ResumeError(f"{folder}: was made by a different design (scenarios, policies, factors, "
                              "replications or seed differ); run the same command that created it")
        w = cls(folder, task_ids, manifest)
        w.parts.mkdir(exist_ok=True)
        for stale in w.parts.glob("*.tmp"):
            stale.unlink()
        done: set[str] = set()
        stems = set()
        for p in w.parts.glob("*.runs.parquet"):
            stems.add(p.name[: -len(".runs.parquet")])
            done.update(_task_id(pd.read_parquet(p, columns=["run_id"])["run_id"]).unique())
        for ts in w.parts.glob("*.ts.parquet"):     # a group interrupted between its two files
            if ts.name[: -len(".ts.parquet")] not in stems:
                ts.unlink()
        for f in (COMPLETE, "errors.json"):
            (folder / f).unlink(missing_ok=True)
        w._mark_incomplete("running (resumed)")
        return w, done & set(task_ids)

    def _mark_incomplete(self, why: str) -> None:
        (self.folder / INCOMPLETE).write_text(
            f"These results are {why}, not complete. If the run was interrupted, finish it with the same "
            "command plus --resume <this folder>.\n", encoding="utf-8")

    def add(self, res: TaskResult) -> None:
        """Take one finished task; a group's tasks are saved together when its `last` result
        arrives (results of a group arrive one after the other)."""
        self._pending.append(res)
        if res.last:
            self._flush()

    def _flush(self) -> None:
        """Save the pending tasks as one part: daily series, optional event logs, then rows (the
        rows file appearing, atomically, is what marks its tasks done)."""
        group, self._pending = self._pending, []
        if not group:
            return
        name = group[0].id
        import pyarrow as pa
        series = [r.timeseries for r in group if r.timeseries is not None]
        if series:
            _atomic_arrow(pa.table(concat_columns(series)), self.parts / f"{name}.ts.parquet")
        for res in group:
            if res.events:
                ev = self.folder / "events"
                ev.mkdir(exist_ok=True)
                for rid, df in res.events.items():
                    path = ev / f"{rid.replace(':', '__')}.parquet"     # "attempts/<run>": a subfolder
                    path.parent.mkdir(exist_ok=True)
                    _atomic_parquet(df, path)
        rows = [row for r in group for row in r.rows]
        names = dict.fromkeys(k for row in rows for k in row)   # every column of any row (policies differ)
        _atomic_arrow(pa.table({k: [row.get(k) for row in rows] for k in names}), self.parts / f"{name}.runs.parquet")

    def _read(self, suffix: str) -> pd.DataFrame:
        """Every part's table, rows in task order (a part may hold several tasks)."""
        self._flush()
        files = sorted(self.parts.glob(f"*{suffix}"),
                       key=lambda p: self.order.get(p.name[: -len(suffix)], len(self.order)))
        if not files:
            return pd.DataFrame()
        parts = [pd.read_parquet(f) for f in files]
        if all("run_id" in df for df in parts):
            parts = self._in_task_order(parts)
        return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)

    def _in_task_order(self, parts: list[pd.DataFrame]) -> list[pd.DataFrame]:
        """The parts cut into runs of one task each, ordered by task (stable): one copy at the
        concat, instead of a concat and then a sort."""
        pieces = []
        for i, df in enumerate(parts):
            if df.empty:
                continue
            ids = df["run_id"].to_numpy()
            uniq = pd.unique(ids)
            rank_of = dict(zip(uniq, (self.order.get(t, len(self.order)) for t in _task_id(pd.Series(uniq)))))
            rank = np.fromiter((rank_of[r] for r in ids), dtype=np.int64, count=len(ids))
            cuts = np.flatnonzero(np.diff(rank)) + 1
            for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(ids)]):
                pieces.append((int(rank[lo]), i, int(lo), df.iloc[lo:hi]))
        if [p[:3] for p in pieces] == sorted(p[:3] for p in pieces):
            return parts                     # already in order (one task per part)
        return [p[3] for p in sorted(pieces, key=lambda p: p[:3])]

    def runs(self) -> pd.DataFrame:
        """Every finished task's rows, in task order."""
        return self._read(".runs.parquet")

    def finish(self, runs: pd.DataFrame, factors: list[str], baseline: str, errors: list[dict[str, Any]],
               recommendation: dict[str, Any] | None = None) -> None:
        """Write the tables from `runs` (see `runs()`), the parts' daily series and their
        steady-state diagnostics. With errors the folder stays INCOMPLETE (resume retries the
        failed tasks)."""
        if len(runs):
            runs.to_parquet(self.folder / "runs.parquet", index=False)
            runs.to_csv(self.folder / "runs.csv", index=False)
            kpis = kpi_columns(runs.columns, factors)
            # computed once: the report and the printed summary read the .parquet back (exact)
            summary = summary_table(runs, kpis, factors)
            summary.to_csv(self.folder / "summary.csv", index=False)
            _saved_table(summary, self.folder / "summary.parquet")
            diffs = differences_table(runs, kpis, factors, baseline)
            if len(diffs):
                diffs.to_csv(self.folder / "differences.csv", index=False)
                _saved_table(diffs, self.folder / "differences.parquet")
        ts = self._read(".ts.parquet")
        if len(ts):
            ts.to_parquet(self.folder / "timeseries.parquet", index=False)
            # computed once: the report's health flags and the printed warnings read them back
            from sim.measure.steady import diagnose, scenario_dumps
            write_json(self.folder / DIAGNOSTICS, [d.as_dict() for d in diagnose(ts, scenario_dumps(self.manifest))])
        if recommendation is not None:
            write_json(self.folder / "recommendation.json", recommendation)
        if errors:
            write_json(self.folder / "errors.json", errors)
            self._mark_incomplete(f"missing {len(errors)} failed task(s) (see errors.json)")

    def mark_complete(self) -> None:
        """Last step of a successful experiment (after the report): drop the parts, write COMPLETE."""
        shutil.rmtree(self.parts, ignore_errors=True)
        (self.folder / INCOMPLETE).unlink(missing_ok=True)
        (self.folder / COMPLETE).write_text("complete\n", encoding="utf-8")
