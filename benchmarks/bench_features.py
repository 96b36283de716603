#!/usr/bin/env python
"""What each feature of the sales stage costs, for the target "no feature at its default costs more
than 10%". Run by hand (not part of the tests):

    .venv/bin/python benchmarks/bench_features.py                 # 5 interleaved rounds, ~100k leads
    .venv/bin/python benchmarks/bench_features.py --rounds 7 --size 100000

One replication through `sim.experiment.replication.run_replication` (as bench_engine.py: the
`baseline` scenario scaled to about `--size` leads in the world, reps scaled so they stay ~70%
busy, policy `seed-example`), once per variant below, the variants interleaved round by round so a
change of machine load hits them alike. Reported: the median CPU seconds (process_time, steadier
than wall time on a shared machine) of the sales stage (SalesProcess construction and run) and of
the whole replication, and each variant's ratio to its reference.

Variants, each against the reference named with it:

* armed but never triggered (the feature's machinery alone; the target: at most 1.10x):
  triage with a backlog threshold no queue reaches; escalate and recycle with SLA targets of
  1000 business days (never breached); patience of 30,000 days in queueing mode;
* in use (what the feature costs when it does something, for information): priority, freshest
  and round-robin routing, escalate, recycle, triage at a backlog of 20, patience of 4 hours;
* on by default: the cadence's 3 attempts (the default policy again) against 1
  (`cadence.max_attempts = 1`).

Queueing mode (patience) runs on `baseline` with `queueing.enabled`, `queueing.sales = "scenario"`
and an MQL rate giving about as many MQLs as the scored baseline.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_engine import leads_per_year_for, reps_for  # noqa: E402
from sim.calendar import BusinessCalendar  # noqa: E402
from sim.experiment import replication  # noqa: E402
from sim.inputs import load_policy, load_scenario  # noqa: E402
from sim.world.generate import generate_world  # noqa: E402

NEVER = "1000bd"
QUEUEING = [("queueing.enabled", True), ("queueing.sales", "scenario")]
# (label, reference label, scenario overrides, policy overrides)
VARIANTS: list[tuple[str, str, list, list]] = [
    ("default (seed-example)", "", [], []),
    ("triage armed, never triggered", "default (seed-example)", [], [("routing.triage_backlog", 10 ** 9)]),
    ("escalate armed, never breached", "default (seed-example)", [],
     [("sla.breach_action", "escalate"), ("sla.targets.demo", NEVER), ("sla.targets.high_intent", NEVER),
      ("sla.targets.standard", NEVER), ("sla.targets.re_engaged", NEVER)]),
    ("recycle armed, never breached", "default (seed-example)", [],
     [("sla.breach_action", "recycle"), ("sla.recycle_after", NEVER)]),
    ("cadence off (1 attempt)", "", [], [("cadence.max_attempts", 1)]),
    ("cadence at its default (3 attempts)", "cadence off (1 attempt)", [], []),
    ("priority routing", "default (seed-example)", [], [("routing.discipline", "priority")]),
    ("freshest routing", "default (seed-example)", [], [("routing.discipline", "freshest")]),
    ("round-robin routing", "default (seed-example)", [], [("routing.discipline", "round_robin")]),
    ("escalate in use", "default (seed-example)", [], [("sla.breach_action", "escalate")]),
    ("recycle in use", "default (seed-example)", [], [("sla.breach_action", "recycle")]),
    ("triage in use (backlog 20)", "default (seed-example)", [], [("routing.triage_backlog", 20)]),
    ("queueing mode, no patience", "", QUEUEING, []),
    ("patience armed, 30,000 days", "queueing mode, no patience", [*QUEUEING, ("queueing.patience", "30000d")], []),
    ("patience in use, 4 h", "queueing mode, no patience", [*QUEUEING, ("queueing.patience", "4h")], []),
]


def prepare(size: int) -> list[tuple[str, str, object, object, object, object]]:
    """(label, reference, scenario, policy, world, calendar) per variant; worlds generated once."""
    lpy = leads_per_year_for(size, "baseline")
    base = [("arrivals.leads_per_year", lpy), ("sales.reps", reps_for(lpy))]
    out, worlds = [], {}
    for label, ref, sc_over, pol_over in VARIANTS:
        over = base + sc_over
        if sc_over:          # queueing: about the scored baseline's MQLs an hour (22% of leads)
            over.append(("queueing.mql_rate", 0.22 * lpy / (365 * 24)))
        sc = load_scenario("baseline", over)
        key = repr(sc_over)
        if key not in worlds:
            worlds[key] = (generate_world(sc, 1, 0), BusinessCalendar.from_scenario(sc))
        out.append((label, ref, sc, load_policy("seed-example", pol_over), *worlds[key]))
    return out


def one(sc, pol, world, cal) -> tuple[float, float, int]:
    """(sales-stage CPU seconds, replication CPU seconds, MQL episodes) of one run."""
    spent = [0.0]
    real = replication.SalesProcess

    class Timed(real):  # type: ignore[misc, valid-type]
        def run(self):
            c = time.process_time()
            try:
                return super().run()
            finally:
                spent[0] += time.process_time() - c

    replication.SalesProcess = Timed
    try:
        gc.collect()
        c = time.process_time()
        rep = replication.run_replication(sc, [pol], 1, world=world, calendar=cal)
        total = time.process_time() - c
    finally:
        replication.SalesProcess = real
    return spent[0], total, int(rep.runs[pol.name].log.ep_lead.size)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    cases = prepare(a.size)
    sales: dict[str, list[float]] = {c[0]: [] for c in cases}
    total: dict[str, list[float]] = {c[0]: [] for c in cases}
    episodes: dict[str, int] = {}
    loads = [os.getloadavg()[0]]
    for _ in range(a.rounds):
        for label, _ref, sc, pol, world, cal in cases:
            s, t, n = one(sc, pol, world, cal)
            sales[label].append(s)
            total[label].append(t)
            episodes[label] = n
        loads.append(os.getloadavg()[0])
    med = {k: (statistics.median(sales[k]), statistics.median(total[k])) for k in sales}
    print(f"~{a.size:,} leads, median of {a.rounds} interleaved rounds, CPU seconds; 1-minute load "
          + " -> ".join(f"{x:.1f}" for x in loads))
    print("| variant | MQL episodes | sales stage | x reference | replication (world given) | x reference |")
    print("|---|---|---|---|---|---|")
    for label, ref, *_ in cases:
        s, t = med[label]
        rs = f"{s / med[ref][0]:.2f}x" if ref else "-"
        rt = f"{t / med[ref][1]:.2f}x" if ref else "-"
        print(f"| {label} | {episodes[label]:,} | {s:.3f} s | {rs} | {t:.3f} s | {rt} |")


if __name__ == "__main__":
    main()
