"""Rules of ``np.polyval(p, x)`` (``p`` 1-d, highest power first; not a
``np.poly1d``): the value is linear in the coefficients, whose slopes are
the powers of ``x`` (runtime/polynomials.py), and its slope in ``x`` is the
derivative polynomial's value. The helpers are plain NumPy, differentiated
by their source for a derivative of a derivative; vmap batches np.polyval
itself (each example's coefficients) and runs the helpers once per
example."""
import numpy as np

from .. import runtime as rt
from . import adjoint_rule, bar, batch_rule, dot, tangent_rule, vec


@adjoint_rule(np.polyval)
def polyval_adjoint(z, p, x):
    bar[p] = rt.real_for(rt.polyval_coefficients_bar(bar[z], p, x), p)
    bar[x] = rt.real_for(bar[z] * np.polyval(rt.polyder_coefficients(p), x), x)


@tangent_rule(np.polyval)
def polyval_tangent(z, p, x):
    dot[z] = rt.polyval_coefficients_tangent(dot[p], x)
    dot[z] = dot[x] * np.polyval(rt.polyder_coefficients(p), x)


@batch_rule(np.polyval)
def polyval_batched(z, p, x):
    vec[z] = rt.vpolyval(vec[p], vec[x])
