"""Rules of scipy.linalg's solve_triangular, cholesky, cho_factor,
cho_solve, expm and eigh, registered when SciPy is imported
(``adjoint.rules.load_optional_rules``).

solve_triangular is np.linalg.solve with the triangle it reads
(``rt.solved_triangle``), and uses solve's helpers; cholesky is NumPy's
with the other default (``lower=False``: the upper factor). expm's derivative is the
Frechet derivative ``L(A, E)``, the upper right block of
``expm([[A, E], [0, A]])`` (``L(A^T, G)`` for the adjoint), written with
functions that have rules, expm included, so the generated code can be
differentiated again. cho_factor returns the pair ``(c, lower)`` and
cho_solve takes it as its first argument: their helpers
(``adjoint.runtime.cholesky_solve``) give the pair's adjoint and tangent
as pairs with None for ``lower``. eigh has np.linalg.eigh's helpers, for the
triangle SciPy reads (``lower``); its calls with ``eigvals_only=True``, and
solve, inv, det and norm, are written as NumPy's by the normalizer
(frontend/normalize_scipy_calls.py), which refuses the options whose values
differ."""
import numpy as np
from scipy import linalg

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, nondifferentiable, tangent_rule, vec

# unit_diagonal, overwrite_b and check_finite are not accepted.


@adjoint_rule(linalg.solve_triangular)
def solve_triangular_adjoint(z, a, b, trans=0, lower=False):
    matrix = rt.solved_triangle(a, lower=lower, trans=trans)
    b_bar = rt.solve_transposed(matrix, bar[z], b)
    bar[a] = rt.solved_triangle_adjoint(rt.solve_adjoint_matrix(b_bar, z, matrix, b), lower=lower,
                                        trans=trans)
    bar[b] = rt.unbroadcast(b_bar, b)


@tangent_rule(linalg.solve_triangular)
def solve_triangular_tangent(z, a, b, trans=0, lower=False):
    matrix = rt.solved_triangle(a, lower=lower, trans=trans)
    inverse = np.linalg.inv(matrix)
    dot[z] = rt.solve_tangent(rt.solved_triangle(dot[a], lower=lower, trans=trans), inverse, matrix, b, z,
                              wrt_a=True)
    dot[z] = rt.solve_tangent(dot[b], inverse, matrix, b, z)


# SciPy solves one banded system at a time: the batch's dense matrices at once.
@batch_rule(linalg.solve_banded)
def solve_banded_batched(z, l_and_u, ab, b):
    vec[z] = rt.vsolve_banded(l_and_u, vec[ab], vec[b], rt.banded_matrix)


# With SciPy >= 1.15 one call for the whole stack (else once per example,
# inside the helper); a vector right-hand side is made a column.
@batch_rule(linalg.solve_triangular)
def solve_triangular_batched(z, a, b, trans=0, lower=False):
    vec[z] = rt.vsolve_triangular(linalg.solve_triangular, vec[a], vec[b], trans=trans, lower=lower)


# overwrite_a and check_finite are not accepted.
@adjoint_rule(linalg.cholesky)
def cholesky_adjoint(z, a, lower=False):
    bar[a] = rt.cholesky_adjoint(bar[z], z, upper=not lower)


@tangent_rule(linalg.cholesky)
def cholesky_tangent(z, a, lower=False):
    dot[z] = rt.cholesky_tangent(dot[a], z, upper=not lower)


@batch_rule(linalg.cholesky)
def cholesky_batched(z, a, lower=False):
    vec[z] = rt.vmatrix_function(linalg.cholesky, vec[a], lower=lower)


@adjoint_rule(linalg.expm)
def expm_adjoint(z, A):  # noqa: N803 (SciPy's name)
    a_t = np.broadcast_to(np.swapaxes(A, -1, -2), np.shape(bar[z]))
    n = np.shape(A)[-1]
    block = np.concatenate([np.concatenate([a_t, bar[z]], axis=-1),
                            np.concatenate([np.zeros_like(a_t), a_t], axis=-1)], axis=-2)
    bar[A] = linalg.expm(block)[..., :n, n:]


@tangent_rule(linalg.expm)
def expm_tangent(z, A):  # noqa: N803 (SciPy's name)
    dot[z] = rt.frechet_corner(linalg.expm(rt.frechet_block(A, dot[A])))


@batch_rule(linalg.expm)
def expm_batched(z, A):  # noqa: N803 (SciPy's name)
    vec[z] = rt.vmatrix_function(linalg.expm, vec[A])


# The Frechet block of expm's tangent: the matrix broadcast over the tangents.
@batch_rule(rt.frechet_block)
def frechet_block_batched(r, a, e):
    vec[r] = rt.frechet_block(rt.vprimal_matrices(vec[a]), vec[e])


@batch_rule(rt.frechet_corner)
def frechet_corner_batched(r, block):
    vec[r] = rt.frechet_corner(vec[block])


# overwrite_a is not accepted; check_finite changes no value.
@adjoint_rule(linalg.cho_factor, tuple_result=True)
def cho_factor_adjoint(z, a, lower=False, check_finite=True):
    bar[a] = rt.cho_factor_adjoint(bar[z], z, lower=lower)


@tangent_rule(linalg.cho_factor)
def cho_factor_tangent(z, a, lower=False, check_finite=True):
    dot[z] = rt.cho_factor_tangent(dot[a], a, z, lower=lower)


# The pair (c, lower): lower broadcast to the batch, like every item of a
# batched tuple.
@batch_rule(linalg.cho_factor)
def cho_factor_batched(z, a, lower=False, check_finite=True):
    vec[z] = rt.vcho_factor(linalg.cho_factor, vec[a], lower=lower, check_finite=check_finite)


# overwrite_b is not accepted; check_finite changes no value.
@adjoint_rule(linalg.cho_solve, sequences=True)
def cho_solve_adjoint(z, c_and_lower, b, check_finite=True):
    b_bar = rt.cho_solve_adjoint(bar[z], c_and_lower, b)
    bar[c_and_lower] = rt.cho_solve_factor_adjoint(b_bar, z, c_and_lower)
    bar[b] = b_bar


@tangent_rule(linalg.cho_solve, constant=("check_finite",))
def cho_solve_tangent(z, c_and_lower, b, check_finite=True):
    dot[z] = rt.cho_solve_factor_tangent(dot[c_and_lower], c_and_lower, z)
    dot[z] = rt.cho_solve_tangent(dot[b], c_and_lower, b)


@batch_rule(linalg.cho_solve)
def cho_solve_batched(z, c_and_lower, b, check_finite=True):
    vec[z] = rt.vcho_solve(linalg.cho_solve, vec[c_and_lower], vec[b], check_finite=check_finite)


# vmap of their derivative code (vmap(jacrev(f)), vmap(jacfwd(f))): the
# helpers above on every example at once (lower the same for every example).
@batch_rule(rt.cho_factor_adjoint)
def cho_factor_adjoint_batched(r, g, z, lower=False):
    vec[r] = rt.vcho_factor_adjoint(vec[g], vec[z], lower=lower)


@batch_rule(rt.cho_factor_tangent)
def cho_factor_tangent_batched(r, t, a, z, lower=False):
    vec[r] = rt.vcho_factor_tangent(vec[t], vec[a], vec[z], lower=lower)


@batch_rule(rt.cho_solve_adjoint)
def cho_solve_adjoint_batched(r, g, c_and_lower, b):
    vec[r] = rt.vcho_solve_adjoint(vec[g], vec[c_and_lower], vec[b])


@batch_rule(rt.cho_solve_factor_adjoint)
def cho_solve_factor_adjoint_batched(r, b_bar, z, c_and_lower):
    vec[r] = rt.vcho_solve_factor_adjoint(vec[b_bar], vec[z], vec[c_and_lower])


@batch_rule(rt.cho_solve_tangent)
def cho_solve_tangent_batched(r, t, c_and_lower, b):
    vec[r] = rt.vcho_solve_tangent(vec[t], vec[c_and_lower], vec[b])


@batch_rule(rt.cho_solve_factor_tangent)
def cho_solve_factor_tangent_batched(r, t, c_and_lower, z):
    vec[r] = rt.vcho_solve_factor_tangent(vec[t], vec[c_and_lower], vec[z])


# ----------------------------------------------------------------- solve_banded, solve_sylvester
#
# solve_banded((l, u), ab, b) is np.linalg.solve of the dense matrix of the
# band storage ab (rt.banded_matrix), and uses solve's helpers; the adjoint
# of ab is the band of the dense adjoint (rt.band_of, its transpose). The
# storage's entries outside the matrix have no derivative. overwrite_ab,
# overwrite_b and check_finite are not accepted.

@adjoint_rule(linalg.solve_banded, constant=("l_and_u",))
def solve_banded_adjoint(z, l_and_u, ab, b):
    matrix = rt.banded_matrix(l_and_u, ab)
    b_bar = rt.solve_transposed(matrix, bar[z], b)
    bar[ab] = rt.band_of(rt.solve_adjoint_matrix(b_bar, z, matrix, b), l_and_u, ab)
    bar[b] = rt.unbroadcast(b_bar, b)


@tangent_rule(linalg.solve_banded, constant=("l_and_u",))
def solve_banded_tangent(z, l_and_u, ab, b):
    matrix = rt.banded_matrix(l_and_u, ab)
    inverse = np.linalg.inv(matrix)
    dot[z] = rt.solve_tangent(rt.banded_matrix(l_and_u, dot[ab]), inverse, matrix, b, z, wrt_a=True)
    dot[z] = rt.solve_tangent(dot[b], inverse, matrix, b, z)


@adjoint_rule(rt.banded_matrix, constant=("l_and_u",))
def banded_matrix_adjoint(z, l_and_u, ab):
    bar[ab] = rt.band_of(bar[z], l_and_u, ab)


@tangent_rule(rt.banded_matrix, constant=("l_and_u",))
def banded_matrix_tangent(z, l_and_u, ab):
    dot[z] = rt.banded_matrix(l_and_u, dot[ab])


@batch_rule(rt.banded_matrix)
def banded_matrix_batched(z, l_and_u, ab):
    vec[z] = rt.banded_matrix(l_and_u, vec[ab])


@adjoint_rule(rt.band_of, constant=("l_and_u", "ab"))
def band_of_adjoint(z, m, l_and_u, ab):
    bar[m] = rt.banded_matrix(l_and_u, bar[z])


@tangent_rule(rt.band_of, constant=("l_and_u", "ab"))
def band_of_tangent(z, m, l_and_u, ab):
    dot[z] = rt.band_of(dot[m], l_and_u, ab)


@batch_rule(rt.band_of)  # (ab read for the storage's shape, its trailing two axes)
def band_of_batched(z, m, l_and_u, ab):
    vec[z] = rt.band_of(vec[m], l_and_u, vec[ab])


# solve_sylvester(a, b, q): x with a x + x b = q. dx solves the same
# equation with right-hand side dq - da x - x db; the adjoint y of q solves
# a^T y + y b^T = xbar, and a's and b's are -y x^T and -x^T y. The solves run
# SciPy's solver on each matrix of a stack (rt.sylvester_each), whose own rules
# follow the same formulas, so the generated code can be differentiated again.

@adjoint_rule(linalg.solve_sylvester)
def solve_sylvester_adjoint(z, a, b, q):
    y = rt.sylvester_each(linalg.solve_sylvester, np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), bar[z])
    bar[q] = y
    bar[a] = rt.sylvester_factor_bar(y, z, wrt="a")
    bar[b] = rt.sylvester_factor_bar(y, z, wrt="b")


@tangent_rule(linalg.solve_sylvester)
def solve_sylvester_tangent(z, a, b, q):
    dot[z] = rt.sylvester_each(linalg.solve_sylvester, a, b, dot[q])
    dot[z] = rt.sylvester_each(linalg.solve_sylvester, a, b, rt.sylvester_factor_dot(dot[a], z, wrt="a"))
    dot[z] = rt.sylvester_each(linalg.solve_sylvester, a, b, rt.sylvester_factor_dot(dot[b], z, wrt="b"))


@batch_rule(linalg.solve_sylvester)
def solve_sylvester_batched(z, a, b, q):
    vec[z] = rt.vsolve_sylvester(vec[a], vec[b], vec[q], function=linalg.solve_sylvester)


@adjoint_rule(rt.sylvester_each, constant=("solve",))
def sylvester_each_adjoint(z, solve, a, b, q):
    y = rt.sylvester_each(solve, np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), bar[z])
    bar[q] = y
    bar[a] = rt.sylvester_factor_bar(y, z, wrt="a")
    bar[b] = rt.sylvester_factor_bar(y, z, wrt="b")


@tangent_rule(rt.sylvester_each, constant=("solve",))
def sylvester_each_tangent(z, solve, a, b, q):
    dot[z] = rt.sylvester_each(solve, a, b, dot[q])
    dot[z] = rt.sylvester_each(solve, a, b, rt.sylvester_factor_dot(dot[a], z, wrt="a"))
    dot[z] = rt.sylvester_each(solve, a, b, rt.sylvester_factor_dot(dot[b], z, wrt="b"))


@batch_rule(rt.sylvester_each)
def sylvester_each_batched(z, solve, a, b, q):
    vec[z] = rt.vsylvester_each(solve, vec[a], vec[b], vec[q])  # (runtime/batched_sylvester.py)


@batch_rule(rt.sylvester_factor_bar)
def sylvester_factor_bar_batched(r, y, z, wrt="a"):
    vec[r] = rt.vsylvester_factor_bar(vec[y], vec[z], wrt=wrt)


@batch_rule(rt.sylvester_factor_dot)
def sylvester_factor_dot_batched(r, t, z, wrt="a"):
    vec[r] = rt.vsylvester_factor_dot(vec[t], vec[z], wrt=wrt)


# ----------------------------------------------------------------- eigh
#
# The pair (w, v) SciPy computes (its eigenvectors' signs, not NumPy's), with
# np.linalg.eigh's helpers: their formulas read only w and v. The normalizer
# leaves a, lower and driver (b, the subsets and eigvals_only=True are written
# otherwise or refused: frontend/normalize_scipy_calls.py).
nondifferentiable(rt.scipy_uplo)


@adjoint_rule(linalg.eigh, tuple_result=True, constant=("lower", "driver"))
def eigh_adjoint(z, a, *, lower=True, driver=None):
    bar[a] = rt.eigh_adjoint(bar[z], z, UPLO=rt.scipy_uplo(lower))


@tangent_rule(linalg.eigh, constant=("lower", "driver"))
def eigh_tangent(z, a, *, lower=True, driver=None):
    dot[z] = rt.eigh_tangent(dot[a], z, UPLO=rt.scipy_uplo(lower))


@batch_rule(linalg.eigh)
def eigh_batched(z, a, *, lower=True, driver=None):
    vec[z] = rt.vmatrix_pair(linalg.eigh, vec[a], lower=lower, driver=driver)  # (SciPy < 1.15: once per example)
