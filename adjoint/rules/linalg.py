"""Rules of the products: dot, matmul (``@``), outer, for every combination
of ranks NumPy accepts."""
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
