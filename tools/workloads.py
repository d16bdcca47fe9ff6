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
    #: "jacrev(jacrev)", "hessian", "vmap(jacrev)" or "vmap(hessian)" (over the
    #: leading axis of every argument), "jacfwd", or "sparse jacfwd" (adjoint's ``jacfwd(...,
    #: sparse=True)``, a ``scipy.sparse`` matrix of shape ``(output size,
    #: input size)``, against the dense ``jacfwd`` of the peers)
    kind: str = "first"
    #: arguments small enough for a dense Jacobian by every peer (the
    #: correctness test's cross-check with autograd); None: ``make_args``
    small_args: Callable | None = None

    @property
    def sparse(self):
        return self.kind == "sparse jacfwd"

    def arguments(self, seed=0):
        return self.make_args(np.random.default_rng(seed))

    def small_arguments(self, seed=0):
        """Arguments for a cross-check with dense peers (``small_args``, if
        given, else the benchmark's own)."""
        return (self.small_args or self.make_args)(np.random.default_rng(seed))

    def adjoint_derivative(self):
        return derivative_of(self, adjoint, self.function)


def derivative_of(workload, library, function, dense=False):
    """The workload's derivative of ``function`` with ``library``'s
    transforms (adjoint, autograd or jax; autograd has no vmap and no
    forward-mode Jacobian: a Python loop over the examples, and its jacobian).
    For a sparse workload: adjoint's ``jacfwd(sparse=True)``, or with
    ``dense`` (always, for the peers) the dense ``jacfwd`` reshaped to the
    sparse result's ``(output size, input size)``."""
    argnum, kind = workload.argnum, workload.kind
    name = library.__name__
    if kind == "sparse jacfwd" and (dense or name != "adjoint"):
        jacobian = (library.jacobian(function, argnum) if name == "autograd"
                    else library.jacfwd(function, argnums=argnum))

        def flat_jacobian(*args):
            return jacobian(*args).reshape(-1, np.size(args[argnum]))

        return flat_jacobian
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
    if kind == "sparse jacfwd":
        return library.jacfwd(function, argnums=argnum, sparse=True)
    if kind == "jacfwd":
        if name == "autograd":
            return library.jacobian(function, argnum)
        return library.jacfwd(function, argnums=argnum)
    if kind == "vmap(jacrev)":
        if name == "autograd":
            per_example = library.jacobian(function, argnum)
            return lambda *args: np.stack([per_example(*example) for example in zip(*args)])
        return library.vmap(library.jacrev(function, argnums=argnum))
    if kind == "vmap(hessian)":
        if name == "autograd":
            per_example = library.hessian(function, argnum)
            return lambda *args: np.stack([per_example(*example) for example in zip(*args)])
        return library.vmap(library.hessian(function, argnums=argnum))
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


def _is_sparse(value):
    return hasattr(value, "tocoo") and hasattr(value, "nnz")


def check_close(method, workload_name, result, reference, rtol=1e-7, atol=1e-10):
    """Raise DerivativeMismatch unless ``result`` has the reference's shape and
    values (``atol`` scaled by the reference's largest entry). A
    ``scipy.sparse`` reference is compared, without densifying it, with a
    sparse or a dense result (see ``_check_close_sparse``)."""
    if _is_sparse(reference):
        return _check_close_sparse(method, workload_name, result, reference, rtol, atol)
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


def _nonzero_positions(matrix):
    """``(rows, cols)`` of the non-zero entries of a sparse or dense matrix
    (explicitly stored zeros of a sparse one left out)."""
    if _is_sparse(matrix):
        rows, cols = matrix.nonzero()
    else:
        rows, cols = np.nonzero(matrix)
    return rows.astype(np.int64), cols.astype(np.int64)


def _values_at(matrix, rows, cols):
    if _is_sparse(matrix):
        return np.asarray(matrix.tocsr()[rows, cols]).reshape(-1)
    return matrix[rows, cols]


def _check_close_sparse(method, workload_name, result, reference, rtol, atol):
    """``check_close`` against a ``scipy.sparse`` reference: the result (sparse
    or a dense 2-d array) has its shape, and at every position where either
    has a non-zero the two agree; elsewhere both are zero."""
    if not _is_sparse(result):
        result = np.asarray(result)
    if tuple(result.shape) != tuple(reference.shape):
        raise DerivativeMismatch(
            f"{workload_name}: {method} gave shape {tuple(result.shape)}, the hand-written "
            f"(sparse) derivative has shape {tuple(reference.shape)}."
        )
    n_cols = reference.shape[1]
    keys = np.union1d(*[rows * n_cols + cols for rows, cols in
                        (_nonzero_positions(result), _nonzero_positions(reference))])
    rows, cols = keys // n_cols, keys % n_cols
    got, expected = _values_at(result, rows, cols), _values_at(reference, rows, cols)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    if not np.allclose(got, expected, rtol=rtol, atol=atol * scale):
        error = np.abs(got - expected)
        worst = int(np.argmax(error))
        raise DerivativeMismatch(
            f"{workload_name}: {method} differs from the hand-written derivative; largest "
            f"difference {error[worst]:.3e} at index ({int(rows[worst])}, {int(cols[worst])}) "
            f"({float(got[worst])!r} against {float(expected[worst])!r})."
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


def log_determinant(m):
    return np.linalg.slogdet(m)[1]


def log_determinant_hessians(M):
    """Per-example Hessians of log|det m|: ``-inv(m)[j, k] inv(m)[l, i]``
    at ``[i, j, k, l]``, (B, n, n, n, n)."""
    inverse = np.linalg.inv(M)
    return -np.einsum("bjk,bli->bijkl", inverse, inverse)


def matrices_args(rng):
    return (rng.normal(size=(64, 4, 4)) + 4.0 * np.eye(4),)


# ------------------------------------------------------------------ sparse Jacobians
#
# Jacobians of discretised systems, mostly zeros: adjoint's jacfwd(sparse=True)
# against the sparse Jacobian written by hand with scipy.sparse (imported
# when a sparse reference is built, so this module needs SciPy only then).

DIFFUSION, REACTION_ROOT = 50.0, 0.3


def diffusion_reaction(u):
    """A 1-d diffusion-reaction right-hand side (method of lines): second
    differences with zero boundary values, and a cubic (bistable) reaction.
    Padded by concatenation, not assignment, so autograd runs it too."""
    zero = np.zeros(1)
    padded = np.concatenate([zero, u, zero])
    second = padded[2:] - 2.0 * u + padded[:-2]
    return DIFFUSION * second + u * (1.0 - u) * (u - REACTION_ROOT)


def diffusion_reaction_jacobian(u):
    """Tridiagonal: ``DIFFUSION * (1, -2, 1)`` plus the reaction's derivative
    ``-3 u**2 + 2 (1 + a) u - a`` on the diagonal; CSR."""
    import scipy.sparse

    n = u.size
    reaction = -3.0 * u * u + 2.0 * (1.0 + REACTION_ROOT) * u - REACTION_ROOT
    off = np.full(n - 1, DIFFUSION)
    return scipy.sparse.diags([off, reaction - 2.0 * DIFFUSION, off], [-1, 0, 1], format="csr")


def diffusion_reaction_args(size):
    return lambda rng: (rng.uniform(0.0, 1.0, size),)


BRATU = 2.0


def bratu(u):
    """The 5-point Laplacian of a square grid ``u`` (zero outside it) plus
    ``BRATU * exp(u)``: the residual of the Bratu problem (padded by
    concatenation, as ``diffusion_reaction``)."""
    column = np.zeros((u.shape[0], 1))
    row = np.zeros((1, u.shape[1] + 2))
    padded = np.concatenate([row, np.concatenate([column, u, column], axis=1), row], axis=0)
    laplacian = padded[2:, 1:-1] + padded[:-2, 1:-1] + padded[1:-1, 2:] + padded[1:-1, :-2] - 4.0 * u
    return laplacian + BRATU * np.exp(u)


_LAPLACIANS = {}


def _grid_laplacian(m):
    """The 5-point Laplacian of an ``m x m`` grid as CSR, built once per size
    (as a careful person would: it does not depend on ``u``)."""
    if m not in _LAPLACIANS:
        import scipy.sparse

        second = scipy.sparse.diags([np.ones(m - 1), -2.0 * np.ones(m), np.ones(m - 1)], [-1, 0, 1])
        eye = scipy.sparse.identity(m)
        _LAPLACIANS[m] = (scipy.sparse.kron(eye, second) + scipy.sparse.kron(second, eye)).tocsr()
    return _LAPLACIANS[m]


def bratu_jacobian(u):
    """The grid Laplacian (row ``i * m + j`` for ``u[i, j]``) plus
    ``BRATU * exp(u)`` on the diagonal; CSR."""
    import scipy.sparse

    return (_grid_laplacian(u.shape[0]) + scipy.sparse.diags(BRATU * np.exp(u).reshape(-1))).tocsr()


def bratu_args(side):
    return lambda rng: (rng.uniform(0.0, 1.0, (side, side)),)


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
    Workload("vmap(hessian(logdet)) 64x4x4", log_determinant, log_determinant_hessians, matrices_args, 0, False,
             "vmap(hessian)"),
    Workload("jacfwd elementwise n=100", elementwise, elementwise_jacobian, elementwise_args(100), 0, False,
             "jacfwd"),
    Workload("sparse diffusion-reaction 1-d n=10000", diffusion_reaction, diffusion_reaction_jacobian,
             diffusion_reaction_args(10_000), 0, False, "sparse jacfwd", diffusion_reaction_args(40)),
    Workload("sparse bratu 5-point 2-d 100x100", bratu, bratu_jacobian, bratu_args(100), 0, False,
             "sparse jacfwd", bratu_args(6)),
)
