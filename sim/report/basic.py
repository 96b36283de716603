"""The first report's entry point, kept for callers that hold an in-memory comparison rather than a
results folder: `write_report(folder, scenario, policies, comp)` now builds the full report
(`sim.report.build`) from the comparison, so both paths produce the same page.
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.experiment.results import Results
from sim.report.build import render
from sim.report.style import PALETTE  # noqa: F401  (re-exported: older imports)


def _manifest(folder: Path, scenario, policies, comp) -> dict:
    """The folder's manifest if it is already written, else the resolved inputs."""
    path = folder / "manifest.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return {"kind": "run", "scenarios": {scenario.name: scenario.model_dump(mode="json")},
            "policies": {p.name: p.model_dump(mode="json") for p in policies},
            "replications": int(comp.runs["replication"].nunique())}


def write_report(folder: Path, scenario, policies, comp) -> Path:
    """Write report.html and figures/ into `folder` for a comparison of `policies` on `scenario`
    (`comp` has `.runs`, one row per policy x replication, and `.daily`, daily series)."""
    folder = Path(folder)
    runs = comp.runs.copy()
    for col, value in (("scenario", scenario.name), ("point", 0)):
        if col not in runs:
            runs.insert(0, col, value)
    if "run_id" not in runs:
        runs.insert(0, "run_id", [f"{p}:{r}" for p, r in zip(runs["policy"], runs["replication"])])
    daily = comp.daily if isinstance(comp.daily, pd.DataFrame) else pd.DataFrame()
    daily = daily.copy()
    for col, value in (("scenario", scenario.name), ("point", 0), ("replication", 0)):
        if len(daily) and col not in daily:
            daily[col] = value
    manifest = _manifest(folder, scenario, policies, comp)
    manifest.setdefault("baseline", policies[0].name if policies else None)
    return render(Results(folder, manifest, runs, daily), folder)
