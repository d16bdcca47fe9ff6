"""Per-example Hessians by nested vmap, ``vmap(jacrev(vmap(jacrev(f))))``,
through primitives whose batched derivative code was refused inside adjoint
(rules in ``adjoint/rules/nested_vmap.py``). The tangent of vmap's joins
(rt.vjoin_tangent) is checked against NumPy's joins, vmap's loop over
np.interp differentiated again against autograd, and cho_factor's refusal.
The rows of the issue (sort, median, percentile, quantile, ptp, nanmean,
partition, min/max of items, vstack, column_stack, dstack, interp,
slogdet, svd without factors) are checked against central differences of
jacrev per example by ``tools/third_order_audit.py --mode vmap-rev-vmap-rev
--check``: each costs about a second to transform, more than the suite's
time budget allows."""
import warnings

import autograd
import numpy as np
import pytest
from scipy import linalg

import adjoint
from adjoint import runtime as rt

XP = np.array([-1.0, 0.0, 0.5, 2.0])  # knots, with the values fp of the examples at them
XQ = np.array([-0.6, 0.2, 0.9, 1.7])  # (a point in each segment, two in the last)
SEGMENT = np.array([0, 1, 2, 2])
SHARE = (XQ - XP[SEGMENT]) / (XP[SEGMENT + 1] - XP[SEGMENT])


def test_the_tangent_of_vmaps_joins_joins_each_tangent_row():
    # rt.vjoin_tangent, the tangent rule of vmap's np.vstack / column_stack /
    # dstack of every example (they were read as source, and refused): per
    # tangent row and example, the join of the items' tangents (zeros for an
    # item without one); an array argument stands for its rows
    rng = np.random.default_rng(3)
    first, second = rng.normal(size=(2, 3)), rng.normal(size=(2, 2, 3))  # 2 examples
    t_first = rng.normal(size=(4, 2, 3))  # 4 tangent rows; the second item has none
    for join, numpy_join in ((rt.vvstack, np.vstack), (rt.vcolumn_stack, np.column_stack), (rt.vdstack, np.dstack)):
        items = [first, second] if join is rt.vvstack else [first, first * 2.0]
        got = rt.vjoin_tangent(join, [t_first, None], items)
        for row in range(4):
            for example in range(2):
                want = numpy_join([t_first[row, example], np.zeros_like(items[1][example])])
                np.testing.assert_array_equal(got[row, example], want)
    t_rows = rng.normal(size=(4, 2, 2, 3))  # np.vstack(x) of a matrix x: its rows
    np.testing.assert_array_equal(rt.vjoin_tangent(rt.vvstack, t_rows, second), t_rows)


def interp_of_values(fp):  # fp: the values at the 4 knots
    return np.interp(XQ, XP, fp) ** 3


def interp_of_values_twin(fp):
    return ((1.0 - SHARE) * fp[SEGMENT] + SHARE * fp[SEGMENT + 1]) ** 3


def test_the_per_example_loop_of_interp_is_differentiated_through_its_rules():
    # vmap loops over np.interp when the values fp differ between examples;
    # differentiated again, each example's Jacobian is taken through np.interp's
    # rules, with the knots read as constants (they were read as differentiated,
    # and np.interp's rule, which has no derivative along them, refused)
    fp = np.random.default_rng(7).uniform(-2.0, 2.0, (3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        forward = adjoint.jacfwd(adjoint.vmap(interp_of_values))(fp)
        reverse = adjoint.jacrev(adjoint.vmap(interp_of_values))(fp)
    jacobian = autograd.jacobian(interp_of_values_twin)
    for k in range(3):
        want = np.zeros((4, 3, 4))
        want[:, k] = jacobian(fp[k])
        np.testing.assert_allclose(forward[k], want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(reverse[k], want, rtol=1e-12, atol=1e-12)


def cho_solve_of_gram(x):  # x: 4 values
    a = np.reshape(x, (2, 2)) @ np.reshape(x, (2, 2)).T + 2.0 * np.eye(2)
    return np.sum(linalg.cho_solve(linalg.cho_factor(a), np.array([1.0, 2.0])) ** 2)


def test_cho_factor_is_refused_at_the_users_line_with_what_to_write():
    # (it was refused inside adjoint, at an import in vmap's helper)
    x = np.random.default_rng(0).normal(size=(2, 2, 4))
    with pytest.raises(adjoint.errors.NoRuleError) as caught:
        adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(cho_solve_of_gram))))(x)
    message = str(caught.value)
    assert message.startswith(f"{__file__}:{cho_solve_of_gram.__code__.co_firstlineno + 2}:")
    assert "cho_factor" in message and "adjoint.vmap(adjoint.hessian(f))" in message
