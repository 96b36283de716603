"""What the browser may name: only files inside the project's own folders (scenarios/, policies/,
experiments/, outputs/), given as a path relative to the project folder. Absolute paths, `..`,
home-folder shortcuts and symlinks that lead outside are refused with one ConfigError, before
anything is read or written.
"""
from __future__ import annotations

from pathlib import Path, PurePosixPath

from sim.config.errors import ConfigError

FOLDERS = ("scenarios", "policies", "experiments", "outputs")


def safe_path(text: str, root: Path, folders: tuple[str, ...] = FOLDERS) -> Path:
    """`root/text` if it stays inside one of `root`'s `folders` once symlinks are resolved, else
    ConfigError. The file need not exist (an export names a new file)."""
    src = repr(text)[:80]
    if not isinstance(text, str) or not text.strip() or "\x00" in text:
        raise ConfigError(src, ["give a path inside the project's folders, e.g. scenarios/workshop.toml"])
    norm = text.replace("\\", "/")
    pure = PurePosixPath(norm)
    if pure.is_absolute() or norm.startswith("~") or (len(norm) > 1 and norm[1] == ":"):
        raise ConfigError(src, [f"absolute paths are not accepted here; use a path inside {', '.join(FOLDERS)}"])
    if ".." in pure.parts:
        raise ConfigError(src, ["'..' is not accepted in a path; use a path inside the project's folders"])
    if not pure.parts or pure.parts[0] not in folders:
        raise ConfigError(src, [f"only files in {', '.join(f + '/' for f in folders)} can be named here"])
    base = root.resolve()
    allowed = (base / pure.parts[0]).resolve()
    target = (base / Path(*pure.parts)).resolve()
    if allowed != base / pure.parts[0] or not target.is_relative_to(allowed):
        raise ConfigError(src, ["leads outside the project's folders (a symbolic link?); not accepted"])
    return target
