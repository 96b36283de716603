"""`funnelsim explain` / `sim.explain`: one lead's story, read from a re-run of the replication that
holds it, must be the run's own story: stories whose path is known (certain contact, no contact),
stories that add up to the saved KPIs, and clear refusals (exit 2, nothing written)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sim
from sim.cli import main
from sim.story.folder import StoryError, replay
from sim.story.lead import waiting_when_queued
from sim.story.model import KIND_ORDER
from sim.vocab import EMAIL_KINDS, REJECTION_REASONS, TERMINAL_STATES

DAYS = 14


@pytest.fixture(scope="module")
def contact_sweep(tmp_path_factory) -> Path:
    """seed-example on a short workshop world, every attempt reaching the lead (point 1) or none (point 0)."""
    out = tmp_path_factory.mktemp("explain") / "contact"
    sim.sweep("workshop", "seed-example", {"scenario.response.contact_rate": [0.0, 1.0]}, replications=1,
              days=DAYS, out=out)
    return out


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    """Two policies on two short workshop worlds, with --events tables."""
    out = tmp_path_factory.mktemp("explain") / "compare"
    sim.compare("workshop", ["seed-example", "speed-first"], replications=2, days=DAYS, events=True, out=out)
    return out


def _kinds(story, policy: str) -> list[str]:
    return [e.kind for e in story.policy(policy).events]


def test_a_demo_request_lead_with_certain_contact_is_an_mql_by_the_fast_lane_and_reached_at_once(contact_sweep):
    rp = replay(contact_sweep, point=1)
    run = rp.replication.runs["seed-example"]
    demo = np.flatnonzero((run.outcomes.first_tier == 0) & (run.outcomes.episodes == 1))
    assert demo.size
    story = rp.story(int(demo[0]))
    ps = story.policy("seed-example")
    mql = [e for e in ps.events if e.kind == "mql"]
    assert len(mql) == 1 and mql[0].data["tier"] == "demo" and "fast lane" in mql[0].text
    assert mql[0].data["trigger"] == "demo_request"
    attempts = [e for e in ps.events if e.kind == "attempt"]
    assert len(attempts) == 1 and attempts[0].data["reached"] and attempts[0].data["contact_probability"] == 1.0
    assert attempts[0].t == run.outcomes.contact_time[demo[0]]
    assert ps.state == TERMINAL_STATES[run.outcomes.state[demo[0]]] and ps.recycles == 0
    assert _kinds(story, "seed-example").index("contact") > _kinds(story, "seed-example").index("attempt")


def test_a_lead_never_reached_is_recycled_after_every_attempt_of_the_cadence(contact_sweep):
    rp = replay(contact_sweep, point=0)
    run = rp.replication.runs["seed-example"]
    out = run.outcomes
    lead = int(np.flatnonzero((out.episodes == 1) & (out.recycles == 1))[0])
    ps = rp.story(lead).policy("seed-example")
    attempts = [e for e in ps.events if e.kind == "attempt"]
    assert len(attempts) == run.policy.cadence.max_attempts == ps.attempts
    assert not any(a.data["reached"] for a in attempts)
    assert all(a.data["contact_probability"] == 0.0 for a in attempts)
    assert [a.data["rep"] for a in attempts] == run.log.at_rep[run.log.at_lead == lead].tolist()
    recycled = [e for e in ps.events if e.kind == "recycled"]
    assert len(recycled) == 1 and "unreached after all 3 attempts" in recycled[0].text
    assert recycled[0].t == attempts[-1].t
    assert ps.state == "recycled" and not any(e.kind in ("sal", "rejected") for e in ps.events)


def test_every_story_is_in_time_order_and_adds_up_to_the_saved_kpis(compared):
    res = sim.load_results(compared)
    rp = replay(compared, replication=1)
    row = res.runs[res.runs["run_id"] == "s0-p0-r1:speed-first"].iloc[0]
    cohort = np.flatnonzero(rp.world.in_cohort)
    mqls = attempts = won = 0
    bookings = 0.0
    states = dict.fromkeys(TERMINAL_STATES, 0)
    for lead in cohort[:300]:
        story = rp.story(int(lead))
        assert any("agrees" in c for c in story.checked)     # the --events row, checked lead by lead
        ps = story.policy("speed-first")
        keys = [(e.t, KIND_ORDER[e.kind]) for e in ps.events]
        assert keys == sorted(keys)
        assert ps.attempts == sum(e.kind == "attempt" for e in ps.events)
        assert ps.mql == any(e.kind == "mql" for e in ps.events) == (ps.why_not_mql is None)
        mqls += ps.mql
        attempts += ps.attempts
        won += ps.state == "won"
        bookings += ps.amount if ps.state == "won" else 0.0
        states[ps.state] += 1
    if cohort.size > 300:       # the rest of the cohort from the run itself, so the totals are whole
        rest, run = cohort[300:], rp.replication.runs["speed-first"]
        mqls += int(np.isfinite(run.outcomes.first_mql[rest]).sum())
        attempts += int(np.isin(run.log.at_lead, rest).sum())
        won += int(run.outcomes.won[rest].sum())
        bookings += float(run.outcomes.amount[rest][run.outcomes.won[rest]].sum())
        for s in run.outcomes.state[rest]:
            states[TERMINAL_STATES[s]] += 1
    assert mqls == row["mqls"] and attempts == row["attempts"] and won == row["won"]
    assert bookings == pytest.approx(row["bookings"], rel=1e-12)
    assert all(states[s] == row[f"state_{s}"] for s in TERMINAL_STATES)


def test_queue_position_and_escalations_are_what_the_engine_did(compared):
    """The position read from the team log equals the queues' own count at the push, and the
    stories' escalations are the engine's own (speed-first escalates on breach)."""
    from sim.decisions.mql import compile_policy
    from sim.decisions.oracle import next_mql
    from sim.decisions.scoring import score_world
    from sim.sales.process import EngineParams, Mqls, SalesProcess
    from sim.world.response import ResponseModel
    rp = replay(compared, policies=["speed-first"])
    policy = rp.replication.runs["speed-first"].policy
    world, sc = rp.world, rp.scenario
    scored = score_world(world, policy)
    params = EngineParams.resolve(policy, sc, ResponseModel.from_scenario(sc.response).scalar_contact_probability())
    rules = compile_policy(policy)
    proc = SalesProcess(world, Mqls(scored.mql_time, scored.mql_tier, scored.mql_score), params, rp.calendar,
                        lambda lead, after: next_mql(world, policy, lead, after, rules=rules))
    seen: dict[tuple[int, int], int] = {}
    push = proc.team.push

    def counting(item, ready):
        if item.pushes == 0:
            seen[(item.lead, item.index)] = sum(q.live for q in proc.team.queues)
        push(item, ready)

    escalated: set[tuple[int, int, float]] = set()
    escalate = proc.team.escalate

    def recording(item):
        escalated.add((item.lead, item.index, proc.env.now))
        escalate(item)

    proc.team.push, proc.team.escalate = counting, recording
    log = proc.run()
    assert log.ep_lead.size == len(seen) > 50
    for lead, index, t in zip(log.ep_lead.tolist(), log.ep_index.tolist(), log.ep_mql_time.tolist()):
        assert waiting_when_queued(log, t) == seen[(lead, index)]
    told = {(lead, e.episode, e.t) for lead in np.unique(log.ep_lead).tolist()
            for e in rp.story(lead).policy("speed-first").events if e.kind == "escalated"}
    assert told == escalated and escalated


def test_a_lead_stopped_by_a_gate_says_which(compared):
    rp = replay(compared, policies=["seed-example"])
    w = rp.world
    competitor = np.flatnonzero((w.email_kind == EMAIL_KINDS.index("competitor")) & (np.diff(w.event_offsets) > 0))
    assert competitor.size
    ps = rp.story(int(competitor[0])).policy("seed-example")
    assert not ps.mql and "exclude_competitors" in ps.why_not_mql
    assert all(e.kind in ("arrival", "engagement") for e in ps.events)


def test_cli_json_round_trips_to_the_python_story(compared):
    r = CliRunner().invoke(main, ["explain", str(compared), "5", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data == json.loads(json.dumps(sim.explain(compared, 5).to_dict()))
    assert [p["policy"] for p in data["policies"]] == ["seed-example", "speed-first"]
    assert all(isinstance(p["events"], list) and p["events"] for p in data["policies"])


def test_cli_prints_a_timeline_per_policy(compared):
    r = CliRunner().invoke(main, ["explain", str(compared), "5", "-p", "speed-first", "--no-engagement"])
    assert r.exit_code == 0, r.output
    assert "speed-first: lead 5" in r.output and "seed-example:" not in r.output
    assert "equal the runs table" in r.output


def _snapshot(folder: Path) -> dict:
    return {p: p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.parametrize("args, message", [
    (["--", "-1"], "outside this world"),
    (["100000"], "outside this world"),
    (["1", "--replication", "7"], "no replication 7"),
    (["1", "--policy", "nope"], "no policy 'nope'"),
    (["1", "--point", "3"], "no point 3"),
])
def test_bad_choices_exit_2_and_write_nothing(compared, args, message):
    before = _snapshot(compared)
    r = CliRunner().invoke(main, ["explain", str(compared), *args])
    assert r.exit_code == 2 and message in r.output, r.output
    assert _snapshot(compared) == before


def test_missing_and_incomplete_folders_exit_2(compared, tmp_path):
    r = CliRunner().invoke(main, ["explain", str(tmp_path / "none"), "1"])
    assert r.exit_code == 2 and "no such folder" in r.output
    copy = tmp_path / "copy"
    shutil.copytree(compared, copy)
    (copy / "COMPLETE").unlink()
    r = CliRunner().invoke(main, ["explain", str(copy), "1"])
    assert r.exit_code == 2 and "incomplete" in r.output


def test_a_folder_the_engine_no_longer_reproduces_is_refused(compared, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(compared, copy)
    runs = pd.read_parquet(copy / "runs.parquet")
    runs.loc[runs["run_id"] == "s0-p0-r0:seed-example", "mqls"] += 1
    runs.to_parquet(copy / "runs.parquet", index=False)
    r = CliRunner().invoke(main, ["explain", str(copy), "1"])
    assert r.exit_code == 2 and "does not reproduce" in r.output and "mqls" in r.output
    with pytest.raises(StoryError, match="does not reproduce"):
        sim.explain(copy, 1)


def test_events_tables_carry_each_attempt_with_its_episode_and_rep(compared):
    """--events writes events/attempts/<run>.parquet: every attempt of a cohort lead, numbered within
    its episode, and the lead table's attempts / first_rep / first_tier / reason agree with it."""
    rp = replay(compared, policies=["seed-example"])
    run = rp.replication.runs["seed-example"]
    leads = pd.read_parquet(compared / "events" / "s0-p0-r0__seed-example.parquet")
    att = pd.read_parquet(compared / "events" / "attempts" / "s0-p0-r0__seed-example.parquet")
    cohort = np.flatnonzero(rp.world.in_cohort)
    assert len(att) == np.isin(run.log.at_lead, cohort).sum()
    per_lead = att.groupby("lead").size().reindex(leads["lead"], fill_value=0).to_numpy()
    assert (per_lead == leads["attempts"].to_numpy()).all()
    first = att.groupby("lead")["rep"].first().reindex(leads["lead"], fill_value=-1).to_numpy()
    assert (first == leads["first_rep"].to_numpy()).all()
    assert (att["attempt"] >= 1).all() and (att["attempt"] <= run.policy.cadence.max_attempts).all()
    assert set(leads["reason"].dropna()) <= set(REJECTION_REASONS)
    assert (leads["reason"].notna() == leads["rejected"]).all()
    assert (leads["first_tier"].notna() == leads["first_mql"].notna()).all()


def test_a_saved_attempt_that_differs_from_the_rerun_is_refused(compared, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(compared, copy)
    path = copy / "events" / "attempts" / "s0-p0-r0__seed-example.parquet"
    att = pd.read_parquet(path)
    lead = int(att["lead"].iloc[0])
    att.loc[0, "rep"] = 99
    att.to_parquet(path, index=False)
    r = CliRunner().invoke(main, ["explain", str(copy), str(lead)])
    assert r.exit_code == 2 and "attempts differ" in r.output
