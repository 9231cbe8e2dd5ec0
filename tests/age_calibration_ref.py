"""Reference least-absolute-deviation lines for tests/age_calibration_test.cpp, from SciPy's linear
programming (scipy.optimize.linprog with HiGHS, Debian's python3-scipy): minimise sum(u + v) over
offset, scale, u >= 0, v >= 0 with offset + scale * x_i + u_i - v_i = y_i.

    /usr/bin/python3 tests/age_calibration_ref.py OUT_DIR

Writes OUT_DIR/faces.npy (CASES x COUNT x 2: estimate, age; float32) and OUT_DIR/reference.npy
(CASES x 3: offset, scale, the least sum of absolute residuals).
"""
import os
import sys

import numpy as np
from scipy.optimize import linprog

SEED = 20261207
COUNT = 400


def cases(rng):
    x = rng.uniform(1, 95, COUNT)
    # an estimate pulled towards 35 years, with heavy-tailed errors
    yield x, 35 + 1.15 * (x - 35) + rng.laplace(0, 4, COUNT)
    # an estimate that runs high, with skewed errors
    yield x, -3 + 0.9 * x + rng.gamma(2, 3, COUNT) - 6
    # whole-year labels, as UTKFace's
    yield x, np.round(np.clip(0.5 + x + rng.normal(0, 6, COUNT), 0, 116))


def least_absolute_deviations(x, y):
    n = len(x)
    cost = np.concatenate([[0, 0], np.ones(2 * n)])
    equalities = np.hstack([np.ones((n, 1)), x[:, None], np.eye(n), -np.eye(n)])
    bounds = [(None, None), (None, None)] + [(0, None)] * (2 * n)
    result = linprog(cost, A_eq=equalities, b_eq=y, bounds=bounds, method="highs")
    assert result.status == 0, result.message
    return result.x[0], result.x[1], result.fun


def main(out):
    rng = np.random.default_rng(SEED)
    faces, reference = [], []
    for x, y in cases(rng):
        x, y = x.astype(np.float32), y.astype(np.float32)
        faces.append(np.stack([x, y], axis=1))
        reference.append(least_absolute_deviations(x.astype(np.float64), y.astype(np.float64)))
    np.save(os.path.join(out, "faces.npy"), np.array(faces, dtype=np.float32))
    np.save(os.path.join(out, "reference.npy"), np.array(reference, dtype=np.float32))


if __name__ == "__main__":
    main(sys.argv[1])
