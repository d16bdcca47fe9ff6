"""Derivative code reads the values the forward pass computed instead of
computing them again (backend/reuse_forward.py), and writes a sum with a
negated term as a difference: the text shows it, the values stay those of
autograd (or of central differences, for an update in place), and a value
the caller may change, or that the function changes in place, is never
read from the forward pass. A generated pass that cannot guard a zero runs
bare (api/plain_passes.py); one that can is still pulled back again.
"""
import autograd
import autograd.numpy as anp
import numpy as np

import adjoint

X = np.array([0.3, -1.2, 2.0, 0.7])


def wave(x):
    return np.sin(x) * np.exp(-x ** 2) + x ** 3


def wave_twin(x):
    return anp.sin(x) * anp.exp(-x ** 2) + x ** 3


def squares(x):
    s = x ** 2  # returned: the caller may change it before the backward pass
    return s, x ** 3


def updated(x):
    a = x ** 2
    a[0] = 5.0  # changed in place: the backward pass must not read it for x ** 2
    return np.sum(a * x ** 3)


def looped(x):
    y = x ** 2
    for _ in range(2):
        y = y * x ** 2 + np.sin(y)
    return np.sum(y * x ** 2)


def looped_twin(x):
    y = x ** 2
    for _ in range(2):
        y = y * x ** 2 + anp.sin(y)
    return anp.sum(y * x ** 2)


def central_gradient(f, x, h=1e-6):
    gradient = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros_like(x)
        step[i] = h
        gradient[i] = (f(x + step) - f(x - step)) / (2 * h)
    return gradient


def code(text):
    """The generated text without its comments (they quote the user's lines)."""
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))


def test_forward_values_are_read_not_recomputed():
    backward = code(adjoint.source(wave).split("_backward")[1])
    tangent = code(adjoint.source(wave, mode="jvp"))
    assert "x ** 2" not in backward and "3 * t2" in backward  # (t2 = x ** 2 in the forward pass)
    assert "t1 * t4" not in backward
    assert "3 * x ** 2" not in tangent and "3 * t2" in tangent
    # a negated term of a sum is a difference (backend/optimize.py): one negation less
    assert "3 * t2 - t5 * (2 * x)" in backward and "- 2 * x * t4 * t1" in tangent
    expected = autograd.jacobian(wave_twin)(X)
    np.testing.assert_allclose(adjoint.jacrev(wave)(X), expected, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(wave)(X), expected, rtol=1e-12)
    # the backward code, differentiated again, follows the saved value
    np.testing.assert_allclose(adjoint.jacrev(adjoint.jacrev(wave))(X), autograd.hessian(wave_twin)(X),
                               rtol=1e-10)
    np.testing.assert_allclose(adjoint.jacfwd(adjoint.jacrev(wave))(X[:2]),
                               autograd.hessian(wave_twin)(X[:2]), rtol=1e-10)


def test_values_the_caller_or_the_function_may_change_are_computed_again():
    (s, cube), pull = adjoint.vjp(squares, X)
    assert "x ** 2" in code(adjoint.source(squares).split("_backward")[1])
    s[...] = 100.0  # the caller's to change
    gradient, = pull((np.ones(4), np.ones(4)))
    np.testing.assert_allclose(gradient, 2 * X + 3 * X ** 2, rtol=1e-12)
    np.testing.assert_allclose(adjoint.grad(updated)(X), central_gradient(updated, X), rtol=1e-7)
    np.testing.assert_allclose(adjoint.grad(looped)(X), autograd.grad(looped_twin)(X), rtol=1e-12)


def root_squared(x):
    return np.sqrt(x) ** 2 + x


def test_passes_that_cannot_guard_a_zero_run_bare_and_the_others_are_still_watched():
    from adjoint.api import plain_passes
    from adjoint.backend import cache

    plain = cache.get_vjp(wave, (0,), False)
    guarded = cache.get_vjp(root_squared, (0,), False)
    assert plain_passes.plain(plain.backward) and not plain_passes.plain(guarded.backward)
    assert plain_passes.plain(cache.get_jvp(wave, (0,), False).jvp)
    assert not plain_passes.plain(lambda residuals, g: g)  # (not generated code)
    # the zero cotangent of sqrt's infinite slope at 0 is still pulled back again, marked: the
    # slope computed at 0 meets inf (0 * inf = NaN, as autograd has it on the diagonal) and the
    # seed's own zeros stay 0 (autograd: NaN there too; SPEC's convention is 0)
    x = np.array([0.0, 4.0])
    diagonal = np.diag(autograd.jacobian(lambda v: anp.sqrt(v) ** 2 + v)(x))
    assert np.isnan(diagonal[0]) and diagonal[1] == 2.0
    expected = np.array([[np.nan, 0.0], [0.0, 2.0]])
    with np.errstate(divide="ignore", invalid="ignore"):
        np.testing.assert_array_equal(adjoint.jacrev(root_squared)(x), expected)
        np.testing.assert_array_equal(adjoint.jacfwd(root_squared)(x), expected)
