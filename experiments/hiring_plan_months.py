#!/usr/bin/env python
"""Month by month: when do the two March hires of experiments/hiring-plan.toml pay off?

    .venv/bin/funnelsim experiment hiring-plan --events --out outputs/hiring-plan
    .venv/bin/python experiments/hiring_plan_months.py outputs/hiring-plan

Both scenarios of the experiment meet the same world in replication r (the hiring plan changes no
lead), so every difference is paired: hires minus baseline, per replication, then mean and 95%
t-interval over the replications. Printed: the window KPIs, then per month in which the cohort's
leads arrived, the extra SQLs, won deals and bookings those leads brought (their deals may close
later, within the run-out), next to the full loaded cost of two reps that month (8 h per working day
at `--hourly`, holidays ignored), and the cumulative net: extra bookings so far minus cost so far.
Bookings are revenue, not margin.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

KPIS = ["bookings", "won", "sqls", "mql_to_sql_rate", "sla_compliance", "first_touch_p50_business_hours",
        "first_touch_p90_business_hours", "rep_utilisation", "rep_available_hours"]


def interval(d: pd.Series) -> tuple[float, float]:
    """Mean and half-width of the 95% t-interval of paired differences."""
    n = len(d)
    return float(d.mean()), float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--hire-date", default="2026-03-02")
    ap.add_argument("--hires", type=int, default=2)
    ap.add_argument("--hourly", type=float, default=45.0, help="loaded cost of one rep hour (scenario default)")
    a = ap.parse_args()
    runs = pd.read_parquet(a.folder / "runs.parquet")
    base, plan = list(dict.fromkeys(runs["scenario"]))[:2]
    w = runs.pivot_table(index="replication", columns="scenario", values=KPIS)
    print(f"{plan} minus {base}, {w.shape[0]} paired worlds")
    for k in KPIS:
        m, h = interval(w[k][plan] - w[k][base])
        print(f"  {k:32s} {w[k][base].mean():12.4f} -> {w[k][plan].mean():12.4f}   diff {m:+12.4f} ± {h:.4f}")

    manifest = pd.read_json(a.folder / "manifest.json", typ="series")
    start = pd.Timestamp(str((manifest.get("scenarios") or {}).get(base, {}).get("start_date", "2026-01-05")))
    scen_index = {base: "s0", plan: "s1"}
    rows = []
    for f in sorted((a.folder / "events").glob("*.parquet")):
        task = f.name.split("__")[0]                      # s0-p0-r3
        s, _, r = task.split("-")
        e = pd.read_parquet(f)
        month = (start + pd.to_timedelta(e["arrival"], unit="m")).dt.to_period("M")
        for mo, g in e.groupby(month):
            rows.append((s, int(r[1:]), str(mo), float(g["amount"][g["won"]].sum()), int(g["won"].sum()),
                         int(g["sql"].notna().sum())))
    df = pd.DataFrame(rows, columns=["s", "rep", "month", "bookings", "won", "sqls"])
    hire = pd.Timestamp(a.hire_date)
    print(f"\nby arrival month: extra SQLs, won, bookings; cost of {a.hires} reps that month; cumulative net")
    cum: pd.Series | None = None
    cost = 0.0
    for mo in sorted(set(df["month"])):
        g = df[df["month"] == mo].pivot_table(index="rep", columns="s", values=["bookings", "won", "sqls"])
        d = {k: g[k][scen_index[plan]] - g[k][scen_index[base]] for k in ("bookings", "won", "sqls")}
        lo = max(pd.Period(mo).start_time, hire)
        hi = pd.Period(mo).end_time.normalize() + pd.Timedelta(days=1)
        days = int(np.busday_count(np.datetime64(lo.date()), np.datetime64(hi.date()))) if hi > lo else 0
        month_cost = a.hires * 8 * a.hourly * days
        cost += month_cost
        cum = d["bookings"] if cum is None else cum + d["bookings"]
        (qm, qh), (wm, wh), (bm, bh), (nm, nh) = (interval(d["sqls"]), interval(d["won"]),
                                                  interval(d["bookings"]), interval(cum - cost))
        print(f"  {mo}: SQLs {qm:+6.1f} ± {qh:4.1f}  won {wm:+5.2f} ± {wh:4.2f}  bookings {bm:+10,.0f} ± {bh:7,.0f}"
              f"  cost {month_cost:8,.0f}  cumulative net {nm:+10,.0f} ± {nh:7,.0f}")


if __name__ == "__main__":
    main()
