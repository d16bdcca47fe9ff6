"""NumPy calls without a rule of their own, written as calls that have rules
(a thin hook in normalize_calls.py):

- ``np.maximum.accumulate(x, axis)`` (``np.minimum``'s too) is
  ``np.take_along_axis(x, rt.running_extremum_index(x, axis, True), axis)``:
  the running maximum read from the element that holds it (the first one to
  reach it, where later elements tie), so its derivatives at every order are
  an indexed read's;
- ``np.apply_along_axis(func1d, axis, arr)`` is ``func1d`` called on each
  1-d slice in a list comprehension (a lambda or a nested function is
  inlined there as where the user calls it), the results stacked and their
  axes put where NumPy puts them;
- ``np.vander`` and ``np.polynomial``'s ``polyval``, ``legval``,
  ``chebval``, ``hermval``, ``hermeval``, ``lagval`` call the NumPy-only source of written_numpy.py,
  which is followed like a function of the user's.

Forms not listed (``out=``, ``dtype=``, extra ``*args`` to func1d) are left
as written, where the usual refusal names them."""
import gast
import numpy as np

from .. import runtime as rt
from . import written_numpy
from .gastutil import clone, load, walk as walk_tree
from .ir import TRANSFORMED_LIBRARY_FUNCTIONS

_RUNNING = {np.maximum: True, np.minimum: False}

_WRITTEN = {
    np.vander: written_numpy.vander,
    np.polynomial.polynomial.polyval: written_numpy.polyval,
    np.polynomial.legendre.legval: written_numpy.legval,
    np.polynomial.chebyshev.chebval: written_numpy.chebval,
    np.polynomial.hermite.hermval: written_numpy.hermval,
    np.polynomial.hermite_e.hermeval: written_numpy.hermeval,
    np.polynomial.laguerre.lagval: written_numpy.lagval,
}

# followed like the user's functions (frontend/ir.is_library)
TRANSFORMED_LIBRARY_FUNCTIONS[written_numpy.__name__] = frozenset(
    {"vander", "polyval", "legval", "chebval", "hermval", "hermeval", "lagval", "_series_coefficients"})


def _arguments(node, names):
    """``{name: node}`` for a call that passes only ``names`` (by position or
    keyword, no ``*`` / ``**``), else None."""
    if len(node.args) > len(names) or any(isinstance(a, gast.Starred) for a in node.args):
        return None
    given = dict(zip(names, node.args))
    for keyword in node.keywords:
        if keyword.arg not in names or keyword.arg in given:
            return None
        given[keyword.arg] = keyword.value
    return given


def _constant(normalizer, value):
    """A name bound to the function ``value`` in the code being normalized
    (the user's module need not import it)."""
    alias = normalizer.namer.fresh(value.__name__)
    normalizer.resolver.constants[alias] = value
    return load(alias)


def _call(func, *args):
    return gast.Call(func=func, args=list(args), keywords=[])


def _running_extremum(normalizer, largest, node):
    given = _arguments(node, ("array", "axis"))
    if given is None or "array" not in given:
        return None
    array = given["array"]
    if not isinstance(array, gast.Name):  # (a list of values: one array, as the ufunc reads it)
        array = _call(_constant(normalizer, np.asarray), array)
    array = normalizer.atom(array)
    axis = normalizer.atom(given.get("axis", gast.Constant(value=0, kind=None)))
    positions = _call(_constant(normalizer, rt.running_extremum_index), clone(array), clone(axis),
                      gast.Constant(value=largest, kind=None))
    return _call(_constant(normalizer, np.take_along_axis), clone(array), positions, clone(axis))


_APPLY_ALONG_AXIS = """
(MOVEAXIS(STACKED.reshape(SHAPE(MOVED)[:-1] + SHAPE(STACKED)[1:]),
          list(range(NDIM(MOVED) - 1, NDIM(MOVED) + NDIM(STACKED) - 2)),
          list(range(AXIS % NDIM(MOVED), AXIS % NDIM(MOVED) + NDIM(STACKED) - 1))))
"""


def _located(tree, node):
    """``tree`` with the user's call's place on every node that has none, so
    what it lowers to (a comprehension's loop) is located at the user's line."""
    for part in walk_tree(tree):
        for attribute in ("lineno", "col_offset", "end_lineno", "end_col_offset"):
            if attribute in getattr(part, "_attributes", ()) and getattr(part, attribute, None) is None:
                setattr(part, attribute, getattr(node, attribute, None))
    return tree


class _Placeholders(gast.NodeTransformer):
    def __init__(self, nodes):
        self.nodes = nodes

    def visit_Name(self, node):
        return clone(self.nodes[node.id]) if node.id in self.nodes else node


def _apply_along_axis(normalizer, node):
    given = _arguments(node, ("func1d", "axis", "arr"))
    if given is None or len(given) != 3:
        return None
    functions = {name: _constant(normalizer, getattr(np, name.lower())) for name in ("MOVEAXIS", "SHAPE", "NDIM")}
    axis = normalizer.atom(given["axis"])
    moved = normalizer.atom(_call(clone(functions["MOVEAXIS"]), given["arr"], clone(axis),
                                  gast.Constant(value=-1, kind=None)))
    row = normalizer.namer.fresh("row")
    rows = gast.Call(func=gast.Attribute(value=clone(moved), attr="reshape", ctx=gast.Load()),
                     args=[gast.Tuple(elts=[gast.Constant(value=-1, kind=None),
                                            gast.Subscript(value=_call(clone(functions["SHAPE"]), clone(moved)),
                                                           slice=gast.Constant(value=-1, kind=None),
                                                           ctx=gast.Load())],
                                      ctx=gast.Load())], keywords=[])
    results = gast.ListComp(
        elt=_call(given["func1d"], gast.Name(id=row, ctx=gast.Load(), annotation=None, type_comment=None)),
        generators=[gast.comprehension(target=gast.Name(id=row, ctx=gast.Store(), annotation=None,
                                                        type_comment=None),
                                       iter=rows, ifs=[], is_async=0)])
    stacked = normalizer.atom(_located(_call(_constant(normalizer, np.stack), results), node))
    template = gast.parse(_APPLY_ALONG_AXIS.strip()).body[0].value
    return _located(_Placeholders({"STACKED": stacked, "MOVED": moved, "AXIS": axis, **functions}).visit(template),
                    node)


def as_rule_call(normalizer, callee, node):
    """The expression to normalize in place of the call ``node`` of
    ``callee``, or None for a call this module does not rewrite."""
    owner = getattr(callee, "__self__", None)
    if isinstance(owner, np.ufunc) and owner in _RUNNING and getattr(callee, "__name__", None) == "accumulate":
        return _running_extremum(normalizer, _RUNNING[owner], node)
    if callee is np.apply_along_axis:
        return _apply_along_axis(normalizer, node)
    written = next((w for f, w in _WRITTEN.items() if f is callee), None)
    if written is None:
        return None
    alias = normalizer.namer.fresh(written.__name__)
    normalizer.resolver.constants[alias] = written
    return gast.Call(func=load(alias), args=list(node.args), keywords=list(node.keywords))
