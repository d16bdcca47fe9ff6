"""np.fft and complex values inside a real function (docs/complex.md).

Each transform's rules are checked row by row in tests/test_rules.py (finite
differences, autograd, forward against reverse, second derivatives); here,
what the rows do not reach: vmap of the Jacobians, complex arithmetic
between the transforms, autograd's Hessian of a spectral program, and the
refusals. References are independent of adjoint: a linear function's
Jacobian is the function applied to the basis vectors (NumPy alone),
central differences, and autograd."""
import autograd
import autograd.numpy as anp
import numpy as np
import pytest

import adjoint

F = np.fft
RNG = np.random.default_rng(7)
H = RNG.normal(size=5) + 1j * RNG.normal(size=5)


def linear_jacobian(f, x):
    """The Jacobian of a linear ``f`` (at any point): ``f`` of each basis vector."""
    return np.stack([np.asarray(f(e)) for e in np.eye(x.size)], axis=-1)


def central(f, x, h=1e-6):
    return np.stack([(np.asarray(f(x + h * e)) - np.asarray(f(x - h * e))) / (2 * h) for e in np.eye(x.size)], -1)


def filtered(x):
    # convolution by FFT; the spectrum padded (n=12 > 2 * (m - 1)) and cut (n=4); rfft of an odd n
    y = F.rfft(x) * H
    return np.concatenate([F.irfft(y, n=x.size), F.irfft(y, n=12, norm="ortho"), F.irfft(y, 4),
                           np.imag(F.rfft(x, n=7)), np.real(F.ifft(2j * F.fft(x, n=5), 3))])


def test_vmap_of_the_jacobians_of_a_filter():
    xs = RNG.normal(size=(2, 8))
    expected = linear_jacobian(filtered, xs[0])  # linear: the same matrix at every point
    for jacobian in adjoint.vmap(adjoint.jacrev(filtered))(xs):
        np.testing.assert_allclose(jacobian, expected, atol=1e-12)


def weighted_magnitude(z):
    # a function of the user's given complex values (its own derivative code is complex-aware)
    a = np.abs(z)
    return np.sum(a * z)


def complex_arithmetic(x):
    z = F.fft(x) + 0.5j
    a = np.abs(z)                     # a real value with z's shape ...
    s = np.sum(z * H[0])
    t = np.sum(a)                     # ... and a real scalar next to a complex one
    return np.concatenate([np.real(a * z), np.imag(z.conj() * z.imag + z.real), np.real(s * t) * x,
                           np.angle(z * (1 + 2j)), np.imag(np.sqrt(z) / (2.0 + x)), np.real(z ** 3),
                           [np.real(weighted_magnitude(z))]])


def test_complex_arithmetic_against_central_differences():
    x = RNG.normal(size=4)
    expected = central(complex_arithmetic, x)
    np.testing.assert_allclose(adjoint.jacrev(complex_arithmetic)(x), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(adjoint.jacfwd(complex_arithmetic)(x), expected, rtol=1e-6, atol=1e-6)


def spectral(x):
    z = F.fft(x)
    w = F.rfft(x * x)
    return (np.sum(np.abs(w) ** 2) + np.sum(np.angle(z[1:3]) * x[:2])
            + np.sum(np.imag(F.ifft(1j * x * z))) + np.sum(F.irfft(w ** 2, n=6) * x))


def spectral_autograd(x):
    z = anp.fft.fft(x)
    w = anp.fft.rfft(x * x)
    return (anp.sum(anp.abs(w) ** 2) + anp.sum(anp.angle(z[1:3]) * x[:2])
            + anp.sum(anp.imag(anp.fft.ifft(1j * x * z))) + anp.sum(anp.fft.irfft(w ** 2, n=6) * x))


def test_hessian_of_a_spectral_program_agrees_with_autograd():
    x = RNG.normal(size=6)
    np.testing.assert_allclose(adjoint.hessian(spectral)(x), autograd.hessian(spectral_autograd)(x),
                               rtol=1e-9, atol=1e-9)


def variance_of_spectrum(x):
    return np.var(F.fft(x))


def sign_of_spectrum(x):
    return np.real(np.sign(F.fft(x)))


def spectrum(x):
    return F.fft(x)


def scaled_magnitude(x, h):
    # makes no complex value itself: derivative code for real values, which checks its arguments
    return np.sum(np.abs(x * h))


def test_rules_for_real_values_refuse_complex_ones_at_the_users_line():
    x = RNG.normal(size=4)
    for f, name, transform in ((variance_of_spectrum, "np.var", adjoint.jacrev),
                               (sign_of_spectrum, "np.sign", adjoint.jacfwd)):
        # (NumPy 1 names np.sign's ufunc without its module: "sign of a complex value")
        pattern = name.replace("np.", r"(np\.)?") + " of a complex value"
        with pytest.raises(TypeError, match=pattern) as info:
            transform(f)(x)
        assert "test_fft.py" in str(info.value) + "".join(getattr(info.value, "__notes__", []))
    with pytest.raises(TypeError, match="complex values are not supported yet: output is complex"):
        adjoint.jacrev(spectrum)(x)
    with pytest.raises(TypeError, match="argument 0 is complex"):
        adjoint.jacrev(variance_of_spectrum)(x + 0j)
    with pytest.raises(TypeError, match="scaled_magnitude was called with a complex argument"):
        adjoint.jacrev(scaled_magnitude)(x, x + 1j)


def real_and_complex_joined(x):
    w = np.concatenate([x, np.exp(1j * x)]) * (1 + 2j)
    return np.real(w) + np.imag(w)


def test_real_and_complex_arrays_joined_in_every_mode():
    # reverse mode sends a complex cotangent back through np.concatenate: the
    # real x takes its real part (it was refused before), forward mode keeps
    # the tangents complex until np.real / np.imag; both against central differences
    X = RNG.normal(size=(3, 2))
    eps = 1e-6
    fd = np.stack([np.stack([(real_and_complex_joined(x + eps * e) - real_and_complex_joined(x - eps * e)) / (2 * eps)
                             for e in np.eye(2)], axis=-1) for x in X])
    for transform in (adjoint.jacrev, adjoint.jacfwd):
        np.testing.assert_allclose(adjoint.vmap(transform(real_and_complex_joined))(X), fd, atol=1e-8)
    np.testing.assert_allclose(adjoint.jacrev(real_and_complex_joined)(X[0]), fd[0], atol=1e-8)
