"""Fit a scenario to an imported CRM history: arrivals (level by month, weekday profile, channel mix,
day-level over-dispersion), MQL->won by channel, time to close, deal sizes, team size.

What an export can and cannot tell: an MQL export joined to won deals (Olist) gives arrivals,
MQL->won and time to close, but no losses, no SQL/opportunity dates and no contact attempts. So the
calibrated scenario passes every accepted MQL through SQL at a fixed chance and on to opportunity, and
puts the channel differences into `outcomes.win_by_channel`, solved so that the *simulated* MQL->won
per channel (with contact failures, rejections and the run-out that truncates late deals, exactly as
the engine plays them) equals the observed one. `cannot` in the result lists what was not fitted.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sim.config.policy import Policy
from sim.crm.importer import Imported
from sim.measure.stats import proportion_ci
from sim.vocab import CHANNELS, WEEKDAYS

SQL_CHANCE = 0.5          # P(SQL | accepted) in a calibrated scenario: unidentified by exports without stages
MIN_DEAL_AMOUNTS = 30     # positive amounts needed to fit deal sizes


@dataclass
class Observed:
    """What the history shows, for the side-by-side report."""

    daily: pd.Series                 # leads per calendar day (0 on empty days)
    close_days: np.ndarray           # time to close of won leads, days
    by_source: pd.DataFrame          # per raw source: channel, n, won, rate, lo, hi
    by_channel: pd.DataFrame         # per channel: n, won, rate, lo, hi


@dataclass
class Calibration:
    scenario: dict[str, Any]         # TOML-ready scenario data (fields that differ from the defaults)
    fits: dict[str, Any]             # fitted parameters and goodness of fit (JSON-ready)
    observed: Observed
    cannot: list[str] = field(default_factory=list)


def rate_table(df: pd.DataFrame, by: str) -> pd.DataFrame:
    """n, won, rate and the exact (Clopper-Pearson) 95% interval of won / n per group."""
    g = cast(pd.DataFrame, df.groupby(by, dropna=False)["won"].agg(n="size", won="sum"))  # named aggregation: a frame
    g["won"] = g["won"].astype(int)
    g["rate"] = g["won"] / g["n"]
    ci = [proportion_ci(w, n) for w, n in zip(g["won"], g["n"])]
    g["lo"] = [lo for lo, _ in ci]
    g["hi"] = [hi for _, hi in ci]
    ranked: pd.DataFrame = g.sort_values("n", ascending=False)
    return ranked


def fit_truncated_lognormal(x: np.ndarray, bound: np.ndarray) -> dict[str, Any]:
    """Lognormal (mu, sigma of log days) by maximum likelihood for durations observed only when
    shorter than each lead's own bound (deals closing after the export's last date are invisible).
    Also the KS statistic of the data against that truncated model, and the naive fit for contrast."""
    ok = (x > 0) & (bound > 0)
    x, bound = x[ok], np.maximum(bound[ok], x[ok])
    lx, lb = np.log(x), np.log(bound)

    def nll(p: np.ndarray) -> float:
        mu, s = p[0], np.exp(p[1])
        return -float(np.sum(stats.norm.logpdf(lx, mu, s) - stats.norm.logcdf(lb, mu, s)))

    start = np.array([lx.mean(), np.log(lx.std() or 1.0)])
    res = optimize.minimize(nll, start, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000})
    mu, sigma = float(res.x[0]), float(np.exp(res.x[1]))

    # the model's CDF is the mixture of each lead's truncated lognormal; over many leads, 1000
    # quantiles of the bounds stand in for all of them (keeps memory linear in the data)
    b = np.quantile(bound, np.linspace(0, 1, 1000)) if bound.size > 1000 else bound

    def model_cdf(t: np.ndarray) -> np.ndarray:
        t = np.atleast_1d(t)[:, None]
        num = stats.norm.cdf((np.log(np.minimum(np.maximum(t, 1e-12), b[None, :])) - mu) / sigma)
        cdf: np.ndarray = (num / stats.norm.cdf((np.log(b)[None, :] - mu) / sigma)).mean(axis=1)
        return cdf

    ks = stats.kstest(x, model_cdf)
    naive_s, _, naive_scale = stats.lognorm.fit(x, floc=0)
    return {"distribution": "lognormal (days), right-truncated at each lead's data end", "n": int(x.size),
            "mu_log_days": mu, "sigma": sigma, "median_days": float(np.exp(mu)),
            "ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
            "naive_fit": {"mu_log_days": float(np.log(naive_scale)), "sigma": float(naive_s)}}


def _arrivals(created: pd.Series) -> tuple[pd.Series, dict[str, Any], dict[str, Any]]:
    """Daily counts, the arrivals section (monthly levels as spikes, weekday profile, dispersion) and
    its fit summary."""
    days = created.dt.normalize()
    idx = pd.date_range(days.min(), days.max(), freq="D")
    daily = days.value_counts().reindex(idx, fill_value=0).sort_index()
    base = float(daily.mean())
    wd = daily.groupby(daily.index.day_of_week).mean()
    w = np.array([wd.get(i, 0.0) for i in range(7)])
    w = w * 7 / w.sum()
    expected = base * w[daily.index.day_of_week]
    month = daily.index.to_period("M")
    level = pd.Series(daily.to_numpy(), index=month).groupby(level=0).sum() / \
        pd.Series(expected, index=month).groupby(level=0).sum()
    mu = expected * level.reindex(month).to_numpy()
    excess = float(np.sum((daily.to_numpy() - mu) ** 2 - mu))
    k = float(np.sum(mu ** 2) / excess) if excess > 0 else None
    spikes = []
    p: Any                          # a monthly pd.Period
    for p, lv in level.items():
        first = max(p.start_time.normalize(), idx[0])
        last = min(p.end_time.normalize(), idx[-1])
        spikes.append({"name": f"level {p}", "start": first.date(), "duration": f"{(last - first).days + 1}d",
                       "multiplier": round(max(float(lv), 1e-3), 4)})
    section = {"leads_per_year": round(base * 365.25, 2),
               "weekday_profile": {d: round(float(x), 4) for d, x in zip(WEEKDAYS, w)},
               "spikes": spikes}
    if k is not None:
        section["day_dispersion"] = round(k, 4)
    fit = {"days": int(daily.size), "mean_per_day": base, "variance_to_mean": float(daily.var() / base),
           "day_dispersion_k": k, "monthly_level": {str(p): float(x) for p, x in level.items()},
           "weekday_profile": section["weekday_profile"],
           "note": "monthly levels are written as spikes (multipliers of leads_per_year); the gamma shape k "
                   "is fitted by moments to what the levels and weekdays leave unexplained"}
    return daily, section, fit


def _team(leads: pd.DataFrame) -> tuple[int | None, dict[str, Any]]:
    """Reps: the median number of distinct SDRs (else owners) active per month."""
    for col in ("sdr", "owner"):
        s = leads[[col, "created"]].dropna()
        if len(s):
            per_month = s.groupby(s["created"].dt.to_period("M"))[col].nunique()
            return max(1, int(round(per_month.median()))), {
                "column": col, "distinct": int(s[col].nunique()), "median_active_per_month": float(per_month.median())}
    return None, {}


def account_fits(leads: pd.DataFrame) -> dict[str, float | int] | None:
    """Contacts per account and how often several contacts engage within 30 days, from the account
    id column; None when the export has none (then the calibration is lead-only)."""
    if "account" not in leads or leads["account"].isna().all():
        return None
    linked = leads.dropna(subset=["account"])
    per = linked.groupby("account").size()
    first = linked.groupby("account")["created"].transform("min")
    recent = linked[(linked["created"] - first) <= pd.Timedelta(days=30)].groupby("account").size()
    return {"leads_with_account": int(len(linked)), "match_rate": round(float(len(linked) / len(leads)), 6),
            "accounts": int(per.size), "contacts_per_account_mean": round(float(per.mean()), 4),
            "contacts_per_account_median": float(per.median()),
            "contacts_per_account_p90": float(per.quantile(0.9)),
            "share_with_several_contacts": round(float((per >= 2).mean()), 6),
            "share_with_several_in_30_days": round(float((recent >= 2).mean()), 6)}


def every_lead_mql_policy() -> Policy:
    """The policy under which every lead is an MQL at its entry event: what an MQL export records."""
    return Policy.model_validate({
        "name": "every-lead-mql", "description": "Every lead is an MQL when it arrives (for calibrated MQL exports)",
        "icp": {"company_sizes": [], "industries": []},
        "scoring": {"fit": {"seniority": {}, "company_size": {}, "industry": {}, "email_kind": {}},
                    "behaviour": {"contact_form": {"points": [1]}}, "negative": {"no_email_open_points": 0}},
        "mql": {"threshold": 0, "high_intent": 100, "gates": {"exclude_competitors": False}},
        "recycle": {"max_recycles": 1},     # an unreached MQL is not re-qualified by later opens
    })


def fit_history(imp: Imported, name: str, since: dt.date | None = None, until: dt.date | None = None,
                wins_only: bool = True) -> Calibration:
    """Everything that can be fitted without the engine; `win_by_channel` is solved later by
    `solve_win_by_channel` (it needs simulated runs). `wins_only`: the outcome comes from a deals
    export that lists wins only (no losses, no lost reasons)."""
    leads = imp.leads[imp.leads["created"].notna()].copy()
    if since:
        leads = leads[leads["created"] >= pd.Timestamp(since)]
    if until:
        leads = leads[leads["created"] < pd.Timestamp(until) + pd.Timedelta(days=1)]
    if len(leads) < 50:
        raise ValueError(f"only {len(leads)} leads with a creation date in the period; need at least 50")
    cannot: list[str] = []
    daily, arrivals, arr_fit = _arrivals(leads["created"])
    counts = leads["channel"].value_counts()
    arrivals["channel_mix"] = {c: round(float(counts.get(c, 0) / counts.sum()), 6) for c in CHANNELS if counts.get(c, 0)}
    start, last = daily.index[0].date(), daily.index[-1].date()

    known = leads[leads["won"].notna()].copy()
    known["won"] = known["won"].astype(bool)
    by_source = rate_table(known, "source").join(known.groupby("source")["channel"].first())
    by_channel = rate_table(known, "channel")
    data_end = max(pd.Timestamp(last) + pd.Timedelta(days=1), leads["won_date"].max()) \
        if leads["won_date"].notna().any() else pd.Timestamp(last) + pd.Timedelta(days=1)
    won = known[known["won"] & known["won_date"].notna()]
    close = ((won["won_date"] - won["created"]).dt.total_seconds() / 86400).to_numpy()
    bound = ((data_end - won["created"]).dt.total_seconds() / 86400).to_numpy()
    runout = max(30, int(np.ceil((data_end - pd.Timestamp(last)).total_seconds() / 86400)))

    outcomes: dict[str, Any] = {"sql_buyer": SQL_CHANCE, "sql_non_buyer": SQL_CHANCE, "opportunity_buyer": 1.0,
                      "opportunity_non_buyer": 1.0, "sql_delay": "1h", "opportunity_delay": "1h"}
    fits: dict[str, Any] = {"period": {"first_day": start, "last_day": last, "data_end": data_end.isoformat()},
                  "rows": {"read": imp.rows_read, "clean": int(len(imp.leads)), "in_period": int(len(leads)),
                           "bad": imp.bad_counts()},
                  "arrivals": arr_fit, "channel_mix": arrivals["channel_mix"]}
    if close.size >= 20:
        ttc = fit_truncated_lognormal(close, bound)
        fits["time_to_close"] = ttc
        outcomes["cycle"] = f"{max(ttc['median_days'], 0.01):.4f}d"
        outcomes["cycle_sigma"] = round(min(ttc["sigma"], 3.0), 4)
    else:
        cannot.append(f"time to close: only {close.size} won leads with a won date (need 20)")
    amounts = known.loc[known["won"], "amount"].dropna()
    pos = amounts[amounts > 0]
    if len(pos) >= MIN_DEAL_AMOUNTS and len(pos) >= 0.5 * len(amounts):
        med = float(pos.median())
        outcomes["deal_size"] = {s: round(med, 2) for s in ("micro", "small", "mid", "large", "enterprise")}
        outcomes["deal_size_sigma"] = round(min(float(np.log(pos).std()), 3.0), 4)
        fits["deal_size"] = {"n": int(len(pos)), "median": med, "sigma_log": outcomes["deal_size_sigma"]}
    else:
        cannot.append(f"deal sizes: {len(pos)} of {len(amounts)} won amounts are positive (need {MIN_DEAL_AMOUNTS} "
                      "and at least half); the scenario keeps the default deal sizes")
    reps, team = _team(leads)
    fits["team"] = team
    if reps is None:
        cannot.append("team size: no owner or SDR column; the scenario keeps the default number of reps")
    if known.empty:
        cannot.append("conversion: the export has no outcome (no outcome column, no deals)")
    acc = account_fits(leads)
    if acc is None:
        cannot.append("accounts: no account id column in the mapping (leads.account); calibrated lead-only")
    else:
        fits["accounts"] = acc
        cannot.append("accounts: contacts per account, the share of accounts with several contacts and the match rate "
                      "are reported (calibration.json, `accounts`); the scenario stays lead-only (add an [accounts] "
                      "table with match_rate = " + f"{acc['match_rate']:.3g} to simulate accounts)")
    cannot += ["losses and lost reasons: the export records wins only" if wins_only and not known.empty else "",
               ("SQL / opportunity stages and contact attempts: " +
                ("stage shares by channel are reported (calibration.json) but not simulated per channel"
                 if any(str(c).startswith("stage_") for c in leads) else "no stage dates in the export") +
                f"; accepted MQLs become SQL with chance {SQL_CHANCE} and every SQL an opportunity, so only "
                "MQL->won is calibrated")]
    cannot = [c for c in cannot if c]

    scenario = {
        "name": name, "description": f"Calibrated from {len(leads)} leads created {start} to {last} "
                                     f"({imp.rows_read} rows exported)",
        "start_date": start,
        "horizon": {"warmup": "0d", "window": f"{(last - start).days + 1}d", "runout": f"{runout}d"},
        "arrivals": arrivals,
        "engagement": {"entry_event": {c: {"contact_form": 1.0} for c in CHANNELS}, "entry_hand_raise_intent": 0.0},
        "outcomes": outcomes,
    }
    if reps is not None:
        scenario["sales"] = {"reps": reps}
    stages = [c for c in leads.columns.astype(str) if c.startswith("stage_")]
    if stages:   # reported, not simulated stage by stage: the scenario's SQL / opportunity chances are not per channel
        fits["stage_conversion_by_channel"] = {
            c[len("stage_"):]: leads.groupby("channel")[c].agg(lambda d: float(d.notna().mean())).to_dict()
            for c in stages}
    fits["conversion_by_channel"] = by_channel.reset_index().to_dict(orient="records")
    fits["conversion_by_source"] = by_source.reset_index().to_dict(orient="records")
    return Calibration(scenario, fits, Observed(daily, close, by_source, by_channel), cannot)
