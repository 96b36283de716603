"""Benchmark a sweep end to end, as a user runs it: the issue's 600-world sweep (`baseline`,
`seed-example`, `--vary mql.threshold=40:78:2`, 30 replications, 2 workers: 20 points x 30 worlds),
or a smaller variant, through the CLI in a fresh process (imports, engine, KPIs, writing, summary
tables and report included). Prints wall time, CPU seconds of the main process and of its worker
processes (sampled with psutil every 0.2 s, if installed: the workers are children of the
forkserver, which the operating system does not count for us), peak RSS of the main process and the
load average. CPU seconds depend much less on the load of a shared machine than wall time. Run by
hand, not in the test suite.

    python benchmarks/bench_sweep.py                  # the issue's sweep: -n 30, 2 workers
    python benchmarks/bench_sweep.py --small          # -n 6 --days 56 (about a tenth of the work)
    python benchmarks/bench_sweep.py --src /tmp/before --small   # another checkout's `sim/` (before/after)
    python benchmarks/bench_sweep.py --small --keep out/ --compare other/   # tables identical?
    python benchmarks/bench_sweep.py --before /tmp/before --repeat 2   # interleaved pairs, then tables compared

`--src DIR` runs `DIR/sim` (e.g. `git archive <commit> sim scenarios policies mappings | tar -x -C DIR`)
with this interpreter, so before and after are measured on the same machine back to back.
`--before DIR` does that for you: `--repeat` pairs of DIR's `sim/` (before) and the installed one (or
`--src`: after) in the order before, after, after, before, ... (each side meets the same drift in
load), then the medians and whether the last before and after results are identical.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

try:
    import psutil  # noqa: F401 - optional: the workers' CPU seconds
    HAVE_PSUTIL = True
except ImportError:
    HAVE_PSUTIL = False


def command(a: argparse.Namespace, out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "sim.cli", "sweep", a.scenario, "-p", a.policy, "--vary", a.vary,
           "-n", str(a.replications), "--workers", str(a.workers), "--out", str(out)]
    if a.days:
        cmd += ["--days", str(a.days)]
    return cmd


def _descendants_cpu(pid: int, seen: dict[int, float]) -> None:
    """Record the CPU seconds so far of every descendant of `pid` (the last value seen per process)."""
    try:
        import psutil
    except ImportError:
        return
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return
    for k in kids:
        try:
            c = k.cpu_times()
            seen[k.pid] = c.user + c.system
        except psutil.Error:
            pass


def run_once(a: argparse.Namespace, out: Path, src: str | None = None) -> tuple[float, float, float, float]:
    """Wall seconds, main-process CPU seconds, worker CPU seconds (sampled), main-process peak MiB.
    The CPU seconds and peak are this run's own (`os.wait4`), not the maximum over earlier runs."""
    src = src or a.src
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = str(Path(src).resolve())
    t = time.perf_counter()
    proc = subprocess.Popen(command(a, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=src or None)
    seen: dict[int, float] = {}
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        _descendants_cpu(proc.pid, seen)
        time.sleep(0.2)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"the sweep failed (exit {proc.returncode})")
    return wall, usage.ru_utime + usage.ru_stime, sum(seen.values()), usage.ru_maxrss / 1024


def report(label: str, wall: float, cpu: float, workers: float, rss: float) -> None:
    wk = f"{workers:6.1f} s" if HAVE_PSUTIL else "n/a (no psutil)"
    print(f"  {label}: wall {wall:6.1f} s   CPU: main {cpu:5.1f} s + workers {wk}   "
          f"main peak RSS {rss:4.0f} MiB   load {os.getloadavg()[0]:.2f}", flush=True)


def pairs(a: argparse.Namespace, tmp: Path) -> None:
    """`--repeat` interleaved pairs of before (`--before`) and after, then medians and a comparison."""
    got: dict[str, list[tuple[float, float, float, float]]] = {"before": [], "after": []}
    last: dict[str, Path] = {}
    for i in range(a.repeat):
        for side in (("before", "after") if i % 2 == 0 else ("after", "before")):
            last[side] = tmp / f"{side}{i}"
            run = run_once(a, last[side], a.before if side == "before" else a.src)
            got[side].append(run)
            report(f"{side} {len(got[side])}", *run)
    for side, runs in got.items():
        print(f"{side} medians: wall {statistics.median(r[0] for r in runs):.1f} s, CPU main "
              f"{statistics.median(r[1] for r in runs):.1f} s + workers {statistics.median(r[2] for r in runs):.1f} s")
    print(f"after identical to before: {same_tables(last['after'], last['before'])}")
    if a.keep:
        shutil.rmtree(a.keep, ignore_errors=True)
        shutil.copytree(last["after"], a.keep)


def same_tables(a: Path, b: Path) -> dict[str, bool]:
    """Runs table and daily series (parquet, exactly) and summary/differences CSVs (bytes) of two folders."""
    import pandas as pd
    out = {name: pd.read_parquet(a / name).equals(pd.read_parquet(b / name))
           for name in ("runs.parquet", "timeseries.parquet")}
    out.update({name: (a / name).read_bytes() == (b / name).read_bytes()
                for name in ("summary.csv", "differences.csv") if (a / name).is_file() or (b / name).is_file()})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="-n 6 --days 56 instead of -n 30")
    ap.add_argument("-n", "--replications", type=int, default=None)
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--policy", default="seed-example")
    ap.add_argument("--vary", default="mql.threshold=40:78:2")
    ap.add_argument("--src", help="folder holding another `sim/` package to run instead of the installed one")
    ap.add_argument("--keep", type=Path, help="keep the (last) results folder here")
    ap.add_argument("--compare", type=Path,
                    help="check the runs table, daily series, summary and differences equal this results folder's")
    ap.add_argument("--before", help="folder holding the `sim/` to measure against: `--repeat` interleaved pairs")
    a = ap.parse_args()
    if a.replications is None:
        a.replications = 6 if a.small else 30
    if a.small and a.days is None:
        a.days = 56
    print(f"{' '.join(command(a, Path('OUT'))[1:])}\ncores: {os.cpu_count()}; src: {a.src or 'installed'}; "
          f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    best = None
    with tempfile.TemporaryDirectory() as tmp:
        if a.before:
            pairs(a, Path(tmp))
            return
        for i in range(a.repeat):
            out = Path(tmp) / f"run{i}"
            wall, cpu, workers, rss = run_once(a, out)
            report(f"run {i + 1}", wall, cpu, workers, rss)
            best = min(best or wall, wall)
        print(f"best wall: {best:.1f} s")
        if a.compare:
            print(f"identical to {a.compare}: {same_tables(out, a.compare)}")
        if a.keep:
            shutil.rmtree(a.keep, ignore_errors=True)
            shutil.copytree(out, a.keep)


if __name__ == "__main__":
    main()
