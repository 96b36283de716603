"""Analytic queueing anchors for rep capacity: Erlang B, Erlang C (M/M/c) and Erlang A (M/M/c+M).

Why: the SimPy sales process must reproduce these numbers under its textbook assumptions (Poisson
MQLs, exponential handling, 24/7 reps, one attempt, exponential patience), and `funnelsim staffing`
answers "how many SDRs for a service level" with them. All rates share one time unit (e.g. per
hour): c = servers (reps), lam = arrival rate, mu = service rate per rep (1 / mean handling time),
theta = abandonment rate (1 / mean patience; a lead going cold). Pure functions, no global state.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from numbers import Integral, Real

import numpy as np

TAIL_TOL = 1e-12          # Erlang A chain is cut where the remaining mass is below this
_LOG_RANGE = 60.0         # service-level integrand below exp(-60) of its peak is dropped


def _servers(c: object) -> int:
    if isinstance(c, bool) or not isinstance(c, Integral) or c < 1:
        raise ValueError(f"number of servers c must be an integer >= 1, got {c!r}")
    return int(c)


def _num(name: str, x: object, *, zero_ok: bool = False, inf_ok: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or math.isnan(x):
        raise ValueError(f"{name} must be a real number, got {x!r}")
    x = float(x)
    if (x < 0 or (x == 0 and not zero_ok)) or (math.isinf(x) and not inf_ok):
        need = ">= 0" if zero_ok else "> 0"
        raise ValueError(f"{name} must be {need}{'' if inf_ok else ' and finite'}, got {x!r}")
    return x


def offered_load(lam: float, mu: float) -> float:
    """Offered load a = lam / mu in Erlangs: the mean number of reps that would be busy."""
    return _num("arrival rate lam", lam) / _num("service rate mu", mu)


def erlang_b(c: int, a: float) -> float:
    """Blocking probability of M/M/c/c (lost leads when no rep is free) for offered load a.

    Uses B(k) = a B(k-1) / (k + a B(k-1)), B(0) = 1: no factorials or powers, so it neither
    overflows nor loses precision for thousands of servers.
    """
    c, a = _servers(c), _num("offered load a", a, zero_ok=True)
    b = 1.0
    for k in range(1, c + 1):
        b = a * b / (k + a * b)
    return b


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c: the share of arrivals that find every rep busy. 1.0 when a >= c,
    where the queue grows without bound and (in the limit) everyone waits."""
    c, a = _servers(c), _num("offered load a", a, zero_ok=True)
    if a >= c:
        return 1.0
    b = erlang_b(c, a)
    return c * b / (c - a * (1.0 - b))


def _mmc(c: int, lam: float, mu: float) -> tuple[int, float, float, float]:
    c, lam, mu = _servers(c), _num("arrival rate lam", lam), _num("service rate mu", mu)
    return c, lam, mu, erlang_c(c, lam / mu)


def mmc_mean_wait(c: int, lam: float, mu: float) -> float:
    """Mean queueing delay Wq = C / (c mu - lam) over all arrivals; inf when lam >= c mu."""
    c, lam, mu, pw = _mmc(c, lam, mu)
    return pw / (c * mu - lam) if lam < c * mu else math.inf


def mmc_service_level(c: int, lam: float, mu: float, t: float) -> float:
    """P(wait <= t) = 1 - C exp(-(c mu - lam) t) in M/M/c (FCFS); 0.0 when unstable."""
    c, lam, mu, pw = _mmc(c, lam, mu)
    t = _num("target time t", t, zero_ok=True, inf_ok=True)
    if lam >= c * mu:
        return 0.0
    return 1.0 - pw * math.exp(-(c * mu - lam) * t)


def mmc_mean_queue(c: int, lam: float, mu: float) -> float:
    """Mean number waiting Lq = lam Wq (Little's law); inf when unstable."""
    return _num("arrival rate lam", lam) * mmc_mean_wait(c, lam, mu)


@dataclass(frozen=True)
class ErlangA:
    """Steady state of M/M/c+M (Erlang A), per arriving lead (PASTA).

    p_wait: P(all reps busy on arrival). p_abandon: P(lead leaves before a rep takes it).
    mean_wait: E[time in queue] over all arrivals, abandoners counted until they leave.
    mean_queue: E[number waiting]. state_probs: P(N = n), n = 0..len-1, on the truncated chain.
    t / sl_at_t: the service level at the `t` passed to erlang_a (None if none was passed).
    """

    c: int
    lam: float
    mu: float
    theta: float
    p_wait: float
    p_abandon: float
    mean_wait: float
    mean_queue: float
    t: float | None = None
    sl_at_t: float | None = None
    state_probs: np.ndarray = field(default_factory=lambda: np.ones(1), repr=False, compare=False)

    def service_level(self, t: float) -> float:
        """P(a rep starts working the lead within t of its arrival); abandonment = a miss.

        Leads finding a free rep count as served at wait 0. A lead finding k >= 0 waiting ahead
        reaches a rep after the offered wait V_k = sum of Exp(c mu + j theta), j = k..0 (reps
        finishing or leads ahead abandoning), and is served only if V_k < its own patience
        Exp(theta). Summing p_{c+k} f_{V_k}(x) over k gives p_c c mu exp(lam(1-e^{-theta x})/theta
        - c mu x) (matching Laplace transforms), so
            SL(t) = P(N < c) + p_c c mu int_0^t exp(lam(1-e^{-theta x})/theta - (c mu+theta) x) dx,
        a 1-D integral of a log-concave function, done in log space around its peak.
        SL(inf) = 1 - p_abandon; theta -> 0 gives Erlang C's 1 - C exp(-(c mu - lam) t).
        """
        # imported when used (queueing mode only), not at the top: every run imports this module
        from scipy import integrate, optimize
        t = _num("target time t", t, zero_ok=True, inf_ok=True)
        p = self.state_probs
        p_free = float(p[: self.c].sum())
        if math.isinf(t):
            return min(1.0, max(0.0, 1.0 - self.p_abandon))
        if t == 0.0 or p[self.c] == 0.0:
            return p_free
        lam, th, beta = self.lam, self.theta, self.c * self.mu + self.theta

        def g(x: float) -> float:
            return -(lam / th) * math.expm1(-th * x) - beta * x

        peak = min(t, math.log(lam / beta) / th) if lam > beta else 0.0
        gmax = g(peak)
        lo, hi = 0.0, t
        if g(0.0) < gmax - _LOG_RANGE:
            lo = optimize.brentq(lambda x: g(x) - gmax + _LOG_RANGE, 0.0, peak)
        if g(t) < gmax - _LOG_RANGE:
            hi = optimize.brentq(lambda x: g(x) - gmax + _LOG_RANGE, peak, t)
        pts = [peak] if lo < peak < hi else None
        val, _ = integrate.quad(lambda x: math.exp(g(x) - gmax), lo, hi, points=pts,
                                limit=200, epsabs=0.0, epsrel=1e-11)
        if val <= 0.0:  # t so small the integral underflows: nobody waiting is served by then
            return p_free
        log_waited = math.log(p[self.c]) + math.log(self.c * self.mu) + gmax + math.log(val)
        return min(1.0, p_free + math.exp(log_waited))


def erlang_a(c: int, lam: float, mu: float, theta: float, t: float | None = None,
             max_states: int | None = None) -> ErlangA:
    """Solve M/M/c+M as a birth-death chain (birth lam, death min(n,c) mu + max(n-c,0) theta).

    Log-space products keep c = 500 and beyond finite. The chain is cut at the first n >= c
    where a geometric bound on the remaining mass falls below TAIL_TOL relative to the total;
    max_states (default c + 2_000_000) caps the chain and raises ValueError if too short (a
    tiny theta with lam > c mu needs ~ (lam - c mu) / theta states; use Erlang C for theta = 0).
    P(abandon) = theta Lq / lam and mean wait = Lq / lam (Little's law on the queue).
    """
    from scipy.special import gammaln, logsumexp
    c, lam, mu = _servers(c), _num("arrival rate lam", lam), _num("service rate mu", mu)
    theta = _num("abandonment rate theta", theta)
    cap = c + 2_000_000 if max_states is None else _servers(max_states)
    if cap <= c:
        raise ValueError(f"max_states must exceed c = {c}, got {cap}")
    n = np.arange(c + 1)
    log_head = n * math.log(lam / mu) - gammaln(n + 1)  # P(n) / P(0) for n <= c, in logs
    k = min(cap - c, max(64, 2 * int((lam - c * mu) / theta) + 64))
    while True:
        i = np.arange(1, k + 1)
        log_ratio = math.log(lam) - np.log(c * mu + i * theta)  # p_{c+i} / p_{c+i-1}
        log_q = np.concatenate([log_head, log_head[-1] + np.cumsum(log_ratio)])
        log_z = logsumexp(log_q)
        r_next = lam / (c * mu + (i + 1) * theta)  # bound on every later ratio, if < 1
        r_safe = np.where(r_next < 1, r_next, 0.5)
        log_tail = log_q[c + 1:] + np.where(r_next < 1, np.log(r_safe) - np.log1p(-r_safe), np.inf)
        ok = np.flatnonzero(log_tail - log_z < math.log(TAIL_TOL))
        if ok.size:
            log_q = log_q[: c + 2 + ok[0]]
            break
        if k >= cap - c:
            raise ValueError(f"Erlang A chain needs more than max_states = {cap} states "
                             f"(theta = {theta} is too small for this load)")
        k = min(cap - c, 2 * k)
    p = np.exp(log_q - logsumexp(log_q))
    p.setflags(write=False)
    lq = float(np.dot(np.arange(p.size - c), p[c:]))
    res = ErlangA(c=c, lam=lam, mu=mu, theta=theta, p_wait=float(min(1.0, p[c:].sum())),
                  p_abandon=min(1.0, theta * lq / lam), mean_wait=lq / lam, mean_queue=lq,
                  state_probs=p)
    return res if t is None else replace(res, t=float(t), sl_at_t=res.service_level(t))


def staffing_for_service_level(lam: float, mu: float, t: float, target: float,
                               theta: float = 0.0, max_c: int = 10_000) -> int:
    """Smallest number of reps c whose service level P(lead worked within t) >= target.

    theta == 0: Erlang C, scanning c upward with the Erlang B recursion (O(1) per step, exact
    first hit). theta > 0: Erlang A (abandonment is a miss); its service level rises with c, so
    a galloping + bisection search needs only O(log c) chain solves. ValueError if no c <= max_c
    reaches the target.
    """
    lam, mu = _num("arrival rate lam", lam), _num("service rate mu", mu)
    t = _num("target time t", t, zero_ok=True, inf_ok=True)
    theta, max_c = _num("abandonment rate theta", theta, zero_ok=True), _servers(max_c)
    target = _num("target", target)
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be a probability strictly between 0 and 1, got {target}")
    a = lam / mu
    fail = ValueError(f"no c <= max_c = {max_c} reaches service level {target} within t = {t}")
    if theta == 0.0:
        b = 1.0
        for c in range(1, max_c + 1):
            b = a * b / (c + a * b)
            if a < c:  # Erlang C from B, then 1 - C exp(-(c mu - lam) t)
                if 1.0 - c * b / (c - a * (1.0 - b)) * math.exp(-(c * mu - lam) * t) >= target:
                    return c
        raise fail

    def meets(c: int) -> bool:
        return erlang_a(c, lam, mu, theta).service_level(t) >= target

    lo, hi = 0, min(max_c, max(1, math.ceil(a)))  # invariant: lo fails (0 trivially), hi unknown
    step = 1
    while not meets(hi):
        if hi >= max_c:
            raise fail
        lo, hi, step = hi, min(max_c, hi + step), 2 * step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if meets(mid) else (mid, hi)
    return hi


@dataclass(frozen=True)
class Observed:
    """The simulated counterparts of the Erlang measures, over a cohort of arrivals.

    p_wait: share that found every rep busy (served after a positive wait, abandoned, or still
    waiting). mean_wait: time in queue over all arrivals, abandoners until they left, leads still
    waiting until `end`. service_level: share whose first touch came within t (abandonment and
    still waiting are misses). p_abandon: share that left unserved."""

    n: int
    p_wait: float
    mean_wait: float
    service_level: float
    p_abandon: float


def observe(arrival: np.ndarray, served: np.ndarray, left: np.ndarray, t: float, end: float,
            tol: float = 1e-9) -> Observed:
    """Measure a simulated queue. `arrival`: when each lead joined; `served`: when a rep took it
    (NaN if never); `left`: when it gave up unserved (NaN if it did not); `end`: when observation
    stopped (bounds the wait of leads still waiting). Times in one unit, `t` in the same.
    `tol` absorbs float noise in "served at once" (a rep free on arrival starts at the same instant)."""
    arrival, served, left = (np.asarray(x, dtype=np.float64) for x in (arrival, served, left))
    n = int(arrival.size)
    if n == 0:
        nan = float("nan")
        return Observed(0, nan, nan, nan, nan)
    was_served, gave_up = np.isfinite(served), np.isfinite(left)
    until = np.where(was_served, served, np.where(gave_up, left, end))
    wait = np.maximum(until - arrival, 0.0)
    return Observed(n=n, p_wait=float(np.mean(wait > tol)), mean_wait=float(wait.mean()),
                    service_level=float(np.mean(was_served & (wait <= t + tol))),
                    p_abandon=float(gave_up.mean()))
