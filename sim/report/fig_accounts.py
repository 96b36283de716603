"""The account view of a report (scenarios with `[accounts]`): the funnel counted in accounts, how
much of the buying group was reached against the account win rate, and lead-level against
account-level quality side by side, one colour per policy.

Takes the summary table of a results folder (policy, kpi, mean, lower, upper) for one scenario and
one design point, like the other comparison figures.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.report.style import colours, empty_figure, new_figure, styled

ACCOUNT_STAGES = (("accounts_engaged", "Engaged"), ("mqas", "MQAs"), ("mqa_opportunities", "MQA with opp."),
                  ("accounts_won", "Won"))
QUALITY = (("mql_precision", "lead precision"), ("account_precision", "account precision"),
           ("buyer_recall", "buyer recall"), ("account_recall", "in-market account recall"))


def has_accounts(summary: pd.DataFrame) -> bool:
    """Did these runs measure accounts (a scenario with [accounts])?"""
    return bool((summary["kpi"] == "mqas").any())


def _stats(s: pd.DataFrame, p: str, kpis: list[str]) -> tuple[np.ndarray, np.ndarray]:
    rows = s.loc[p].reindex(kpis) if p in s.index.get_level_values(0) else pd.DataFrame(
        index=kpis, columns=["mean", "lower", "upper"], dtype=float)
    m = rows["mean"].to_numpy(float)
    err = np.vstack([np.nan_to_num(m - rows["lower"].to_numpy(float), nan=0.0),
                     np.nan_to_num(rows["upper"].to_numpy(float) - m, nan=0.0)]).clip(min=0)
    return m, err


def accounts_figure(summary: pd.DataFrame, policies: list[str] | None = None,
                    palette: dict[str, str] | None = None) -> Figure:
    """Three panels: accounts per stage (log scale), buying-group coverage at opportunity against the
    account win rate, and lead- vs account-level precision and recall (whiskers: 95% intervals)."""
    if not has_accounts(summary):
        empty: Figure = empty_figure("Accounts", "These runs have no account layer (no [accounts] table in the scenario).")
        return empty
    policies = policies or list(dict.fromkeys(summary["policy"]))
    col = palette or colours(policies)
    s = summary.set_index(["policy", "kpi"])
    w = 0.8 / max(len(policies), 1)
    with styled():
        fig: Figure
        fig, axes = new_figure(1, 3, width=16, height=5.2)
        a1, a2, a3 = axes[0]
        for panel, stages, scale in ((a1, ACCOUNT_STAGES, 1.0), (a3, QUALITY, 100.0)):
            x = np.arange(len(stages))
            for i, p in enumerate(policies):
                m, err = _stats(s, p, [k for k, _ in stages])
                panel.bar(x + (i - (len(policies) - 1) / 2) * w, m * scale, w, yerr=err * scale, capsize=3,
                          color=col[p], label=p, error_kw={"elinewidth": 1.2, "ecolor": "#333"})
            panel.set_xticks(x, [lbl for _, lbl in stages], rotation=15)
        a1.set_yscale("log")
        a1.set_ylabel("cohort accounts (log scale)")
        a1.set_title("Funnel in accounts")
        a1.legend(frameon=False, title="policy")
        for p in policies:
            m_c, e_c = _stats(s, p, ["buying_group_coverage"])
            m_w, e_w = _stats(s, p, ["account_win_rate"])
            a2.errorbar(m_c * 100, m_w * 100, xerr=e_c * 100, yerr=e_w * 100, fmt="o", color=col[p], capsize=3,
                        markersize=8, label=p)
        a2.set_xlabel("buying group reached at opportunity (%)")
        a2.set_ylabel("account win rate (%)")
        a2.set_title("Coverage against win rate")
        a3.set_ylim(0, 100)
        a3.set_ylabel("% (against the hidden truth)")
        a3.set_title("Lead- and account-level quality")
        fig.suptitle("Accounts per policy (mean, whiskers = 95% interval)")
    return fig
