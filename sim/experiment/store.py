"""Result folders: written under a temporary name and renamed when complete, never overwritten,
with a manifest of everything needed to reproduce them.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import secrets
import shutil
import subprocess
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

PACKAGES = ("funnelsim", "simpy", "numpy", "scipy", "pandas", "pydantic", "matplotlib", "click", "rich")


INCOMPLETE = ".incomplete-"


def safe_name(name: str) -> str:
    """A folder-name-safe version of a user-supplied name: one path component made of letters,
    digits, `_`, `.` and `-`, never starting with a dot (no separators, no `..`, no hidden names)."""
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", str(name))
    s = re.sub(r"\.{2,}", ".", s).strip(".-")
    return s[:80].rstrip(".-") or "run"


def timestamped(parent: Path, name: str) -> Path:
    """parent/<name>-<timestamp>, with a numeric suffix if that already exists. Always a direct
    child of `parent`, whatever `name` contains."""
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = parent / f"{safe_name(name)}-{stamp}"
    out, i = base, 2
    while os.path.lexists(out):
        out, i = base.with_name(f"{base.name}-{i}"), i + 1
    if out.parent != parent or out.name in ("", ".", ".."):  # pragma: no cover - guaranteed by safe_name
        raise ValueError(f"unsafe output name {name!r}")
    return out


def _new_temp_dir(final: Path) -> Path:
    """A fresh hidden sibling of `final` (created with the user's umask, unlike mkdtemp's 0700)."""
    for _ in range(100):
        tmp = final.with_name(f".{final.name}{INCOMPLETE}{secrets.token_hex(4)}")
        try:
            tmp.mkdir()
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary folder next to {final}")  # pragma: no cover


@contextmanager
def atomic_folder(final: Path) -> Iterator[Path]:
    """Yield a new temporary sibling folder (`.<name>.incomplete-XXXX`); rename it to `final` only
    if the block completes. On any exception (including Ctrl-C) the temporary folder is removed,
    so a folder named `final` is always complete. An existing `final` is never overwritten."""
    if os.path.lexists(final):
        raise FileExistsError(f"{final} already exists; results are never overwritten")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _new_temp_dir(final)
    try:
        yield tmp
        if os.path.lexists(final):  # appeared while we were writing
            raise FileExistsError(f"{final} already exists; results are never overwritten")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _git(*args: str) -> str | None:
    """Output of a read-only git command in the package's folder, or None."""
    try:
        r = subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def _git_commit() -> str | None:
    return _git("rev-parse", "HEAD") or None


def _git_dirty() -> bool | None:
    """True if the working tree has uncommitted changes (results may not reproduce from the commit)."""
    out = _git("status", "--porcelain", "--untracked-files=no")
    return None if out is None else bool(out)


def package_version(name: str) -> str | None:
    """`importlib.metadata.version(name)` (None if not installed), from the header lines of the
    package's METADATA only: `metadata.version` parses the whole file, long description included
    (about 10 ms a package, a tenth of a second per `run` for the nine of PACKAGES)."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    for line in (dist.read_text("METADATA") or dist.read_text("PKG-INFO") or "").splitlines():
        if not line.strip():                # the end of the headers
            break
        if line.startswith("Version:"):
            return line[len("Version:"):].strip()
    return dist.version


def provenance() -> dict[str, Any]:
    """When, with what and from which commit results were made."""
    return {
        "created": dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "versions": {p: package_version(p) for p in PACKAGES},
        "git_commit": _git_commit(),
        "git_dirty": _git_dirty(),
    }


JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


def json_safe(obj: object) -> JsonValue:
    """Plain JSON data: NaN and infinities become null, numpy scalars and arrays plain numbers
    and lists, tuples lists, other objects their string."""
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, int):
        return obj
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "tolist"):          # numpy scalars and arrays
        return json_safe(obj.tolist())
    if hasattr(obj, "isoformat"):
        return str(obj.isoformat())
    return str(obj)


def dumps(data: object, indent: int | None = None) -> str:
    """Strict JSON (no NaN): what every JSON this package writes goes through."""
    return json.dumps(json_safe(data), indent=indent, allow_nan=False)


def write_json(path: Path, data: object) -> None:
    path.write_text(dumps(data, indent=2) + "\n", encoding="utf-8")
