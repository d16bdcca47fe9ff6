"""Real programs with objects and module state (issue 9): attribute chains
on objects of the module (MODEL.block.layer.W = v), differentiated values
stored in the module's lists and objects under second-order transforms,
state given back between passes (also when a callee changes it), operators
of the user's classes (v + w, 2.0 * v, -v, t[i]) and frozen scipy.stats
distributions. Checked against central differences and autograd; the
final state is that of one plain call."""
import inspect

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
import scipy.stats as stats

import adjoint

X = np.array([0.3, -0.2, 0.7])


def central(fn, x, before, eps=1e-6):
    cols = []
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = eps
        before()
        up = np.asarray(fn(x + e))
        before()
        cols.append((up - np.asarray(fn(x - e))) / (2 * eps))
    before()
    return np.stack(cols, -1)


def central2(fn, x, before, h=1e-4):
    """Second central differences of a scalar ``fn``."""
    n = x.size
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            total = 0.0
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(n)
                e[i] += si * h
                e[j] += sj * h
                before()
                total += si * sj * fn(x + e)
            out[i, j] = total / (4 * h * h)
    before()
    return out


def line_of(fn, text):
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


# ------------------------------------------------------------ state of the module


class Layer:
    scale = 1.0

    def __init__(self, W):
        self.W = W

    def step(self, x):
        self.W = self.W * x
        return self.W


class Block:
    def __init__(self):
        self.layer = Layer(np.array([0.5, -0.25, 1.0]))
        self.n = 0


class Model:
    def __init__(self):
        self.block = Block()
        self.encoder = Layer([Layer(np.eye(3) * 0.3)])


class Cell:
    def __init__(self):
        self.h = np.array([0.1, 0.2, -0.3])


MODEL, CELL, LAYERS = Model(), Cell(), [np.ones(3)]


def reset():
    Layer.scale = 1.0
    MODEL.__init__()
    CELL.__init__()
    LAYERS[:] = [np.ones(3)]


def state():
    return [MODEL.block.layer.W.copy(), MODEL.block.n, CELL.h.copy(), LAYERS[0].copy(), Layer.scale]


def stores_everywhere(x):
    MODEL.block.layer.W = MODEL.block.layer.W * x + x[0]
    MODEL.block.n += 1
    CELL.h = CELL.h * x + x
    LAYERS[0] = LAYERS[0] * x[1] + np.outer(x, x)[0]
    y = MODEL.block.layer.step(x)
    return (np.sum(np.sin(y * CELL.h) * LAYERS[0]) + np.sum(MODEL.encoder.W[0].W @ x)
            + 0.1 * np.sum(MODEL.block.layer.W))


def counts(x):
    MODEL.block.n += 1
    MODEL.block.layer.W *= 2.0
    return MODEL.block.layer.W * x


def calls_a_state_changer(x):
    Layer.scale = Layer.scale * 2.0  # (a class attribute of the user's: state too)
    return np.tanh(counts(x)) * x * Layer.scale


def test_second_order_of_stores_into_module_objects_and_lists():
    reset()
    stores_everywhere(X)
    plain = state()
    expected = central2(stores_everywhere, X, reset)
    # (hessian's passes in chunks, and reverse over reverse in chunks: JacobianVJP)
    transforms = [adjoint.jacfwd(adjoint.jacrev(stores_everywhere), chunk_size=2),
                  adjoint.jacrev(adjoint.jacrev(stores_everywhere), chunk_size=2)]
    for transform in transforms:
        reset()
        np.testing.assert_allclose(transform(X), expected, rtol=1e-5, atol=1e-5)
        for got, want in zip(state(), plain):  # (as one plain call left it)
            np.testing.assert_allclose(got, want, rtol=1e-12)
    reset()
    calls_a_state_changer(X)
    plain = state()
    expected = central(calls_a_state_changer, X, reset)
    np.testing.assert_allclose(adjoint.jacfwd(calls_a_state_changer, chunk_size=1)(X), expected, rtol=1e-6,
                               atol=1e-8)
    for got, want in zip(state(), plain):  # (each pass but the last got the state back)
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_held_objects_of_the_module_checked_when_the_code_runs():
    reset()
    grad = adjoint.grad(stores_everywhere)
    grad(X)
    line = line_of(stores_everywhere, "MODEL.block.layer.W = ")
    try:
        MODEL.alias = MODEL.block.layer
        with pytest.raises(adjoint.UnsupportedSyntaxError, match=rf"py:{line}: .*MODEL.block.layer is now held"):
            grad(X)
        del MODEL.alias
        MODEL.block.layer = Cell()
        with pytest.raises(adjoint.UnsupportedSyntaxError, match="now holds an object of class Cell"):
            grad(X)
    finally:
        reset()
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=rf"py:{line}: .*under vmap"):
        adjoint.vmap(adjoint.jacrev(stores_everywhere))(np.stack([X, X]))


# ------------------------------------------------------------ operators of the user's classes


class Vec:
    def __init__(self, a):
        self.a = a

    def __add__(self, other):
        return Vec(self.a + other.a)

    def __mul__(self, k):
        return Vec(self.a * k)

    def __rmul__(self, k):
        return Vec(k * self.a)

    def __neg__(self):
        return Vec(-self.a)

    def __getitem__(self, i):
        return self.a[i]

    def norm2(self):
        return (self.a * self.a).sum()


def vector_program(x):
    v, w = Vec(x), Vec(np.sin(x))
    u = v + w * 2.0
    u += 0.5 * (-w)  # (Vec has no __iadd__: u = u + ...)
    return (-(u + v)).norm2() * u[0] + u[2]


class Gauss:
    def __init__(self, mu, s):
        self.mu, self.s = mu, s

    @classmethod
    def standard(cls, mu):
        return cls(mu, 1.0)

    @staticmethod
    def kernel(z):
        return np.exp(-0.5 * z ** 2)

    def pdf(self, x):
        return self.kernel((x - self.mu) / self.s) / self.s


def class_and_static_methods(x):
    return np.sum(Gauss.standard(x[0]).pdf(x) * x)


def test_operators_of_a_users_class_against_autograd():
    expected = autograd.grad(lambda z: vector_program(anp.array(z)))(X)
    np.testing.assert_allclose(adjoint.grad(vector_program)(X), expected, rtol=1e-12)
    np.testing.assert_allclose(adjoint.jacfwd(vector_program)(X), expected, rtol=1e-12)
    np.testing.assert_allclose(adjoint.grad(class_and_static_methods)(X),
                               central(class_and_static_methods, X, lambda: None), rtol=1e-7, atol=1e-9)


def scaled_by_a_name(x):
    k = 2.0
    return (k * Vec(x)).norm2()


def subtracted(x):
    return (Vec(x) - Vec(x)).norm2()


def test_operators_refused_at_the_users_line():
    with pytest.raises(adjoint.UnsupportedSyntaxError,
                       match=rf"py:{line_of(scaled_by_a_name, 'k * Vec')}: operator \* with an object"):
        adjoint.grad(scaled_by_a_name)(X)
    with pytest.raises(adjoint.UnsupportedSyntaxError, match=r"defines no __sub__"):
        adjoint.grad(subtracted)(X)


# ------------------------------------------------------------ frozen distributions


def log_density(x, dist):
    return np.sum(dist.logpdf(x) * x)


def frozen_in_a_branch(x):
    if x[0] > 0:
        d = stats.norm(0.5, 1.5)
    else:
        d = stats.norm(0.0, 2.0)
    return np.sum(d.logpdf(x) * x)


def frozen_from_x_in_a_branch(x):
    if x[0] > 0:
        d = stats.norm(x[1], 1.5 + x[2] ** 2)
    else:
        d = stats.norm(0.0, 2.0)
    return np.sum(d.logpdf(x) * x)


def test_hessians_through_frozen_distributions():
    dist = stats.norm(0.1, 1.3)
    np.testing.assert_allclose(adjoint.hessian(log_density)(X, dist),
                               central2(lambda z: log_density(z, dist), X, lambda: None), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(adjoint.hessian(frozen_in_a_branch)(X),
                               central2(frozen_in_a_branch, X, lambda: None), rtol=1e-5, atol=1e-6)
    with pytest.raises(adjoint.UnsupportedSyntaxError,
                       match=rf"py:{line_of(frozen_from_x_in_a_branch, 'd.logpdf')}: method .logpdf\(\) of a "
                             "frozen distribution made in a branch"):
        adjoint.hessian(frozen_from_x_in_a_branch)(X)
