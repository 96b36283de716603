"""Account work: a multi-threaded cadence (`cadence.threading`), the account SLA clock and
re-qualification of recycled accounts (`recycle.requalify_accounts`). Behaviour a user relies on:
spread calls more of a buying group than single; each call meets the called contact's own luck
(common random numbers); the account SLA is met by a touch of any contact; conservation and every
engine invariant hold with threading on; a recycled account comes back exactly when its rule holds
again after the recycle, never earlier, and not at all when it does not."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.accounts import crm_accounts, event_scores
from sim.decisions.mql import TOL, compile_policy
from sim.decisions.oracle import score_lead
from sim.experiment.replication import run_replication
from sim.measure.kpis import sla_deadlines
from sim.sales.draws import ATTEMPTS_PER_EPISODE
from sim.vocab import ALL_TERMINAL_STATES, SENIORITIES
from sim.world.model import PURPOSE_CONTACT, lead_uniform
from sim.world.response import ResponseModel

SMALL = {"horizon": {"warmup": "14d", "window": "84d", "runout": "60d"}, "arrivals": {"leads_per_year": 6000},
         "sales": {"reps": 2}, "accounts": {}}
NEW_KPIS = ("contacts_touched", "accounts_touched", "contacts_touched_per_account", "account_sla_met",
            "account_sla_compliance")


def policy(name: str, unit: str = "account", threading: str | None = None, requalify: bool = False,
           work_items: str = "account", **rule: object) -> Policy:
    cadence: dict[str, object] = {"max_attempts": 4}
    if threading is not None:
        cadence["threading"] = threading
    return Policy.model_validate({"name": name, "mql": {"unit": unit, "account": {"threshold": 60,
                                                                                 "work_items": work_items, **rule}},
                                  "cadence": cadence, "recycle": {"requalify_accounts": requalify}})


@pytest.fixture(scope="module")
def runs():
    pols = [policy("unset"), policy("single", threading="single"), policy("spread", threading="spread"),
            policy("hybrid-spread", unit="hybrid", threading="spread"),
            policy("contact-items", threading="single", work_items="contact"), policy("cover", threading="cover")]
    return run_replication(Scenario.model_validate(SMALL), pols, seed=7, check=True)   # check: every invariant


def distinct_called(run, world) -> np.ndarray:
    """Distinct contacts called per CRM account that had an attempt."""
    crm = crm_accounts(world)
    target = run.log.at_target
    pairs = np.unique(np.stack([crm[run.log.at_lead], target]), axis=1)
    return np.bincount(np.unique(pairs[0], return_inverse=True)[1])


def test_spread_calls_more_distinct_contacts_per_account_than_single(runs):
    single, spread = runs.runs["single"], runs.runs["spread"]
    assert single.kpis["contacts_touched_per_account"] == 1.0
    assert spread.kpis["contacts_touched_per_account"] > 1.1
    assert (distinct_called(single, runs.world) == 1).all()
    assert distinct_called(spread, runs.world).max() > 1
    # the KPI is its registered numerator over its denominator
    k = spread.kpis
    assert k["contacts_touched_per_account"] == k["contacts_touched"] / k["accounts_touched"]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[k] == b[k] or (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) for k in a)


def test_cover_keeps_calling_unreached_contacts_after_the_first_conversation(runs):
    """spread stops at the first conversation (one contact reached per item); cover goes on calling
    contacts not reached yet, so it reaches several per item, never the same one twice, at the
    cost of more attempts."""
    world = runs.world
    per_item = {}
    for name in ("spread", "cover"):
        log = runs.runs[name].log
        hit = log.at_contact
        pairs = np.stack([log.at_lead[hit], log.at_target[hit]])
        assert np.unique(pairs, axis=1).shape[1] == pairs.shape[1]          # nobody reached twice in an item
        per_item[name] = pairs.shape[1] / np.unique(pairs[0]).size
        # once an item's contact is reached, it is not called again
        order = np.lexsort((log.at_start, log.at_lead))
        seen: set[tuple[int, int]] = set()
        for i in order.tolist():
            key = (int(log.at_lead[i]), int(log.at_target[i]))
            assert key not in seen
            if log.at_contact[i]:
                seen.add(key)
    assert per_item["spread"] == 1.0
    assert per_item["cover"] > 1.05
    spread, cover = runs.runs["spread"].kpis, runs.runs["cover"].kpis
    assert cover["attempts"] > spread["attempts"]
    assert cover["contacts_touched_per_account"] > spread["contacts_touched_per_account"]
    assert distinct_called(runs.runs["cover"], world).max() > 1


def test_single_threading_changes_nothing_but_adds_the_account_work_kpis(runs):
    unset, single = runs.runs["unset"].kpis, runs.runs["single"].kpis
    assert not set(NEW_KPIS) & unset.keys()
    assert set(NEW_KPIS) <= single.keys()
    assert same(unset, {k: single[k] for k in unset})


def test_spread_rotates_own_contact_first_then_decision_roles_among_contacts_engaged_at_the_opening(runs):
    world, log = runs.world, runs.runs["spread"].log
    decider = np.isin(world.seniority, [SENIORITIES.index(s) for s in ("c_suite", "vp", "director")])
    window = 30 * 1440.0
    order = np.lexsort((log.at_start, log.at_lead))
    checked = 0
    for lead in np.unique(log.ep_lead[log.ep_attempts > 1]).tolist():
        ep = np.flatnonzero(log.ep_lead == lead)[0]
        calls = log.at_target[order][log.at_lead[order] == lead][: log.ep_attempts[ep]].tolist()
        assert calls[0] == lead
        rotation = list(dict.fromkeys(calls))
        assert calls == [rotation[i % len(rotation)] for i in range(len(calls))]    # a rotation, in turn
        others = rotation[1:]
        flags = decider[others].tolist()
        assert flags == sorted(flags, reverse=True)                               # decision roles first
        t = log.ep_mql_time[ep]
        for c in others:          # engaged at the opening: an event of theirs in the engaged window before it
            ev = world.event_time[world.event_offsets[c]:world.event_offsets[c + 1]]
            assert ((ev <= t) & (ev > t - window)).any()
        checked += len(others)
    assert checked > 10


def test_every_call_meets_the_called_contacts_own_luck(runs):
    """Counter-based: the m-th call of contact c in an item's episode e reaches c exactly when c's
    own uniform (contact purpose, counter e x 64 + m) is below the contact chance at that delay."""
    for name in ("spread", "cover"):
        check_own_luck(runs.world, runs.runs[name].log, runs.scenario)


def check_own_luck(world, log, scenario) -> None:
    p_contact = ResponseModel.from_scenario(scenario.response).scalar_contact_probability()
    ep_of = {int(x): i for i, x in enumerate(log.ep_lead.tolist()) if log.ep_index[i] == 0}
    calls: dict[tuple[int, int], int] = {}
    for i in np.argsort(log.at_start, kind="stable").tolist():
        lead, target = int(log.at_lead[i]), int(log.at_target[i])
        ep = ep_of.get(lead)
        if ep is None:            # a later episode: not in this run (no re-qualification)
            continue
        m = calls.get((lead, target), 0)
        calls[(lead, target)] = m + 1
        u = lead_uniform(int(world.luck.key[target]), PURPOSE_CONTACT, 0 * ATTEMPTS_PER_EPISODE + m)
        assert bool(log.at_contact[i]) == (u < p_contact(float(log.at_start[i] - log.ep_mql_time[ep])))


def test_same_seed_same_results_and_the_world_does_not_depend_on_threading():
    sc = Scenario.model_validate(SMALL)
    a = run_replication(sc, [policy("spread", threading="spread")], seed=11)
    b = run_replication(sc, [policy("single", threading="single"), policy("spread", threading="spread")], seed=11)
    assert same(a.runs["spread"].kpis, b.runs["spread"].kpis)
    assert np.array_equal(a.world.luck.key, b.world.luck.key)


def test_the_account_sla_is_met_by_the_first_touch_of_any_contact(runs):
    """With one item per engaged contact, the account's clock starts at its first item and stops at
    the first touch of any of its items: recomputed here account by account."""
    world, run = runs.world, runs.runs["contact-items"]
    log, cal, crm = run.log, runs.calendar, crm_accounts(world)
    first = (log.ep_index == 0) & world.in_cohort[log.ep_lead]
    by_account: dict[int, list[int]] = {}
    for i in np.flatnonzero(first).tolist():
        by_account.setdefault(int(crm[log.ep_lead[i]]), []).append(i)
    met = own_met = 0
    for items in by_account.values():
        clock = min(items, key=lambda i: (log.ep_mql_time[i], log.ep_tier[i]))   # the MQA's own item
        deadline = sla_deadlines(cal, run.policy, log.ep_mql_time[[clock]], log.ep_tier[[clock]])[0]
        touches = [log.ep_first_touch[i] for i in items if not math.isnan(log.ep_first_touch[i])]
        met += bool(touches) and min(touches) <= deadline
        own_met += bool(log.ep_first_touch[clock] <= deadline)
    k = run.kpis
    assert k["mqas"] == len(by_account)
    assert k["account_sla_met"] == met
    assert met >= own_met      # any contact's touch: never fewer than the first item's own
    assert k["account_sla_compliance"] == met / len(by_account)


def test_states_are_conserved_per_lead_and_per_account_with_threading(runs):
    for name in ("spread", "hybrid-spread", "cover"):
        k = runs.runs[name].kpis
        assert sum(k["terminal_states"].values()) == k["leads"]
        assert sum(k[f"account_state_{s}"] for s in ALL_TERMINAL_STATES) == k["accounts_engaged"]
        assert k["accounts_touched"] <= k["mqas"]


def test_hybrid_spread_works_each_account_as_one_item(runs):
    world, log = runs.world, runs.runs["hybrid-spread"].log
    crm = crm_accounts(world)[log.ep_lead[log.ep_index == 0]]
    assert np.unique(crm).size == crm.size


@pytest.mark.parametrize("bad, words", [({"unit": "lead"}, "mql.unit"), ({"work_items": "contact"}, "work_items")])
def test_spread_needs_account_work_items(bad, words):
    unit = bad.get("unit", "account")
    with pytest.raises(ValidationError, match=words):
        policy("p", unit=unit, threading="spread", work_items=bad.get("work_items", "account"))


def test_requalifying_accounts_is_refused_for_lead_mqls_with_the_fix():
    """A lead-unit policy already re-MQLs recycled leads: asking it to requalify accounts would be
    silently ignored, so it is refused naming the field and the fix."""
    with pytest.raises(ValidationError, match=r"recycle\.requalify_accounts.*mql\.unit = \"account\""):
        Policy.model_validate({"name": "p", "recycle": {"requalify_accounts": True}})


# -- re-qualification after a recycle ----------------------------------------------------------
BREADTH = {"combine": "or", "threshold": 10_000, "min_engaged_contacts": 2}   # qualifies on breadth alone


def rule_holds_at(world, pol: Policy, acc_leads: list[int], eligible: np.ndarray, after: float, t: float) -> bool:
    """Brute force: two eligible contacts of the account scored in the engaged window before t, after
    the recycle (behaviour restarts at it), or a demo request taking the fast lane at t."""
    r = compile_policy(pol)
    engaged = 0
    for c in acc_leads:
        if not eligible[c]:
            continue
        prev, t_prev, hit = 0.0, None, False
        for p in score_lead(world, pol, c, reset_at=after, rules=r):
            if p.time > t:
                break
            decayed = prev if t_prev is None else prev * r_decay(r, p.time - t_prev)
            if p.behaviour > decayed + TOL and p.time > t - pol.mql.account.engaged_window.minutes:
                hit = True
            if p.time == t and p.fast_lane:
                return True
            prev, t_prev = p.behaviour, p.time
        engaged += hit
    return engaged >= 2


def r_decay(r, dt: float) -> float:
    return 2.0 ** (-dt / r.half_life) if r.decay_mode == "half_life" else 1.0


@pytest.fixture(scope="module")
def requalified():
    pols = [Policy.model_validate({"name": "requal", "mql": {"unit": "account", "account": BREADTH},
                                   "cadence": {"max_attempts": 1}, "recycle": {"requalify_accounts": True}}),
            Policy.model_validate({"name": "stay", "mql": {"unit": "account", "account": BREADTH},
                                   "cadence": {"max_attempts": 1}})]
    sc = Scenario.model_validate({**SMALL, "sales": {"reps": 1}})
    return run_replication(sc, pols, seed=5, check=True)


def test_recycled_accounts_requalify_exactly_when_their_rule_holds_again(requalified):
    world, run = requalified.world, requalified.runs["requal"]
    log, pol = run.log, run.policy
    crm = crm_accounts(world)
    eligible = event_scores(world, pol, compile_policy(pol)).eligible
    by_acc = {a: np.flatnonzero(crm == a).tolist() for a in np.unique(crm[log.ep_lead]).tolist()}
    came_back = stayed = 0
    for lead in np.unique(log.ep_lead).tolist():
        eps = np.flatnonzero(log.ep_lead == lead)
        eps = eps[np.argsort(log.ep_index[eps])]
        for j, e in enumerate(eps.tolist()):
            if log.ep_status[e] not in (2, 3, 4) or log.ep_index[e] + 1 >= pol.recycle.max_recycles:
                continue     # not recycled, or out of chances
            after, contacts = float(log.ep_end_time[e]), by_acc[int(crm[lead])]
            times = np.unique(np.concatenate([world.event_time[world.event_offsets[c]:world.event_offsets[c + 1]]
                                              for c in contacts]))
            times = times[(times > after) & (times < world.end)]
            holds = [t for t in times.tolist() if rule_holds_at(world, pol, contacts, eligible, after, t)]
            if j + 1 < eps.size:
                t_back = float(log.ep_mql_time[eps[j + 1]])
                assert holds and holds[0] == t_back, "came back when the rule did not first hold again"
                came_back += 1
            else:
                assert not holds, "the rule held again after the recycle, but the account did not come back"
                stayed += 1
    assert came_back > 0 and stayed > 0
    assert run.kpis["re_mql_episodes"] > 0


def test_without_requalify_a_recycled_account_stays_in_nurture(requalified):
    assert (requalified.runs["stay"].log.ep_index == 0).all()


def test_explain_names_the_contact_each_call_went_to_and_why_a_recycled_account_came_back():
    """The lead story re-derives every attempt from the called contact's luck (it raises if the log
    disagrees) and says why a recycled account item came back."""
    from sim.story.lead import policy_story

    pol = Policy.model_validate({"name": "p", "mql": {"unit": "account", "account": BREADTH},
                                 "cadence": {"max_attempts": 3, "threading": "spread"},
                                 "recycle": {"requalify_accounts": True}})
    rep = run_replication(Scenario.model_validate({**SMALL, "sales": {"reps": 1}}), [pol], seed=5)
    run, log = rep.runs["p"], rep.runs["p"].log
    called_other = np.unique(log.at_lead[log.at_target != log.at_lead])
    came_back = np.unique(log.ep_lead[log.ep_index > 0])
    assert called_other.size and came_back.size
    cache: dict = {}
    texts = [ev.text for lead in (int(called_other[0]), int(came_back[0]))
             for ev in policy_story(rep.world, rep.scenario, rep.calendar, run, lead, cache).events]
    assert any("(called contact " in t for t in texts)
    assert any("qualified again" in t for t in texts)


@pytest.fixture(scope="module")
def small_world():
    from sim.calendar import BusinessCalendar
    from sim.world.generate import generate_world

    sc = Scenario.model_validate({**SMALL, "sales": {"reps": 1}})
    return sc, generate_world(sc, seed=13), BusinessCalendar.from_scenario(sc)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(threading=st.sampled_from(["single", "spread", "cover"]), unit=st.sampled_from(["account", "hybrid"]),
       attempts=st.integers(1, 5), requalify=st.booleans(), breach=st.sampled_from(["none", "escalate", "recycle"]))
def test_every_invariant_holds_for_any_threaded_account_policy(small_world, threading, unit, attempts, requalify,
                                                               breach):
    from sim.experiment.replication import run_policy

    sc, world, cal = small_world
    pol = Policy.model_validate({"name": "p", "mql": {"unit": unit, "account": {"threshold": 60}},
                                 "cadence": {"max_attempts": attempts, "threading": threading},
                                 "recycle": {"requalify_accounts": requalify}, "sla": {"breach_action": breach}})
    k = run_policy(world, sc, pol, cal, check=True).kpis     # raises InvariantError on any broken invariant
    assert sum(k[f"account_state_{s}"] for s in ALL_TERMINAL_STATES) == k["accounts_engaged"]


def test_explain_tells_the_win_chance_the_run_drew_with_the_coverage_the_calls_reached():
    """Under cover, coverage counts whom the calls reached (not the item's own lead): the chance
    told for every closed deal is the one its win draw was compared with."""
    from sim.story.lead import policy_story

    pol = Policy.model_validate({"name": "p", "mql": {"unit": "account", "account": {"threshold": 60}},
                                 "cadence": {"max_attempts": 4, "threading": "cover"}})
    sc = Scenario.model_validate({**SMALL, "arrivals": {"leads_per_year": 20_000}, "sales": {"reps": 4}})
    rep = run_replication(sc, [pol], seed=2)
    run = rep.runs["p"]
    o, luck = run.outcomes, rep.world.luck
    closed = np.flatnonzero(o.won | o.lost)
    assert closed.size >= 5
    cache: dict = {}
    for lead in closed.tolist():
        (close,) = [e for e in policy_story(rep.world, rep.scenario, rep.calendar, run, lead, cache).events
                    if e.kind in ("won", "lost")]
        assert (luck.win[lead] < close.data["p_win"]) == bool(o.won[lead]), (lead, close.text)
