"""What the statistics cost in a sweep: a 20-point threshold sweep (workshop, 2 policies, 10
replications = 400 runs, in one process) is run once; then the summary and paired-difference
tables are computed from its runs table with the current statistics (intervals by KPI kind, Holm)
and with the previous single-Student-t code (read from git at `--before`), and both are set against
the sweep's wall time. Run by hand, not in the test suite.

    python benchmarks/bench_stats.py [--replications 10] [--repeat 3] [--before 09f8a99]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import time
import types

from sim.experiment.results import differences_table, kpi_columns, summary_table


def old_stats(commit: str) -> types.ModuleType:
    """The statistics module as it was at `commit` (one t interval for every KPI)."""
    src = subprocess.run(["git", "show", f"{commit}:sim/measure/stats.py"], capture_output=True, text=True,
                         check=True).stdout
    mod = types.ModuleType("old_stats")
    exec(compile(src, "old_stats.py", "exec"), mod.__dict__)
    return mod


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", default="09f8a99", help="git commit of the previous statistics")
    a = ap.parse_args()
    import sim
    t = time.perf_counter()
    res = sim.sweep("workshop", ["seed-example", "volume"], {"mql.threshold": "40:78:2"},
                    replications=a.replications, seed=1)
    wall = time.perf_counter() - t
    runs, factors = res.runs, res.factors
    kpis = kpi_columns(runs.columns, factors)
    print(f"sweep: {runs['point'].nunique()} points x 2 policies x {a.replications} replications = {len(runs)} runs, "
          f"{len(kpis)} KPI columns; wall {wall:.1f} s (includes one summary); load {os.getloadavg()[0]:.2f}")
    new = best(lambda: (summary_table(runs, kpis, factors), differences_table(runs, kpis, factors, "seed-example")),
               a.repeat)
    old = old_stats(a.before)

    def previous() -> None:
        for _, df in runs.groupby(["scenario", "point"], sort=False):
            old.summarise(df, kpis)
            old.paired(df, kpis, "seed-example")
    before = best(previous, a.repeat)
    print(f"statistics now:    {new:.2f} s = {100 * new / wall:.1f}% of the sweep's wall time")
    print(f"statistics before: {before:.2f} s = {100 * before / wall:.1f}% (single Student t, {a.before})")
    print(f"added by the new statistics: {100 * (new - before) / wall:+.1f}% of the sweep's wall time")


if __name__ == "__main__":
    main()
