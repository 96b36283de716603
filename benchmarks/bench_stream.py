#!/usr/bin/env python
"""Where a large run's memory goes, stage by stage, whole or streamed (scenario [stream]).

Run by hand (not part of the tests), one run per process (a high-water mark cannot be reset):

    .venv/bin/python benchmarks/bench_stream.py --leads 9300000 --mode auto    # 10.0M leads in the world
    .venv/bin/python benchmarks/bench_stream.py --leads 9300000 --mode off

What is measured: one replication of `baseline` with `arrivals.leads_per_year = --leads` (the
baseline's 6 reps, as `funnelsim run baseline --leads N`) under one policy, through
`run_replication`. After each stage (wrapped in replication's namespace, no copy of its logic) it
prints the stage's CPU seconds (process time; system time, mostly first touches of fresh memory,
in brackets) and the process's RSS and RSS high-water mark (VmRSS, VmHWM from /proc/self/status,
Linux only). The world's kept events are printed at the end.
"""
from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any


def memory() -> str:
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    mib = {k: int(status[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}
    return f"rss {mib['VmRSS']:7.0f} MiB  peak {mib['VmHWM']:7.0f} MiB"


def timed(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
    def stage(*args: Any, **kwargs: Any) -> Any:
        t, sys0 = time.process_time(), os.times().system
        out = f(*args, **kwargs)
        cpu, sys1 = time.process_time() - t, os.times().system - sys0
        print(f"{name:18s} cpu {cpu:6.2f} s ({sys1:4.2f} sys)  {memory()}", flush=True)
        return out
    return stage


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--leads", type=float, default=9_300_000, help="arrivals.leads_per_year")
    p.add_argument("--mode", choices=("off", "on", "auto"), default="auto", help="stream.mode")
    p.add_argument("--policy", default="seed-example")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()

    import sim.experiment.replication as replication
    from sim.inputs import load_policy, load_scenario

    for name in ("streamed_world", "generate_world", "score_world", "play_out", "account_outcomes", "run_kpis",
                 "detail_kpis", "account_kpis"):
        setattr(replication, name, timed(name, getattr(replication, name)))
    run = replication.SalesProcess.run
    replication.SalesProcess.run = timed("sales (SimPy)", run)   # type: ignore[method-assign]
    sc = load_scenario("baseline", [("arrivals.leads_per_year", a.leads), ("stream.mode", a.mode)])
    pol = load_policy(a.policy, [])
    print(f"{'start':18s} {'':15s}{memory()}")
    t = time.process_time()
    rep = replication.run_replication(sc, [pol], seed=a.seed)
    w = rep.world
    print(f"{'end to end':18s} cpu {time.process_time() - t:6.2f} s  {memory()}")
    print(f"leads {w.n:,}, kept events {w.event_time.size:,}, streamed {w.chunk is not None}, "
          f"events dropped {w.kept_for is not None}, MQL episodes {rep.runs[pol.name].log.ep_lead.size:,}")


if __name__ == "__main__":
    main()
