"""Read a CRM export through its mapping into one clean table, and every bad row with its reason.

Why never drop silently: a calibration or a backtest is only as honest as the rows it used. Rows with
an unparseable date, a negative duration (won before created), an unknown source or a duplicate id
are taken out *and counted by reason*, with the row number and the offending value, so the user can
fix the export or the mapping and see the effect.

The clean table has one row per lead and canonical columns: lead_id, created (datetime64 or NaT),
order, channel, source, won (bool, or missing when the export has no outcome), won_date, amount,
owner, sdr, account (the account id, missing when unmatched or not mapped), stage_<name> (datetime64), attr_<name> (vocabulary value), ev_<type> (occurrence count).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.config.errors import ConfigError
from sim.crm.mapping import Mapping

MAX_CSV_BYTES = 500_000_000


@dataclass
class Imported:
    """The clean leads, the bad rows (file, row, id, reason, detail) and notes on what was imputed."""

    leads: pd.DataFrame
    bad: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    rows_read: int = 0

    def bad_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.bad["reason"].value_counts().items()} if len(self.bad) else {}


def read_csv(path: Path, malformed: list[list[str]] | None = None) -> pd.DataFrame:
    """Every column as text (empty cells as NaN), or ConfigError naming the file. Lines with more
    fields than the header are left out and appended to `malformed` (when given)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(str(p), ["file not found (give the path of the CSV export)"])
    if p.stat().st_size > MAX_CSV_BYTES:
        raise ConfigError(str(p), [f"larger than {MAX_CSV_BYTES:,} bytes; split the export"])
    try:
        try:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
        except pd.errors.ParserError:
            if malformed is None:
                raise
            # a line with too many fields: keep every other row, report that line as a bad row
            df = pd.read_csv(p, engine="python", on_bad_lines=lambda fields: malformed.append(fields),
                             dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(str(p), ["not UTF-8 text; export the CSV as UTF-8"]) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise ConfigError(str(p), [f"cannot be read as CSV: {str(e).splitlines()[0]}"]) from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _require(df: pd.DataFrame, wanted: dict[str, str], csv: Path, mapping_src: str) -> None:
    """Every column the mapping names must be in the file."""
    missing = [(f, c) for f, c in wanted.items() if c not in df.columns]
    if missing:
        cols = ", ".join(repr(c) for c in list(df.columns)[:40])
        probs = [f"column {c!r} (named by {mapping_src} at {f}) is not in the file; fix the mapping. "
                 f"Columns in the file: {cols}" for f, c in missing]
        raise ConfigError(str(csv), probs)


def parse_dates(s: pd.Series, fmt: str | None) -> pd.Series:
    """datetime64 (naive); NaT where empty or unparseable."""
    out = pd.to_datetime(s, format=fmt or "ISO8601", errors="coerce", utc=True)
    return out.dt.tz_localize(None)


def _lead_columns(m: Mapping) -> dict[str, str]:
    L = m.leads
    wanted = {"leads.id": L.id, "leads.source": L.source}
    for f in ("created", "order", "outcome", "won_date", "amount", "owner", "account"):
        if getattr(L, f):
            wanted[f"leads.{f}"] = getattr(L, f)
    wanted.update({f"leads.stages.{k}": v for k, v in L.stages.items()})
    wanted.update({f"leads.attributes.{k}.column": a.column for k, a in L.attributes.items()})
    wanted.update({f"leads.events[{i}].column": e.column for i, e in enumerate(L.events)})
    return wanted


def _bad_rows(file: str, rows: np.ndarray, ids: pd.Series, reason: str, detail: pd.Series | str) -> pd.DataFrame:
    return pd.DataFrame({"file": file, "row": rows + 2, "id": ids.to_numpy(), "reason": reason,
                         "detail": detail if isinstance(detail, str) else detail.to_numpy()})


def import_leads(csv: Path, m: Mapping, mapping_src: str, deals_csv: Path | None = None) -> Imported:
    """The clean leads table and the bad rows, by reason. Raises ConfigError only for problems of the
    whole file or mapping (missing file or column), never for a bad row."""
    malformed: list[list[str]] = []
    raw = read_csv(csv, malformed)
    _require(raw, _lead_columns(m), csv, mapping_src)
    L, name = m.leads, Path(csv).name
    out = pd.DataFrame({"lead_id": raw[L.id].str.strip(), "source": raw[L.source].str.strip()})
    bad = pd.Series("", index=raw.index, dtype=object)
    detail = pd.Series("", index=raw.index, dtype=object)
    notes: list[str] = []

    def flag(mask: pd.Series, reason: str, what: pd.Series | str) -> None:
        new = mask & (bad == "")
        bad[new] = reason
        detail[new] = what[new].astype(str) if isinstance(what, pd.Series) else what

    flag(out["lead_id"].isna(), "missing_id", f"empty {L.id}")
    flag(out["lead_id"].duplicated(keep="first") & out["lead_id"].notna(), "duplicate_id", out["lead_id"])

    if L.created:
        text = raw[L.created]
        out["created"] = parse_dates(text, L.date_format)
        flag(text.isna(), "missing_date", f"empty {L.created}")
        flag(out["created"].isna(), "unparseable_date", L.created + "=" + text.astype(str))
    else:
        out["created"] = pd.NaT
    if L.order:
        out["order"] = pd.to_numeric(raw[L.order], errors="coerce")
    else:
        out["order"] = (out["created"] - pd.Timestamp(0)).dt.total_seconds() if L.created else np.nan

    known = out["source"].isin(L.sources.keys())
    if L.missing_source:
        out["channel"] = out["source"].map(L.sources).fillna(L.missing_source).where(known | out["source"].isna())
    else:
        out["channel"] = out["source"].map(L.sources)
        flag(out["source"].isna(), "missing_source", f"empty {L.source}")
    flag(out["source"].notna() & ~known, "unknown_source", L.source + "=" + out["source"].astype(str))

    for stage, col in L.stages.items():
        d = parse_dates(raw[col], L.date_format)
        flag(raw[col].notna() & d.isna(), "unparseable_date", col + "=" + raw[col].astype(str))
        flag(d < out["created"], "negative_duration", f"{col} before {L.created}")
        out[f"stage_{stage}"] = d

    out["won"] = pd.array([pd.NA] * len(out), dtype="boolean")
    if L.outcome:
        out["won"] = raw[L.outcome].str.strip().str.lower().isin([v.lower() for v in L.won_values]).astype("boolean")
        out.loc[raw[L.outcome].isna(), "won"] = pd.NA
    out["won_date"] = parse_dates(raw[L.won_date], L.date_format) if L.won_date else pd.NaT
    out["amount"] = pd.to_numeric(raw[L.amount], errors="coerce") if L.amount else np.nan
    out["owner"] = raw[L.owner] if L.owner else pd.NA
    if L.account:      # an empty account id is a lead the CRM did not link to an account
        account = raw[L.account].str.strip()
        out["account"] = account.where(account != "")
    else:
        out["account"] = pd.NA
    out["sdr"] = pd.NA

    for aname, a in L.attributes.items():
        v = raw[a.column].str.strip()
        if a.bins:
            num = pd.to_numeric(v.str.replace(",", ""), errors="coerce")
            bounds = sorted(a.bins.items(), key=lambda kv: kv[1])
            value = pd.Series(a.default, index=v.index, dtype=object)
            for name, bound in reversed(bounds):
                value[num <= bound] = name
            out[f"attr_{aname}"] = value
            unlisted = v.notna() & (num.isna() | (num > bounds[-1][1]))
        else:
            out[f"attr_{aname}"] = v.map(a.map).fillna(a.default)
            unlisted = v.notna() & ~v.isin(a.map.keys())
        if unlisted.any():
            notes.append(f"{a.column}: {int(unlisted.sum())} values not in the map scored as {a.default!r} "
                         f"(e.g. {', '.join(map(repr, v[unlisted].unique()[:3]))})")
    for e in L.events:
        if e.type:
            num = pd.to_numeric(raw[e.column], errors="coerce")
            if num.isna().any():
                notes.append(f"{e.column}: {int(num.isna().sum())} empty or non-numeric values counted as 0")
            cnt = np.floor(num.fillna(0).clip(lower=0) / e.per).clip(upper=e.max_count).astype(np.int64)
            out[f"ev_{e.type}"] = out.get(f"ev_{e.type}", 0) + cnt
        else:
            v = raw[e.column].str.strip()
            for t in sorted(set(e.values.values())):
                hit = v.isin([k for k, x in e.values.items() if x == t]).astype(np.int64)
                out[f"ev_{t}"] = out.get(f"ev_{t}", 0) + hit

    bad_df = _bad_rows(name, np.flatnonzero(bad != ""), out["lead_id"][bad != ""], "", detail[bad != ""])
    bad_df["reason"] = bad[bad != ""].to_numpy()
    if malformed:
        bad_df = pd.concat([bad_df, pd.DataFrame({
            "file": name, "row": pd.NA, "id": [f[0] if f else "" for f in malformed], "reason": "malformed_line",
            "detail": [f"{len(f)} fields, the header has {raw.shape[1]}: {','.join(f)[:80]}" for f in malformed]})],
            ignore_index=True)
    clean = out[bad == ""].reset_index(drop=True)
    if deals_csv is not None:
        if m.deals is None:
            raise ConfigError(mapping_src, ["--deals was given but the mapping has no [deals] section; add one "
                                            "(lead_id, won_date, ...) or drop --deals"])
        clean, deal_bad = _join_deals(clean, Path(deals_csv), m, mapping_src)
        bad_df = pd.concat([bad_df, deal_bad], ignore_index=True)
    return Imported(clean, bad_df, notes, rows_read=len(raw) + len(malformed))


def _join_deals(leads: pd.DataFrame, csv: Path, m: Mapping, mapping_src: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mark leads with a deal as won, with its date, amount and reps; bad deal rows by reason, and a
    lead whose deal was won before it was created loses the deal and becomes a bad row too."""
    D, L = m.deals, m.leads
    if D is None:
        raise ValueError("the mapping has no [deals] section (checked by the caller)")
    raw = read_csv(csv)
    wanted = {"deals.lead_id": D.lead_id, "deals.won_date": D.won_date}
    wanted.update({f"deals.{f}": getattr(D, f) for f in ("amount", "owner", "sdr") if getattr(D, f)})
    _require(raw, wanted, csv, mapping_src)
    ids = raw[D.lead_id].str.strip()
    won = parse_dates(raw[D.won_date], L.date_format)
    name = csv.name
    parts = []
    reasons: list[tuple[str, pd.Series[bool], pd.Series[Any] | str]] = [("missing_id", ids.isna(), f"empty {D.lead_id}"),
               ("duplicate_deal", ids.duplicated(keep="first") & ids.notna(), ids),
               ("unparseable_date", won.isna(), D.won_date + "=" + raw[D.won_date].astype(str)),
               ("deal_unknown_lead", ~ids.isin(leads["lead_id"]), ids)]
    taken = pd.Series(False, index=raw.index)
    for reason, mask, what in reasons:
        new = mask & ~taken
        if new.any():
            parts.append(_bad_rows(name, np.flatnonzero(new), ids[new], reason,
                                   what[new].astype(str) if isinstance(what, pd.Series) else what))
        taken |= mask
    good = raw[~taken]
    deals = pd.DataFrame({"lead_id": ids[~taken], "won_date": won[~taken],
                          "amount": pd.to_numeric(good[D.amount], errors="coerce") if D.amount else np.nan,
                          "owner": good[D.owner] if D.owner else pd.NA,
                          "sdr": good[D.sdr] if D.sdr else pd.NA}).set_index("lead_id")
    out = leads.set_index("lead_id")
    has = out.index.isin(deals.index)
    d = deals.reindex(out.index[has])
    out["won"] = pd.array(has, dtype="boolean") if L.outcome is None else (out["won"] | has)
    for col in ("won_date", "amount", "owner", "sdr"):
        out.loc[has, col] = d[col].to_numpy()
    out["won_date"] = pd.to_datetime(out["won_date"])
    neg = out["won_date"].notna() & out["created"].notna() & (out["won_date"] < out["created"])
    if neg.any():
        rows = out.index[neg]
        row_of = dict(zip(ids, raw.index + 2))
        parts.append(pd.DataFrame({"file": name, "row": [row_of[i] for i in rows],
                                   "id": rows, "reason": "negative_duration",
                                   "detail": [f"{D.won_date} before {L.created} by "
                                              f"{(c - w).total_seconds() / 86400:.2f} days" for w, c in
                                              zip(out.loc[neg, "won_date"], out.loc[neg, "created"])]}))
        out = out[~neg]
    bad = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["file", "row", "id", "reason", "detail"])
    return out.reset_index(), bad
