"""The benchmark workloads: NumPy functions, their derivatives by hand, data.

Each function is written once, against the module-level name ``np``, because
adjoint reads the source and resolves ``np`` as a global. ``with_numpy(f,
xp)`` gives the same code object bound to another NumPy-like module
(``autograd.numpy``, ``jax.numpy``), so the peers run exactly the code that
adjoint transforms.

Each hand-written derivative is the reference of the benchmark (DESIGN.md,
"Performance"): the dense Jacobian or gradient computed the way a careful
person would in NumPy, with the same arguments as the function. This module
imports NumPy and adjoint only, so the correctness test needs neither jax nor
autograd.
"""
import dataclasses
import types
from typing import Callable

import numpy as np

import adjoint


@dataclasses.dataclass(frozen=True)
class Workload:
    """``function(*make_args(rng))`` differentiated with respect to argument
    ``argnum``: a gradient if ``scalar_output``, otherwise a Jacobian of shape
    ``output.shape + input.shape``; ``derivative`` computes it by hand."""

    name: str
    function: Callable
    derivative: Callable
    make_args: Callable
    argnum: int
    scalar_output: bool
    #: "first" (a gradient or Jacobian), or a composition of transforms:
    #: "jacrev(jacrev)", "hessian", "vmap(jacrev)" (over the leading axis of
    #: every argument), "jacfwd"
    kind: str = "first"

    def arguments(self, seed=0):
        return self.make_args(np.random.default_rng(seed))

    def adjoint_derivative(self):
        return derivative_of(self, adjoint, self.function)


def derivative_of(workload, library, function):
    """The workload's derivative of ``function`` with ``library``'s
    transforms (adjoint, autograd or jax; autograd has no vmap and no
    forward-mode Jacobian: a Python loop over the examples, and its jacobian)."""
    argnum, kind = workload.argnum, workload.kind
    name = library.__name__
    if kind == "first":
        if name == "autograd":
            return (library.grad if workload.scalar_output else library.jacobian)(function, argnum)
        transform = library.grad if workload.scalar_output else library.jacrev
        return transform(function, argnums=argnum)
    if kind == "jacrev(jacrev)":
        if name == "autograd":
            return library.jacobian(library.jacobian(function, argnum), argnum)
        return library.jacrev(library.jacrev(function, argnums=argnum), argnums=argnum)
    if kind == "hessian":
        if name == "autograd":
            return library.hessian(function, argnum)
        return library.hessian(function, argnums=argnum)
    if kind == "jacfwd":
        if name == "autograd":
            return library.jacobian(function, argnum)
        return library.jacfwd(function, argnums=argnum)
    if kind == "vmap(jacrev)":
        if name == "autograd":
            per_example = library.jacobian(function, argnum)
            return lambda *args: np.stack([per_example(*example) for example in zip(*args)])
        return library.vmap(library.jacrev(function, argnums=argnum))
    raise ValueError(f"unknown workload kind {kind!r}")


def with_numpy(function, numpy_module):
    """``function``'s code with its global ``np`` bound to ``numpy_module``,
    and so are the functions of this module that it calls."""
    namespace = dict(function.__globals__, np=numpy_module)
    for name, value in function.__globals__.items():
        if isinstance(value, types.FunctionType) and value.__module__ == function.__module__:
            namespace[name] = types.FunctionType(value.__code__, namespace, value.__name__,
                                                 value.__defaults__, value.__closure__)
    return types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )


class DerivativeMismatch(AssertionError):
    """A method's derivative differs from the hand-written reference."""


def check_close(method, workload_name, result, reference, rtol=1e-7, atol=1e-10):
    """Raise DerivativeMismatch unless ``result`` has the reference's shape and
    values (``atol`` scaled by the reference's largest entry)."""
    result = np.asarray(result)
    if result.shape != reference.shape:
        raise DerivativeMismatch(
            f"{workload_name}: {method} gave shape {result.shape}, the hand-written "
            f"derivative has shape {reference.shape}."
        )
    scale = max(1.0, float(np.max(np.abs(reference), initial=0.0)))
    if not np.allclose(result, reference, rtol=rtol, atol=atol * scale):
        error = np.abs(result - reference)
        worst = np.unravel_index(np.argmax(error), error.shape)
        raise DerivativeMismatch(
            f"{workload_name}: {method} differs from the hand-written derivative; largest "
            f"difference {error[worst]:.3e} at index {tuple(int(i) for i in worst)} "
            f"({float(result[worst])!r} against {float(reference[worst])!r})."
        )


# ------------------------------------------------------------------ elementwise

def elementwise(x):
    return np.sin(x) * np.exp(-x ** 2) + x ** 3


def elementwise_jacobian(x):
    gaussian = np.exp(-x * x)
    slope = (np.cos(x) - 2.0 * x * np.sin(x)) * gaussian + 3.0 * x * x
    return np.diag(slope)


def elementwise_args(size):
    return lambda rng: (rng.standard_normal(size),)


# ------------------------------------------------------------------ MLP

def mlp(x, W1, b1, W2, b2):
    return W2 @ np.tanh(W1 @ x + b1) + b2


def _mlp_scaled_output_weights(x, W1, b1, W2):
    """``W2 * tanh'(W1 @ x + b1)``: d output / d pre-activation, (16, 128)."""
    hidden = np.tanh(W1 @ x + b1)
    return W2 * (1.0 - hidden * hidden)


def mlp_jacobian_x(x, W1, b1, W2, b2):
    return _mlp_scaled_output_weights(x, W1, b1, W2) @ W1


def mlp_jacobian_W1(x, W1, b1, W2, b2):
    # einsum writes the outer product about twice as fast as a broadcast multiply.
    return np.einsum("ij,k->ijk", _mlp_scaled_output_weights(x, W1, b1, W2), x)


def mlp_args(rng, inputs=64, hidden=128, outputs=16):
    """Weights scaled by 1/sqrt(fan-in), so tanh is not saturated."""
    return (
        rng.standard_normal(inputs),
        rng.standard_normal((hidden, inputs)) / np.sqrt(inputs),
        0.1 * rng.standard_normal(hidden),
        rng.standard_normal((outputs, hidden)) / np.sqrt(hidden),
        0.1 * rng.standard_normal(outputs),
    )


# ------------------------------------------------------------------ Rosenbrock

def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_gradient(x):
    head = x[:-1]
    step = x[1:] - head * head
    gradient = np.empty_like(x)
    gradient[:-1] = -400.0 * head * step - 2.0 * (1.0 - head)
    gradient[-1] = 0.0
    gradient[1:] += 200.0 * step
    return gradient


def rosenbrock_args(rng):
    return (rng.uniform(-2.0, 2.0, 1000),)


# ------------------------------------------------------------------ softmax cross-entropy

def softmax_cross_entropy(W, x, labels):
    logits = x @ W.T
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.sum(labels * logp) / x.shape[0]


def softmax_cross_entropy_gradient(W, x, labels):
    """Each row of ``labels`` sums to 1 (one-hot), so d loss / d logits is
    ``(softmax - labels) / batch``."""
    logits = x @ W.T
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return (probabilities - labels).T @ x / x.shape[0]


def softmax_cross_entropy_args(rng, batch=32, features=20, classes=10):
    labels = np.eye(classes)[rng.integers(0, classes, batch)]
    return rng.standard_normal((classes, features)), rng.standard_normal((batch, features)), labels


# ------------------------------------------------------------------ pairwise energy

def pairwise_energy(X, eye, upper):
    d = X[:, None, :] - X[None, :, :]
    r = np.sqrt(np.sum(d ** 2, -1) + eye)
    return np.sum(upper / r)


def pairwise_energy_gradient(X, eye, upper):
    """``-sum_j w_ij (X_i - X_j)`` with ``w_ij = (upper + upper.T)_ij / r_ij**3``;
    ``eye`` keeps the diagonal distance away from zero, as in the function."""
    squared = np.sum(X * X, axis=1)
    distance2 = squared[:, None] + squared[None, :] - 2.0 * (X @ X.T) + eye
    weights = (upper + upper.T) / (distance2 * np.sqrt(distance2))
    return weights @ X - weights.sum(axis=1)[:, None] * X


def pairwise_energy_args(rng, points=50):
    return rng.standard_normal((points, 3)), np.eye(points), np.triu(np.ones((points, points)), 1)


# ------------------------------------------------------------------ Lorenz system

SIGMA, RHO, BETA = 10.0, 28.0, 8.0 / 3.0


def lorenz_rate(state):
    x, y, z = state[0], state[1], state[2]
    return np.array([SIGMA * (y - x), x * (RHO - z) - y, x * y - BETA * z])


def lorenz(state, steps=200, dt=0.01):
    """200 steps of fourth-order Runge-Kutta, in a Python loop."""
    for _ in range(steps):
        k1 = lorenz_rate(state)
        k2 = lorenz_rate(state + 0.5 * dt * k1)
        k3 = lorenz_rate(state + 0.5 * dt * k2)
        k4 = lorenz_rate(state + dt * k3)
        state = state + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    return state


def _lorenz_rate_jacobian(state):
    x, y, z = state
    return np.array([[-SIGMA, SIGMA, 0.0], [RHO - z, -1.0, -x], [y, x, -BETA]])


def lorenz_jacobian(state, steps=200, dt=0.01):
    """Tangent propagation by hand: the 3x3 Jacobian rides along each stage."""
    tangent = np.eye(3)
    for _ in range(steps):
        k1 = lorenz_rate(state)
        d1 = _lorenz_rate_jacobian(state) @ tangent
        s2 = state + 0.5 * dt * k1
        k2 = lorenz_rate(s2)
        d2 = _lorenz_rate_jacobian(s2) @ (tangent + 0.5 * dt * d1)
        s3 = state + 0.5 * dt * k2
        k3 = lorenz_rate(s3)
        d3 = _lorenz_rate_jacobian(s3) @ (tangent + 0.5 * dt * d2)
        s4 = state + dt * k3
        k4 = lorenz_rate(s4)
        d4 = _lorenz_rate_jacobian(s4) @ (tangent + dt * d3)
        state = state + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        tangent = tangent + dt / 6.0 * (d1 + 2.0 * d2 + 2.0 * d3 + d4)
    return tangent


def lorenz_args(rng):
    return (np.array([1.0, 1.0, 1.0]) + 0.1 * rng.standard_normal(3),)


def rosenbrock_hessian(x):
    """The tridiagonal Hessian of the Rosenbrock sum, dense."""
    n = x.size
    hessian = np.zeros((n, n))
    inner = x[:-1]
    diagonal = np.zeros(n)
    diagonal[:-1] = 1200.0 * inner ** 2 - 400.0 * x[1:] + 2.0
    diagonal[1:] += 200.0
    hessian[np.arange(n), np.arange(n)] = diagonal
    off = -400.0 * inner
    hessian[np.arange(n - 1), np.arange(1, n)] = off
    hessian[np.arange(1, n), np.arange(n - 1)] = off
    return hessian


def rosenbrock_small_args(rng):
    return (rng.uniform(-1.5, 1.5, 100),)


def sin_vector(x):
    return np.sin(x)


def sin_jacobians(X):
    """Per-example Jacobians of sin: diagonal matrices, (B, n, n)."""
    batch, n = X.shape
    jacobians = np.zeros((batch, n, n))
    jacobians[:, np.arange(n), np.arange(n)] = np.cos(X)
    return jacobians


MLP_A = np.random.default_rng(7).normal(size=(8, 5))


def small_mlp(x):
    return np.tanh(MLP_A @ x)


def small_mlp_jacobians(X):
    hidden = np.tanh(X @ MLP_A.T)
    return (1.0 - hidden ** 2)[:, :, None] * MLP_A


def examples_args(rng):
    return (rng.normal(size=(64, 5)),)


WORKLOADS = (
    Workload("elementwise n=10", elementwise, elementwise_jacobian, elementwise_args(10), 0, False),
    Workload("elementwise n=100", elementwise, elementwise_jacobian, elementwise_args(100), 0, False),
    Workload("elementwise n=1000", elementwise, elementwise_jacobian, elementwise_args(1000), 0, False),
    Workload("mlp d/dx", mlp, mlp_jacobian_x, mlp_args, 0, False),
    Workload("mlp d/dW1", mlp, mlp_jacobian_W1, mlp_args, 1, False),
    Workload("rosenbrock n=1000", rosenbrock, rosenbrock_gradient, rosenbrock_args, 0, True),
    Workload("softmax xent d/dW", softmax_cross_entropy, softmax_cross_entropy_gradient,
             softmax_cross_entropy_args, 0, True),
    Workload("pairwise 1/r n=50", pairwise_energy, pairwise_energy_gradient, pairwise_energy_args, 0, True),
    Workload("lorenz rk4 x200", lorenz, lorenz_jacobian, lorenz_args, 0, False),
    Workload("rosenbrock hessian n=100 jacrev(jacrev)", rosenbrock, rosenbrock_hessian, rosenbrock_small_args, 0,
             False, "jacrev(jacrev)"),
    Workload("rosenbrock hessian n=100 hessian", rosenbrock, rosenbrock_hessian, rosenbrock_small_args, 0, False,
             "hessian"),
    Workload("vmap(jacrev(sin)) 64x5", sin_vector, sin_jacobians, examples_args, 0, False, "vmap(jacrev)"),
    Workload("vmap(jacrev(mlp)) 64x5", small_mlp, small_mlp_jacobians, examples_args, 0, False, "vmap(jacrev)"),
    Workload("jacfwd elementwise n=100", elementwise, elementwise_jacobian, elementwise_args(100), 0, False,
             "jacfwd"),
)
