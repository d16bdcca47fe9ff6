"""vmap(jacrev(f)) of np.clip, np.diag, np.diagflat, np.cross, np.average,
np.trapezoid, np.nanprod, np.nanvar and np.nanstd: their derivative helpers
have batching rules (one NumPy call for the batch, no loop over the
examples). Checked against the unbatched derivative example by example and
against central differences; a refusal under vmap names the user's line."""
import warnings

import numpy as np
import pytest

import adjoint
from adjoint import errors
from adjoint import runtime as rt

WEIGHTS = [1.0, 2.0, 3.0, 0.5, 1.5]
KNOTS = [0.0, 0.5, 1.5, 2.0, 3.5]


def many(x):  # x: (5,); x > 0.9 is a NaN for the NaN-ignoring reductions
    holes = np.where(x > 0.9, np.nan, x)
    return np.concatenate([
        np.clip(x, 0.3, 0.7),
        np.ravel(np.diag(x[:3], 1)),
        np.diag(np.outer(x, x[::-1])),
        np.ravel(np.diagflat(x[:4] * x[1:], -1)),
        np.cross(x[:3], x[2:] * 2.0),
        np.ravel(np.cross(np.reshape(np.concatenate([x, x[:1]]), (2, 3)), x[1:4])),
        [np.average(x * x), np.average(x, weights=WEIGHTS), np.trapezoid(x * x), np.trapezoid(x * x, x=KNOTS)],
        [np.nanprod(holes), np.nanvar(holes * 2.0, ddof=1), np.nanstd(holes * 1.5)],
        np.nanstd(np.reshape(x[1:5], (2, 2)), axis=1),
    ])


def central_differences(f, x, step=1e-6):
    return np.stack([(f(x + step * e) - f(x - step * e)) / (2 * step) for e in np.eye(x.size)], axis=-1)


@pytest.mark.skipif(not hasattr(np, "trapezoid"), reason="np.trapezoid is NumPy 2's (np.trapz has no rule)")
def test_derivative_helpers_run_once_for_the_batch():
    xs = np.random.default_rng(1).uniform(0.0, 1.0, (3, 5))
    xs[0, 2] = 0.95  # a NaN in the first example
    loops = rt.PER_EXAMPLE_LOOPS[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (vmap warns when it loops over the examples)
        got = adjoint.vmap(adjoint.jacrev(many))(xs)
    assert rt.PER_EXAMPLE_LOOPS[0] == loops
    jacobian = adjoint.jacrev(many)
    np.testing.assert_allclose(got, np.stack([jacobian(x) for x in xs]), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, np.stack([central_differences(many, x) for x in xs]), atol=1e-6)


def test_cross_adjoint_on_a_batch_with_operands_of_different_ranks():
    rng = np.random.default_rng(2)
    g = rng.standard_normal((3, 4, 2, 3))  # (B, G) + the result's shape
    a, b = rng.standard_normal((3, 2, 3)), rng.standard_normal((3, 3))
    for wrt_b in (False, True):
        expected = np.stack([rt.cross_adjoint(g[i], a[i], b[i], wrt_b=wrt_b) for i in range(3)])
        np.testing.assert_allclose(rt.vcross_adjoint(g, a, b, wrt_b=wrt_b), expected)


def qr_squares(a):
    return np.sum(np.linalg.qr(a)[1] ** 2)


def test_a_refusal_under_vmap_names_the_users_line():
    batches = np.random.default_rng(3).standard_normal((2, 2, 3, 3))
    with pytest.raises(errors.NoRuleError) as caught:
        adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(qr_squares))))(batches)
    assert f"{__file__}:" in str(caught.value) and "np.linalg.qr(a)" in str(caught.value)
