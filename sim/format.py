"""How numbers look, in one place: the terminal tables, the JSON-side flags, the report's tables,
sentences and figure labels all format through here, so a KPI reads the same everywhere.

Rules (by the KPI's kind in `sim.measure.registry`):

- count: thousands separators; whole numbers from 100 up, else at most one decimal ("2.5", "12,000").
- money: one rule, three significant figures with k / M ("578", "9.29k", "11.8k", "1.83M"); a
  half-width or an interval end uses the scale of the value it goes with ("11.8k ± 0.9k").
- share: percent with one decimal in tables ("37.5%"), whole percent in sentences; differences of
  shares are percentage points ("+4.0 pp").
- duration: the number with its unit ("9.3 h", "12 min", "3.5 d"); labels say which hours
  ("clock hours" or "business hours").
- ratio / number: three significant figures, never "60.0".

No numpy or pandas here: the CLI imports this at start-up.
"""
from __future__ import annotations

import math
from typing import Any

# a KPI defined in fewer worlds than this shows "too few (n=..)" when a table has no status column
# (older results folders); the same as sim.measure.stats.MIN_WORLDS, not imported (no numpy here)
MIN_N = 5
UNIT_SHORT = {"clock hours": "h", "business hours": "h", "hours": "h", "minutes": "min", "days": "d"}
# the kinds of the old tables, kept so callers written against them still read right
OLD_KINDS = {"int": "count", "pct": "share", "num": "number"}


def missing(v: Any) -> bool:
    """None, NaN and infinities have no number to show."""
    if v is None:
        return True
    try:
        return not math.isfinite(float(v))
    except (TypeError, ValueError):
        return True


def _strip(s: str) -> str:
    """'60.0' -> '60', '2.50' -> '2.5' (only after a decimal point)."""
    if "." in s and "e" not in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _digits(ref: float, sig: int = 3) -> int:
    """Decimals that show `ref` to `sig` significant figures (never negative)."""
    ref = abs(ref)
    if ref == 0 or not math.isfinite(ref):
        return 0
    return max(0, sig - 1 - int(math.floor(math.log10(ref))))


def number(v: Any, sig: int = 3) -> str:
    """Any other number: thousands separators, three significant figures, no trailing '.0'."""
    if missing(v):
        return "n/a"
    v = float(v)
    if abs(v) >= 10 ** (sig - 1):
        return f"{v:,.0f}"
    return _strip(f"{v:,.{_digits(v, sig)}f}")


def count(v: Any) -> str:
    """A count or a mean count over worlds: '12,000', '2.5'."""
    if missing(v):
        return "n/a"
    v = float(v)
    return f"{v:,.0f}" if abs(v) >= 100 or v == round(v) else _strip(f"{v:,.1f}")


def _money_scale(ref: float) -> tuple[float, str]:
    a = abs(ref)
    return (1e6, "M") if a >= 1e6 else (1e3, "k") if a >= 1e3 else (1.0, "")


def money(v: Any, ref: Any = None) -> str:
    """Money, three significant figures with k / M; `ref` (the value this one goes with, e.g. the
    mean of a half-width) sets the scale and the decimals."""
    if missing(v):
        return "n/a"
    v = float(v)
    if v == 0:
        return "0"
    r = float(ref) if not missing(ref) and float(ref) != 0 else v
    scale, suffix = _money_scale(r)
    d = _digits(r / scale) if suffix else 0
    if suffix == "" and abs(r) < 100:
        d = 0
    return f"{v / scale:,.{d}f}{suffix}"


def share(v: Any, digits: int = 1) -> str:
    """0.375 -> '37.5%' (digits=0 for sentences: '38%')."""
    return "n/a" if missing(v) else f"{100 * float(v):.{digits}f}%"


def pp(v: Any, digits: int = 1) -> str:
    """A difference of shares in percentage points: 0.04 -> '4.0 pp'."""
    return "n/a" if missing(v) else f"{100 * float(v):.{digits}f} pp"


def duration(v: Any, unit: str = "hours") -> str:
    """'9.3 h', '12 min', '3.5 d': the number with its (short) unit; labels say clock or business."""
    if missing(v):
        return "n/a"
    short = UNIT_SHORT.get(unit, unit)
    v = float(v)
    text = f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"
    return f"{text} {short}".strip()


def unit_label(unit: str) -> str:
    """The unit as a label suffix: ' (clock hours)', '' for none."""
    return f" ({unit})" if unit else ""


def kind_of(kind: str) -> str:
    """A kind string of the registry (old table kinds accepted)."""
    return OLD_KINDS.get(kind, kind)


def value(v: Any, kind: str, unit: str = "", ref: Any = None) -> str:
    """One number by its kind (see the module rules)."""
    kind = kind_of(kind)
    if kind == "share":
        return share(v)
    if kind == "pp":
        return pp(v)
    if kind == "money":
        return money(v, ref)
    if kind == "count":
        return count(v)
    if kind == "duration":
        return duration(v, unit or "hours")
    return number(v)


def spread(hw: Any, kind: str, unit: str = "", ref: Any = None) -> str:
    """A half-width (always positive), in the unit its value is read in: shares in pp. A half-width
    above zero never reads as zero: where the usual digits would round it to '0.0', it gets two
    significant figures of its own ('± 0.03 h', '± 0.04 pp', '± 420' beside '1.83M')."""
    kind = kind_of(kind)
    if missing(hw):
        return "n/a"
    if kind in ("share", "pp"):
        return _nonzero(pp(hw), 100 * float(hw), " pp")
    if kind == "money":
        return _nonzero(money(hw, ref), float(hw), "", _nonzero(money(hw), float(hw), ""))
    if kind == "count":
        return number(hw, 2) if abs(float(hw)) < 100 else count(hw)
    if kind == "duration":
        return _nonzero(duration(hw, unit or "hours"), float(hw), " " + UNIT_SHORT.get(unit or "hours", unit))
    return number(hw, 2)


def _nonzero(text: str, v: float, suffix: str, instead: str | None = None) -> str:
    """`text`, unless it shows a non-zero `v` as zero ('0.0 h', '0.00M'): then `instead`, or `v`
    to two significant figures with `suffix`."""
    digits = [c for c in text if c.isdigit()]
    if v == 0 or any(c != "0" for c in digits):
        return text
    return instead if instead is not None else f"{number(v, 2)}{suffix}".strip()


def signed(v: Any, kind: str, unit: str = "", ref: Any = None) -> str:
    """A difference with its sign: shares in pp ('+4.0 pp'), the rest in the KPI's own unit."""
    kind = kind_of(kind)
    if missing(v):
        return "n/a"
    s = pp(v) if kind in ("share", "pp") else spread(v, kind, unit, ref) if kind == "count" else value(v, kind, unit, ref)
    return s if s.startswith("-") else f"+{s}"


def interval(lower: Any, upper: Any, kind: str, unit: str = "", diff: bool = False, compact: bool = False) -> str:
    """'10.0k to 11.8k' (both ends at the scale of the wider one); differences signed; `compact`
    joins two non-negative ends with a dash for table cells ('82.3–100.0%')."""
    if missing(lower) or missing(upper):
        return "no interval"
    ref = max(abs(float(lower)), abs(float(upper)))
    f = signed if diff else value
    a, b = f(lower, kind, unit, ref), f(upper, kind, unit, ref)
    for u in (" pp", " h", " min", " d", "%"):     # the unit once: '+1.0 to +3.0 pp', '92.4 to 100.0%'
        if a.endswith(u) and b.endswith(u):
            a = a[:-len(u)]
    sep = "–" if compact and not diff and float(lower) >= 0 else " to "
    return f"{a}{sep}{b}"


def relative(rel: Any, lower: Any = None, upper: Any = None) -> str:
    """A relative change with its own interval: '-29% (95% CI -60% to +5%)'; ends never below -100%."""
    if missing(rel):
        return "n/a"
    head = f"{100 * float(rel):+.0f}%"
    if missing(lower) or missing(upper):
        return head
    lo, hi = max(float(lower), -1.0), float(upper)
    return f"{head} (95% CI {100 * lo:+.0f}% to {100 * hi:+.0f}%)"


def plural(n: int, word: str, many: str | None = None) -> str:
    """'1 replication', '3 replications', '2 policies' (many = the irregular plural)."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def n_note(n: Any, n_total: Any) -> str:
    """' (n=7 of 10)' when a KPI is defined in fewer worlds than were run, else ''."""
    if missing(n) or missing(n_total) or int(n) >= int(n_total):
        return ""
    return f" (n={int(n)} of {int(n_total)})"


def status_of(row: Any) -> str:
    """A summary or difference row's status; rows from before the status column are 'ok' unless
    no world defines them."""
    st = _get(row, "status")
    if isinstance(st, str) and st:
        return st
    return "undefined" if missing(_get(row, "mean", _get(row, "diff"))) else "ok"


def _get(row: Any, key: str, default: Any = None) -> Any:
    try:
        v = row[key] if key in row else default
    except (TypeError, KeyError):
        v = getattr(row, key, default)
    return default if v is None else v


def too_few(n: Any, n_total: Any = None, count: Any = None) -> str:
    """'too few (n=2)': too few worlds define it; 'too few (12 items)': enough worlds, but a share
    pooled over too few episodes (the stats layer's rule), with 'n=5 of 8' when only some worlds
    define it; else plain 'too few'."""
    if missing(n):
        return "too few"
    if int(n) < MIN_N:
        return f"too few (n={int(n)})"
    if missing(count):
        return "too few"
    of = "" if missing(n_total) or int(n) >= int(n_total) else f", n={int(n)} of {int(n_total)}"
    return f"too few ({count:,.0f} items{of})"


def cell(row: Any, kind: str, unit: str = "", diff: bool = False) -> str:
    """One table cell from a summary row (mean, lower, upper, n, n_total, status) or a difference
    row (diff, lower, upper, n, status): '37.5% ± 4.0 pp', '+1.2k ± 0.8k (n=7 of 10)', 'too few
    (n=2)', 'n/a (no world)'. The interval is never shown when the stats layer says it cannot be."""
    st = status_of(row)
    n, n_total = _get(row, "n"), _get(row, "n_total")
    if st == "too_few":
        return too_few(n, n_total, _get(row, "count"))
    if st == "undefined":
        return "n/a (no world)"
    m = _get(row, "diff" if diff else "mean")
    lo, hi = _get(row, "lower"), _get(row, "upper")
    if missing(lo) or missing(hi):
        return (signed(m, kind, unit) if diff else value(m, kind, unit)) + n_note(n, n_total)
    hw = (float(hi) - float(lo)) / 2
    ref = max(abs(float(m)), hw) if not missing(m) else hw
    head = signed(m, kind, unit, ref) if diff else value(m, kind, unit, ref)
    if hw == 0:                     # every world gave the same value: say so, not '± 0.0' (a claim of certainty)
        return f"{head} (every world)" + n_note(n, n_total)
    if asymmetric(m, lo, hi):       # '100.0% ± 7.6 pp' would claim 107.6%: give the ends instead
        for u in (" pp", " h", " min", " d"):        # the unit once, at the end: '0.1 (0.0–0.2 h)'
            head = head.removesuffix(u)
        return f"{head} ({interval(lo, hi, kind, unit, diff, compact=True)})" + n_note(n, n_total)
    tail = spread(hw, kind, unit, ref)
    # the unit once, after the half-width: '+45.7 ± 8.3 pp', '11.6 ± 3.2 h' (shares keep '37.5% ± 4.5 pp')
    for u in (" pp", " h", " min", " d"):
        if head.endswith(u) and tail.endswith(u):
            head = head[:-len(u)]
    return f"{head} ± {tail}" + n_note(n, n_total)


def asymmetric(m: Any, lo: Any, hi: Any, tol: float = 0.25) -> bool:
    """An interval not centred on its estimate (bounded or skewed KPIs), so 'm ± h' would misstate
    one end."""
    if missing(m) or missing(lo) or missing(hi):
        return False
    mf, lof, hif = float(m), float(lo), float(hi)
    hw = (hif - lof) / 2
    return hw > 0 and abs((hif - mf) - (mf - lof)) > tol * 2 * hw


def setting(v: Any) -> str:
    """A configuration value as people write it: 12000.0 -> '12,000', 60.0 -> '60', '09:00:00' ->
    '09:00', True -> 'yes', lists and dicts joined."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {setting(x)}" for k, x in v.items()) or "-"
    if isinstance(v, (list, tuple)):
        return ", ".join(setting(x) for x in v) or "-"
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if isinstance(v, float):
        if v == round(v) and abs(v) < 1e15:
            return setting(int(v))
        return _strip(f"{v:.6g}") if abs(v) < 1e4 else f"{v:,.0f}"
    s = str(v)
    if len(s) == 8 and s[2] == ":" and s[5] == ":" and s.endswith(":00"):
        return s[:5]
    return s


def span(values: list[Any]) -> str:
    """Swept values as they ran: '2, 3, 4'; long numeric sweeps as '40 to 80 (9 values)'."""
    vals = list(dict.fromkeys(values))
    nums = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
    if nums and len(vals) > 6 and vals == sorted(vals):
        return f"{setting(vals[0])} to {setting(vals[-1])} ({len(vals)} values)"
    return ", ".join(map(setting, vals))


def kpi_format(name: str) -> tuple[str, str, str]:
    """(label with its unit, kind, unit) of a KPI from the registry. Ratios of money (cost per won
    deal) are money; durations carry their unit in the label ('First touch p50 (clock hours)')."""
    from sim.measure.registry import KPIS, kpi
    k = kpi(name)
    kind = k.kind
    if kind == "ratio" and k.numerator in KPIS and KPIS[k.numerator].kind == "money":
        kind = "money"
    label = k.label
    if kind == "duration" and k.unit:      # 'Oldest wait (max)' -> 'Oldest wait (max, business hours)'
        label = f"{label[:-1]}, {k.unit})" if label.endswith(")") else label + unit_label(k.unit)
    return label, kind, k.unit


def setting_name(name: str) -> str:
    """A KPI or setting name in plain words: 'policy.mql.threshold' -> 'MQL threshold (points)',
    'routing.discipline' -> 'routing discipline', KPIs by their registry label."""
    name = str(name)
    short = name.removeprefix("policy.").removeprefix("scenario.")
    if name in SETTING_LABELS or short in SETTING_LABELS:
        return SETTING_LABELS.get(name, SETTING_LABELS.get(short, name))
    from sim.measure.registry import KPIS
    if short in KPIS:
        return kpi_format(short)[0]
    parts = short.split(".")
    if short.startswith("sla.targets.") and len(parts) == 3:
        return f"{parts[2].replace('_', '-')}-tier SLA target"
    return " ".join(parts[-2:]).replace("_", " ")


SETTING_LABELS = {
    "policy.mql.threshold": "MQL threshold (points)", "mql.threshold": "MQL threshold (points)",
    "scenario.sales.reps": "SDRs (headcount)", "sales.reps": "SDRs (headcount)", "policy.reps": "SDRs (headcount)",
    "reps": "SDRs (headcount)", "sla_compliance": "SLA compliance (all tiers)",
    "sla_compliance_standard": "SLA compliance, standard tier",
    "mql.high_intent": "high-intent tier from (points)", "arrivals.leads_per_year": "leads per year",
    "response.decay": "response decay curve", "sla.breach_action": "action on SLA breach",
    "cadence.max_attempts": "attempts per MQL", "sales.mql_time_share": "share of SDR time on MQLs",
}
