"""Result folders and provenance in unusual environments (found by branch coverage): outside a git
checkout, with a package missing, with a temporary-name collision; JSON of odd objects."""
from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import sim.experiment.store as store
from sim.config.units import Duration


def test_provenance_without_git_or_a_package(monkeypatch):
    """No git on the machine and a listed package not installed: provenance says so (None)."""
    def no_git(*a, **k):
        raise OSError("git: not found")
    monkeypatch.setattr(subprocess, "run", no_git)
    monkeypatch.setattr(store, "PACKAGES", store.PACKAGES + ("no-such-package-h4",))
    m = store.provenance()
    assert m["git_commit"] is None and m["git_dirty"] is None
    assert m["versions"]["no-such-package-h4"] is None and m["versions"]["numpy"]
    store.dumps(m)                                  # still strict JSON


def test_atomic_folder_survives_a_temporary_name_collision(tmp_path, monkeypatch):
    names = iter(["aaaa", "aaaa", "bbbb"])
    monkeypatch.setattr(store.secrets, "token_hex", lambda n: next(names))
    (tmp_path / f".run{store.INCOMPLETE}aaaa").mkdir()            # someone else's temporary folder
    with store.atomic_folder(tmp_path / "run") as tmp:
        assert tmp.name.endswith("bbbb")
        (tmp / "x").write_text("1")
    assert (tmp_path / "run" / "x").read_text() == "1"
    assert (tmp_path / f".run{store.INCOMPLETE}aaaa").is_dir()    # left alone


def test_json_of_odd_objects():
    data = {"path": Path("a/b"), "when": dt.date(2026, 1, 5), "d": Duration.parse("2bd"), 3: {1, }}
    assert store.json_safe(data) == {"path": "a/b", "when": "2026-01-05", "d": "2bd", "3": [1]}
