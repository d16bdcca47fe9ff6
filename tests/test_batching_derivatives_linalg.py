"""vmap of derivatives whose generated code calls derivative helpers: the
tangent of np.interp's adjoint through a list ``fp`` (vmap(hessian)),
jacrev / jacfwd of vmap(jacrev(f)) (the batched Jacobian assembly is itself
differentiated), and the batching rules of the linalg derivative helpers
(np.linalg.solve's tangent, cho_factor / cho_solve's adjoints, the SVD's
and norm's helpers): each vmap equals a loop over the examples, and the
derivatives are checked against finite differences or autograd.

Functions are lambdas, one per line: adjoint reads their source.
"""
import warnings

import numpy as np
import pytest

import adjoint

B = 4


def _examples(shape, seed):
    return np.random.default_rng(seed).standard_normal((B,) + shape)


def _no_loop(call, *args):
    """``call(*args)`` with warnings as errors: a per-example loop warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return call(*args)


def _central_jacobian(f, x, eps=1e-6):
    """Central differences of ``f`` at ``x``: shape ``f(x).shape + x.shape``."""
    x = np.asarray(x, dtype=float)
    cols = []
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        cols.append((np.asarray(f(x + step)) - np.asarray(f(x - step))) / (2 * eps))
    out = np.stack(cols, axis=-1)
    return out.reshape(np.shape(f(x)) + x.shape)


# ---------------------------------------------------------------- np.interp with a list fp

def test_hessian_of_interp_with_list_fp():
    # The adjoint of x in np.interp is linear in fp; its tangent from fp
    # (zero here, fp is a constant list) must be sized by x, not by fp.
    f = lambda x: np.sum(np.interp(x, [0, 1, 2], [1, 3, 2]) ** 2)  # noqa: E731 (adjoint reads the line)
    X = np.random.default_rng(1).uniform(0.05, 1.95, (B, 6))
    X[:, 0] = 0.5  # away from the knots: the Hessian is diag(2 * slope**2)
    expected = np.stack([adjoint.hessian(f)(x) for x in X])
    got = adjoint.vmap(adjoint.hessian(f))(X)
    np.testing.assert_array_equal(got, expected)
    slope = np.where(X < 1, 2.0, -1.0)
    np.testing.assert_allclose(got, np.stack([np.diag(2 * s ** 2) for s in slope]), rtol=1e-12)
    # finite differences of the gradient
    grad = adjoint.grad(f)
    for x, h in zip(X, got):
        np.testing.assert_allclose(h, _central_jacobian(grad, x), rtol=1e-6, atol=1e-6)


def test_hessian_of_interp_with_active_fp():
    # fp depends on the input: the adjoint of x changes with fp's tangent.
    f = lambda x: np.sum(np.interp(x[:3], [0.0, 1.0, 2.0], x[3:] * x[3:]) ** 2)  # noqa: E731
    X = np.random.default_rng(2).uniform(0.1, 1.9, (B, 6))
    X[:, :3] = [[0.3, 1.4, 0.8]] * B
    expected = np.stack([adjoint.hessian(f)(x) for x in X])
    got = adjoint.vmap(adjoint.hessian(f))(X)
    np.testing.assert_array_equal(got, expected)
    grad = adjoint.grad(f)
    for x, h in zip(X, got):
        np.testing.assert_allclose(h, _central_jacobian(grad, x), rtol=1e-6, atol=1e-6)
