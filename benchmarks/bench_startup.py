"""Start-up: whole-process wall time of the commands people type, against `python -c "import
numpy"` (the floor every command pays). Each command is run `--repeat` times as a fresh process
(subprocess, output discarded, from the repository root so the bundled scenarios and policies are
found); the median is reported, with the best, the ratio to the numpy import's median and the
median CPU time (user + system of the child; steadier than wall time on a busy machine). The
commands are interleaved (one round runs each once) so a change of machine load hits all of them
alike. Run by hand, not in the test suite.

    python benchmarks/bench_startup.py [--repeat 11] [--importtime] [--before DIR] [--also NAME=DIR ...]
                                       [--only run]

`funnelsim ARGS` is run as `python -c "from sim.cli import main; main()" ARGS` in the tree's root
(what the console script does), so that `--before DIR` can time another checkout of the code with
the same interpreter and packages, e.g. `git worktree add /tmp/before main` or `git archive main
sim scenarios policies | tar -x -C /tmp/before`: each round then runs every command in both trees.
`--also NAME=DIR` times further trees in the same rounds (e.g. a patched copy), and `--only TEXT`
times only the commands whose label holds TEXT (plus the numpy floor). `--importtime` also prints the slowest modules (cumulative) that `run workshop -p seed-example`
imports, from `python -X importtime`.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CLI = [PY, "-c", "import sys; sys.argv[0] = 'funnelsim'; from sim.cli import main; main()"]
CASES: list[tuple[str, list[str]]] = [
    ('python -c "import numpy"', [PY, "-c", "import numpy"]),
    ("funnelsim --help", [*CLI, "--help"]),
    ("funnelsim list", [*CLI, "list"]),
    ("funnelsim validate scenarios/baseline.toml", [*CLI, "validate", "scenarios/baseline.toml"]),
    ("funnelsim schema policy", [*CLI, "schema", "policy"]),
    ("funnelsim run workshop -p seed-example", [*CLI, "run", "workshop", "-p", "seed-example"]),
]


def timed(cmd: list[str], root: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system of the child process)."""
    r0, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    subprocess.run(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    t, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
    return t, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def sim_file(root: Path) -> str:
    """Where `sim` is imported from when running in `root` (checks a --before tree is really used)."""
    return subprocess.run([PY, "-c", "import sim; print(sim.__file__)"], cwd=root, capture_output=True, text=True,
                          check=True).stdout.strip()


def importtime(args: list[str], root: Path, top: int = 12) -> list[tuple[float, str]]:
    """The `top` modules with the largest cumulative import time (seconds; nested ones included)."""
    code = f"import sys; sys.argv = ['funnelsim', *{args!r}]; from sim.cli import main; main()"
    err = subprocess.run([PY, "-X", "importtime", "-c", code], cwd=root, stdout=subprocess.DEVNULL,
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
    ap.add_argument("--before", type=Path, help="another checkout (its root) to time in the same rounds")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=DIR", help="a further tree, same rounds")
    ap.add_argument("--only", help="time only the commands whose label holds this text (and the numpy floor)")
    a = ap.parse_args()
    if a.only:
        CASES[1:] = [c for c in CASES[1:] if a.only in c[0]]
    more = {n: Path(d).resolve() for n, d in (x.split("=", 1) for x in a.also)}
    trees = {"after": ROOT, **({"before": a.before.resolve()} if a.before else {}), **more} if a.before or more \
        else {"": ROOT}
    for name, root in trees.items():
        where = sim_file(root)
        if not where.startswith(str(root)):
            sys.exit(f"{root}: `import sim` there loads {where}, not this tree")
        print(f"{name or 'tree'}: {root}")
    for root in trees.values():           # warm the file cache and .pyc files
        for _, cmd in CASES:
            timed(cmd, root)
    wall = {(t, label): [] for t in trees for label, _ in CASES}
    cpu = {(t, label): [] for t in trees for label, _ in CASES}
    load = os.getloadavg()[0]
    for _ in range(a.repeat):
        for t, root in trees.items():
            for label, cmd in CASES:
                w, c = timed(cmd, root)
                wall[t, label].append(w)
                cpu[t, label].append(c)
    print(f"whole-process wall time, median of {a.repeat} (best), and median CPU time; python "
          f"{sys.version.split()[0]}; 1-minute load {load:.2f} -> {os.getloadavg()[0]:.2f}")
    for t in trees:
        floor = statistics.median(wall[t, CASES[0][0]])
        print(f"\n{t + ': ' if t else ''}{'command':<46} {'median':>8} {'best':>8} {'x numpy':>8} {'CPU':>8}")
        for label, _ in CASES:
            w = wall[t, label]
            print(f"{' ' * (len(t) + 2) if t else ''}{label:<46} {statistics.median(w):>7.3f}s {min(w):>7.3f}s "
                  f"{statistics.median(w) / floor:>7.1f}x {statistics.median(cpu[t, label]):>7.3f}s")
    if a.importtime:
        for t, root in trees.items():
            print(f"\n{t + ': ' if t else ''}slowest imports of `run workshop -p seed-example` (cumulative, one run):")
            for secs, name in importtime(["run", "workshop", "-p", "seed-example"], root):
                print(f"  {secs:6.3f} s  {name}")


if __name__ == "__main__":
    main()
