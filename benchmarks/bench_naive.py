#!/usr/bin/env python
"""The 1M-lead speed target: the whole CLI on 1M leads against a naive model on 100k leads.

Run by hand (not part of the tests):

    .venv/bin/python benchmarks/bench_naive.py                    # 3 interleaved rounds
    .venv/bin/python benchmarks/bench_naive.py --rounds 3 --src /tmp/before   # also another checkout

Each round runs, each in a fresh process and one after the other (so a change of machine load hits
them alike):

* `funnelsim run baseline -p seed-example --leads 1000000 --json` (whole process: imports, world,
  engine, KPIs, JSON), in this tree and, with `--src DIR`, in another checkout's root (`git archive
  REV sim scenarios policies mappings | tar -x -C DIR`) with the same interpreter: wall seconds,
  CPU seconds (user + system) and peak RSS (`ru_maxrss` of that child, from `os.wait4`).
* the naive model below on the baseline world scaled to about 100k leads: one SimPy process per
  lead. Its figure is the simulation alone (world generation and imports excluded, so the ratio is
  the stricter one): the yardstick of the target "at most 0.35x".

The naive model ("one process per lead", the design the hybrid engine replaced): every
lead is a generator process that sleeps until its arrival, then until each of its engagement events,
adding 10 points per event; when it reaches the threshold (chosen so that about 22% of leads become
MQLs, as in the baseline) it requests one of the reps (`simpy.Resource`, as many reps as
bench_engine.py's scaling gives), holds it for an exponential 10-minute attempt, and, if the
attempt did not reach the lead (chance 0.4), releases the rep and waits a day before the next of at
most 6 attempts. No calendar, scoring decay, SLA or outcomes: it does less than the engine.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI_ARGS = ["run", "baseline", "-p", "seed-example", "--leads", "1000000", "--json"]
MIB = 1024 ** 2
DAY = 1440.0


def naive_seconds(size: int, seed: int) -> tuple[float, float, int, int]:
    """(wall and CPU seconds of the SimPy run, leads, MQLs) of the naive one-process-per-lead model."""
    import numpy as np
    import simpy

    sys.path.insert(0, str(ROOT))
    from benchmarks.bench_engine import scenario_for
    from sim.world.generate import generate_world
    sc, _, reps = scenario_for(size, "baseline")
    w = generate_world(sc, seed, 0)
    n = len(w.arrival)
    per_lead = np.diff(w.event_offsets)
    threshold = 10 * max(1, int(np.quantile(per_lead, 0.78)))      # ~22% of leads reach it
    rng = np.random.default_rng(seed)
    handle = rng.exponential(10.0, (n, 6)).tolist()
    reached = (rng.random((n, 6)) < 0.6).tolist()
    arrival, offsets, times = w.arrival.tolist(), w.event_offsets.tolist(), w.event_time.tolist()
    env = simpy.Environment()
    team = simpy.Resource(env, capacity=reps)
    mqls = [0]

    def lead(i: int):
        yield env.timeout(arrival[i] - env.now)
        score = 0
        for j in range(offsets[i], offsets[i + 1]):
            yield env.timeout(max(0.0, times[j] - env.now))
            score += 10
            if score >= threshold:
                break
        else:
            return
        mqls[0] += 1
        for k in range(6):
            with team.request() as req:
                yield req
                yield env.timeout(handle[i][k])
            if reached[i][k]:
                return
            yield env.timeout(DAY)

    t, c = time.perf_counter(), time.process_time()
    for i in range(n):
        env.process(lead(i))
    env.run()
    return time.perf_counter() - t, time.process_time() - c, n, mqls[0]


def cli_child(root: Path) -> dict:
    """Wall, CPU and peak RSS of one whole `funnelsim run ... --leads 1000000 --json` in `root`."""
    code = "import sys; sys.argv[0] = 'funnelsim'; from sim.cli import main; main()"
    t = time.perf_counter()
    p = subprocess.Popen([sys.executable, "-c", code, *CLI_ARGS], cwd=root, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"{root}: the CLI failed (status {status})")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss * 1024}


def naive_child(size: int, seed: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_naive", str(size), "--seed", str(seed)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--naive-size", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--src", type=Path, help="another checkout's root: its CLI is timed in the same rounds")
    ap.add_argument("--_naive", dest="naive", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.naive:
        s, c, n, m = naive_seconds(a.naive, a.seed)
        print(json.dumps({"seconds": s, "cpu": c, "leads": n, "mqls": m}))
        return
    trees = {"this tree": ROOT, **({"--src": a.src.resolve()} if a.src else {})}
    rows: dict[str, list[dict]] = {k: [] for k in (*trees, "naive")}
    loads = [os.getloadavg()[0]]
    for r in range(a.rounds):
        for name, root in trees.items():
            rows[name].append(cli_child(root))
        rows["naive"].append(naive_child(a.naive_size, a.seed))
        loads.append(os.getloadavg()[0])
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1].get('wall', v[-1].get('seconds')):.2f} s"
                                            for k, v in rows.items()), file=sys.stderr)
    naive = statistics.median(x["seconds"] for x in rows["naive"])
    naive_cpu = statistics.median(x["cpu"] for x in rows["naive"])
    print(f"naive model, {rows['naive'][0]['leads']:,} leads ({rows['naive'][0]['mqls']:,} MQLs): "
          f"median {naive:.2f} s of simulation ({', '.join(format(x['seconds'], '.2f') for x in rows['naive'])}),"
          f" CPU {naive_cpu:.2f} s")
    for name in trees:
        w = statistics.median(x["wall"] for x in rows[name])
        c = statistics.median(x["cpu"] for x in rows[name])
        rss = max(x["rss"] for x in rows[name]) / MIB
        print(f"{name}: 1M leads whole CLI median {w:.2f} s wall ({', '.join(format(x['wall'], '.2f') for x in rows[name])}),"
              f" CPU {c:.2f} s, peak RSS {rss:.0f} MiB; {w / naive:.2f}x the naive 100k (CPU {c / naive_cpu:.2f}x)")
    print(f"1-minute load: {' -> '.join(f'{x:.1f}' for x in loads)}")


if __name__ == "__main__":
    main()
