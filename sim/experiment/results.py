"""A saved results folder, read back for reports and notebooks: `sim.load_results(path)`.

Layout of `outputs/<name>-<timestamp>/` (written by `run`, `compare`, `sweep`, `experiment`, `demo`):

    manifest.json       kind, name, command, seed, replications, baseline policy, scenarios and
                        policies fully resolved ({name: model_dump}), design (factors and points),
                        objective/constraints if any, versions, git commit, created
    runs.parquet/.csv   one tidy row per run = scenario x policy x point x replication:
                        run_id, scenario, policy, point, replication, seed, one column per swept
                        factor (named by its dotted path, e.g. "policy.mql.threshold"), then every
                        KPI (flat: state_<s>, reason_<r> for the nested counts)
    summary.csv         scenario, policy, point, factors..., kpi, mean, lower, upper, half_width, n,
                        n_total, status (ok / too_few / undefined), method, count (pooled
                        denominator of a share), n_to_halve (see sim.measure.stats)
    differences.csv     paired on replication within (scenario, point), each policy vs the baseline
                        policy: scenario, point, factors..., policy, baseline, kpi, diff, lower,
                        upper, n, relative, relative_lower, relative_upper, p_value, p_holm,
                        significant (Holm-adjusted over the table), status, method
    summary.parquet, differences.parquet
                        the same two tables, read back exactly by `load_results` (the report and
                        the printed summary do not recompute them)
    timeseries.parquet  daily series per run: run_id, scenario, policy, point, replication, date,
                        day, in_window, arrivals, mql_episodes, touches, queue_mean,
                        queue_at_midnight, oldest_wait_hours, oldest_wait_business_hours,
                        rep_utilisation, overload (with the hand-off on also ae_utilisation,
                        sqls_waiting_for_ae, ae_meetings, ae_meetings_held; with a roster, scenario
                        [sales] reps as people, also rep_hours_available and rep_hours_effective)
    diagnostics.json    warm-up and steady-state diagnostics per (scenario, point, policy)
                        (sim.measure.steady.Diagnostic; NaN saved as null), read back by `load_results`
    recommendation.json the recommended point (sweeps with an objective), if any
    errors.json         runs that failed (id, error), if any
    COMPLETE            written last: a folder without it is incomplete (interrupted or failed)
    report.html         the report, figures embedded (one self-contained file)
    figures/            the report's figures as SVG (one file each, for slides)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, cast

if TYPE_CHECKING:
    import pandas as pd

    from sim.measure.steady import Diagnostic
    from sim.measure.timeseries import Columns

# pandas is imported where a table is needed: a single `run` prints its rows without it.
# sim.measure.stats is imported in the table functions: a single `run` computes no summary

RUN_KEYS = ("run_id", "scenario", "policy", "point", "replication", "seed")
COMPLETE = "COMPLETE"
DIAGNOSTICS = "diagnostics.json"    # the steady-state diagnostics, computed once when the folder is written

Rows = list[dict[str, Any]]


class _Table:
    """A DataFrame attribute that may hold rows (a list of dicts) or numpy columns (a dict) until
    first read: results kept in memory become DataFrames only when something reads them as one."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}_held"

    def __get__(self, obj: object, objtype: type | None = None) -> pd.DataFrame:
        if obj is None:
            raise AttributeError(self.slot)     # a dataclass field without a default
        held = obj.__dict__[self.slot]
        if isinstance(held, (list, dict)):
            import pandas as pd
            held = obj.__dict__[self.slot] = pd.DataFrame(held)
        return cast("pd.DataFrame", held)

    def __set__(self, obj: object, value: pd.DataFrame | Rows | Columns) -> None:
        obj.__dict__[self.slot] = value


@dataclass(repr=False)
class Results:
    """Runs, daily series and manifest of one results folder (or of a run kept in memory).

    `runs` and `timeseries` are pandas DataFrames; results kept in memory hold rows and numpy
    columns until they are read as such (`run_rows` and `daily_series` read them without pandas)."""

    path: Path | None              # None: results kept in memory only
    manifest: dict[str, Any]
    runs: _Table = _Table()
    timeseries: _Table = _Table()
    recommendation: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = True
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, compare=False)
    _diagnostics: list[Diagnostic] | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return f"Results(path={self.path!r}, runs={len(self.__dict__['_runs_held'])}, complete={self.complete})"

    def run_rows(self) -> Rows:
        """The runs as rows (dicts), in order: without pandas when they were kept in memory."""
        held = self.__dict__["_runs_held"]
        if isinstance(held, list):
            return held
        return [{str(k): v for k, v in r.items()} for r in self.runs.to_dict("records")]

    @property
    def daily_series(self) -> pd.DataFrame | Columns:
        """The daily series as held: numpy columns (kept in memory) or a DataFrame (read back)."""
        held: pd.DataFrame | Columns = self.__dict__["_timeseries_held"]
        return held

    def _columns(self) -> list[str]:
        held = self.__dict__["_runs_held"]
        if isinstance(held, list):
            return list(dict.fromkeys(k for r in held for k in r))
        return list(self.runs.columns)

    @property
    def factors(self) -> list[str]:
        """Swept settings (dotted paths), in design order."""
        return [f["path"] for f in self.manifest.get("design", {}).get("factors", [])]

    @property
    def kpi_names(self) -> list[str]:
        return kpi_columns(self._columns(), self.factors)

    @property
    def baseline(self) -> str:
        return self.manifest.get("baseline") or str(self.policies[0])

    @property
    def policies(self) -> list[str]:
        held = self.__dict__["_runs_held"]
        if isinstance(held, list):
            return list(dict.fromkeys(r["policy"] for r in held))
        return list(dict.fromkeys(self.runs["policy"]))

    def summary(self) -> pd.DataFrame:
        """Estimate and 95% interval per (scenario, point, policy) and KPI (computed once)."""
        if "summary" not in self._tables:
            self._tables["summary"] = summary_table(self.runs, self.kpi_names, self.factors)
        return self._tables["summary"]

    def differences(self) -> pd.DataFrame:
        """Each policy minus the baseline policy, paired on replication, per (scenario, point)
        (computed once)."""
        if "differences" not in self._tables:
            self._tables["differences"] = differences_table(self.runs, self.kpi_names, self.factors, self.baseline)
        return self._tables["differences"]

    def steady_state(self) -> list[Diagnostic]:
        """Warm-up and steady-state diagnostics per (scenario, point, policy) (`sim.measure.steady`):
        read from the folder when saved there, else computed once."""
        if self._diagnostics is None:
            from sim.measure.steady import diagnose, scenario_dumps
            self._diagnostics = diagnose(self.daily_series, scenario_dumps(self.manifest))
        return self._diagnostics


def kpi_columns(columns: Iterable[str], factors: list[str]) -> list[str]:
    """The KPI columns of a runs table: everything but the run keys and the factor columns."""
    skip = set(RUN_KEYS) | set(factors)
    return [c for c in columns if c not in skip]


def _groups(runs: pd.DataFrame, factors: list[str]) -> Iterator[tuple[dict[str, Any], dict[str, Any], pd.DataFrame]]:
    keys = ["scenario", "point"]
    for key, df in runs.groupby(keys, sort=False):
        extra = {f: df[f].iloc[0] for f in factors}
        yield dict(zip(keys, key)), extra, df


def summary_table(runs: pd.DataFrame, kpis: list[str], factors: list[str]) -> pd.DataFrame:
    from sim.measure.stats import summarise
    parts = []
    for key, extra, df in _groups(runs, factors):
        s = summarise(df, kpis)
        parts.append(s.assign(**key, **extra))
    import pandas as pd
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(out):
        out["half_width"] = (out["upper"] - out["lower"]) / 2
        out = out[["scenario", "policy", "point", *factors, "kpi", "mean", "lower", "upper", "half_width", "n",
                   "n_total", "status", "method", "count", "n_to_halve"]]
    return out


def differences_table(runs: pd.DataFrame, kpis: list[str], factors: list[str], baseline: str) -> pd.DataFrame:
    from sim.measure.stats import adjust_significance, paired
    parts = []
    for key, extra, df in _groups(runs, factors):
        if baseline in set(df["policy"]) and df["policy"].nunique() > 1:
            parts.append(paired(df, kpis, baseline).assign(**key, **extra))
    import pandas as pd
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(out):
        out = adjust_significance(out)      # Holm over every comparison of a KPI: policies and points
        out = out[["scenario", "point", *factors, "policy", "baseline", "kpi", "diff", "lower", "upper", "n",
                   "relative", "relative_lower", "relative_upper", "p_value", "p_holm", "significant", "status",
                   "method"]]
    return out


def _table(folder: Path, stem: str) -> pd.DataFrame:
    import pandas as pd
    pq, csv = folder / f"{stem}.parquet", folder / f"{stem}.csv"
    if pq.exists():
        return pd.read_parquet(pq)
    if csv.exists():
        return pd.read_csv(csv)
    return pd.DataFrame()


def load_results(path: str | Path) -> Results:
    """Read a results folder. Raises FileNotFoundError if it has no manifest or runs table."""
    import pandas as pd
    folder = Path(path)
    mf = folder / "manifest.json"
    if not mf.is_file():
        raise FileNotFoundError(f"{folder}: no manifest.json (not a funnelsim results folder)")
    manifest = json.loads(mf.read_text(encoding="utf-8"))
    runs = _table(folder, "runs")
    if runs.empty:
        raise FileNotFoundError(f"{folder}: no runs table (runs.parquet or runs.csv)")
    ts = _table(folder, "timeseries")
    rec = folder / "recommendation.json"
    err = folder / "errors.json"
    saved = {stem: pd.read_parquet(folder / f"{stem}.parquet") for stem in ("summary", "differences")
             if (folder / f"{stem}.parquet").is_file()}     # written with the runs table: not recomputed
    diag = folder / DIAGNOSTICS
    steady = None
    if diag.is_file():                                      # likewise
        from sim.measure.steady import Diagnostic
        steady = [Diagnostic.from_dict(d) for d in json.loads(diag.read_text(encoding="utf-8"))]
    return Results(folder, manifest, runs, ts,
                   json.loads(rec.read_text(encoding="utf-8")) if rec.is_file() else None,
                   json.loads(err.read_text(encoding="utf-8")) if err.is_file() else [],
                   (folder / COMPLETE).is_file(), saved, steady)
