"""Figures show what they claim: one series per policy in the policy's colour, labelled axes with
units, the SLA targets, the decay curve, the campaign spikes, the recommended point where the
recommendation says; and the detail KPIs behind them add up (every buyer has one fate, every
episode one first-touch bucket). Content, not pixels."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from results_fixture import comparison_folder, sweep_folder

from sim.experiment.results import load_results
from sim.measure.detail import BUYER_FATES, DELAY_BUCKETS, RECYCLE_CAUSES, TTFT_BUCKETS, TTFT_NEVER
from sim.present import significant
from sim.report.fig_compare import KEY_KPIS, STAGES, comparison_figure, funnel_figure, rejection_figure
from sim.report.fig_speed import decay_figure, load_figure, speed_figure
from sim.report.fig_sweep import heatmap_figure, quality_figure, sweep_figure
from sim.report.style import PALETTE, colours, save
from sim.vocab import TIERS
from sim.world.response import PRESETS

POLICIES = ["seed-example", "volume", "fit-and-intent"]


@pytest.fixture(scope="module")
def cmp(tmp_path_factory):
    # 5 worlds: the fewest that get intervals (fewer: every difference is 'too few')
    return load_results(comparison_folder(tmp_path_factory.mktemp("cmp") / "r", replications=5))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return load_results(sweep_folder(tmp_path_factory.mktemp("sw") / "r", {"mql.threshold": [40, 60, 80]}))


@pytest.fixture(scope="module")
def sweep2(tmp_path_factory):
    return load_results(sweep_folder(tmp_path_factory.mktemp("sw2") / "r",
                                     {"mql.threshold": [40, 60, 80], "sales.reps": [1, 2, 3]}))


def texts(fig: Figure) -> str:
    """Every piece of text in the figure (titles, labels, ticks, legends, annotations)."""
    return " | ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text") and a.get_text()))


def by_gid(fig: Figure, prefix: str) -> list:
    return [a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))]


def bar_colours(ax) -> list[str]:
    return [to_hex(p.get_facecolor()) for p in ax.patches]


def assert_labelled(fig: Figure) -> None:
    """Every axes that draws data has a title (or the figure has one) and labelled axes."""
    assert fig._suptitle is not None or any(ax.get_title() for ax in fig.axes)
    for ax in fig.axes:
        if not ax.axison or not (ax.lines or ax.patches or ax.collections):
            continue
        assert ax.get_xlabel() or any(t.get_text() for t in ax.get_xticklabels()), ax
        assert ax.get_ylabel() or any(t.get_text() for t in ax.get_yticklabels()), ax


# ---- per-point figures -----------------------------------------------------------------------

def test_funnel_one_bar_per_policy_and_stage_in_the_policy_colour(cmp):
    fig = funnel_figure(cmp.summary(), POLICIES)
    vol, rates = fig.axes[:2]
    assert len(vol.patches) == len(POLICIES) * len(STAGES)
    assert [t.get_text() for t in vol.get_xticklabels()] == [label for _, label in STAGES]
    col = colours(POLICIES)
    assert bar_colours(vol)[:len(STAGES)] == [col[POLICIES[0]].lower()] * len(STAGES)
    assert [t.get_text() for t in vol.get_legend().get_texts()] == POLICIES
    assert "log scale" in vol.get_ylabel() and "%" in rates.get_ylabel()
    heights = {p.get_x(): p.get_height() for p in rates.patches}
    assert all(0 <= h <= 100 for h in heights.values())
    assert_labelled(fig)


def test_comparison_marks_exactly_the_significant_differences(cmp):
    diffs = cmp.differences()
    fig = comparison_figure(diffs, cmp.summary(), POLICIES[1:])
    shown = {a.get_gid().split(":", 1)[1]: a.get_gid().split(":")[0] for a in by_gid(fig, "sig:") + by_gid(fig, "ns:")}
    d = diffs.set_index(["policy", "kpi"])
    for (p, kpi), kind in ((tuple(k.split(":")), v) for k, v in shown.items()):
        # Holm-significant and an interval that excludes zero (the table's star uses the same rule)
        assert kind == ("sig" if significant(d.loc[(p, kpi)]) else "ns"), (p, kpi)
    keys = {k for k, _, _ in KEY_KPIS}
    assert {k.split(":")[1] for k in shown} <= keys and len(shown) >= len(POLICIES[1:]) * 3
    # a zero line on both panels, and units on the x axes
    for ax in fig.axes[:2]:
        assert any(np.allclose(line.get_xdata(), 0) for line in ax.lines)
    assert "(%)" in fig.axes[0].get_xlabel() and "percentage points" in fig.axes[1].get_xlabel()


def test_comparison_with_one_policy_says_there_is_nothing_to_compare():
    fig = comparison_figure(pd.DataFrame())
    assert "nothing to compare" in texts(fig)


def test_speed_draws_each_policy_target_per_tier(cmp):
    targets = {p: {"demo": "5bm", "high_intent": "2bh", "standard": "1bd", "re_engaged": "2bd"} for p in POLICIES}
    targets["volume"] = {**targets["volume"], "standard": "4h"}
    fig = speed_figure(cmp.runs, targets, POLICIES)
    tiers = [ax.get_title(loc="left") for ax in fig.axes]
    assert tiers and all(" tier" in t for t in tiers)
    assert any("SLA met: seed-example" in t for t in tiers)
    gids = {a.get_gid() for a in by_gid(fig, "target:")}
    # standard targets differ: one line per policy; other tiers share one line
    assert {f"target:{p}:standard" for p in POLICIES} <= gids
    assert "SLA target 4h (clock)" in texts(fig)
    for ax in fig.axes:   # shares of episodes, 11 buckets (10 + never) per policy
        assert len(ax.patches) == len(POLICIES) * (len(TTFT_BUCKETS) + 1)
        assert all(0 <= p.get_height() <= 100 for p in ax.patches)


def test_decay_figure_draws_the_preset_curve_next_to_the_simulated_rates(cmp):
    fig = decay_figure(cmp.runs, PRESETS["seed"], "seed", 60.0, POLICIES)
    ax = fig.axes[0]
    (curve,) = by_gid(fig, "preset-curve")
    y = curve.get_ydata()
    assert len(y) == len(DELAY_BUCKETS) and np.all(np.diff(y) <= 1e-9)   # the curve only falls
    assert np.all((y >= 0) & (y <= 100))
    assert "'seed'" in curve.get_label()
    assert len(ax.patches) == len(POLICIES) * len(DELAY_BUCKETS)
    assert "clock" in ax.get_xlabel() and "%" in ax.get_ylabel()


def test_load_shades_every_campaign_spike_and_draws_one_line_per_policy(cmp):
    scenario = next(iter(cmp.manifest["scenarios"].values()))
    assert scenario["arrivals"]["spikes"], "the workshop scenario has a webinar spike"
    fig = load_figure(cmp.timeseries, scenario, POLICIES)
    panels = fig.axes[:3]
    for ax in panels:
        assert [line.get_label() for line in ax.lines] == POLICIES
        assert [to_hex(line.get_color()) for line in ax.lines] == [c.lower() for c in PALETTE[:3]]
    assert len(by_gid(fig, "spike")) == len(scenario["arrivals"]["spikes"]) * 3
    assert "campaign spike" in texts(fig)

    assert "%" in panels[2].get_ylabel() and "business hours" in panels[1].get_ylabel()


def test_load_marks_holidays_inside_the_drawn_range():
    days = pd.date_range("2026-01-05", periods=120)
    ts = pd.DataFrame({"policy": "p", "date": days, "in_window": (days >= "2026-01-19") & (days < "2026-03-16"),
                       "queue_mean": 1.0, "oldest_wait_business_hours": 0.5, "rep_utilisation": 0.5})
    scenario = {"calendar": {"holidays": ["2026-02-16", "2026-04-20", "2025-12-25"]},
                "arrivals": {"spikes": [{"start": "2026-02-02", "duration": "5d", "multiplier": 3.0}]}}
    fig = load_figure(ts, scenario, ["p"])
    # 2026-04-20 lies in the run-out past the 4 weeks shown; 2025-12-25 before the start
    assert {pd.Timestamp(a.get_xdata()[0]) for a in by_gid(fig, "holiday")} == {pd.Timestamp("2026-02-16")}
    assert len(by_gid(fig, "holiday")) == 3 and len(by_gid(fig, "spike")) == 3
    assert "holiday (no one works)" in texts(fig)


def test_quality_map_and_buyer_fates_add_up_to_all_buyers(cmp):
    summary = cmp.summary()
    fig = quality_figure(summary, None, {"seed-example": 60, "volume": 35, "fit-and-intent": 60}, POLICIES)
    assert {a.get_gid() for a in by_gid(fig, "pr:")} >= {f"pr:{p}" for p in POLICIES}
    assert "threshold 35" in texts(fig)
    fates = fig.axes[1]
    widths = np.zeros(len(POLICIES))
    for bar in fates.patches:
        widths[round(bar.get_y() + bar.get_height() / 2)] += bar.get_width()
    assert np.allclose(widths, 100, atol=1e-6)


def test_rejection_reasons_add_up_to_the_rejection_rate(cmp):
    summary = cmp.summary()
    fig = rejection_figure(summary, POLICIES)
    s = summary.set_index(["policy", "kpi"])["mean"]
    reasons = fig.axes[0]
    total = np.zeros(len(POLICIES))
    for bar in reasons.patches:
        total[round(bar.get_y() + bar.get_height() / 2)] += bar.get_width()
    rate = [100 * s[(p, "rejected")] / (s[(p, "rejected")] / s[(p, "rejection_rate")]) for p in POLICIES]
    assert np.allclose(total, rate, rtol=1e-6)
    assert "benchmark: under 20%" in texts(fig)


# ---- sweeps --------------------------------------------------------------------------------

def test_sweep_curves_mark_the_recommended_point(sweep):
    best = sweep.recommendation["best"]["mql.threshold"]
    fig = sweep_figure(sweep.summary(), "mql.threshold", sweep.recommendation)
    stars = by_gid(fig, "recommended")
    assert len(stars) == 5                                # one per KPI panel
    s = sweep.summary()
    at = s[np.isclose(s["mql.threshold"], best)].set_index("kpi")["mean"]
    for star, kpi, scale in zip(stars, ["mqls", "mql_to_sql_rate", "bookings", "sla_compliance", "rep_utilisation"],
                                [1, 100, 1, 100, 100]):
        assert star.get_xdata()[0] == best
        assert star.get_ydata()[0] == pytest.approx(scale * at[kpi])
    for ax in fig.axes[:5]:
        assert len(by_gid(ax, "line:")) == 1 and ax.get_xlabel() == "MQL threshold (points)"
        assert len(ax.collections) == 1                    # the interval band
    assert f"recommended: MQL threshold (points) = {best:g}" in texts(fig)
    (bound,) = by_gid(fig, "constraint:sla_compliance")   # the recommendation's constraint, drawn
    assert np.allclose(bound.get_ydata(), 10) and "constraint >= 10%" in texts(fig)


def test_sweep_without_recommendation_has_no_star(sweep):
    fig = sweep_figure(sweep.summary(), "mql.threshold", None)
    assert not by_gid(fig, "recommended")


def test_sweep_over_named_settings_uses_a_categorical_axis():
    """A sweep over e.g. routing.discipline: names on the x axis in design order, the star on the
    recommended name."""
    rows = [{"scenario": "s", "policy": "p", "point": i, "routing.discipline": d, "kpi": k, "mean": m, "lower": m,
             "upper": m} for i, d in enumerate(["fifo", "priority", "freshest"])
            for k, m in (("mqls", 10.0 + i), ("mql_to_sql_rate", 0.2), ("bookings", 1e5 * (i + 1)),
                         ("sla_compliance", 0.9), ("rep_utilisation", 0.5))]
    rec = {"best": {"scenario": "s", "point": 1, "policy": "p", "routing.discipline": "priority"}}
    fig = sweep_figure(pd.DataFrame(rows), "routing.discipline", rec)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fifo", "priority", "freshest"]
    assert list(by_gid(ax, "line:")[0].get_ydata()) == [10.0, 11.0, 12.0]     # design order, not alphabetical
    assert by_gid(ax, "recommended")[0].get_xdata()[0] == 1
    assert ax.get_xlabel() == "routing discipline" and "recommended: routing discipline = priority" in texts(fig)


def test_two_way_heatmap_has_every_cell_and_the_star(sweep2):
    s = sweep2.summary()
    best = sweep2.recommendation["best"]
    fig = heatmap_figure(s, "mql.threshold", "sales.reps", recommendation=sweep2.recommendation)
    ax = fig.axes[0]
    cells = by_gid(fig, "cell")
    assert len(cells) == 9 and all("SLA" in c.get_text() for c in cells)
    (star,) = by_gid(fig, "recommended")                  # in the recommended cell
    assert (round(star.get_xdata()[0]), round(star.get_ydata()[0])) == \
        ([40, 60, 80].index(best["mql.threshold"]), [1, 2, 3].index(best["sales.reps"]))
    assert [t.get_text() for t in ax.get_xticklabels()] == ["40", "60", "80"]
    assert ax.get_ylabel() == "SDRs (headcount)"
    # the outline encloses exactly the cells meeting the recommendation's SLA constraint (>= 10%)
    sla = s[(s["kpi"] == "sla_compliance")].pivot_table(index="sales.reps", columns="mql.threshold", values="mean")
    meets = sla.to_numpy() >= 0.1
    assert "SLA at least 10%" in texts(fig)
    edges = sum(1 for (i, j), ok in np.ndenumerate(meets) if ok for ni, nj in ((i, j - 1), (i, j + 1), (i - 1, j), (i + 1, j))
                if not (0 <= ni < 3 and 0 <= nj < 3 and meets[ni, nj]))
    assert len(by_gid(fig, "sla-outline")) == edges


def test_quality_against_threshold_draws_precision_and_recall(sweep):
    fig = quality_figure(sweep.summary(), "mql.threshold", None, ["seed-example"])
    gids = {a.get_gid() for a in by_gid(fig, "mql_precision:") + by_gid(fig, "buyer_recall:")}
    assert gids == {"mql_precision:seed-example", "buyer_recall:seed-example"}
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["40", "60", "80"]


def test_figures_are_written_as_svg_only(cmp, tmp_path):
    files = save(funnel_figure(cmp.summary()), tmp_path, "funnel")
    assert list(files) == ["svg"] and [p.name for p in tmp_path.iterdir()] == ["funnel.svg"]
    assert b"<svg" in files["svg"].read_bytes()[:2000]


# ---- the detail KPIs behind the figures -----------------------------------------------------

def test_detail_kpis_account_for_every_buyer_episode_and_touch(cmp):
    runs = cmp.runs
    assert (runs[[f"buyers_{f}" for f in BUYER_FATES]].sum(axis=1) == runs["buyers"]).all()
    assert (runs["buyers_sql"] <= runs["sqls"]).all() and (runs["buyers_won"] <= runs["won"]).all()
    assert (runs["buyers_lost_never_mql"] == runs["buyers_in_nurture"]).all()
    ttft = [f"ttft_{t}_{b}" for t in TIERS for b in [*(n for n, _ in TTFT_BUCKETS), TTFT_NEVER]]
    assert (runs[ttft].sum(axis=1) == runs["mql_episodes"]).all()
    for t in TIERS:
        cols = [f"ttft_{t}_{b}" for b in [*(n for n, _ in TTFT_BUCKETS), TTFT_NEVER]]
        assert (runs[cols].sum(axis=1) == runs[f"sla_episodes_{t}"]).all()
    touched = runs[[f"touched_{b}" for b, _ in DELAY_BUCKETS]].to_numpy()
    sqls = runs[[f"sql_{b}" for b, _ in DELAY_BUCKETS]].to_numpy()
    assert (sqls <= touched).all() and (sqls.sum(axis=1) <= runs["sqls"]).all()
    assert (touched.sum(axis=1) <= runs["mqls"]).all()
    recycled = runs[[f"recycled_{n}" for n, _ in RECYCLE_CAUSES]].sum(axis=1)
    assert (recycled + runs["episodes_open_at_end"] <= runs["mql_episodes"]).all()


def test_detail_kpis_are_flat_numeric_columns(cmp):
    cols = [c for c in cmp.runs.columns if c.startswith(("ttft_", "touched_", "sql_", "buyers_", "recycled_"))]
    assert len(cols) > 60
    assert all(pd.api.types.is_numeric_dtype(cmp.runs[c]) for c in cols)


def test_speed_buckets_agree_with_sla_compliance(cmp):
    """seed-example's targets (5bm, 2bh, 1bd) fall on bucket edges: the episodes in the buckets
    below a target are the ones that met it (up to a touch landing exactly on the deadline)."""
    runs = cmp.runs[cmp.runs["policy"] == "seed-example"]
    names = [n for n, _ in TTFT_BUCKETS]
    for tier, last in (("demo", "0_5m"), ("high_intent", "1_2h"), ("standard", "4_8h")):
        within = runs[[f"ttft_{tier}_{b}" for b in names[:names.index(last) + 1]]].sum(axis=1)
        met = (runs[f"sla_compliance_{tier}"] * runs[f"sla_episodes_{tier}"]).fillna(0)
        assert np.all(np.abs(within - met) <= 1), (tier, list(within), list(met))


def test_no_buyer_is_touched_late_when_the_sla_cannot_be_missed():
    from sim.experiment.replication import run_replication
    from sim.inputs import load_policy, load_scenario, split_sets
    o = split_sets([f'sla.targets.{t}="400d"' for t in TIERS], 3000, None, 28)
    run = run_replication(load_scenario("workshop", o.scenario), [load_policy("seed-example", o.policy)], 3, 0)
    k = run.runs["seed-example"].kpis
    assert k["buyers_lost_touched_late"] == 0
    assert sum(k[f"buyers_{f}"] for f in BUYER_FATES) == k["buyers"]
