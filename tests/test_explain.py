"""`funnelsim explain` / `sim.explain`: one lead's story, read from a re-run of the replication that
holds it, must be the run's own story: stories whose path is known (certain contact, no contact),
stories that add up to the saved KPIs, and clear refusals (exit 2, nothing written)."""
from __future__ import annotations

import dataclasses
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


def test_results_kept_in_memory_are_refused_with_the_fix(compared):
    in_memory = dataclasses.replace(sim.load_results(compared), path=None)   # what compare without out= returns
    with pytest.raises(StoryError, match="kept in memory only.*out="):
        sim.explain(in_memory, 1)


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


# --- the newer features: AE hand-off, competitor, accounts, reassignment (issues 15 and 16) ---

_REASSIGN = {"name": "reassign", "routing": {"assignment": "round_robin"}, "sla": {"reassign_after": "2bh"}}


@pytest.fixture(scope="module")
def featured(tmp_path_factory) -> Path:
    """A busy workshop team with sick days, the AE hand-off on (no no-shows) and a competitor; one
    policy reassigns MQLs untouched 2 business hours after they were assigned."""
    from sim.config.policy import Policy
    out = tmp_path_factory.mktemp("explain") / "featured"
    sim.compare("workshop", ["seed-example", Policy.model_validate(_REASSIGN)], replications=1, days=DAYS,
                sets=["arrivals.leads_per_year=30000", "sales.reps=2", "sales.absence.sick_days_per_year=15",
                      "handoff.enabled=true", "handoff.no_show=0", "handoff.aes=1", "competitor.enabled=true"],
                events=True, out=out)
    return out


def test_an_sql_with_no_no_shows_meets_its_ae_and_the_opportunity_opens_at_that_meeting(featured):
    rp = replay(featured)
    run = rp.replication.runs["seed-example"]
    out, ae = run.outcomes, run.log.team("ae")
    opp = np.flatnonzero(~np.isnan(out.opportunity_time))
    assert opp.size
    lead = int(opp[0])
    ps = rp.story(lead).policy("seed-example")
    kinds = [e.kind for e in ps.events]
    queued = [e for e in ps.events if e.kind == "ae_queued"]
    meeting = [e for e in ps.events if e.kind == "ae_meeting"]
    assert len(queued) == 1 and len(meeting) == 1 and "ae_no_show" not in kinds
    row = int(np.flatnonzero(ae.item == lead)[0])
    assert meeting[0].t == ae.start[row] == out.opportunity_time[lead]
    assert meeting[0].data["ae"] == ae.worker[row] and meeting[0].data["opportunity_opened"]
    assert queued[0].data["sql_time"] == out.sql_time[lead] <= queued[0].t <= meeting[0].t
    assert meeting[0].data["wait_business_hours"] == pytest.approx(
        rp.calendar.business_between(out.sql_time[lead], meeting[0].t) / 60)
    assert kinds.index("sql") < kinds.index("ae_queued") < kinds.index("ae_meeting") < kinds.index("opportunity")
    assert "at the held discovery meeting" in next(e.text for e in ps.events if e.kind == "opportunity")


def test_a_reassigned_mql_story_shows_the_move_and_the_new_rep_makes_the_next_attempt(featured):
    rp = replay(featured)
    run = rp.replication.runs["reassign"]
    assert run.kpis["reassignments"] > 0
    moved_leads = [lead for lead in np.flatnonzero(run.outcomes.episodes > 0)[:400].tolist()
                   if any(e.kind == "reassigned" for e in rp.story(lead).policy("reassign").events)]
    assert moved_leads
    ps = rp.story(moved_leads[0]).policy("reassign")
    move = next(e for e in ps.events if e.kind == "reassigned")
    assert move.data["from_rep"] != move.data["to_rep"] and "sla.reassign_after" in move.text
    after = [e for e in ps.events if e.kind == "attempt" and e.t >= move.t]
    before = [e for e in ps.events if e.kind == "attempt" and e.t < move.t and e.episode == move.episode]
    assert not before                                           # untouched until it moved
    if after:
        assert after[0].data["rep"] == move.data["to_rep"] or any(
            e.kind == "reassigned" and move.t < e.t <= after[0].t for e in ps.events)


def test_stories_add_up_to_the_kpis_with_the_hand_off_competitor_and_reassignment_on(featured):
    from sim.vocab import ALL_TERMINAL_STATES
    res = sim.load_results(featured)
    rp = replay(featured)
    for name in ("seed-example", "reassign"):
        row = res.runs[res.runs["policy"] == name].iloc[0]
        run = rp.replication.runs[name]
        cohort = np.flatnonzero(rp.world.in_cohort)
        told = cohort[:150]
        mqls = attempts = opportunities = 0
        states = dict.fromkeys(ALL_TERMINAL_STATES, 0)
        for lead in told.tolist():
            ps = rp.story(lead).policy(name)
            keys = [(e.t, KIND_ORDER[e.kind]) for e in ps.events]
            assert keys == sorted(keys)
            mqls += ps.mql
            attempts += ps.attempts
            opportunities += any(e.kind == "opportunity" for e in ps.events)
            states[ps.state] += 1
            if ps.state == "lost_to_competitor":
                assert any(e.kind == "competitor" for e in ps.events)
        rest = cohort[150:]
        out = run.outcomes
        mqls += int(np.isfinite(out.first_mql[rest]).sum())
        attempts += int(np.isin(run.log.at_lead, rest).sum())
        opportunities += int((~np.isnan(out.opportunity_time[rest])).sum())
        for s in out.state[rest]:
            states[ALL_TERMINAL_STATES[s]] += 1
        assert (mqls, attempts, opportunities) == (row["mqls"], row["attempts"], row["opportunities"])
        assert all(states[s] == row[f"state_{s}"] for s in ALL_TERMINAL_STATES)


def test_with_a_huge_competitor_hazard_every_waiting_buyer_is_taken_and_its_story_says_when(tmp_path):
    out = tmp_path / "competitor"
    sim.compare("workshop", ["seed-example"], replications=1, days=7, out=out,
                sets=["competitor.enabled=true", "competitor.scale=1m", "competitor.buyers_only=false"])
    rp = replay(out)
    run = rp.replication.runs["seed-example"]
    waited = np.flatnonzero(np.isfinite(run.outcomes.first_mql) & (run.outcomes.first_touch > run.outcomes.first_mql)
                            | np.isnan(run.outcomes.first_touch) & np.isfinite(run.outcomes.first_mql))
    assert waited.size
    for lead in waited[:20].tolist():
        ps = rp.story(lead).policy("seed-example")
        taken = [e for e in ps.events if e.kind == "competitor"]
        assert ps.state == "lost_to_competitor" and len(taken) == 1
        assert taken[0].data["where"] == "first_touch" and "while waiting for the first touch" in taken[0].text
        assert taken[0].t == pytest.approx(run.outcomes.first_mql[lead] + taken[0].data["wait_minutes"])
        assert not any(e.kind in ("sal", "rejected", "sql") for e in ps.events)


@pytest.fixture(scope="module")
def accounts_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explain") / "accounts"
    from sim.config.policy import Policy
    hybrid = Policy.model_validate({"name": "hybrid", "mql": {"unit": "hybrid", "account": {"threshold": 60}}})
    sim.compare("baseline", ["mqa-score", hybrid], replications=1, days=DAYS, out=out)
    return out


def test_an_account_policy_lead_names_its_account_and_the_mqa_rule_that_held(accounts_run):
    from sim.decisions.accounts import account_mqas
    rp = replay(accounts_run)
    run = rp.replication.runs["mqa-score"]
    book = rp.world.accounts
    mqa = account_mqas(rp.world, run.policy)
    entered = np.flatnonzero(np.isfinite(run.outcomes.first_mql) & ~np.isin(run.outcomes.first_tier, [0]))
    assert entered.size
    lead = int(entered[0])
    ps = rp.story(lead).policy("mqa-score")
    acc = next(e for e in ps.events if e.kind == "account")
    assert acc.data["account"] == book.lead_account[lead] and acc.data["crm_account"] == book.lead_crm[lead]
    mql = next(e for e in ps.events if e.kind == "mql")
    i = int(np.flatnonzero(mqa.account == book.lead_crm[lead])[0])
    assert mql.t == mqa.time[i] and mqa.lead[i] == lead
    assert "qualified as an MQA" in mql.text and "score >= 80" in mql.text and "one work item" in mql.text
    assert "scalar" not in mql.text
    # another contact of the same account, never handed to sales: a duplicate, named as such
    crm = book.lead_crm
    dup = np.flatnonzero((crm == crm[lead]) & ~np.isfinite(run.outcomes.first_mql))
    if dup.size:
        why = rp.story(int(dup[0])).policy("mqa-score").why_not_mql
        assert why is not None and "duplicate" in why and f"lead {lead}" in why
    never = np.flatnonzero(~np.isin(crm, mqa.account))
    assert "never qualified as an MQA" in rp.story(int(never[0])).policy("mqa-score").why_not_mql


def test_a_hybrid_lead_enters_sales_at_the_later_of_its_mql_and_its_accounts_mqa(accounts_run):
    from sim.decisions.accounts import account_mqas
    rp = replay(accounts_run, policies=["hybrid"])
    run = rp.replication.runs["hybrid"]
    mqa = account_mqas(rp.world, run.policy)
    crm = rp.world.accounts.lead_crm
    entered = np.flatnonzero(np.isfinite(run.outcomes.first_mql) & (run.outcomes.first_tier != 0))
    lead = int(entered[0])
    i = int(np.flatnonzero(mqa.account == crm[lead])[0])
    mql = next(e for e in rp.story(lead).policy("hybrid").events if e.kind == "mql")
    assert mql.t == max(mqa.time[i], run.scored.mql_time[lead])
    assert "qualified as an MQA" in mql.text and "its own lead MQL" in mql.text


def test_the_win_chance_told_is_the_one_the_run_drew_against_including_buying_group_coverage(accounts_run):
    """Every closed opportunity's story gives the chance its luck was compared with: won exactly when the
    lead's win draw is below it (baseline scales P(won) by buying-group coverage)."""
    rp = replay(accounts_run)
    run = rp.replication.runs["mqa-score"]
    o, luck = run.outcomes, rp.world.luck
    closed = np.flatnonzero(o.won | o.lost)
    assert closed.size > 20
    scaled = 0
    for lead in closed:
        (close,) = [e for e in rp.story(int(lead)).policy("mqa-score").events if e.kind in ("won", "lost")]
        assert (luck.win[lead] < close.data["p_win"]) == bool(o.won[lead]), (int(lead), close.text)
        scaled += "accounts.win_coverage_weight" in close.text
    assert scaled > 0


def test_an_sql_whose_account_already_has_the_windows_opportunity_says_it_was_merged(accounts_run):
    """With the hand-off off, an SQL whose opportunity the account rule merged names the lead holding it."""
    rp = replay(accounts_run, policies=["hybrid"])
    run = rp.replication.runs["hybrid"]
    o, book = run.outcomes, rp.world.accounts
    merged = 0
    for lead in np.flatnonzero(np.isfinite(o.sql_time) & np.isnan(o.opportunity_time)):
        ev = [e for e in rp.story(int(lead)).policy("hybrid").events if e.data.get("merged")]
        if ev:
            merged += 1
            other = int(ev[0].text.split("with lead ")[1].split(" ")[0])
            assert book.lead_account[other] == book.lead_account[lead]
            assert book.lead_window_at_arrival[other] == book.lead_window_at_arrival[lead]
            assert np.isfinite(o.opportunity_time[other])
    assert merged > 0


def test_a_run_that_did_not_keep_its_scores_tells_the_same_story(compared):
    """Tables never read a run's scores after sales, so a results run drops them (325 MiB at 10M
    leads); explain then scores the world itself and tells exactly the same story."""
    from sim.experiment.replication import run_replication
    from sim.story.lead import policy_story

    rp = replay(compared, policies=["seed-example"])
    kept = rp.replication
    dropped = run_replication(kept.scenario, [kept.runs["seed-example"].policy], rp.spec.seed, rp.spec.replication,
                              world=kept.world, calendar=kept.calendar, keep_scored=False)
    run = dropped.runs["seed-example"]
    want = kept.runs["seed-example"].kpis
    assert run.scored is None and run.kpis.keys() == want.keys()
    assert all(run.kpis[k] == want[k] or (run.kpis[k] != run.kpis[k] and want[k] != want[k]) for k in want)
    leads = np.flatnonzero(~np.isfinite(run.outcomes.first_mql))[:5].tolist() + \
        np.flatnonzero(np.isfinite(run.outcomes.first_mql))[:5].tolist()
    cache: dict = {}
    for lead in leads:
        a = policy_story(kept.world, kept.scenario, kept.calendar, kept.runs["seed-example"], lead)
        b = policy_story(kept.world, kept.scenario, kept.calendar, run, lead, cache)
        assert a == b, lead
