"""Result folders: written under a temporary name and renamed when complete, never overwritten,
with a manifest of everything needed to reproduce them.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Iterator

PACKAGES = ("funnelsim", "simpy", "numpy", "scipy", "pandas", "pydantic", "matplotlib", "click", "rich")


def safe_name(name: str) -> str:
    """A folder-name-safe version of a user-supplied name (no path separators, no dot-dot)."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip(".-")
    return s[:80] or "run"


def timestamped(parent: Path, name: str) -> Path:
    """outputs/<name>-<timestamp>, with a numeric suffix if that already exists."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = parent / f"{safe_name(name)}-{stamp}"
    out, i = base, 2
    while out.exists():
        out, i = base.with_name(f"{base.name}-{i}"), i + 1
    return out


@contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; rename it to `final` only if the block completes.
    On any exception (including Ctrl-C) the temporary folder is removed."""
    if final.exists():
        raise FileExistsError(f"{final} already exists; results are never overwritten")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.incomplete-{os.getpid()}")
    tmp.mkdir()
    try:
        yield tmp
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _git_commit() -> str | None:
    try:
        r = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                           text=True, timeout=5)
        return r.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(scenario, policies, seed: int, replications: int, extra: dict | None = None) -> dict:
    """Fully resolved inputs, seed, versions, commit and command line."""
    versions = {}
    for p in PACKAGES:
        try:
            versions[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            versions[p] = None
    return {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "command": sys.argv,
        "seed": seed,
        "replications": replications,
        "scenario": scenario.model_dump(mode="json"),
        "policies": [p.model_dump(mode="json") for p in policies],
        "python": platform.python_version(),
        "versions": versions,
        "git_commit": _git_commit(),
        **(extra or {}),
    }


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=2, default=float, allow_nan=True) + "\n")
