"""Benchmark the execution engines: the same experiment - baseline scenario, 4 policies x
8 replications - run sequentially, on local worker processes and on a Dask LocalCluster, checking
that all three give identical results. Run by hand (`make bench`), not in the test suite.

    python benchmarks/bench_experiment.py [--replications 8] [--workers 2] [--repeat 1]
"""
from __future__ import annotations

import argparse
import os
import time

import pandas as pd

from sim.experiment.execution import run_plan
from sim.experiment.task_plan import build_plan

POLICIES = ["seed-example", "volume", "fit-and-intent", "speed-first"]


def timed(plan, **kw) -> tuple[float, pd.DataFrame]:
    t = time.perf_counter()
    res = run_plan(plan, **kw).results
    return time.perf_counter() - t, res.runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1, help="best of N for each engine")
    ap.add_argument("--scenario", default="baseline")
    a = ap.parse_args()
    plan = build_plan("compare", "bench", [a.scenario], POLICIES, replications=a.replications, seed=1)
    print(f"{a.scenario}: {len(POLICIES)} policies x {a.replications} replications = {plan.runs_total} runs "
          f"({len(plan.tasks)} worlds); cores: {os.cpu_count()}; load before: {os.getloadavg()[0]:.2f}")
    engines = {"sequential": {}, f"processes x{a.workers}": {"workers": a.workers},
               f"dask LocalCluster x{a.workers}": {"workers": a.workers, "dask": "local"}}
    times, runs = {}, {}
    for name, kw in engines.items():
        best = float("inf")
        for _ in range(a.repeat):
            t, r = timed(plan, **kw)
            best = min(best, t)
        times[name], runs[name] = best, r
        print(f"  {name:<26} {best:7.2f} s   speed-up {times['sequential'] / best:4.2f}x", flush=True)
    ref = runs["sequential"]
    same = all(ref.equals(r) for r in runs.values())
    print(f"identical results across engines: {same}; load after: {os.getloadavg()[0]:.2f}")
    dask_name, proc_name = list(engines)[2], list(engines)[1]
    print(f"Dask overhead vs processes: {times[dask_name] - times[proc_name]:+.2f} s "
          f"({times[dask_name] / times[proc_name]:.2f}x)")


if __name__ == "__main__":
    main()
