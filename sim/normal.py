"""The standard normal quantile (inverse CDF) without importing scipy: scipy.special's `ndtri`
(the Cephes algorithm) computed operation for operation, so a run gives the same floats either way.

Why: `import scipy.special` costs about 0.2 s of CPU per process (its array-API layer imports
numpy.f2py and numpy.testing), more than a small simulation. Why not `statistics.NormalDist.inv_cdf`
or another approximation: they differ from ndtri in the last bits, and results must stay
bit-identical. The logarithms go through `math.log` (the C library's, which scipy's compiled code
calls too), not `np.log`, whose SIMD loops can differ by an ulp; only the tails (|z| > 2,
about a quarter of uniform draws) need one. That makes it about 7x slower than scipy's compiled
loop, so arrays of more than `LARGE` values (a big run, where the import is paid back) go to scipy:
the same floats either way. `tests/test_normal_quantile.py` checks equality with scipy bit for bit.
"""
from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
LARGE = 1 << 18     # values from which scipy's ndtri is faster than importing scipy.special is slow

_S2PI = 2.50662827463100050242e0        # sqrt(2 pi)
_EXP_M2 = 0.13533528323661269189        # exp(-2): below it (or above 1 - it) the tail formula is used
# approximation for 0 <= |y - 0.5| <= 3/8
_P0 = (-5.99633501014107895267e1, 9.80010754185999661536e1, -5.66762857469070293439e1,
       1.39312609387279679503e1, -1.23916583867381258016e0)
_Q0 = (1.95448858338141759834e0, 4.67627912898881538453e0, 8.63602421390890590575e1,
       -2.25462687854119370527e2, 2.00260212380060660359e2, -8.20372256168333339912e1,
       1.59056225126211695515e1, -1.18331621121330003142e0)
# approximation for interval z = sqrt(-2 log y) between 2 and 8
_P1 = (4.05544892305962419923e0, 3.15251094599893866154e1, 5.71628192246421288162e1,
       4.40805073893200834700e1, 1.46849561928858024014e1, 2.18663306850790267539e0,
       -1.40256079171354495875e-1, -3.50424626827848203418e-2, -8.57456785154685413611e-4)
_Q1 = (1.57799883256466749731e1, 4.53907635128879210584e1, 4.13172038254672030440e1,
       1.50425385692907503408e1, 2.50464946208309415979e0, -1.42182922854787788574e-1,
       -3.80806407691578277194e-2, -9.33259480895457427372e-4)
# approximation for interval z = sqrt(-2 log y) between 8 and 64
_P2 = (3.23774891776946035970e0, 6.91522889068984211695e0, 3.93881025292474443415e0,
       1.33303460815807542389e0, 2.01485389549179081538e-1, 1.23716634817820021358e-2,
       3.01581553508235416007e-4, 2.65806974686737550832e-6, 6.23974539184983293730e-9)
_Q2 = (6.02427039364742014255e0, 3.67983563856160859403e0, 1.37702099489081330271e0,
       2.16236993594496635890e-1, 1.34204006088543189037e-2, 3.28014464682127739104e-4,
       2.89247864745380683936e-6, 6.79019408009981274425e-9)


def _polevl(x: Floats, coef: tuple[float, ...]) -> Floats:
    """coef[0] x^n + ... + coef[n], by Horner's rule in Cephes' order."""
    a = np.full_like(x, coef[0])
    for c in coef[1:]:
        a = a * x + c
    return a


def _p1evl(x: Floats, coef: tuple[float, ...]) -> Floats:
    """x^n + coef[0] x^(n-1) + ... (leading coefficient 1), as Cephes' p1evl."""
    a = x + coef[0]
    for c in coef[1:]:
        a = a * x + c
    return a


def _log(x: Floats) -> Floats:
    return np.fromiter(map(math.log, x.tolist()), dtype=np.float64, count=x.size)


def ndtri(y: npt.ArrayLike) -> Floats:
    """z with Phi(z) = y, elementwise: -inf at 0, inf at 1, NaN outside [0, 1] (as scipy)."""
    y0 = np.asarray(y, dtype=np.float64)
    if y0.size > LARGE:
        from scipy.special import ndtri as compiled
        return np.asarray(compiled(y0), dtype=np.float64)
    return _ndtri(y0)


def _ndtri(y0: Floats) -> Floats:
    """Cephes' ndtri, elementwise over an array."""
    flat = y0.ravel()
    out = np.full(flat.shape, np.nan)
    upper = flat > 1.0 - _EXP_M2
    yy = np.where(upper, 1.0 - flat, flat)
    mid = (yy > _EXP_M2) & (flat >= 0.0) & (flat <= 1.0)
    ym = yy[mid] - 0.5
    y2 = ym * ym
    out[mid] = (ym + ym * (y2 * _polevl(y2, _P0) / _p1evl(y2, _Q0))) * _S2PI
    tail = (yy > 0.0) & (yy <= _EXP_M2) & (flat > 0.0) & (flat < 1.0)
    x = np.sqrt(-2.0 * _log(yy[tail]))
    x0 = x - _log(x) / x
    z = 1.0 / x
    near = x < 8.0
    x1 = np.empty_like(x)
    x1[near] = z[near] * _polevl(z[near], _P1) / _p1evl(z[near], _Q1)
    x1[~near] = z[~near] * _polevl(z[~near], _P2) / _p1evl(z[~near], _Q2)
    r = x0 - x1
    out[tail] = np.where(upper[tail], r, -r)
    out[flat == 0.0] = -np.inf
    out[flat == 1.0] = np.inf
    return out.reshape(y0.shape)
