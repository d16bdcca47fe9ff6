"""Issue 9, section 3: scipy.linalg's solve, inv, det, eigh and norm,
scipy.signal.convolve2d, scipy.special's xlog1py and entr, dirichlet's
refusal at the user's line, and dataclasses.replace, asdict, InitVar fields
and classes with __slots__. The rule table (tests/test_rules.py) checks each
against finite differences, forward mode and second derivatives; here:
autograd's NumPy equivalents as references, vmap of jacrev (one test per
family, against each example's jacrev), and the refused options. Kept small:
one transformed function per family."""
import dataclasses
import inspect
import warnings
from dataclasses import InitVar, dataclass

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


#: scipy.linalg.inv takes assume_a and lower in newer SciPy (1.17 here; 1.15 does not: the plain call raises TypeError)
INV_ASSUMES = "assume_a" in inspect.signature(linalg.inv).parameters
NEEDS_INV_ASSUMES = pytest.mark.skipif(not INV_ASSUMES, reason="this SciPy's linalg.inv takes no assume_a")


@NEEDS_INV_ASSUMES
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
    pytest.param(inverse_positive, (), r"cho_solve\(scipy.linalg.cho_factor\(a\), np.eye\(n\)\)",
                 marks=NEEDS_INV_ASSUMES),
])
def test_options_whose_values_differ_are_refused_at_the_users_line(func, args, message):
    with pytest.raises(adjoint.errors.UnsupportedSyntaxError, match=message) as caught:
        adjoint.grad(lambda a: np.sum(func(a, *args)))(np.eye(3) * 2.0)
    assert f"test_funcs3.py:{func.__code__.co_firstlineno + 1}:" in str(caught.value)


def options_on_constants(x):
    a = np.diag([2.0, 3.0, 4.0])
    return (x * linalg.solve(a, B_VECTOR, assume_a="diagonal") + signal.convolve2d(a, a, boundary="wrap")[0, :3]
            + linalg.eigh(a, a + np.eye(3))[0])


def test_refused_options_run_as_written_where_no_derivative_goes_through():
    x = np.array([1.0, 2.0, 3.0])
    value, pull = adjoint.vjp(options_on_constants, x)
    np.testing.assert_allclose(value, options_on_constants(x), rtol=1e-12)
    np.testing.assert_allclose(pull(np.ones(3))[0], B_VECTOR / np.array([2.0, 3.0, 4.0]), rtol=1e-12)


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


@dataclass
class Layer:
    w: np.ndarray
    b: float
    scale: InitVar[float] = 1.0

    def __post_init__(self, scale):
        self.w = self.w * scale


@dataclass(slots=True)
class Slotted:
    w: np.ndarray
    k: float


def records(x):
    layer = Layer(x, 2.0, 3.0)  # w = 3 x
    wider = dataclasses.replace(layer, b=0.5, scale=2.0)  # __init__ again: w = 6 x
    d = dataclasses.asdict(wider)
    s = Slotted(d["w"] * layer.w, d["b"])
    s.w = np.sin(s.w)
    return s.w * s.k + layer.b  # 0.5 sin(18 x^2) + 2


def unknown_field(x):
    layer = Layer(x, 1.0)
    return dataclasses.replace(layer, c=2.0).w


def test_dataclass_replace_asdict_initvar_and_slots():
    x = np.array([0.3, -0.2, 0.1])
    value, pull = adjoint.vjp(records, x)
    np.testing.assert_allclose(value, 0.5 * np.sin(18 * x ** 2) + 2.0, rtol=1e-12)
    jacobian = np.diag(18.0 * x * np.cos(18 * x ** 2))  # analytic
    np.testing.assert_allclose(adjoint.jacrev(records)(x), jacobian, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(records)(x), jacobian, rtol=1e-10, atol=1e-12)
    total = lambda y: np.sum(records(y))  # noqa: E731
    np.testing.assert_allclose(adjoint.hessian(total)(x), numerical_jacobian(adjoint.grad(total), (x,), 0),
                               rtol=1e-6, atol=1e-6)
    xs = np.stack([x, 2.0 * x])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # (objects whose attributes are set: once per example)
        batched = adjoint.vmap(adjoint.jacrev(records))(xs)
    np.testing.assert_allclose(batched, np.stack([np.diag(18.0 * e * np.cos(18 * e ** 2)) for e in xs]),
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(adjoint.errors.UnsupportedSyntaxError, match="Layer has no field 'c'") as caught:
        adjoint.grad(lambda y: np.sum(unknown_field(y)))(x)
    assert f"test_funcs3.py:{unknown_field.__code__.co_firstlineno + 2}:" in str(caught.value)
