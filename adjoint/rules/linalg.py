"""Rules of the products: dot, matmul (``@``), outer, for every combination
of ranks NumPy accepts; einsum, tensordot, kron, diag; and the matrix
functions np.linalg.inv, solve and det (stacks of matrices too)."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar


@adjoint_rule(np.matmul)
def matmul_adjoint(z, x1, x2):
    bar[x1] = rt.matmul_adjoint_left(bar[z], x1, x2)
    bar[x2] = rt.matmul_adjoint_right(bar[z], x1, x2)


@adjoint_rule(np.dot)
def dot_adjoint(z, a, b):
    bar[a] = rt.dot_adjoint_left(bar[z], a, b)
    bar[b] = rt.dot_adjoint_right(bar[z], a, b)


@adjoint_rule(np.outer)
def outer_adjoint(z, a, b):
    bar[a] = rt.outer_adjoint_left(bar[z], a, b)
    bar[b] = rt.outer_adjoint_right(bar[z], a, b)


@adjoint_rule(np.einsum)
def einsum_adjoint(z, subscripts, operand0, operand1=None, operand2=None, operand3=None,
                   operand4=None, operand5=None, *, optimize=False):
    # NumPy's signature is einsum(subscripts, *operands): six operands are named here.
    operands = rt.einsum_operands(operand0, operand1=operand1, operand2=operand2, operand3=operand3,
                                  operand4=operand4, operand5=operand5)
    bar[operand0] = rt.einsum_adjoint(bar[z], subscripts, operands, 0)
    bar[operand1] = rt.einsum_adjoint(bar[z], subscripts, operands, 1)
    bar[operand2] = rt.einsum_adjoint(bar[z], subscripts, operands, 2)
    bar[operand3] = rt.einsum_adjoint(bar[z], subscripts, operands, 3)
    bar[operand4] = rt.einsum_adjoint(bar[z], subscripts, operands, 4)
    bar[operand5] = rt.einsum_adjoint(bar[z], subscripts, operands, 5)


@adjoint_rule(np.tensordot)
def tensordot_adjoint(z, a, b, axes=2):
    bar[a] = rt.tensordot_adjoint_left(bar[z], a, b, axes=axes)
    bar[b] = rt.tensordot_adjoint_right(bar[z], a, b, axes=axes)


@adjoint_rule(np.kron)
def kron_adjoint(z, a, b):
    bar[a] = rt.kron_adjoint_left(bar[z], a, b)
    bar[b] = rt.kron_adjoint_right(bar[z], a, b)


@adjoint_rule(np.diag)
def diag_adjoint(z, v, k=0):
    bar[v] = rt.diag_adjoint(bar[z], v, k=k)


@adjoint_rule(np.linalg.inv)
def inv_adjoint(z, a):
    bar[a] = rt.inv_adjoint(bar[z], z)


@adjoint_rule(np.linalg.solve)
def solve_adjoint(z, a, b):
    b_bar = rt.solve_transposed(a, bar[z], b)
    bar[a] = rt.solve_adjoint_matrix(b_bar, z, a, b)
    bar[b] = rt.unbroadcast(b_bar, b)


@adjoint_rule(np.linalg.det)
def det_adjoint(z, a):
    bar[a] = rt.det_adjoint(bar[z], z, a)
