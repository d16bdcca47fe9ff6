"""Per-example Hessians by nested vmap, ``vmap(jacrev(vmap(jacrev(f))))``,
through primitives whose batched derivative code was refused inside adjoint
(rules in ``adjoint/rules/nested_vmap.py``): one function gathers a sort (a
helper linear in its cotangent, differentiated row by row:
rt.tangent_rows) and a join of items (rt.vjoin_tangent), transformed once;
the reference is autograd's Hessian, example by example. The other rows of
the issue (median, percentile, quantile, ptp, nanmean, partition, min/max of
items, column_stack, dstack, interp, slogdet, svd without factors) are
checked against central differences of jacrev per example by
``tools/third_order_audit.py --mode vmap-rev-vmap-rev --check``: each costs
about a second to transform, more than the suite's time budget allows."""
import warnings

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from scipy import linalg

import adjoint

W = np.array([0.3, -1.1, 0.7, 1.9])
XP = np.array([-1.0, 0.0, 0.5, 2.0])  # knots, with the values fp of the examples at them
XQ = np.array([-0.6, 0.2, 0.9, 1.7])  # (a point in each segment, two in the last)
SEGMENT = np.array([0, 1, 2, 2])
SHARE = (XQ - XP[SEGMENT]) / (XP[SEGMENT + 1] - XP[SEGMENT])


def sort_and_join(x):  # x: 4 values
    return np.sum(np.vstack([np.sort(x), x]) ** 3 * W)


def sort_and_join_twin(x):
    return anp.sum(anp.stack([anp.sort(x), x]) ** 3 * W)


def test_sort_and_join_per_example():
    x = np.random.default_rng(5).uniform(-2.0, 2.0, (2, 2, 4))  # distinct values: no ties
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (loops over the examples are allowed here)
        got = adjoint.vmap(adjoint.jacrev(adjoint.vmap(adjoint.jacrev(sort_and_join))))(x)
    assert got.shape == (2, 2, 4, 2, 4)
    hessian = autograd.hessian(sort_and_join_twin)
    for k in range(2):
        for j in range(2):  # each example's Hessian on the diagonal of the inner batch, zeros off it
            np.testing.assert_allclose(got[k, j, :, j], hessian(x[k, j]), rtol=1e-9, atol=1e-9)
            assert not np.any(got[k, j, :, 1 - j])


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
