#!/usr/bin/env python
"""The sales stage alone: CPU seconds and traced peak memory of `SalesProcess` (construction and
run, the SalesLog included), with deferred arrivals (the default) and without, on the shipped
baseline scaled to a lead volume with its own 6 reps (a backlog that never clears from ~100k
leads a year, as in the issue's 1M and 10M figures).

Run by hand (not part of the tests):

    .venv/bin/python benchmarks/bench_sales.py                          # 1M leads a year, 3 rounds
    .venv/bin/python benchmarks/bench_sales.py --leads 9300000 --rounds 1

The world and the scoring are made once, outside the timings. Each round runs both modes,
interleaved; CPU is process time without tracemalloc, the peak is tracemalloc's in a second run
(it slows the run down).
"""
from __future__ import annotations

import argparse
import gc
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--leads", type=int, default=1_000_000, help="arrivals.leads_per_year")
    ap.add_argument("--policy", default="seed-example")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    from sim.calendar import BusinessCalendar
    from sim.config.loading import load_model
    from sim.config.policy import Policy
    from sim.config.scenario import Scenario
    from sim.decisions.mql import compile_policy
    from sim.decisions.oracle import next_mql
    from sim.decisions.scoring import score_world
    from sim.sales.params import EngineParams
    from sim.sales.process import Mqls, SalesProcess
    from sim.world.generate import generate_world
    from sim.world.response import ResponseModel

    sc = load_model(Scenario, ROOT / "scenarios" / "baseline.toml", [("arrivals.leads_per_year", args.leads)])
    pol = load_model(Policy, ROOT / "policies" / f"{args.policy}.toml")
    world = generate_world(sc, args.seed)
    cal = BusinessCalendar.from_scenario(sc)
    s = score_world(world, pol)
    params = EngineParams.resolve(pol, sc, ResponseModel.from_scenario(sc.response).scalar_contact_probability())
    rules = compile_policy(pol)

    def run(defer: bool) -> tuple[float, int, int]:
        gc.collect()
        t0 = time.process_time()
        proc = SalesProcess(world, Mqls(s.mql_time, s.mql_tier, s.mql_score), params, cal,
                            lambda lead, after: next_mql(world, pol, lead, after, rules=rules), defer=defer)
        log = proc.run()
        return time.process_time() - t0, int(log.ep_lead.size), int((log.ep_attempts == 0).sum())

    print(f"{world.n:,} leads in the world, policy {args.policy}, {sc.sales.reps} reps")
    print(f"{'mode':<10}{'CPU s':>8}{'peak MiB':>10}{'B/episode':>11}{'episodes':>11}{'untouched':>11}")
    for _ in range(args.rounds):
        for defer in (True, False):
            cpu, episodes, untouched = run(defer)
            tracemalloc.start()
            run(defer)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"{'deferred' if defer else 'eager':<10}{cpu:>8.2f}{peak / 2**20:>10.1f}{peak / episodes:>11.0f}"
                  f"{episodes:>11,}{untouched:>11,}")


if __name__ == "__main__":
    main()
