"""The account layer: the market a world is drawn from, the MQA rule, and the account rules of the
sales stage. Behaviour a user relies on: no [accounts] = today exactly; every policy meets the same
accounts (CRN); lead-level policies see the same leads on an account world; states are conserved per
account; a stricter MQA rule never qualifies more accounts."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.calendar import BusinessCalendar
from sim.config.accounts import BUYING_ROLES, ROLES, Accounts, IntentSignal
from sim.config.errors import ConfigError
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.decisions.accounts import account_mqas, active_count, crm_accounts
from sim.experiment.replication import run_policy, run_replication
from sim.vocab import ALL_TERMINAL_STATES, COMPANY_SIZES, SENIORITIES
from sim.world.generate import generate_world

SMALL = {"horizon": {"warmup": "14d", "window": "84d", "runout": "60d"}, "arrivals": {"leads_per_year": 6000},
         "sales": {"reps": 2}}


def scenario(**accounts: object) -> Scenario:
    return Scenario.model_validate({**SMALL, "accounts": accounts})


def policy(name: str = "p", **mql: object) -> Policy:
    return Policy.model_validate({"name": name, "mql": mql})


@pytest.fixture(scope="module")
def world():
    return generate_world(scenario(intent={"hit_rate": 0.7, "false_alarm_rate": 0.1}), seed=3)


def lead_only(kpis: dict) -> dict:
    return {k: v for k, v in kpis.items() if k not in ACCOUNT_KEYS and not k.startswith("account_state_")}


ACCOUNT_KEYS = {"accounts_engaged", "orphan_leads", "orphan_share", "mqas", "mqas_in_market", "account_precision",
                "in_market_accounts", "in_market_found", "account_recall", "mqa_opportunities",
                "mqa_to_opportunity_rate", "accounts_won", "accounts_lost", "account_win_rate", "bookings_per_account",
                "pipeline_per_account", "coverage_reached", "coverage_group", "buying_group_coverage",
                "duplicate_touches", "duplicate_touch_share", "account_first_touch_p50_hours",
                "account_first_touch_p90_hours"}


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in a)


# -- the world --------------------------------------------------------------------------------
def test_a_scenario_without_accounts_gives_identical_kpis_and_no_account_kpis():
    plain = Scenario.model_validate(SMALL)
    explicit = Scenario.model_validate({**SMALL, "accounts": None})
    a = run_replication(plain, [Policy()], seed=1).runs["seed-example"].kpis
    b = run_replication(explicit, [Policy()], seed=1).runs["seed-example"].kpis
    assert same(a, b)
    assert not ACCOUNT_KEYS & a.keys()


def test_accounts_decide_who_leads_are_not_when_they_arrive(world):
    plain = generate_world(Scenario.model_validate(SMALL), seed=3)
    assert np.array_equal(plain.arrival, world.arrival) and np.array_equal(plain.channel, world.channel)


def test_every_policy_meets_the_same_accounts_contacts_and_windows():
    sc = scenario()
    a, b = generate_world(sc, seed=5, replication=2), generate_world(sc, seed=5, replication=2)
    for f in dataclasses.fields(a.accounts):
        x, y = getattr(a.accounts, f.name), getattr(b.accounts, f.name)
        assert np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y, f.name
    # a matching change moves only the matching: same accounts, windows and contacts
    c = generate_world(scenario(match_rate=0.5), seed=5, replication=2)
    assert np.array_equal(a.accounts.lead_account, c.accounts.lead_account)
    assert np.array_equal(a.accounts.w_start, c.accounts.w_start)
    assert np.array_equal(a.buyer, c.buyer)


def test_buying_group_members_arrive_inside_their_window_within_weeks(world):
    book = world.accounts
    m = np.flatnonzero(book.lead_window >= 0)
    w = book.lead_window[m]
    assert np.all(book.lead_account[m] == book.w_account[w])
    assert np.all((world.arrival[m] >= book.w_start[w] - 24 * 60) & (world.arrival[m] < book.w_end[w] + 24 * 60))
    # several members of one window: their first and last arrivals are weeks apart, not the window's months
    spread = []
    for win in np.unique(w):
        t = world.arrival[m[w == win]]
        if t.size >= 2:
            spread.append(t.max() - t.min())
    assert spread and np.median(spread) < 0.5 * np.median(book.w_end - book.w_start)


def test_members_have_buying_roles_and_senior_enough_titles(world):
    book = world.accounts
    members = book.lead_window >= 0
    assert np.array_equal(members, world.buyer)
    assert np.all(book.lead_role[members] < len(BUYING_ROLES))
    assert np.all(book.lead_role[~members] == ROLES.index("outside"))
    deciders = book.lead_role == ROLES.index("decision_maker")
    assert set(np.unique(world.seniority[deciders])) <= {SENIORITIES.index(s) for s in ("c_suite", "vp", "director")}
    assert not np.isin(world.email_kind[members], [2, 3]).any()    # no student or competitor addresses


def test_groups_grow_with_company_size_and_respect_the_cap(world):
    book = world.accounts
    size = book.size[book.w_account]
    mean = [book.w_group[size == s].mean() for s in range(len(COMPANY_SIZES)) if (size == s).sum() > 30]
    assert mean == sorted(mean) and mean[0] < 2 and mean[-1] > 4
    assert book.w_group.max() <= Accounts().max_contacts


def test_share_in_market_and_match_rate_are_as_set(world):
    book = world.accounts
    t = 0.5 * world.end
    in_market = np.unique(book.w_account[(book.w_start <= t) & (book.w_end > t)]).size / book.count
    assert abs(in_market - 0.05) < 4 * math.sqrt(0.05 * 0.95 / book.count) + 0.01
    orphan = book.orphan.mean()
    assert abs(orphan - 0.15) < 4 * math.sqrt(0.15 * 0.85 / world.n)


def test_intent_flags_in_market_accounts_more_often_than_others(world):
    book = world.accounts
    t = np.linspace(0.2, 0.8, 7) * world.end
    acc = np.repeat(np.arange(book.count), t.size)
    tt = np.tile(t, book.count)
    flagged = active_count(book.s_account, book.s_start, book.s_end, acc, tt) > 0
    in_market = active_count(book.w_account, book.w_start + 7 * 1440, book.w_end, acc, tt) > 0
    assert abs(flagged[in_market].mean() - 0.7) < 0.1
    assert abs(flagged[~in_market].mean() - 0.1) < 0.03


# -- the decision -----------------------------------------------------------------------------
def test_lead_unit_on_an_account_world_is_the_lead_result_with_accounts_only_in_the_kpis():
    sc = scenario(win_coverage_weight=0.0, one_opportunity_per_window=False)
    w = generate_world(sc, seed=2)
    cal = BusinessCalendar.from_scenario(sc)
    with_accounts = run_policy(w, sc, Policy(), cal).kpis
    without = run_policy(dataclasses.replace(w, accounts=None), Scenario.model_validate(SMALL), Policy(), cal).kpis
    assert ACCOUNT_KEYS <= with_accounts.keys()
    assert same(lead_only(with_accounts), without)


def test_account_unit_hands_sales_one_item_per_account():
    sc = scenario()
    run = run_replication(sc, [policy("acc", unit="account")], seed=4)
    log, w = run.runs["acc"].log, run.world
    crm = crm_accounts(w)[log.ep_lead]
    assert np.unique(crm).size == crm.size
    assert run.runs["acc"].kpis["mqas"] > 0


def brute_force_top_k(world, pol: Policy, acc: int, t: float) -> float:
    """The account's roll-up at time t straight from the definition: each contact's behaviour after
    its last event at or before t, decayed to t, top k summed (decay none)."""
    from sim.decisions.accounts import event_scores
    from sim.decisions.mql import compile_policy
    es = event_scores(world, pol, compile_policy(pol))
    crm = crm_accounts(world)
    values = []
    for lead in np.flatnonzero(crm == acc):
        if not es.eligible[lead]:
            continue
        a, b = world.event_offsets[lead], world.event_offsets[lead + 1]
        past = np.flatnonzero(world.event_time[a:b] <= t)
        if past.size:
            j = a + past[-1]
            h = pol.scoring.decay.half_life.minutes
            decay = 2.0 ** (-(t - world.event_time[j]) / h) if pol.scoring.decay.mode == "half_life" else 1.0
            values.append(es.behaviour[j] * decay)
    return float(sum(sorted(values, reverse=True)[: pol.mql.account.top_k]))


@pytest.mark.parametrize("decay", ["none", "half_life"])
def test_the_rollup_is_the_top_k_contacts_at_the_mqa(world, decay):
    pol = Policy.model_validate({"mql": {"unit": "account", "account": {
        "threshold": 60, "min_engaged_contacts": 1, "rollup": "top_k", "top_k": 2}},
        "scoring": {"decay": {"mode": decay, "half_life": "10d"}}})
    mqa = account_mqas(world, pol)
    assert mqa.account.size > 25
    from sim.decisions.accounts import account_fit
    fit = account_fit(world, pol)
    rng = np.random.default_rng(0)
    for i in rng.choice(mqa.account.size, size=min(25, mqa.account.size), replace=False):
        expect = fit[mqa.lead[i]] + brute_force_top_k(world, pol, int(mqa.account[i]), float(mqa.time[i]))
        assert mqa.score[i] == pytest.approx(expect, abs=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(0, 5), more=st.integers(1, 4), threshold=st.sampled_from([0, 40, 80, 150]),
       combine=st.sampled_from(["and", "or"]), rollup=st.sampled_from(["sum", "max", "top_k"]))
def test_raising_the_coverage_requirement_never_increases_mqas(world, n, more, threshold, combine, rollup):
    rule = {"threshold": threshold, "combine": combine, "rollup": rollup}
    loose = account_mqas(world, policy(unit="account", account={**rule, "min_engaged_contacts": n}))
    strict = account_mqas(world, policy(unit="account", account={**rule, "min_engaged_contacts": n + more}))
    assert strict.account.size <= loose.account.size
    assert set(strict.account) <= set(loose.account)


# -- outcomes and KPIs ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def three_runs():
    sc = scenario()
    pols = [Policy(), policy("acc", unit="account", account={"threshold": 60}), policy("hyb", unit="hybrid")]
    return run_replication(sc, pols, seed=7)


def test_terminal_states_are_conserved_per_lead_and_per_account(three_runs):
    for run in three_runs.runs.values():
        k = run.kpis
        assert sum(k["terminal_states"].values()) == k["leads"]
        assert sum(k[f"account_state_{s}"] for s in ALL_TERMINAL_STATES) == k["accounts_engaged"]


def test_at_most_one_opportunity_per_account_and_buying_window(three_runs):
    book = three_runs.world.accounts
    for run in three_runs.runs.values():
        opp = np.flatnonzero(run.outcomes.opportunity)
        key = book.lead_account[opp] * (book.w_account.size + 2) + book.lead_window_at_arrival[opp] + 1
        assert np.unique(key).size == key.size


def test_account_kpis_are_consistent_counts(three_runs):
    for run in three_runs.runs.values():
        k = run.kpis
        assert 0 <= k["mqas_in_market"] <= k["mqas"] <= k["accounts_engaged"] + k["orphan_leads"]
        assert 0 <= k["in_market_found"] <= k["in_market_accounts"]
        assert 0 <= k["coverage_reached"] <= k["coverage_group"]
        assert k["duplicate_touches"] <= k["attempts"]
    acc = three_runs.runs["acc"].kpis
    assert acc["duplicate_touches"] < three_runs.runs["seed-example"].kpis["duplicate_touches"]


def test_owner_routing_gives_every_account_one_rep():
    sc = scenario()
    run = run_replication(sc, [policy("own", unit="account").model_copy(
        update={"routing": Policy().routing.model_copy(update={"discipline": "owner"})})], seed=1)
    log, w = run.runs["own"].log, run.world
    crm = crm_accounts(w)[log.at_lead]
    assert np.all(log.at_rep == crm % sc.sales.reps)


# -- bad settings -----------------------------------------------------------------------------
def test_bad_account_settings_name_the_field():
    with pytest.raises(ValueError, match="max_contacts"):
        Accounts.model_validate({"max_contacts": 3})
    with pytest.raises(ValueError, match="window_length"):
        Accounts.model_validate({"window_length": "0d"})
    with pytest.raises(ValueError, match="decay"):
        Policy.model_validate({"mql": {"unit": "account"}, "scoring": {"decay": {"mode": "window"}}})
    with pytest.raises(ValueError, match="hit_rate"):
        IntentSignal.model_validate({"hit_rate": 1.5})


def test_a_coverage_rule_larger_than_any_buying_group_is_refused_before_running():
    from sim.experiment.task_plan import build_plan
    with pytest.raises(ConfigError, match="min_engaged_contacts = 25"):
        build_plan("run", "x", [scenario()], [policy("big", unit="account", account={"min_engaged_contacts": 25})],
                   replications=1)


# -- CRM side ---------------------------------------------------------------------------------
def test_calibrate_reports_contacts_per_account_or_says_it_has_none():
    import pandas as pd

    from sim.crm.calibrate import account_fits
    day = pd.Timestamp("2026-01-05")
    leads = pd.DataFrame({"account": ["a", "a", "b", None, "c", "c", "c"],
                          "created": [day, day + pd.Timedelta(days=3), day, day, day,
                                      day + pd.Timedelta(days=40), day + pd.Timedelta(days=50)]})
    fits = account_fits(leads)
    assert fits["accounts"] == 3 and fits["match_rate"] == pytest.approx(6 / 7)
    assert fits["contacts_per_account_mean"] == pytest.approx(2.0)
    assert fits["share_with_several_contacts"] == pytest.approx(2 / 3)
    assert fits["share_with_several_in_30_days"] == pytest.approx(1 / 3)
    assert account_fits(leads.assign(account=pd.NA)) is None


def test_the_report_gets_an_account_view_only_for_account_runs(three_runs):
    import pandas as pd

    from sim.report.fig_accounts import accounts_figure, has_accounts
    rows = [{"policy": name, "kpi": k, "mean": float(v), "lower": float(v) * 0.9, "upper": float(v) * 1.1}
            for name, run in three_runs.runs.items() for k, v in run.kpis.items() if isinstance(v, (int, float))]
    summary = pd.DataFrame(rows)
    assert has_accounts(summary)
    fig = accounts_figure(summary)
    assert len(fig.axes) == 3
    lead_only_summary = summary[~summary["kpi"].isin(ACCOUNT_KEYS)]
    assert not has_accounts(lead_only_summary)


@pytest.mark.parametrize("kind, text, words", [
    ("scenario", "[accounts]\nmax_contacts = 3\n", ["accounts.max_contacts", "enterprise"]),
    ("scenario", '[accounts]\nwindow_length = "-30d"\n', ["accounts.window_length"]),
    ("scenario", "[accounts.intent]\nhit_rate = 2\n", ["accounts.intent.hit_rate"]),
    ("policy", '[mql]\nunit = "account"\n[mql.account]\nmin_engaged_contacts = 40\n',
     ["min_engaged_contacts = 40", "larger than any buying group"]),
])
def test_bad_account_settings_exit_2_naming_the_field(tmp_path, kind, text, words):
    from click.testing import CliRunner

    from sim.cli import main
    path = tmp_path / f"bad-{kind}.toml"
    path.write_text(text, encoding="utf-8")
    args = [str(path), "-p", "seed-example"] if kind == "scenario" else ["workshop", "-p", str(path)]
    result = CliRunner().invoke(main, ["run", *args, "-n", "1", "--days", "7"])
    assert result.exit_code == 2, result.output
    for w in words:
        assert w in result.output, result.output


def test_an_mqa_goes_to_a_contact_engaged_in_the_last_window(world):
    pol = policy(unit="account", account={"threshold": 60, "min_engaged_contacts": 2})
    mqa = account_mqas(world, pol)
    window = pol.mql.account.engaged_window.minutes
    crm = crm_accounts(world)
    assert mqa.account.size > 10
    for acc, t, lead in zip(mqa.account, mqa.time, mqa.lead):
        assert crm[lead] == acc
        times = world.event_time[world.event_offsets[lead]:world.event_offsets[lead + 1]]
        assert ((times > t - window - 1e-6) & (times <= t + 1e-6)).any()
