"""Issue 9, section 3: scipy.linalg's solve, inv, det, eigh and norm,
scipy.signal.convolve2d, scipy.special's xlog1py and entr, and dirichlet's
refusal at the user's line. The rule table (tests/test_rules.py) checks each
against finite differences, forward mode and second derivatives; here:
autograd's NumPy equivalents as references, vmap of jacrev (one test per
family, against each example's jacrev), and the refused options. Kept small:
one transformed function per family."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint
from conftest import numerical_jacobian

linalg = pytest.importorskip("scipy.linalg")
signal = pytest.importorskip("scipy.signal")
special = pytest.importorskip("scipy.special")
stats = pytest.importorskip("scipy.stats")

B_VECTOR = np.array([1.0, -2.0, 0.5])


def matrices(a):
    """scipy.linalg's solve and inv (reading one triangle), det, norm
    (written as NumPy's calls) and eigh (SciPy's, through sign-free
    functions of its eigenvectors)."""
    return (linalg.solve(a, B_VECTOR, assume_a="sym") + linalg.inv(a, assume_a="sym", lower=True)[0]
            + linalg.det(a) * linalg.norm(a) + eigenpairs(a))


def eigenpairs(a):
    w, v = linalg.eigh(a, lower=False)
    return w * w + (v * v) @ B_VECTOR


def matrices_autograd(a):
    upper = anp.triu(a) + anp.triu(a, 1).T  # the triangle SciPy reads (assume_a="sym"; eigh's lower=False)
    lower = anp.tril(a) + anp.tril(a, -1).T
    w, v = anp.linalg.eigh(upper)
    return (anp.linalg.solve(upper, B_VECTOR) + anp.linalg.inv(lower)[0] + anp.linalg.det(a) * anp.linalg.norm(a)
            + w * w + (v * v) @ B_VECTOR)


def test_scipy_linalg_against_autograd_and_under_vmap():
    rng = np.random.default_rng(0)
    a = rng.uniform(-0.5, 0.5, (3, 3)) + np.diag([3.0, 5.0, 8.0])  # not symmetric: one triangle is read
    np.testing.assert_allclose(adjoint.jacrev(matrices)(a), autograd.jacobian(matrices_autograd)(a),
                               rtol=1e-8, atol=1e-10)
    jacobian = adjoint.jacrev(eigenpairs)  # (NumPy's solve, inv, det and norm under vmap: their own tests)
    batch = np.stack([a, a + 0.05 * rng.standard_normal((3, 3))])
    np.testing.assert_allclose(adjoint.vmap(jacobian)(batch), np.stack([jacobian(x) for x in batch]),
                               rtol=1e-9, atol=1e-12)
    # eigh's values are SciPy's (its eigenvectors' signs, not NumPy's)
    _, v = adjoint.vjp(lambda m: linalg.eigh(m), a)[0]
    np.testing.assert_array_equal(v, linalg.eigh(a)[1])


def image_and_entropy(x, k):
    return special.xlog1py(x, k[0, 0]) + special.entr(signal.convolve2d(x, k, mode="same") ** 2 + 0.1)


def test_convolve2d_and_special_under_vmap_against_finite_differences():
    rng = np.random.default_rng(2)
    x, k = rng.uniform(0.2, 1.0, (3, 4)), rng.uniform(0.2, 1.0, (2, 2))
    jacobian = adjoint.jacrev(image_and_entropy, argnums=(0, 1))
    got = jacobian(x, k)
    for argnum in (0, 1):
        np.testing.assert_allclose(got[argnum], numerical_jacobian(image_and_entropy, (x, k), argnum),
                                   rtol=1e-6, atol=1e-8)
    xs, ks = np.stack([x, x + 0.1]), np.stack([k, k * 1.5])
    batched = adjoint.vmap(jacobian)(xs, ks)
    for argnum in (0, 1):
        np.testing.assert_allclose(batched[argnum], np.stack([jacobian(*e)[argnum] for e in zip(xs, ks)]),
                                   rtol=1e-9, atol=1e-12)


def test_xlog1py_and_entr_slopes_at_their_edges():
    # xlog1py(0, y) is 0 for every y: slope 0 in y, y = -1 included; entr's slope at 0 is +inf
    grad_y = adjoint.grad(lambda y: np.sum(special.xlog1py(np.array([0.0, 2.0]), y)))(np.array([-1.0, 1.0]))
    np.testing.assert_array_equal(grad_y, [0.0, 1.0])
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(adjoint.grad(lambda x: np.sum(special.entr(x)))(np.array([0.0, 1.0])),
                                      [np.inf, -1.0])


def assume_diagonal(a):
    return linalg.solve(a, B_VECTOR, assume_a="diagonal")


def structure_named(a, kind):
    return linalg.solve(a, B_VECTOR, assume_a=kind)


def wrapped_image(x):
    return signal.convolve2d(x, x, boundary="wrap")


def filled_with_one(x):
    return signal.convolve2d(x, x, fillvalue=1.0)


def generalized(a):
    return linalg.eigh(a, a @ a.T)[0]


def subset(a):
    return linalg.eigh(a, subset_by_index=[0, 1])[0]


def inverse_positive(a):
    return linalg.inv(a, assume_a="pos")


@pytest.mark.parametrize("func, args, message", [
    (assume_diagonal, (), r"assume_a='diagonal'.*no derivative rule"),
    (structure_named, ("sym",), r"assume_a= computed in the code.*Write assume_a= as a literal"),
    (wrapped_image, (), r"boundary='wrap'.*np.pad"),
    (filled_with_one, (), r"fillvalue=1.0"),
    (generalized, (), r"generalized problem"),
    (subset, (), r"subset of the spectrum"),
    (inverse_positive, (), r"cho_solve\(scipy.linalg.cho_factor\(a\), np.eye\(n\)\)"),
])
def test_options_whose_values_differ_are_refused_at_the_users_line(func, args, message):
    with pytest.raises(adjoint.errors.UnsupportedSyntaxError, match=message) as caught:
        adjoint.grad(lambda a: np.sum(func(a, *args)))(np.eye(3) * 2.0)
    assert f"test_funcs3.py:{func.__code__.co_firstlineno + 1}:" in str(caught.value)


def dirichlet_without_last(y, alpha):
    return stats.dirichlet.logpdf(y, alpha)


def test_dirichlet_k_minus_1_form_is_refused_at_the_users_line():
    line = f"test_funcs3.py:{dirichlet_without_last.__code__.co_firstlineno + 1}:"
    y, alpha = np.array([0.2, 0.3]), np.array([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="Append the last category") as caught:
        adjoint.grad(dirichlet_without_last)(y, alpha)
    assert line in str(caught.value)
    with pytest.raises(ValueError, match="Append the last category") as caught, pytest.warns(RuntimeWarning):
        adjoint.vmap(adjoint.grad(dirichlet_without_last))(y[None], alpha[None])
    assert line in str(caught.value)
