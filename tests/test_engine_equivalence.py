"""The sales engine gives bit-identical results to the golden file on a fixed set of cases.

The cases (tests/fixtures/engine_cases.py): every shipped scenario, scaled down, x every shipped
policy; every routing rule x breach action, triage, recycles, cadence and headcount variants; the
textbook queueing mode with and without patience; two seeds. Each (case, seed, policy) must
reproduce its full KPI dict exactly (floats equal, NaN == NaN) and the digest of its SalesLog.

A refactor must keep this green. A documented fix that changes results regenerates the golden file
(`.venv/bin/python tests/fixtures/engine_cases.py`) in the same commit and says which KPIs moved.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))
import engine_cases  # noqa: E402

GOLDEN = json.loads(engine_cases.GOLDEN.read_text())


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_engine_matches_golden(case):
    name, seed = case.rsplit("@", 1)
    got = json.loads(json.dumps(engine_cases.run_case(name, int(seed))))   # the golden file's round trip
    want = GOLDEN[case]
    assert sorted(got) == sorted(want)
    for label in want:
        g, w = got[label]["kpis"], want[label]["kpis"]
        assert g.keys() == w.keys(), f"{label}: KPI names differ: {sorted(g.keys() ^ w.keys())}"
        moved = {k: (w[k], g[k]) for k in w if not engine_cases.same(g[k], w[k])}
        assert not moved, f"{label}: KPIs moved (golden, now): {moved}"
        assert got[label]["log"] == want[label]["log"], f"{label}: same KPIs but a different SalesLog"


def test_cases_cover_every_shipped_scenario_and_policy():
    root = Path(__file__).resolve().parents[1]
    shipped = {p.stem for p in (root / "scenarios").glob("*.toml")}
    assert shipped <= set(engine_cases.SCALE)
    assert {p.stem for p in (root / "policies").glob("*.toml")} <= set(engine_cases.POLICIES)
