#!/usr/bin/env python
"""Engine benchmark: leads per second per stage and end to end, and peak memory.

Run by hand (not part of the tests):

    .venv/bin/python benchmarks/bench_engine.py                      # 100k and 1M leads, 3 repeats
    .venv/bin/python benchmarks/bench_engine.py --sizes 100000 --repeat 5 --memory none

What is measured (the engine is hybrid for speed: vectorised world, scoring and outcomes; SimPy only
for the MQLs competing for reps):

* One replication of the baseline scenario under one policy (`seed-example` by default), through the
  real entry point `sim.experiment.replication.run_replication`. Scenario/policy loading (TOML + validation)
  and imports are outside the timings.
* Size = leads in the world, in total. The baseline horizon is kept (28d warm-up + 182d window +
  180d run-out = 390 days), so `arrivals.leads_per_year` is set so that the *expected* number of
  leads over the horizon is the size (from the arrival grid's expected total, which includes the
  weekday profile and the spring webinar spike). The table shows both leads/year and the lead count.
* The team grows with volume so reps stay ~70% busy, as in the baseline (6 reps for 40k
  leads/year): reps = round(6 * leads_per_year / 40000). Otherwise the queue explodes and the
  benchmark would time a pathological backlog. Utilisation and mean queue length are printed.
* Stages, timed inside that one end-to-end call by wrapping the names `run.py` calls (no copy of
  its logic here, so the stage times add up to the end-to-end time, minus a tiny "other"):
    world          generate_world + BusinessCalendar.from_scenario
    scoring        score_world
    sales (SimPy)  SalesProcess construction + run (includes the re-MQL searches of recycled
                   leads, `oracle.next_mql`, which are also shown on their own)
    outcomes+KPIs  play_out + run_kpis + detail_kpis
    other          what run.py does between those (ResponseModel, compile_policy, ...)
  Every rate is in leads of the world per second (total leads / stage seconds), so the rates
  compare directly; the sales stage also shows microseconds per MQL episode and per attempt.
* Each size is run --repeat times in this process (same seed: the same work every time);
  best and median wall-clock seconds are reported, with the best CPU seconds (process_time) next
  to them: when wall >> CPU, other processes were competing for the cores and the run is noisy.
  The first run in a process is usually the slowest: it touches memory for the first time (see
  the page-fault column: minor faults per stage; in VMs that back guest memory lazily, e.g.
  Firecracker, first-touching 512 MB was measured at ~1.4 s vs 0.04 s once touched).
* Peak memory, in two fresh subprocesses per size (a high-water mark cannot be reset in-process):
    rss          resource.getrusage(RUSAGE_SELF).ru_maxrss after the run minus the RSS just before
                 it (imports and scenario loading done, high-water mark reset through
                 /proc/self/clear_refs on Linux): the extra memory the OS had to give the run.
    tracemalloc  tracemalloc's peak of traced memory during the run (Python objects and numpy
                 buffers; not the interpreter, not freed-but-cached pages), overall and during
                 each stage (tracemalloc.reset_peak() at each stage start; absolute, so memory
                 kept alive from earlier stages counts). tracemalloc slows the run down, which
                 is why it runs separately from the timings.
  The 1 GiB target is checked against the larger of the two.

Targets: 100k leads end to end <= 0.5 s; 1M leads <= 5 s and <= 1 GiB peak.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sim.experiment.replication as run_mod  # noqa: E402
from sim.inputs import load_policy, load_scenario  # noqa: E402
from sim.world.arrivals import arrival_grid, horizon_bounds  # noqa: E402

BASE_LEADS_PER_YEAR = 40_000
BASE_REPS = 6
GIB = 1024 ** 3
MIB = 1024 ** 2
STAGES = ("world", "scoring", "sales", "outcomes")
STAGE_LABEL = {"world": "world generation", "scoring": "scoring", "sales": "sales process (SimPy)",
               "outcomes": "outcomes + KPIs", "remql": "  of which re-MQL search", "other": "other (unwrapped)",
               "e2e": "end to end"}
TARGETS = {100_000: (0.5, None), 1_000_000: (5.0, 1.0 * GIB)}   # size: (seconds, bytes)


# ---- sizing ---------------------------------------------------------------------------------

def leads_per_year_for(size: int, scenario_name: str) -> int:
    """leads_per_year that makes the expected lead count over the scenario's horizon `size`."""
    sc = load_scenario(scenario_name)
    end = horizon_bounds(sc).end
    per_unit = arrival_grid(sc.arrivals, sc.start_date, end).expected_total / sc.arrivals.leads_per_year
    return int(round(size / per_unit))


def reps_for(leads_per_year: int) -> int:
    return max(1, round(BASE_REPS * leads_per_year / BASE_LEADS_PER_YEAR))


def scenario_for(size: int, scenario_name: str):
    lpy = leads_per_year_for(size, scenario_name)
    reps = reps_for(lpy)
    sc = load_scenario(scenario_name, [("arrivals.leads_per_year", lpy), ("sales.reps", reps)])
    return sc, lpy, reps


# ---- timing the stages inside run_replication -----------------------------------------------

@dataclass
class Timer:
    """Wall-clock (perf_counter) and CPU (process_time) seconds per stage."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys((*STAGES, "remql"), 0.0))
    cpu: dict[str, float] = field(default_factory=lambda: dict.fromkeys((*STAGES, "remql"), 0.0))
    faults: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*STAGES, "remql"), 0))
    calls: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*STAGES, "remql"), 0))

    def add(self, stage: str, wall0: float, cpu0: float, faults0: int) -> None:
        self.seconds[stage] += time.perf_counter() - wall0
        self.cpu[stage] += time.process_time() - cpu0
        self.faults[stage] += _minor_faults() - faults0

    def wrap(self, stage: str, fn):
        if stage == "remql":    # called ~35k times inside the sales stage: no getrusage per call
            return self._wrap_light(stage, fn)

        def timed(*args, **kwargs):
            w0, c0, f0 = time.perf_counter(), time.process_time(), _minor_faults()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, w0, c0, f0)
                self.calls[stage] += 1
        return timed

    def _wrap_light(self, stage: str, fn):
        """Wall and CPU time only: the page-fault count costs a system call, which per re-MQL search
        would add ~2% to the sales stage it is part of."""
        seconds, cpu, calls = self.seconds, self.cpu, self.calls
        clock, process_time = time.perf_counter, time.process_time

        def timed(*args, **kwargs):
            w0, c0 = clock(), process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[stage] += clock() - w0
                cpu[stage] += process_time() - c0
                calls[stage] += 1
        return timed


def _minor_faults() -> int:
    """Page faults served without I/O: each is a page of memory the process touched for the first
    time (expensive in VMs that back guest memory lazily)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class _TimedCalendar:
    """Stands in for `run.BusinessCalendar` (run.py only calls its `from_scenario`)."""

    def __init__(self, timer, real):
        self.from_scenario = timer.wrap("world", real.from_scenario)


@contextlib.contextmanager
def timed_stages(timer):
    """Wrap the engine names that run.py calls with `timer.wrap(stage, fn)`, for the duration of one run."""
    names = ("generate_world", "BusinessCalendar", "score_world", "SalesProcess", "play_out", "run_kpis",
             "detail_kpis", "next_mql", "entries", "account_outcomes", "account_kpis")
    missing = [n for n in names if not hasattr(run_mod, n)]
    if missing:
        raise SystemExit(f"bench_engine: sim/experiment/replication.py no longer uses {missing}; update the stage wrappers")
    saved = {n: getattr(run_mod, n) for n in names}
    real_process = saved["SalesProcess"]

    make_process = timer.wrap("sales", real_process)

    def sales_process(*args, **kwargs):
        proc = make_process(*args, **kwargs)
        proc.run = timer.wrap("sales", proc.run)
        return proc

    try:
        run_mod.generate_world = timer.wrap("world", saved["generate_world"])
        run_mod.BusinessCalendar = _TimedCalendar(timer, saved["BusinessCalendar"])
        run_mod.score_world = timer.wrap("scoring", saved["score_world"])
        run_mod.SalesProcess = sales_process
        run_mod.play_out = timer.wrap("outcomes", saved["play_out"])
        run_mod.run_kpis = timer.wrap("outcomes", saved["run_kpis"])
        run_mod.detail_kpis = timer.wrap("outcomes", saved["detail_kpis"])
        run_mod.next_mql = timer.wrap("remql", saved["next_mql"])
        run_mod.entries = timer.wrap("scoring", saved["entries"])       # account rules (MQAs): a scoring step
        run_mod.account_outcomes = timer.wrap("outcomes", saved["account_outcomes"])
        run_mod.account_kpis = timer.wrap("outcomes", saved["account_kpis"])
        yield timer
    finally:
        for n, v in saved.items():
            setattr(run_mod, n, v)


@dataclass
class Sample:
    e2e: float
    stages: dict[str, float]
    e2e_cpu: float
    stages_cpu: dict[str, float]
    remql: float
    remql_cpu: float
    faults: dict[str, int]
    remql_calls: int
    leads: int
    events: int
    mql_episodes: int
    attempts: int
    utilisation: float
    queue_mean: float


def one_run(scenario, policy, seed: int) -> Sample:
    gc.collect()
    timer = Timer()
    with timed_stages(timer):
        w0, c0, f0 = time.perf_counter(), time.process_time(), _minor_faults()
        rep = run_mod.run_replication(scenario, [policy], seed)
        e2e, e2e_cpu, e2e_faults = time.perf_counter() - w0, time.process_time() - c0, _minor_faults() - f0
    r = rep.runs[policy.name]
    s = Sample(e2e=e2e, stages={k: timer.seconds[k] for k in STAGES}, remql=timer.seconds["remql"],
               e2e_cpu=e2e_cpu, stages_cpu={k: timer.cpu[k] for k in STAGES}, remql_cpu=timer.cpu["remql"],
               faults={**{k: timer.faults[k] for k in STAGES}, "remql": timer.faults["remql"], "e2e": e2e_faults},
               remql_calls=timer.calls["remql"], leads=rep.world.n, events=int(rep.world.event_offsets[-1]),
               mql_episodes=int(r.log.ep_lead.size), attempts=int(r.log.at_lead.size),
               utilisation=float(r.kpis["rep_utilisation"]), queue_mean=float(r.kpis["queue_mean"]))
    del rep, r
    return s


# ---- memory (fresh subprocess per measurement) -------------------------------------------------

def _reset_peak_rss() -> bool:
    """Reset the process's RSS high-water mark (Linux >= 4.0: clear_refs "5"), so that the peak
    measured after the run is the run's own, not the import-time peak. getrusage's ru_maxrss
    follows the reset. False where unsupported (then ru_maxrss after - ru_maxrss before is used,
    which reads 0 if the run never exceeds the import-time peak)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _current_rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class StagePeaks:
    """tracemalloc's peak of traced memory during each stage (absolute: what is alive from earlier
    stages counts too), via tracemalloc.reset_peak() at the start of every stage."""

    def __init__(self):
        self.peak = dict.fromkeys(STAGES, 0)

    def wrap(self, stage: str, fn):
        if stage not in self.peak:
            return fn

        def measured(*args, **kwargs):
            tracemalloc.reset_peak()
            try:
                return fn(*args, **kwargs)
            finally:
                self.peak[stage] = max(self.peak[stage], tracemalloc.get_traced_memory()[1])
        return measured


def memory_child(kind: str, size: int, scenario_name: str, policy_name: str, seed: int) -> dict:
    scenario, _, _ = scenario_for(size, scenario_name)
    policy = load_policy(policy_name)
    gc.collect()
    if kind == "rss":
        scale = 1 if sys.platform == "darwin" else 1024          # ru_maxrss: bytes on macOS, KiB on Linux
        reset = _reset_peak_rss()
        before = _current_rss() if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        rep = run_mod.run_replication(scenario, [policy], seed)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
        out = {"peak_bytes": after - before, "rss_before_bytes": before, "peak_reset": reset}
    else:
        peaks = StagePeaks()
        tracemalloc.start()
        with timed_stages(peaks):
            rep = run_mod.run_replication(scenario, [policy], seed)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out = {"peak_bytes": max(peak, *peaks.peak.values()), "stage_peak_bytes": peaks.peak}
    out["leads"] = rep.world.n
    return out


def measure_memory(kind: str, size: int, args) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_memory-child", kind, "--sizes", str(size),
           "--scenario", args.scenario, "--policy", args.policy, "--seed", str(args.seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    if proc.returncode != 0:
        print(f"memory child ({kind}, {size}) failed:\n{proc.stderr}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---- report ---------------------------------------------------------------------------------

def best_median(xs: list[float]) -> tuple[float, float]:
    return min(xs), statistics.median(xs)


def fmt_rate(leads: int, seconds: float) -> str:
    return f"{leads / seconds:,.0f}" if seconds > 0 else "-"


def summarise(size: int, lpy: int, reps: int, samples: list[Sample], mem: dict, loadavg: float) -> dict:
    s0 = samples[0]
    cols: dict[str, list[float]] = {k: [s.stages[k] for s in samples] for k in STAGES}
    cols["remql"] = [s.remql for s in samples]
    cols["other"] = [s.e2e - sum(s.stages.values()) for s in samples]
    cols["e2e"] = [s.e2e for s in samples]
    cpu: dict[str, list[float]] = {k: [s.stages_cpu[k] for s in samples] for k in STAGES}
    cpu["remql"] = [s.remql_cpu for s in samples]
    cpu["other"] = [s.e2e_cpu - sum(s.stages_cpu.values()) for s in samples]
    cpu["e2e"] = [s.e2e_cpu for s in samples]
    return {
        "size": size, "leads_per_year": lpy, "reps": reps, "leads": s0.leads, "events": s0.events,
        "mql_episodes": s0.mql_episodes, "attempts": s0.attempts, "remql_calls": s0.remql_calls,
        "utilisation": s0.utilisation, "queue_mean": s0.queue_mean, "repeat": len(samples),
        "seconds": {k: {"best": best_median(v)[0], "median": best_median(v)[1], "all": v} for k, v in cols.items()},
        "cpu_seconds": {k: {"best": best_median(v)[0], "median": best_median(v)[1], "all": v} for k, v in cpu.items()},
        "minor_faults_median": {k: statistics.median(s.faults[k] for s in samples) for k in samples[0].faults},
        "memory": mem, "loadavg": loadavg,
    }


def print_report(results: list[dict], args) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text fallback
        Console = None
    for r in results:
        sec, n = r["seconds"], r["leads"]
        head = (f"size {r['size']:,}: leads_per_year={r['leads_per_year']:,}, reps={r['reps']} -> "
                f"{n:,} leads, {r['events']:,} events, {r['mql_episodes']:,} MQL episodes, "
                f"{r['attempts']:,} attempts, {r['remql_calls']:,} re-MQL searches; "
                f"rep utilisation {r['utilisation']:.0%}, mean queue {r['queue_mean']:.1f}\n"
                f"{args.scenario} scenario, policy {args.policy}, seed {args.seed}, {r['repeat']} repeats "
                f"(leads/s = world leads / wall-clock stage seconds; CPU s = process_time, less sensitive to "
                f"other load; page faults = median minor faults, i.e. memory touched for the first time; "
                f"load average at start {r['loadavg']:.2f} on {os.cpu_count()} CPUs)")
        rows = []
        for k in ("world", "scoring", "sales", "remql", "outcomes", "other", "e2e"):
            b, m = sec[k]["best"], sec[k]["median"]
            extra = ""
            if k in ("world", "scoring"):
                extra = f"{r['events'] / b:,.0f} events/s"
            elif k == "sales":
                extra = (f"{b / max(r['mql_episodes'], 1) * 1e6:.1f} us/MQL ep, "
                         f"{b / max(r['attempts'], 1) * 1e6:.1f} us/attempt")
            elif k == "remql" and r["remql_calls"]:
                extra = f"{b / r['remql_calls'] * 1e6:.1f} us/call"
            share = f"{b / sec['e2e']['best']:.0%}" if k != "e2e" else "100%"
            rates = (fmt_rate(n, b), fmt_rate(n, m)) if k != "other" else ("-", "-")
            flt = r["minor_faults_median"].get(k)
            rows.append((STAGE_LABEL[k], f"{b:.3f}", f"{m:.3f}", *rates, share, f"{r['cpu_seconds'][k]['best']:.3f}",
                         f"{flt:,.0f}" if flt is not None else "-", extra))
        header = ("stage", "best s", "median s", "leads/s (best)", "leads/s (median)", "share", "CPU s (best)",
                  "page faults", "notes")
        if Console is not None:
            print(head)
            t = Table()
            for h in header:
                t.add_column(h, justify="left" if h in ("stage", "notes") else "right", no_wrap=True)
            for row in rows:
                t.add_row(*row, style="bold" if row[0] == "end to end" else None)
            Console(width=180).print(t)
        else:
            print(head)
            print("  ".join(f"{h:>16}" for h in header))
            for row in rows:
                print("  ".join(f"{c:>16}" for c in row))
        mem = r["memory"]
        parts = []
        if mem.get("rss"):
            how = ("peak reset via /proc/self/clear_refs" if mem["rss"].get("peak_reset")
                   else "no peak reset: a lower bound")
            parts.append(f"RSS: getrusage ru_maxrss after the run - RSS before it = "
                         f"{mem['rss']['peak_bytes'] / MIB:,.0f} MiB (fresh process, {how}; "
                         f"RSS before the run {mem['rss']['rss_before_bytes'] / MIB:,.0f} MiB)")
        if mem.get("tracemalloc"):
            stage_peaks = ", ".join(f"{k} {v / MIB:,.0f}" for k, v in mem["tracemalloc"].get("stage_peak_bytes", {}).items())
            parts.append(f"tracemalloc peak {mem['tracemalloc']['peak_bytes'] / MIB:,.0f} MiB "
                         f"(peak during each stage, MiB: {stage_peaks})")
        print("peak memory: " + ("; ".join(parts) if parts else "not measured"))
        print()

    print("targets (best end-to-end time; memory = max of the measured peaks):")
    for r in results:
        target = TARGETS.get(r["size"])
        if target is None:
            continue
        secs, mem_limit = target
        best = r["seconds"]["e2e"]["best"]
        line = f"  {r['size']:>9,} leads: {best:.3f} s vs <= {secs} s -> {'PASS' if best <= secs else 'FAIL'}"
        if mem_limit is not None:
            peaks = [m["peak_bytes"] for m in r["memory"].values() if m]
            if peaks:
                peak = max(peaks)
                line += (f"; peak {peak / MIB:,.0f} MiB vs <= {mem_limit / MIB:,.0f} MiB -> "
                         f"{'PASS' if peak <= mem_limit else 'FAIL'}")
            else:
                line += "; memory not measured"
        print(line)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="100000,1000000", help="leads in the world, comma separated")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per size (best and median shown)")
    p.add_argument("--policy", default="seed-example")
    p.add_argument("--scenario", default="baseline")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--memory", choices=("both", "rss", "tracemalloc", "none"), default="both",
                   help="peak memory measurement(s), each in a fresh subprocess")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--_memory-child", dest="memory_child", choices=("rss", "tracemalloc"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sizes = [int(float(s)) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 1 or args.repeat < 1:
        p.error("--sizes needs positive lead counts and --repeat must be >= 1")

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, sizes[0], args.scenario, args.policy, args.seed)))
        return 0

    policy = load_policy(args.policy)
    results = []
    for size in sizes:
        scenario, lpy, reps = scenario_for(size, args.scenario)
        samples = []
        loadavg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        for i in range(args.repeat):
            s = one_run(scenario, policy, args.seed)
            samples.append(s)
            print(f"  [{size:,}] run {i + 1}/{args.repeat}: {s.e2e:.3f} s end to end "
                  f"({', '.join(f'{k} {v:.3f}' for k, v in s.stages.items())})", file=sys.stderr, flush=True)
        kinds = {"both": ("rss", "tracemalloc"), "none": ()}.get(args.memory, (args.memory,))
        mem = {k: measure_memory(k, size, args) for k in kinds}
        results.append(summarise(size, lpy, reps, samples, mem, loadavg))
    print()
    print_report(results, args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
