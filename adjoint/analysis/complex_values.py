"""Where complex intermediates can meet real values of the same shape.

The reverse transform drops ``rt.unbroadcast(g, x)`` when ``x`` has the
result's shape (analysis/shapes.py), but unbroadcast is also where a real
``x`` takes the real part of a complex cotangent (docs/complex.md). Shape
classes join values of one complexness, except through the functions that
take complex values to real ones (``a = np.abs(z)`` has z's shape) and
through the class of all scalars (``np.sum(z) * np.sum(np.abs(z))``). So
the unbroadcast is kept for a contribution to such a value, and for
scalars in a function that makes or reads complex values at all."""
import gast
import numpy as np

from .. import errors
from .. import runtime as rt
from ..frontend.ir import MethodCall, StarredCall, UserCall, walk_ops

#: functions of complex values with real results (same shape, or a reduction of it)
COMPLEX_TO_REAL = frozenset({np.abs, abs, np.real, np.imag, np.angle, np.fft.irfft, np.fft.irfft2, np.fft.irfftn})
#: functions that make complex values from real ones
MAKES_COMPLEX = frozenset({
    np.fft.fft, np.fft.ifft, np.fft.rfft, np.fft.fft2, np.fft.ifft2, np.fft.rfft2, np.fft.fftn, np.fft.ifftn,
    np.fft.rfftn, np.conjugate, complex, rt.real_for})


def _is_complex_constant(atom):
    return isinstance(atom, gast.Constant) and isinstance(atom.value, complex)


def _complex_value(lookup, name):
    try:
        return np.iscomplexobj(lookup(name))
    except Exception:  # (a name the resolver does not know: not a complex value it can see)
        return False


class ComplexMix:
    """Facts about one function's ops: which names are real results of
    complex values, and whether complex values may appear at all (made
    here, read from a complex global, or met in a function it calls).
    ``lookup(name)`` is a free name's value now, ``defined`` the names the
    function binds."""

    def __init__(self, ops, lookup=None, defined=()):
        self.real_of_complex = set()
        self.any_complex = False
        for op in walk_ops(ops):
            if isinstance(op.prim, (UserCall, MethodCall, StarredCall)):
                self.any_complex = True
            try:
                prim = op.prim
                if prim in COMPLEX_TO_REAL:
                    self.real_of_complex.update(t for t in op.targets if isinstance(t, str))
                    self.any_complex = True
                elif prim in MAKES_COMPLEX:
                    self.any_complex = True
            except TypeError:  # an unhashable callable
                pass
            atoms = list(getattr(op, "args", ())) + list(getattr(op, "kwargs", {}).values())
            if any(_is_complex_constant(a) for a in atoms):
                self.any_complex = True
            if lookup is not None and not self.any_complex:
                for atom in atoms:
                    if isinstance(atom, gast.Name) and atom.id not in defined and _complex_value(lookup, atom.id):
                        self.any_complex = True

    def keeps_unbroadcast(self, name, is_scalar):
        """Whether the contribution to ``name`` keeps its unbroadcast (the
        real part) though ``name`` has the result's shape."""
        return name in self.real_of_complex or (self.any_complex and is_scalar)


def _real_only():
    functions = {np.sign, np.var, np.std, np.nanvar, np.nanstd, np.cov, np.corrcoef}
    for name in ("norm", "eigh", "eigvalsh", "svd", "svdvals", "cholesky", "qr", "eig", "eigvals", "lstsq",
                 "pinv", "matrix_norm", "vector_norm"):
        if hasattr(np.linalg, name):
            functions.add(getattr(np.linalg, name))
    return frozenset(functions)


#: functions whose derivative rules (or lack of one: np.sign is piecewise
#: constant on real values only) hold for real values alone: a complex
#: argument that carries a derivative is refused when the derivative runs.
REAL_ONLY = _real_only()


def complex_checks(op, varied, rt_call):
    """``rt.refuse_complex(x, message)`` statements for the differentiated
    arguments of ``op`` when its function's rule is for real values only."""
    try:
        if op.prim not in REAL_ONLY:
            return []
    except TypeError:
        return []
    atoms = [a for a in list(op.args) + list(op.kwargs.values()) if isinstance(a, gast.Name) and a.id in varied]
    message = errors.complex_refused(op.construct or getattr(op.prim, "__name__", "this function"))
    return [gast.Expr(value=rt_call("refuse_complex", gast.Name(id=a.id, ctx=gast.Load(), annotation=None,
                                                                type_comment=None), gast.Constant(value=message, kind=None)))
            for a in atoms]
