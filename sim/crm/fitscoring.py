"""Learn a points table from history: logistic regression on one period, validated on a later one.

Features are what a policy can score: one indicator per fit-attribute value (the most common value
is the reference, 0 points) and, per event type, indicators "at least 1, 2, ..., L occurrences",
so that the coefficient of "at least j" is exactly the points of the j-th occurrence in the policy's
`points = [...]` list. Features built from leaky columns are never used.

Points use the credit-scoring convention "20 points double the odds" (points = coefficient x 20 /
ln 2, rounded to whole points), so the table reads the same whatever the data. The MQL threshold is
the one that maximises F1 on the training period. The result is scored again *through the policy
file* (`sim.crm.backtest`), so rounding and the scorer's semantics are part of what is validated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import pandas as pd
from scipy import optimize, special

from sim.config.policy import Policy
from sim.crm.mapping import ATTRIBUTE_VALUES, Mapping
from sim.crm.realworld import score_leads
from sim.vocab import EVENT_TYPES

POINTS_TO_DOUBLE = 20.0


@dataclass
class LearnedScoring:
    policy: Policy
    coefficients: pd.DataFrame     # feature, coefficient, points
    train: pd.DataFrame            # the training leads
    valid: pd.DataFrame            # the validation leads
    threshold: float


def design(leads: pd.DataFrame, mapping: Mapping, levels: int) -> tuple[np.ndarray, list[tuple[str, str, int]]]:
    """X float[n, k] and what each column means: ("attr", name, value index) or ("event", type, j)."""
    leaky = mapping.leaky_features()
    cols: list[np.ndarray] = []
    names: list[tuple[str, str, int]] = []
    for attr in mapping.leads.attributes:
        if f"attr_{attr}" in leaky:
            continue
        values = get_args(ATTRIBUTE_VALUES[attr])
        v = leads[f"attr_{attr}"]
        ref = v.mode().iloc[0]
        for i, val in enumerate(values):
            if val != ref and (v == val).any():
                cols.append((v == val).to_numpy(float))
                names.append(("attr", attr, i))
    for t in EVENT_TYPES:
        c = f"ev_{t}"
        if c not in leads or c in leaky:
            continue
        x = leads[c].to_numpy()
        for j in range(1, levels + 1):
            ind = (x >= j).astype(float)
            if 0 < ind.sum() < ind.size:
                cols.append(ind)
                names.append(("event", t, j))
    return (np.column_stack(cols) if cols else np.zeros((len(leads), 0))), names


def logistic(X: np.ndarray, y: np.ndarray, l2: float = 1.0) -> np.ndarray:
    """Coefficients [intercept, b...] of an L2-penalised logistic regression (the intercept is not
    penalised), by L-BFGS on the exact gradient."""
    Xi = np.column_stack([np.ones(len(X)), X])

    def f(b: np.ndarray) -> tuple[float, np.ndarray]:
        z = Xi @ b
        nll = float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * float(b[1:] @ b[1:])
        g = Xi.T @ (special.expit(z) - y)
        g[1:] += l2 * b[1:]
        return nll, g

    res = optimize.minimize(f, np.zeros(Xi.shape[1]), jac=True, method="L-BFGS-B")
    coef: np.ndarray = res.x
    return coef


def _best_f1_threshold(score: np.ndarray, y: np.ndarray) -> float:
    """The score threshold (an observed score) with the highest F1 = 2 TP / (MQLs + conversions)."""
    ok = np.isfinite(score)
    if not ok.any() or not y.any():
        return 0.0
    s, w = score[ok], y[ok]
    order = np.argsort(-s, kind="stable")
    s, w = s[order], w[order]
    last = np.append(s[1:] != s[:-1], True)               # the last lead of each tied score
    tp = np.cumsum(w)[last]
    mqls = np.flatnonzero(last) + 1
    f1 = 2 * tp / (mqls + y.sum())
    return float(s[last][int(np.argmax(f1))])


def split(leads: pd.DataFrame, train_share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier leads (by creation date, else by the order column) train; later ones validate."""
    known = leads[leads["won"].notna()].sort_values("order", kind="stable").reset_index(drop=True)
    cut = int(round(len(known) * train_share))
    return known.iloc[:cut].reset_index(drop=True), known.iloc[cut:].reset_index(drop=True)


def fit_scoring(leads: pd.DataFrame, mapping: Mapping, name: str, train_share: float = 0.7,
                levels: int = 3, l2: float = 1.0) -> LearnedScoring:
    """The learned points table as a Policy, its coefficients, and the train / validation split."""
    train, valid = split(leads, train_share)
    if len(train) < 50 or len(valid) < 20:
        raise ValueError(f"need at least 50 training and 20 validation leads with an outcome "
                         f"(have {len(train)} and {len(valid)})")
    X, names = design(train, mapping, levels)
    if not names:
        raise ValueError("no usable features: map attributes or events in the mapping (leaky ones are excluded)")
    y = train["won"].astype(bool).to_numpy()
    b = logistic(X, y.astype(float), l2)
    points = np.round(b[1:] * POINTS_TO_DOUBLE / np.log(2))
    fit: dict[str, dict[str, float]] = {a: {} for a in ATTRIBUTE_VALUES}
    behaviour: dict[str, list[float]] = {}
    rows = []
    for (kind, key, j), coef, pts in zip(names, b[1:], points):
        if kind == "attr":
            value = get_args(ATTRIBUTE_VALUES[key])[j]
            if pts:
                fit[key][value] = float(pts)
            rows.append({"feature": f"{key} = {value}", "coefficient": float(coef), "points": float(pts)})
        else:
            behaviour.setdefault(key, []).append(float(pts))
            rows.append({"feature": f"{key} occurrence {j}", "coefficient": float(coef), "points": float(pts)})
    # attributes: shift each table so its lowest value scores 0 (a threshold must be >= 0)
    for a, table in fit.items():
        if a in mapping.leads.attributes and table:
            low = min(0.0, min(table.values()))
            values = get_args(ATTRIBUTE_VALUES[a])
            fit[a] = {v: table.get(v, 0.0) - low for v in values if table.get(v, 0.0) - low}
    data: dict[str, Any] = {
        "name": name, "description": f"Learned by logistic regression on {len(train)} leads (20 points double the odds)",
        "icp": {"company_sizes": [], "industries": []},
        "scoring": {"fit": {a: fit.get(a, {}) for a in ATTRIBUTE_VALUES},
                    "behaviour": {t: {"points": p} for t, p in behaviour.items() if any(p)},
                    "negative": {"no_email_open_points": 0}},
        "mql": {"threshold": 0, "high_intent": POINTS_TO_DOUBLE, "fast_lane": {"demo_request": False}},
    }
    # the threshold is chosen on the score *as the policy file computes it* (rounding, shifts, caps)
    _, score = score_leads(train, Policy.model_validate(data))
    has_events = train[[c for c in train.columns.astype(str) if c.startswith("ev_")]].sum(axis=1).to_numpy() > 0
    threshold = max(0.0, _best_f1_threshold(np.where(has_events, score, -np.inf), y))
    data["mql"].update(threshold=threshold, high_intent=threshold + POINTS_TO_DOUBLE)
    return LearnedScoring(Policy.model_validate(data), pd.DataFrame(rows), train, valid, threshold)
