"""Found by a hunt for wrong numbers in the FFT and complex-value support
(docs/complex.md): real and complex values joined, products of a real and a
complex operand, casts to complex, in-place updates of complex arrays, np.vdot,
np.imag in a loop under vmap, hfft and ihfft. Every reference is central
differences in float64 (NumPy alone)."""
import numpy as np
import pytest

import adjoint

X = np.array([0.3, -1.2, 0.8, 1.7, -0.4, 0.9])
Z = np.array([[1 + 2j, 0.5 - 1j, 0.3j], [2 - 0.5j, 1j, 1.0], [0.2 + 0.1j, -1 + 1j, 2.0]])


def central(f, x, h=1e-6):
    return np.stack([(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h) for e in np.eye(x.size)], -1)


def joined(x):
    # a real array (or a slice, or a scalar item) joined with complex ones: in
    # reverse mode each real item takes the real part of its cotangent (refused, or
    # a crash "Cannot cast ufunc 'add' output", before)
    z = np.fft.fft(x)
    w = np.concatenate([x[:2], z[2:] * np.exp(1j * x[2:])])
    s = np.stack([x, z])
    a = np.array([x[0], z[1], x[2] * 1j])
    p = np.append(x[3:], np.exp(1j * x[:2]))
    return np.concatenate([np.abs(np.fft.fft(w)), np.real(s * (1 + 2j)).ravel(), np.imag(a * (2 - 1j)),
                           np.abs(p + 0.2j)])


def products(x):
    # a real operand of a product with a complex one (x @ Z, einsum, dot, outer)
    # got a complex cotangent: a crash, or refused; np.vdot conjugates its first
    # argument, which its rules did not (wrong in every mode)
    z = np.exp(1j * x[:3])
    w = x[3:] @ (Z * np.exp(1j * x[0])) + np.einsum("i,ij->j", x[:3], Z) + np.dot(x[3:], z) * z
    v = (np.vdot(z, x[3:] + 1j * x[:3]) + np.vdot(z, x[3:]) * np.vdot(x[:3], z) + np.outer(x[:2], z).sum(axis=0)
         + np.polyval(x[3:], z))
    return np.concatenate([np.real(w) + np.imag(w), np.real(v), np.imag(v)])


def casts(x):
    # casts to complex passed a zero derivative; an in-place update of a complex
    # array made from a real one lost its tangent's imaginary part (jacfwd)
    z = x.astype(complex) * np.exp(1j * x[::-1])
    w = np.array(x, dtype=np.complex128)
    u = x + 0j
    u[1:3] *= 1j * x[:2]
    u[4] = u[4] + 2j * x[5]
    c = np.real_if_close(np.exp(1j * x) * np.exp(-1j * x))
    return np.real(z * z) + np.imag(np.log(w - 0.5)) + np.imag(u) + c * x


def mixed(x):
    return np.concatenate([joined(x), products(x), casts(x)])


def test_joined_products_and_casts_against_central_differences():
    expected = central(mixed, X)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(mixed)(X), expected, atol=1e-7, err_msg=transform.__name__)


def in_a_loop(x):
    # np.imag inside a loop: its residual is a Shape, broadcast to vmap's batch as an
    # object array, which was taken for a real value (vmap(jacrev) gave 0 for it)
    z = x * (1 + 1j)
    acc = x * 0
    for _ in range(2):
        z = np.exp(1j * x) * z
        acc = acc + np.imag(z * 1j)
    return acc


def repeated(x):
    # vmap's code calls np.repeat through a call laid out when it runs, which took
    # a complex value for one that carries no derivative (jacrev(vmap) gave 0)
    return np.real(np.repeat(x * 1j, 2) * (1 + 1j))


def test_vmap_of_complex_values_in_loops_and_calls():
    xs = np.stack([X, 0.7 * X + 0.1])
    expected = np.stack([central(in_a_loop, x) for x in xs])
    np.testing.assert_allclose(adjoint.vmap(adjoint.jacrev(in_a_loop))(xs), expected, atol=1e-7)
    jac = adjoint.jacrev(adjoint.vmap(repeated))(xs)
    for i, x in enumerate(xs):
        np.testing.assert_allclose(jac[i, :, i], central(repeated, x), atol=1e-7)
        np.testing.assert_allclose(jac[i, :, 1 - i], 0.0)


def hermitian(x):
    z = np.fft.ihfft(x, n=8, norm="forward")
    return np.concatenate([np.abs(z) ** 2, np.fft.hfft(z * z, norm="ortho"), np.fft.hfft(x * (1 + 0.5j), n=7)])


def test_hfft_and_ihfft():
    expected = central(hermitian, X)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(transform(hermitian)(X), expected, atol=1e-7)
    total = lambda x: np.sum(hermitian(x) ** 2)  # noqa: E731
    h, basis = 1e-4, np.eye(X.size) * 1e-4
    second = np.array([[(total(X + a + b) - total(X + a - b) - total(X - a + b) + total(X - a - b)) / (4 * h * h)
                        for b in basis] for a in basis])
    np.testing.assert_allclose(adjoint.hessian(total)(X), second, rtol=1e-5, atol=1e-5)


def correlated(x):
    return np.real(np.correlate(x, np.exp(1j * x[:2])))  # conjugates its second argument


def test_correlate_of_complex_values_is_refused_at_the_users_line():
    # its rules were for real values: jacfwd was wrong (np.correlate conjugates v)
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        with pytest.raises(TypeError, match="np.correlate of a complex value") as info:
            transform(correlated)(X)
        assert "test_hunt10.py" in str(info.value) + "".join(getattr(info.value, "__notes__", []))
