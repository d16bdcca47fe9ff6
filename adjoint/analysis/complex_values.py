"""Whether a function can hold complex values, and where complex values can
meet real ones of the same shape (docs/complex.md).

A function's values can be complex only if something makes them so: a
complex literal (``1j``), a transform of np.fft, a complex dtype, a free name
bound to a complex value, a function of the user's (its result), an
attribute of an object, or a parameter. A function with none of these but
its parameters (most real programs) gets the derivative code of real values:
the rules' complex handling (``rt.real_for``, ``rt.abs_slope``, the checks of
rules for real values only) is written out of it (``real_only``), and where
that changed the code, its backward pass first checks that no argument is
complex (``rt.refuse_complex_arguments``: a complex argument of a function
of the user's that makes no complex value itself is refused, never a wrong
number).

In a function that can hold complex values, the reverse transform keeps the
``rt.unbroadcast(g, x)`` it drops when ``x`` has the result's shape
(analysis/shapes.py) where ``x`` may be real and the result complex: shape
classes join values of one complexness, except through the functions that
take complex values to real ones (``a = np.abs(z)`` has z's shape) and
through the class of all scalars (``np.sum(z) * np.sum(x)``)."""
import gast
import numpy as np

from .. import errors
from .. import runtime as rt
from ..frontend.gastutil import Transformer, walk as walk_tree
from ..frontend.ir import MethodCall, StarredCall, UserCall, walk_ops

#: functions of complex values with real results (same shape, or a reduction of it)
COMPLEX_TO_REAL = frozenset({np.abs, abs, np.real, np.imag, np.angle, np.fft.irfft, np.fft.irfft2, np.fft.irfftn,
                             np.fft.hfft})
#: functions that make complex values from real ones
MAKES_COMPLEX = frozenset({
    np.fft.fft, np.fft.ifft, np.fft.rfft, np.fft.fft2, np.fft.ifft2, np.fft.rfft2, np.fft.fftn, np.fft.ifftn,
    np.fft.rfftn, np.fft.ihfft, complex,
    # (of a real spectrum too: their adjoints make complex values)
    np.fft.irfft, np.fft.irfft2, np.fft.irfftn, np.fft.hfft} | {
        getattr(np.emath, name) for name in ("sqrt", "log", "log2", "log10", "logn", "power", "arcsin", "arccos",
                                             "arctanh")})
#: names of complex types (a dtype argument, np.complex128(x))
_COMPLEX_NAMES = frozenset({"complex", "complex64", "complex128", "complex256", "cdouble", "csingle", "clongdouble",
                            "complex_", "complexfloating"})


def _is_complex_constant(atom):
    return isinstance(atom, gast.Constant) and (
        isinstance(atom.value, complex) or (isinstance(atom.value, str) and atom.value.startswith(("complex", "c8",
                                                                                                   "c16"))))


def _names_complex_type(node):
    return any((isinstance(n, gast.Attribute) and n.attr in _COMPLEX_NAMES)
               or (isinstance(n, gast.Name) and n.id == "complex") for n in walk_tree(node))


def _complex_value(lookup, name):
    try:
        value = lookup(name)
        return np.iscomplexobj(value) or (isinstance(value, (type, np.dtype)) and np.dtype(value).kind == "c")
    except Exception:  # (a name the resolver does not know, or no dtype: not a complex value it can see)
        return False


class ComplexMix:
    """Facts about one function's ops: whether complex values can appear
    (``possible``), and which names are real results of complex values."""

    def __init__(self, ops, lookup=None, defined=()):
        self.real_of_complex = set()
        self.sources = False  # made here, read from outside, or returned by a call
        for op in walk_ops(ops):
            prim = op.prim
            if isinstance(prim, (UserCall, MethodCall, StarredCall)) or prim is rt.attribute:
                self.sources = True  # (a result or an attribute of an object: it may be complex)
            else:
                try:
                    if prim in COMPLEX_TO_REAL:
                        self.real_of_complex.update(t for t in op.targets if isinstance(t, str))
                    elif prim in MAKES_COMPLEX:
                        self.sources = True
                except TypeError:  # an unhashable callable
                    pass
            if self.sources:
                continue  # (known: only the real results of complex values are still collected)
            atoms = list(getattr(op, "args", ())) + list(getattr(op, "kwargs", {}).values())
            if any(_is_complex_constant(a) for a in atoms):
                self.sources = True
            value = getattr(op, "value", None)
            if value is not None and not self.sources and _names_complex_type(value):
                self.sources = True
            if lookup is not None and not self.sources:
                for atom in atoms:
                    if isinstance(atom, gast.Name) and atom.id not in defined and _complex_value(lookup, atom.id):
                        self.sources = True
        #: complex values may appear (else the parameters are checked to be real)
        self.possible = self.sources

    def keeps_unbroadcast(self, name, is_scalar, builder):
        """Whether the contribution to ``name`` keeps its unbroadcast (the
        real part) though ``name`` has the result's shape (``builder``
        learns that its code depends on complex values being possible)."""
        if name in self.real_of_complex or is_scalar:
            builder.complex_sensitive = True
            return self.possible
        return False


#: runtime helpers of the products' adjoints (x @ z, np.dot, einsum, ...): real
#: for real operands and a real cotangent, so ``rt.real_for`` of one of them
#: is the helper itself in derivative code for real values (an FFT's adjoint
#: is complex for a real spectrum: its real part is taken)
REAL_PRODUCT_HELPERS = frozenset({
    "matmul_adjoint_left", "matmul_adjoint_right", "dot_adjoint_left", "dot_adjoint_right", "outer_adjoint_left",
    "outer_adjoint_right", "einsum_adjoint", "tensordot_adjoint_left", "tensordot_adjoint_right", "kron_adjoint_left",
    "kron_adjoint_right", "solve_adjoint_matrix", "convolve_adjoint", "inner_adjoint", "vdot_adjoint",
    "polyval_coefficients_bar", "cast_adjoint"})


class _RealOnly(Transformer):
    """Derivative code for real values: ``rt.real_for(g, x)`` is ``g`` (the
    real part of a rule's complex expression, ``-1j * g``) and
    ``rt.abs_slope(x)`` is ``np.sign(x)`` (piecewise constant: no derivative
    code for it when this code is differentiated again)."""

    def __init__(self, rt_name, np_name):
        super().__init__()
        self.rt_name = rt_name
        self.np_name = np_name

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)
                and func.value.id == self.rt_name) or node.keywords:
            return node
        if func.attr == "real_for" and len(node.args) == 2:
            first = node.args[0]
            if isinstance(first, gast.Name) or (
                    isinstance(first, gast.Call) and isinstance(first.func, gast.Attribute)
                    and isinstance(first.func.value, gast.Name) and first.func.value.id == self.rt_name
                    and first.func.attr in REAL_PRODUCT_HELPERS):
                return first  # a cotangent, or a helper's product of real values: real in real code
            # an expression of the rule (-1j * g of np.imag): its real part
            return gast.Call(func=gast.Attribute(value=gast.Name(id=self.np_name, ctx=gast.Load(), annotation=None,
                                                                 type_comment=None), attr="real", ctx=gast.Load()),
                             args=[node.args[0]], keywords=[])
        if func.attr == "abs_slope" and len(node.args) == 1:
            node.func = gast.Attribute(value=gast.Name(id=self.np_name, ctx=gast.Load(), annotation=None,
                                                       type_comment=None), attr="sign", ctx=gast.Load())
        return node


def real_only(node, module_names):
    """``node`` (derivative code a rule expanded to) for real values only."""
    return _RealOnly(module_names["rt"], module_names["np"]).visit(node)


def _real_only_functions():
    functions = {np.sign, np.var, np.std, np.nanvar, np.nanstd, np.cov, np.corrcoef}
    for name in ("norm", "eigh", "eigvalsh", "svd", "svdvals", "cholesky", "qr", "eig", "eigvals", "lstsq",
                 "pinv", "matrix_norm", "vector_norm"):
        if hasattr(np.linalg, name):
            functions.add(getattr(np.linalg, name))
    return frozenset(functions)


#: functions whose derivative rules (or lack of one: np.sign is piecewise
#: constant on real values only) hold for real values alone: a complex
#: argument that carries a derivative is refused when the derivative runs.
REAL_ONLY = _real_only_functions() | {np.correlate, np.linalg.multi_dot}
#: of these, a complex argument is refused even when it carries no derivative
#: (np.correlate conjugates its second argument, which its rules do not;
#: multi_dot's adjoint does not take the real part for a real matrix)
REAL_ONLY_EVERY_ARGUMENT = frozenset({np.correlate, np.linalg.multi_dot})


def complex_checks(op, varied, rt_call):
    """``rt.refuse_complex(x, message)`` statements for the differentiated
    arguments of ``op`` when its function's rule is for real values only."""
    try:
        if op.prim not in REAL_ONLY:
            return []
    except TypeError:
        return []
    every = op.prim in REAL_ONLY_EVERY_ARGUMENT
    if every and not any(isinstance(a, gast.Name) and a.id in varied for a in list(op.args) + list(op.kwargs.values())):
        return []
    atoms = [a for a in list(op.args) + list(op.kwargs.values())
             if isinstance(a, gast.Name) and (every or a.id in varied)]
    message = errors.complex_refused(op.construct or getattr(op.prim, "__name__", "this function"))
    return [gast.Expr(value=rt_call("refuse_complex", gast.Name(id=a.id, ctx=gast.Load(), annotation=None,
                                                                type_comment=None), gast.Constant(value=message, kind=None)))
            for a in atoms]


def unchecked_params(normalized, wrt, varied):
    """The parameters the derivative code for real values must check: those
    not differentiated (the API checks those are real) that a differentiated
    value is computed from directly."""
    params = [p for p in normalized.params if p not in wrt]
    if not params:
        return []
    read = set()
    for op in walk_ops(normalized.ops):
        if op.targets and any(isinstance(t, str) and t in varied for t in op.targets):
            read |= op.reads()
    return [p for p in params if p in read]
