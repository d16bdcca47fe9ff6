"""Wrong numbers found by hunting the newest paths (issue 9), as tests.

``scipy.stats.multivariate_normal`` reads the lower triangle of ``cov`` (its
eigendecomposition does) and mirrors it, so an asymmetric ``cov`` stands for
that symmetric matrix. The derivatives solved with ``cov`` as given: for an
asymmetric covariance (a constant one, or one built from differentiated
values, ``S + np.outer(x, c)``) the gradient in ``x`` and in ``cov`` was
silently wrong. References: the analytic gradient of the Gaussian log density
and central differences of SciPy's own function.
"""
import ast
import inspect
import textwrap
from dataclasses import dataclass, field

import numpy as np
import pytest

import adjoint
from adjoint.runtime import batched_linalg, linalg

stats = pytest.importorskip("scipy.stats")

A = np.array([[2.0, 0.3, 0.1], [0.2, 3.0, 0.4], [0.1, 0.5, 4.0]])  # not symmetric
LOWER = np.tril(A) + np.tril(A, -1).T  # the matrix SciPy computes with
C = np.array([0.3, -0.2, 0.5])
X = np.array([0.4, -0.3, 0.7])


def density(x):
    return stats.multivariate_normal.logpdf(x, mean=C, cov=A)


def density_of_cov(x):
    return stats.multivariate_normal.logpdf(C, cov=LOWER + np.outer(x, C))


def density_of_matrix(c):
    return stats.multivariate_normal.logpdf(C, cov=c.reshape(3, 3))


def singular(x):
    cov = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 2.0]])
    return stats.multivariate_normal.logpdf(x, cov=cov, allow_singular=True)


def central(function, x, eps=1e-6):
    return np.array([(function(x + eps * e) - function(x - eps * e)) / (2 * eps) for e in np.eye(x.size)])


def test_asymmetric_constant_covariance_gradient_is_that_of_the_lower_triangle():
    analytic = -np.linalg.solve(LOWER, X - C)  # d/dx of -(x - m)^T S^-1 (x - m) / 2
    np.testing.assert_allclose(adjoint.grad(density)(X), analytic, rtol=1e-10)
    np.testing.assert_allclose(adjoint.jacfwd(density)(X), analytic, rtol=1e-10)


def test_asymmetric_differentiated_covariance():
    reference = central(density_of_cov, X)
    np.testing.assert_allclose(adjoint.grad(density_of_cov)(X), reference, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(adjoint.jacfwd(density_of_cov)(X), reference, rtol=1e-6, atol=1e-9)


def test_covariance_entries_the_upper_triangle_gets_nothing():
    c = A.ravel().copy()
    gradient = adjoint.grad(density_of_matrix)(c)
    np.testing.assert_allclose(gradient, central(density_of_matrix, c), rtol=1e-6, atol=1e-9)
    assert np.all(np.triu(gradient.reshape(3, 3), 1) == 0.0)


def test_singular_covariance_is_refused_not_a_linalg_error():
    with pytest.raises(ValueError, match="singular") as caught:
        adjoint.grad(singular)(np.array([0.4, 0.4, 0.7]))
    assert "invertible covariance" in str(caught.value)


# ---------------------------------------------------------------- views kept by callees
#
# A view made at a call (``R(z[:2])``, ``keep(z[:2])``) and kept by the
# callee (an attribute, a list it returns, a closure) shares memory with
# ``z``: a later ``z[0] = 7.0`` changes what the callee kept, as NumPy does.
# The alias analysis lost the view at the callee's parameter (and took a
# returned list holding it for a new value): the derivative and vmap read
# the value before the change. Silent wrong numbers; now refused at the
# user's line, as the same code with the view named first was.

class Holder:
    def __init__(self, w):
        self.w = w

    def times(self, v):
        return self.w * v


def keep(v):
    return [v]


def make(v):
    return lambda t: v * t


def held_by_object(x):
    z = x * 1.0
    r = Holder(z[:2])
    z[0] = 7.0
    return r.times(x[:2])


def held_by_list(x):
    z = x * 1.0
    items = keep(z[:2])
    z[0] = 7.0
    return items[0] * x[:2]


def held_by_closure(x):
    z = x * 1.0
    g = make(z[:2])
    z[0] = 7.0
    return g(x[:2])


@pytest.mark.parametrize("function", [held_by_object, held_by_list, held_by_closure])
def test_view_kept_by_a_callee_then_changed_is_refused(function):
    x = np.array([0.4, -0.3, 0.7])
    assert function(x.copy())[0] == pytest.approx(7.0 * 0.4)  # NumPy: the kept view sees the change
    with pytest.raises(adjoint.AdjointError, match="in-place update of 'z'") as caught:
        adjoint.jacrev(function)(x)
    assert "test_hunt5.py" in str(caught.value)
    with pytest.raises(adjoint.AdjointError, match="in-place update of 'z'"):
        adjoint.vmap(function)(np.stack([x, 2.0 * x]))


# ---------------------------------------------------------------- vmap and containers
#
# Under vmap the check that an in-place update shares memory with nothing
# else skipped a dict (np.ndim of a dict is 0, taken for an example's
# number): wrong values. A tuple holding the array crashed inside the check
# (np.ndim of a ragged tuple).

def in_dict(x):
    z = x * 1.0
    d = {"a": z}
    z[1] = 7.0
    return d["a"] * x


def in_tuple(x):
    z = x * 1.0
    t = (z, 1)
    z[1] = 7.0
    return t[0] * x


@pytest.mark.parametrize("function", [in_dict, in_tuple])
def test_vmap_refuses_an_update_of_an_array_a_container_holds(function):
    xs = np.array([[0.4, -0.3, 0.7], [0.1, 0.2, 0.3]])
    with pytest.raises(adjoint.AdjointError, match="shares memory with"):
        adjoint.vmap(function)(xs)


# ---------------------------------------------------------------- vmap(jacrev) of an overwrite
#
# vmap(jacrev(f)) of ``w = z[:2] * 2.0; z[0] = 7.0``: the overwrite's adjoint
# was told to update a cotangent in place that, under vmap, is a read-only
# broadcast of the output basis (ValueError inside the library).

def overwritten(x):
    z = x * 1.0
    w = z[:2] * 2.0
    z[0] = 7.0
    return w * x[:2] + z[:2]


def test_vmap_of_jacrev_through_an_overwrite():
    xs = np.array([[0.4, -0.3, 0.7], [0.1, 0.2, 0.3]])
    got = adjoint.vmap(adjoint.jacrev(overwritten))(xs)
    # by hand: out = [4 x0^2 ... ] -> d out_i / d x_j
    for x, jac in zip(xs, got, strict=True):
        expected = np.zeros((2, 3))
        expected[0, 0] = 4.0 * x[0]                # 2 x0 * x0 + 7.0
        expected[1, 1] = 4.0 * x[1] + 1.0          # 2 x1 * x1 + x1
        np.testing.assert_allclose(jac, expected, rtol=1e-12)


# ---------------------------------------------------------------- higher orders of the decompositions
#
# Forward mode differentiates the tangent helpers by their source at second
# order, and a derivative of vmap(f) differentiates the batched helpers:
# np.cov's and np.corrcoef's helper called np.array(m, ndmin=2),
# multi_dot's looped over enumerate(...) (tests/test_runtime_differentiable.py
# now holds it to the subset), vmap's lstsq called .astype(copy=False), vmap's
# cov imported inside, vmap's corrcoef clipped with out= and read .real. Each
# was refused with a message pointing into the library. Differentiating them
# costs about a second per helper (their source is transformed), over this
# file's time budget: the hunt checked jacfwd(jacfwd(f)), jacrev(jacfwd(f))
# and jacfwd/jacrev(vmap(f)) against differences; here their source is held
# to the forms the front end takes.

def test_helpers_differentiated_by_source_stay_in_the_subset():
    for helper in (batched_linalg.vlstsq, batched_linalg.vcov, batched_linalg.vcorrcoef, linalg._cov_rows):
        tree = ast.parse(textwrap.dedent(inspect.getsource(helper)))
        for node in ast.walk(tree):
            assert not isinstance(node, (ast.Import, ast.ImportFrom)), helper.__name__
            if isinstance(node, ast.Call):
                assert not {k.arg for k in node.keywords} & {"out", "copy", "ndmin"}, helper.__name__
            assert not (isinstance(node, ast.Attribute) and node.attr in ("real", "imag")
                        and not (isinstance(node.value, ast.Name) and node.value.id == "np")), helper.__name__


# ---------------------------------------------------------------- sparsity analysis of callees of callees
#
# The structure analysis returned (line, construct, file) for a construct in
# a callee, and the level above unpacked it as a pair: a ValueError inside
# the library for jacrev(f, sparse=True) when f calls g calls h and h
# branches on the values.

def branching(v):
    if np.sum(v) > 0:
        return v * v
    return np.sin(v)


def middle(v):
    return branching(v) * 2.0


def chained(x):
    return middle(x) + x


def test_sparse_jacobian_through_a_callee_of_a_callee_that_branches():
    x = np.array([0.4, -0.3, 0.7])
    with pytest.warns(RuntimeWarning, match="test_hunt5.py"):
        jacobian = adjoint.jacrev(chained, sparse=True)(x)
    np.testing.assert_allclose(jacobian.toarray(), np.diag(4.0 * x + 1.0), rtol=1e-12)


# ---------------------------------------------------------------- min and max of objects
#
# min(q1, q2) of objects compared by their __lt__ (a dataclass with
# order=True) returns one of them: its adjoint is that object's (its
# attributes'), which the rules of Python's min and max took for an array
# (a TypeError, dict + dict, inside the generated code; 'dict' has no shape
# in forward mode).

@dataclass(order=True)
class Ranked:
    rank: float
    values: np.ndarray = field(compare=False)


def best_of_two(x):
    best = min(Ranked(x[0], x * 2.0), Ranked(x[1], np.sin(x)))
    return best.values * best.rank


def test_min_of_objects_compared_by_lt():
    x = np.array([0.4, -0.3, 0.7])  # x[1] < x[0]: the second wins, sin(x) * x[1]
    expected = np.diag(np.cos(x) * x[1])
    expected[:, 1] += np.sin(x)
    np.testing.assert_allclose(adjoint.jacrev(best_of_two)(x), expected, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(best_of_two)(x), expected, rtol=1e-12)


# ---------------------------------------------------------------- the same expression bound to two names
#
# ``w = x * 1.0; v = x * 1.0`` are two arrays in NumPy; the front end
# computed the second once for both (a pure primitive on the same values),
# so an update of ``v`` in place was refused as if it changed ``w`` ("it
# shares memory with w"), in plain code that makes its own copy.

def two_copies(x):
    w = x * 1.0
    v = x * 1.0
    v[0] = 5.0
    v *= 2.0
    return w * v


def test_the_same_new_array_bound_to_two_names_is_two_arrays():
    x = np.array([0.3, -0.2, 0.5])
    expected = np.diag(4.0 * x)  # w * v = [10 x0, 2 x1^2, 2 x2^2]
    expected[0, 0] = 10.0
    np.testing.assert_allclose(adjoint.jacrev(two_copies)(x), expected, rtol=1e-12)
