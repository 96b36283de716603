"""From a CRM export to a calibrated scenario and a backtest: `import-crm`, `calibrate`, `backtest`,
`fit-scoring`. Every command reads the export through a mapping file, refuses bad input with one
message (file, column or field, fix) and exit code 2 before writing anything, and writes its outputs
into a new folder (never overwriting)."""
from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click
import pandas as pd
from rich.markup import escape
from rich.table import Table

from sim import format as F
from sim.commands.common import DEFAULT_SEED, check_out, fail
from sim.config.errors import ConfigError
from sim.config.messages import validate_data
from sim.config.scenario import Scenario
from sim.present import console

if TYPE_CHECKING:
    from sim.config.policy import Policy
    from sim.crm.calibrate import Calibration
    from sim.crm.importer import Imported
    from sim.crm.mapping import Mapping
    from sim.crm.simcheck import SimSample

LEADS_ARG = click.argument("leads", type=click.Path(dir_okay=False, path_type=Path))
MAPPING_OPT = click.option("--mapping", "-m", "mapping", required=True, type=click.Path(path_type=Path),
                           help="mapping TOML: which column means what (see mappings/)")
DEALS_OPT = click.option("--deals", type=click.Path(dir_okay=False, path_type=Path),
                         help="closed-deals CSV joined to the leads (the mapping's [deals] section)")
OUT_OPT = click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
                       help="output folder (default: outputs/<command>-<name>-<timestamp>)")


def _load(leads: Path, mapping: Path, deals: Path | None) -> tuple[Mapping, Imported]:
    from sim.crm.importer import import_leads
    from sim.crm.mapping import load_mapping
    m = load_mapping(mapping)
    imp = import_leads(leads, m, str(mapping), deals)
    if imp.leads.empty:
        reasons = ", ".join(f"{k} {v}" for k, v in imp.bad_counts().items()) or "empty file"
        raise ConfigError(str(leads), [f"no usable row: all {imp.rows_read} rows are bad ({reasons}); "
                                       "run import-crm to see bad_rows.csv, then fix the export or the mapping"])
    return m, imp


def _out_folder(out: Path | None, kind: str, name: str) -> Path:
    from sim.experiment.store import timestamped
    if out is None:
        return timestamped(Path.cwd() / "outputs", f"{kind}-{name}")
    check_out(out)
    return out


def _bad_summary(imp: Imported) -> None:
    con = console()
    counts = imp.bad_counts()
    con.print(f"{imp.rows_read} rows read, {len(imp.leads)} clean leads, {sum(counts.values())} bad rows")
    if counts:
        t = Table("reason", "rows", "example")
        for reason, n in counts.items():
            ex = imp.bad[imp.bad["reason"] == reason].iloc[0]
            t.add_row(reason, str(n), escape(f"{ex['file']} row {ex['row']}: {ex['detail']}"))
        con.print(t)
    for note in imp.notes:
        con.print(f"note: {escape(note)}", soft_wrap=True)


def _write_common(folder: Path, imp: Imported) -> None:
    imp.bad.to_csv(folder / "bad_rows.csv", index=False)


@click.command(name="import-crm")
@LEADS_ARG
@MAPPING_OPT
@DEALS_OPT
@OUT_OPT
def import_crm(leads: Path, mapping: Path, deals: Path | None, out: Path | None) -> None:
    """Read a CRM export through a mapping; write the clean leads and every bad row by reason."""
    from sim.experiment.store import atomic_folder, write_json
    try:
        m, imp = _load(leads, mapping, deals)
        folder = _out_folder(out, "import", m.name)
    except ConfigError as e:
        fail(e)
    with atomic_folder(folder) as tmp:
        imp.leads.to_csv(tmp / "leads.csv", index=False)
        _write_common(tmp, imp)
        write_json(tmp / "import.json", {"mapping": str(mapping), "leads": str(leads), "deals": str(deals or ""),
                                         "rows_read": imp.rows_read, "clean": len(imp.leads),
                                         "bad": imp.bad_counts(), "notes": imp.notes,
                                         "won": int(imp.leads["won"].sum()) if imp.leads["won"].notna().any() else None})
    _bad_summary(imp)
    console().print(f"wrote {escape(str(folder))}")


def _check_scenario_out(path: Path) -> None:
    if path.suffix != ".toml":
        raise ConfigError(str(path), ["--out must name a new .toml file, e.g. scenarios/my-funnel.toml"])
    if path.exists():
        raise ConfigError(str(path), ["already exists; a scenario is never overwritten (choose a new name)"])
    if not path.parent.is_dir():
        raise ConfigError(str(path), [f"folder {path.parent} does not exist"])


@click.command()
@LEADS_ARG
@MAPPING_OPT
@DEALS_OPT
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the new scenario file, e.g. scenarios/olist.toml (never overwritten)")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="use leads created on or after this date")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="use leads created on or before this date")
@click.option("-n", "--replications", type=click.IntRange(1, 200), default=10, show_default=True,
              help="simulated replications for the check against the data")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=DEFAULT_SEED, show_default=True)
@click.option("--report", "report", type=click.Path(file_okay=False, path_type=Path),
              help="report folder (default: outputs/calibration-<name>-<timestamp>)")
def calibrate(leads: Path, mapping: Path, deals: Path | None, out: Path, since: dt.datetime | None,
              until: dt.datetime | None, replications: int, seed: int, report: Path | None) -> None:
    """Fit a scenario to the export (arrivals, dispersion, channel mix, MQL->won by channel, time to
    close, team) and check it by simulation: observed vs simulated, with KS distances."""
    from sim.crm.calibrate import every_lead_mql_policy, fit_history
    from sim.crm.simcheck import compare, simulate, solve_win_by_channel
    from sim.crm.tomlout import dumps
    from sim.experiment.store import atomic_folder
    name = out.stem
    try:
        _check_scenario_out(out)
        m, imp = _load(leads, mapping, deals)
        folder = _out_folder(report, "calibration", name)
        try:
            cal = fit_history(imp, name, since.date() if since else None, until.date() if until else None,
                              wins_only=m.leads.outcome is None)
        except ValueError as e:
            raise ConfigError(str(leads), [f"{e} (check --since/--until and the mapping's `created` column)"]) from None
    except ConfigError as e:
        fail(e)
    policy = every_lead_mql_policy()
    with console(stderr=True).status("calibrating: pilot run, then the check against the data"):
        scenario, win_notes = solve_win_by_channel(cal, policy, seed, max(2, replications // 2))
        sim = simulate(scenario, policy, seed + 1, replications)
        result = compare(cal, sim)
    text = _scenario_text(cal, result, mapping, leads, deals, dumps)
    scenario = validate_data(Scenario, tomllib.loads(text), str(out))     # what we write is what we checked
    with atomic_folder(folder) as tmp:
        _calibration_report(tmp, cal, result, win_notes, sim, text, policy, imp)
    with out.open("x", encoding="utf-8") as fh:
        fh.write(text)
    _print_calibration(result, cal, out, folder, scenario)


def _scenario_text(cal: Calibration, result: dict[str, Any], mapping: Path, leads: Path, deals: Path | None,
                   dumps: Callable[[dict[str, Any]], str]) -> str:
    head = [f"# Calibrated by `funnelsim calibrate` on {dt.date.today()} from {leads.name}"
            + (f" + {deals.name}" if deals else "") + f" (mapping {mapping}).",
            "# Check against the data (every lead an MQL, as in the export): arrivals/day KS "
            f"{result['arrivals_per_day']['ks_statistic']:.3f}"
            + (f", time to close KS {result['time_to_close']['ks_statistic']:.3f}" if result["time_to_close"] else "")
            + f", every origin with >= 100 MQLs inside its 95% interval: {result['all_sources_inside']}.",
            "# Not calibrated (the export cannot tell):", *(f"#   - {c}" for c in cal.cannot), ""]
    return "\n".join(head) + dumps(cal.scenario)


def _calibration_report(tmp: Path, cal: Calibration, result: dict[str, Any], win_notes: dict[str, Any],
                        sim: SimSample, text: str, policy: Policy, imp: Imported) -> None:
    from sim.crm.report import write_calibration_report
    from sim.crm.tomlout import dumps
    from sim.experiment.store import write_json
    write_json(tmp / "calibration.json", {"fits": cal.fits, "win_by_channel": win_notes, "check": result,
                                          "cannot": cal.cannot})
    (tmp / "scenario.toml").write_text(text, encoding="utf-8")
    (tmp / "every-lead-mql.toml").write_text(dumps(policy.model_dump(mode="json", exclude_defaults=True)),
                                              encoding="utf-8")
    _write_common(tmp, imp)
    write_calibration_report(tmp, cal, result, sim)


def _print_calibration(result: dict[str, Any], cal: Calibration, out: Path, folder: Path, scenario: Scenario) -> None:
    con = console()
    a, t = result["arrivals_per_day"], result["time_to_close"]
    con.print(f"arrivals/day: observed mean {a['observed_mean']:.1f} (variance/mean {a['observed_variance_to_mean']:.1f}), "
              f"simulated {a['simulated_mean']:.1f} ({a['simulated_variance_to_mean']:.1f}); KS {a['ks_statistic']:.3f}")
    fit = cal.fits.get("time_to_close")
    if fit:
        verdict = "rejected at 5%" if fit["ks_pvalue"] < 0.05 else "not rejected at 5%"
        con.print(f"time to close fit: lognormal (right-truncated) mu {fit['mu_log_days']:.3f} (log days), sigma "
                  f"{fit['sigma']:.3f}, median {fit['median_days']:.1f} d; KS {fit['ks_statistic']:.3f} "
                  f"(p = {fit['ks_pvalue']:.2g}: {verdict})")
    if t:
        con.print(f"time to close: observed median {t['observed_median_days']:.1f} d, simulated "
                  f"{t['simulated_median_days']:.1f} d; KS {t['ks_statistic']:.3f} (p = {t['ks_pvalue']:.2g})")
    shared: dict[str, list[str]] = {}
    for r in result["mql_to_won_by_source"]:
        shared.setdefault(r["channel"], []).append(r["source"])
    tab = Table("origin", "channel", "MQLs", "observed", "95% interval", "simulated", "inside",
                caption="origins mapped to the same channel (*) share one simulated rate, so they are not "
                        "checked independently")
    for r in result["mql_to_won_by_source"]:
        star = "*" if len(shared[r["channel"]]) > 1 else ""
        tab.add_row(escape(str(r["source"])), r["channel"] + star, str(r["n"]), F.share(r["observed"]),
                    f"{F.share(r['lo'])}-{F.share(r['hi'])}", F.share(r["simulated"]), "yes" if r["inside"] else "NO")
    con.print(tab)
    for c in cal.cannot:
        con.print(f"not calibrated: {escape(c)}", soft_wrap=True)
    con.print(f"wrote {escape(str(out))} and {escape(str(folder))}")


def _policies(names: tuple[str, ...], mapping: Mapping, mapping_path: Path) -> list[Policy]:
    from sim.crm.realworld import check_policy
    from sim.inputs import load_policy
    pols = [load_policy(p, []) for p in names]
    for p, src in zip(pols, names):
        check_policy(p, mapping, src)
    dup = sorted({p.name for p in pols if [q.name for q in pols].count(p.name) > 1})
    if dup:
        raise ConfigError("--policy", [f"policy names must be unique; {', '.join(dup)} appears twice"])
    return pols


def _print_backtest(table: pd.DataFrame, title: str) -> None:
    t = Table("policy", "MQLs", "share", "conv. MQL", "conv. rest", "precision", "recall", "left in nurture", "AUC",
              title=title)
    for _, r in table.iterrows():
        t.add_row(escape(r["policy"]), str(r["mqls"]), F.share(r["mql_share"]), _ci(r, "conversion_mql"),
                  _ci(r, "conversion_rest"), _ci(r, "precision"), _ci(r, "recall"),
                  str(r["conversions_left_in_nurture"]), _auc(r))
    t.caption = "rates with exact 95% intervals (Clopper-Pearson); AUC with a 95% interval (Hanley-McNeil)"
    console().print(t)


def _auc(r: pd.Series[Any]) -> str:
    lo, hi = r.get("auc_lower"), r.get("auc_upper")
    return f"{r['auc']:.3f} [{lo:.2f}-{hi:.2f}]" if lo == lo and hi == hi else f"{r['auc']:.3f}"


def _ci(r: pd.Series[Any], name: str) -> str:
    """`84.6% [65-96]`: a rate and its interval, in percent."""
    v = r[name]
    lo: Any = r.get(f"{name}_lower")      # NaN when there is no interval (NaN != NaN below)
    hi: Any = r.get(f"{name}_upper")
    if v != v:
        return "n/a"
    return f"{F.share(v)} [{100 * lo:.0f}-{100 * hi:.0f}]" if lo == lo and hi == hi else F.share(v)


@click.command()
@LEADS_ARG
@MAPPING_OPT
@DEALS_OPT
@click.option("--policy", "-p", "policies", multiple=True, required=True, help="policy name or file (repeatable)")
@OUT_OPT
def backtest(leads: Path, mapping: Path, deals: Path | None, policies: tuple[str, ...], out: Path | None) -> None:
    """Score real historical leads with each policy and compare with what really happened."""
    from sim.crm.backtest import backtest as run_backtest
    from sim.experiment.store import atomic_folder
    try:
        m, imp = _load(leads, mapping, deals)
        pols = _policies(policies, m, mapping)
        if imp.leads["won"].isna().all():
            raise ConfigError(str(mapping), ["the export has no outcome: map leads.outcome or give --deals"])
        folder = _out_folder(out, "backtest", m.name)
    except ConfigError as e:
        fail(e)
    table, gains = run_backtest(imp.leads, pols)
    with atomic_folder(folder) as tmp:
        from sim.crm.report import write_backtest_report
        write_backtest_report(tmp, table, gains, f"Backtest on {leads.name}")
        _write_common(tmp, imp)
    _bad_summary(imp)
    _print_backtest(table, f"{len(imp.leads)} real leads, {int(table['conversions'].iloc[0])} converted")
    console().print(f"wrote {escape(str(folder))}")


@click.command(name="fit-scoring")
@LEADS_ARG
@MAPPING_OPT
@DEALS_OPT
@click.option("--name", default="learned", show_default=True, help="name of the learned policy")
@click.option("--train-share", type=click.FloatRange(0.1, 0.95), default=0.7, show_default=True,
              help="share of the earliest leads used to fit; the later ones validate")
@click.option("--levels", type=click.IntRange(1, 10), default=3, show_default=True,
              help="occurrences of each event type given their own points")
@click.option("--compare", "-p", "compare_with", multiple=True, help="policies to validate alongside (repeatable)")
@OUT_OPT
def fit_scoring(leads: Path, mapping: Path, deals: Path | None, name: str, train_share: float, levels: int,
                compare_with: tuple[str, ...], out: Path | None) -> None:
    """Fit a points table by logistic regression on the earlier leads, validate it on the later ones,
    and write it as a normal policy file."""
    from sim.crm.backtest import backtest as run_backtest
    from sim.crm.figures import table_html
    from sim.crm.fitscoring import fit_scoring as learn
    from sim.crm.tomlout import dumps
    from sim.experiment.store import atomic_folder, safe_name
    try:
        m, imp = _load(leads, mapping, deals)
        others = _policies(compare_with, m, mapping)
        folder = _out_folder(out, "fit-scoring", name)
        try:
            learned = learn(imp.leads, m, name, train_share, levels)
        except ValueError as e:
            raise ConfigError(str(leads), [f"{e}"]) from None
    except ConfigError as e:
        fail(e)
    pols = [learned.policy, *others]
    train_t, _ = run_backtest(learned.train, pols)
    valid_t, valid_g = run_backtest(learned.valid, pols)
    text = (f"# Learned by `funnelsim fit-scoring` from {leads.name} (mapping {mapping}): logistic regression on "
            f"the first {len(learned.train)} leads,\n# validated on the next {len(learned.valid)}. "
            "20 points double the odds of converting; the threshold maximises F1 on the training leads.\n"
            + dumps(learned.policy.model_dump(mode="json", exclude_defaults=True)))
    validate_data(type(learned.policy), tomllib.loads(text), name)
    with atomic_folder(folder) as tmp:
        (tmp / f"{safe_name(name)}.toml").write_text(text, encoding="utf-8")
        learned.coefficients.to_csv(tmp / "coefficients.csv", index=False)
        pd.concat([train_t.assign(period="train"), valid_t.assign(period="validation")]).to_csv(
            tmp / "validation.csv", index=False)
        from sim.crm.report import write_backtest_report
        write_backtest_report(tmp, valid_t, valid_g, f"Learned scoring validated on the later {len(learned.valid)} leads",
                        [("Points table", table_html(learned.coefficients)),
                         ("Training period", table_html(train_t))])
        _write_common(tmp, imp)
    _print_backtest(train_t, f"training: first {len(learned.train)} leads")
    _print_backtest(valid_t, f"validation: later {len(learned.valid)} leads")
    console().print(f"wrote {escape(str(folder))} (policy file {safe_name(name)}.toml)")
