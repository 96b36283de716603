"""Start-up: whole-process wall time of the commands people type, against `python -c "import
numpy"` (the floor every command pays). Each command is run `--repeat` times as a fresh process
(subprocess, output discarded, from the repository root so the bundled scenarios and policies are
found); the median is reported, with the best and the ratio to the numpy import's median. The
commands are interleaved (one round runs each once) so a change of machine load hits all of them
alike. Run by hand, not in the test suite.

    python benchmarks/bench_startup.py [--repeat 11] [--importtime]

`--importtime` also prints the ten slowest modules (cumulative) that `run workshop -p
seed-example` imports, from `python -X importtime`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SCRIPT = Path(PY).parent / "funnelsim"       # the console script, as typed
CLI = [str(SCRIPT)] if SCRIPT.is_file() else [PY, "-c", "from sim.cli import main; main()"]
CASES: list[tuple[str, list[str]]] = [
    ('python -c "import numpy"', [PY, "-c", "import numpy"]),
    ("funnelsim --help", [*CLI, "--help"]),
    ("funnelsim list", [*CLI, "list"]),
    ("funnelsim validate scenarios/baseline.toml", [*CLI, "validate", "scenarios/baseline.toml"]),
    ("funnelsim schema policy", [*CLI, "schema", "policy"]),
    ("funnelsim run workshop -p seed-example", [*CLI, "run", "workshop", "-p", "seed-example"]),
]


def wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def importtime(args: list[str], top: int = 12) -> list[tuple[float, str]]:
    """The `top` modules with the largest cumulative import time (seconds; nested ones included)."""
    code = f"import sys; sys.argv = ['funnelsim', *{args!r}]; from sim.cli import main; main()"
    err = subprocess.run([PY, "-X", "importtime", "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True).stderr
    rows = []
    for line in err.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            _, cum, name = line[len("import time:"):].split("|")
            rows.append((int(cum) / 1e6, name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--importtime", action="store_true")
    a = ap.parse_args()
    for _, cmd in CASES:                  # warm the file cache and .pyc files
        wall(cmd)
    times: dict[str, list[float]] = {label: [] for label, _ in CASES}
    for _ in range(a.repeat):
        for label, cmd in CASES:
            times[label].append(wall(cmd))
    floor = statistics.median(times[CASES[0][0]])
    print(f"whole-process wall time, median of {a.repeat} (best); python {sys.version.split()[0]}; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'command':<46} {'median':>8} {'best':>8} {'x numpy':>8}")
    for label, _ in CASES:
        t = times[label]
        print(f"{label:<46} {statistics.median(t):>7.3f}s {min(t):>7.3f}s {statistics.median(t) / floor:>7.1f}x")
    if a.importtime:
        print("\nslowest imports of `run workshop -p seed-example` (cumulative, one run):")
        for secs, name in importtime(["run", "workshop", "-p", "seed-example"]):
            print(f"  {secs:6.3f} s  {name}")


if __name__ == "__main__":
    main()
