"""The hand-off to account executives (scenario [handoff]): a second capacity stage.

What a user relies on: with the stage off nothing changes; AE capacity only ever helps (more AEs
never cost opportunities on the same world); the AE queue obeys Little's law exactly on its sample
path; every lead still ends in exactly one state; and the stage is the textbook M/M/c queue when its
assumptions hold (Poisson SQLs, exponential meetings, AEs around the clock, no notice, no no-shows).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_world import _merge

from sim.calendar import BusinessCalendar
from sim.config.policy import Policy
from sim.config.scenario import Scenario
from sim.experiment.replication import run_policy
from sim.measure.erlang import erlang_c, mmc_mean_wait
from sim.sales.handoff import HELD, HandoffParams, HandoffStage
from sim.sales.log import AE
from sim.sales.outcomes import STATE
from sim.world.generate import generate_world

SMALL = {"horizon": {"warmup": "14d", "window": "56d", "runout": "42d"}, "arrivals": {"leads_per_year": 30000}}
AE_ON = {"handoff": {"enabled": True, "aes": 1, "no_show": 0.2, "rebooks": 1}}
FAST = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])


def _run(over: dict, seed: int = 3, policy: dict | None = None, check: bool = True):
    sc = Scenario.model_validate(_merge(SMALL, over))
    world = generate_world(sc, seed)
    cal = BusinessCalendar.from_scenario(sc)
    return world, cal, run_policy(world, sc, Policy.model_validate({"name": "p", **(policy or {})}), cal, check=check)


def test_settings_of_a_stage_that_is_off_change_nothing():
    """[handoff], [competitor] and [load_quality] with enabled = false: the KPIs of the default run."""
    _, _, base = _run({})
    off = {"handoff": {"enabled": False, "aes": 1, "no_show": 0.9}, "competitor": {"enabled": False, "scale": "1h"},
           "load_quality": {"enabled": False, "above": 0.0, "qualify_factor": 0.0}}
    _, _, r = _run(off)
    assert r.kpis.keys() == base.kpis.keys()
    assert all(r.kpis[k] == base.kpis[k] or (r.kpis[k] != r.kpis[k] and base.kpis[k] != base.kpis[k])
               for k in base.kpis)
    assert list(r.log.teams) == ["sdr"]


def test_the_stage_passes_every_invariant_and_conserves_leads_with_competitor_on():
    """AE stage, no-shows with a rebook and a competitor: debug mode finds nothing, every cohort lead
    is in exactly one terminal state, and the AE stage's outcomes add up."""
    over = {**AE_ON, "competitor": {"enabled": True, "scale": "2d"}}
    world, _, r = _run(over)                      # check=True: raises on any broken invariant
    k, m = r.kpis, r.outcomes.meetings
    assert sum(k["terminal_states"].values()) == k["leads"]
    assert k["terminal_states"]["lost_to_competitor"] == k["lost_to_competitor"] > 0
    assert k["lost_to_competitor_meeting"] > 0 and k["no_shows"] > 0 and k["meetings_held"] > 0
    assert np.bincount(r.outcomes.state, minlength=len(STATE)).sum() == world.n
    # an opportunity exactly on a held meeting, opened at that meeting's time
    held = m.lead[m.status == HELD]
    assert set(np.flatnonzero(r.outcomes.opportunity)) <= set(held.tolist())
    assert r.log.team(AE).workers == 1 and "ae_utilisation" in k and 0 < k["ae_utilisation"] <= 1


def test_littles_law_holds_exactly_on_the_ae_queue():
    """Area under the number of SQLs waiting for an AE = sum of every stay's wait (the stays come
    from the stage's own bookkeeping, the area from the team's queue log); over the window, the
    time-average number waiting = arrival rate of stays x their mean wait within the edge effects."""
    over = {"handoff": {**AE_ON["handoff"], "aes": 3}, "horizon": {"warmup": "14d", "window": "182d", "runout": "14d"}}
    world, _, r = _run(over, check=False)
    m, team = r.outcomes.meetings, r.log.team(AE)
    waits = np.minimum(m.stay_leave, world.end) - m.stay_ready
    area = float(np.sum(team.q_len * np.diff(np.append(team.q_time, world.end))))
    assert area == pytest.approx(waits.sum(), rel=1e-9) and waits.sum() > 0
    ws, we = world.window_start, world.window_end
    inside = (m.stay_ready >= ws) & (m.stay_ready < we)
    lam = inside.sum() / (we - ws)
    assert inside.sum() > 500 and r.kpis["ae_utilisation"] > 0.5
    assert r.kpis["sqls_waiting_for_ae"] == pytest.approx(lam * waits[inside].mean(), rel=0.05)


def test_more_aes_never_lower_opportunities_on_the_same_world():
    """Common random numbers: the same SQLs, no-shows and meeting times; only the headcount moves."""
    opps = []
    for aes in (1, 2, 4):
        _, _, r = _run({"handoff": {**AE_ON["handoff"], "aes": aes, "rebooks": 0}}, check=False)
        opps.append((r.kpis["opportunities"], r.kpis["meetings_held"], r.kpis["meeting_lead_time_p50_business_hours"]))
    assert opps[0][0] <= opps[1][0] <= opps[2][0] and opps[0][1] <= opps[1][1] <= opps[2][1]
    assert opps[0][2] >= opps[2][2]


TINY = {"horizon": {"warmup": "7d", "window": "28d", "runout": "28d"}, "arrivals": {"leads_per_year": 12000}}
ENGINE = settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow])


def _tiny(handoff: dict, seed: int, competitor: dict | None = None, check: bool = False):
    over = _merge(TINY, {"handoff": {"enabled": True, **handoff}, "competitor": competitor or {}})
    sc = Scenario.model_validate(over)
    world = generate_world(sc, seed)
    return run_policy(world, sc, Policy.model_validate({"name": "p"}), BusinessCalendar.from_scenario(sc), check=check)


@ENGINE
@given(aes=st.integers(0, 2), more=st.integers(1, 2), no_show=st.sampled_from([0.0, 0.3]),
       service=st.sampled_from(["fixed", "exponential"]), seed=st.integers(0, 1000))
def test_property_more_aes_never_lower_opportunities_on_the_same_world(aes, more, no_show, service, seed):
    """The whole engine on one world (common random numbers): the same SQLs, no-shows, meeting times
    and opportunity luck; more AEs never give fewer opportunities or held meetings."""
    hand = {"no_show": no_show, "rebooks": 0, "service": service, "time_share": 0.25}
    a, b = (_tiny({**hand, "aes": n}, seed).kpis for n in (aes, aes + more))
    assert b["opportunities"] >= a["opportunities"] and b["meetings_held"] >= a["meetings_held"]


@ENGINE
@given(aes=st.integers(0, 3), no_show=st.sampled_from([0.0, 0.5, 1.0]), rebooks=st.integers(0, 2),
       hours=st.sampled_from(["business", "always"]), notice=st.sampled_from(["0m", "4bh", "2d"]),
       competitor=st.sampled_from([{}, {"enabled": True, "scale": "1d"}, {"enabled": True, "scale": "2h",
                                                                            "buyers_only": False}]),
       seed=st.integers(0, 1000))
def test_property_every_lead_ends_in_exactly_one_state_with_the_ae_stage(aes, no_show, rebooks, hours, notice,
                                                                        competitor, seed):
    """Debug mode (every run invariant, lead conservation among them) on random AE and competitor
    settings; the terminal states account for every cohort lead exactly once."""
    r = _tiny({"aes": aes, "no_show": no_show, "rebooks": rebooks, "hours": hours, "notice": notice}, seed,
              competitor, check=True)
    k = r.kpis
    assert sum(k["terminal_states"].values()) == k["leads"]
    assert k["meetings_held"] + k["sqls_lost_no_show"] + k["sqls_without_meeting_at_end"] \
        + k.get("lost_to_competitor_meeting", 0) == k["sqls_handed_over"]


def _stage(aes: int, share: float, keys: np.ndarray, end: float, horizon: dict | None = None, **kw) -> HandoffStage:
    sc = Scenario.model_validate({"handoff": {"enabled": True, "aes": aes, "time_share": share, **kw},
                                  "horizon": horizon or {}})
    return HandoffStage(HandoffParams.resolve(sc), BusinessCalendar.from_scenario(sc), end, keys)


@FAST
@given(aes=st.integers(0, 3), more=st.integers(1, 2), share=st.sampled_from([0.25, 0.5, 1.0]),
       no_show=st.sampled_from([0.0, 0.3]), service=st.sampled_from(["fixed", "exponential"]),
       rate=st.floats(0.5, 6.0), seed=st.integers(0, 10_000))
def test_property_more_ae_capacity_never_holds_fewer_meetings(aes, more, share, no_show, service, rate, seed):
    """Same SQL stream and luck, SQLs served in order: more AEs, or a larger share of their time,
    never lose a meeting and never make one later (no rebooks: a missed meeting is lost)."""
    rng = np.random.default_rng(seed)
    n, end = 400, 60 * 1440.0
    keys = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    t = np.sort(rng.uniform(0, end * 0.8, n))
    t = t[: max(1, int(rate / 6.0 * n))]
    lead = np.arange(t.size)
    kw = {"no_show": no_show, "rebooks": 0, "service": service}
    base = _stage(aes, share, keys, end, **kw).run(lead, t)
    for bigger in (_stage(aes + more, share, keys, end, **kw), _stage(aes, min(1.0, share * 2), keys, end, **kw)):
        m = bigger.run(lead, t)
        held0, held1 = base.status == HELD, m.status == HELD
        assert not (held0 & ~held1).any()
        assert (m.meeting_time[held0] <= base.meeting_time[held0] + 1e-6).all()


@pytest.mark.slow
def test_ae_stage_is_mmc_under_textbook_assumptions():
    """Poisson SQLs (2 an hour), exponential meetings (mean 1 h), 3 AEs around the clock, no notice,
    no no-shows: P(wait) and the mean wait match Erlang C within sampling error (5 years of SQLs:
    over 12 such runs the mean wait's standard deviation was 1.9%, P(wait)'s 0.003)."""
    rng = np.random.default_rng(7)
    lam, mu, c = 2.0 / 60, 1.0 / 60, 3
    end = 5 * 364 * 1440.0
    t = np.cumsum(rng.exponential(1 / lam, int(lam * end * 1.1)))
    t = t[t < end - 30 * 1440]
    keys = rng.integers(0, 2**63, size=t.size, dtype=np.uint64)
    m = _stage(c, 1.0, keys, end, horizon={"warmup": "0d", "window": "1820d", "runout": "0d"}, meeting_time="1h",
               service="exponential", notice="0m", no_show=0.0, hours="always").run(np.arange(t.size), t)
    assert (m.status == HELD).all()
    wait = m.meeting_time - m.sql_time
    assert np.mean(wait > 1e-9) == pytest.approx(erlang_c(c, lam / mu), abs=0.015)
    assert wait.mean() == pytest.approx(mmc_mean_wait(c, lam, mu), rel=0.08)


def test_ae_load_series_and_figure_exist_only_with_the_stage():
    """The daily series gain the AE columns (and the report its 'AE load' figure) only when the
    stage ran; the AE utilisation per day averages to the window's KPI over working days."""
    from sim.report.fig_handoff import ae_load_figure, has_ae_load

    sc = Scenario.model_validate(_merge(TINY, {"handoff": {"enabled": True, "aes": 1}}))
    world, cal = generate_world(sc, 2), BusinessCalendar.from_scenario(sc)
    r = run_policy(world, sc, Policy.model_validate({"name": "p"}), cal)
    d = r.daily(world, sc, cal).assign(policy="p")
    assert has_ae_load(d) and d["ae_meetings_held"].sum() <= d["ae_meetings"].sum()
    win = d[d["in_window"] & d["ae_utilisation"].notna()]
    assert win["ae_utilisation"].mean() == pytest.approx(r.kpis["ae_utilisation"], abs=0.02)
    fig = ae_load_figure(d, ["p"])
    assert len(fig.axes) == 3
    base = Scenario.model_validate(TINY)
    plain = run_policy(world, base, Policy.model_validate({"name": "p"}), cal).daily(world, base, cal)
    assert not has_ae_load(plain.assign(policy="p")) and "ae_utilisation" not in plain
