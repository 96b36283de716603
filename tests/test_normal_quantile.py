"""sim.normal.ndtri gives scipy.special.ndtri's floats bit for bit (a run must not change when the
engine stops importing scipy), over the body, both tails down to the smallest doubles, the switch
points of the Cephes algorithm, the ends and invalid input."""
from __future__ import annotations

import numpy as np
from scipy.special import ndtri as scipy_ndtri

from sim.normal import LARGE, ndtri

EXP_M2 = 0.13533528323661269189


def test_normal_quantile_is_scipys_bit_for_bit():
    rng = np.random.default_rng(20261206)
    switch = [EXP_M2, 1.0 - EXP_M2, np.exp(-32.0)]          # body/tail and the z = 8 switch
    edges = [0.0, 1.0, -0.5, 1.5, np.nan, 5e-324, 1e-300, 1e-12, 1 - 1e-12, 0.5, 1 - 2 ** -53]
    edges += [np.nextafter(x, d) for x in switch for d in (0.0, 1.0)] + switch
    u = np.concatenate([rng.random(200_000), 10.0 ** rng.uniform(-300, -1, 50_000),
                        1.0 - 10.0 ** rng.uniform(-16, -1, 50_000), edges])
    assert np.array_equal(ndtri(u), scipy_ndtri(u), equal_nan=True)


def test_normal_quantile_keeps_shape_and_large_arrays_agree():
    rng = np.random.default_rng(1)
    grid = rng.random((1000, 4))
    assert ndtri(grid).shape == (1000, 4) and np.array_equal(ndtri(grid), scipy_ndtri(grid))
    big = rng.random(LARGE + 1)           # handed to scipy: the same floats
    assert np.array_equal(ndtri(big), scipy_ndtri(big))
    assert ndtri(0.975) == scipy_ndtri(0.975) and ndtri(0.0) == -np.inf and ndtri(1.0) == np.inf
