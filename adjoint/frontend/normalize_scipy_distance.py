"""scipy.spatial.distance's ``cdist``, ``pdist`` and ``squareform(pdist(...))``
with the Euclidean metrics, written as NumPy with rules (a thin hook in
normalize_calls.py), where SciPy computes the same values:

- ``cdist(XA, XB)`` is ``np.linalg.norm(XA[:, None, :] - XB[None, :, :],
  axis=-1)`` (``metric="sqeuclidean"``: the sum of the squares);
- ``pdist(X)`` is the norm of ``X[i] - X[j]`` over ``(i, j) =
  np.triu_indices(len(X), 1)``, SciPy's order of the pairs;
- ``squareform(pdist(X))`` is ``cdist(X, X)``.

The norm's derivative is 0 where two points coincide (``cdist(X, X)``'s
diagonal), its subgradient. Another metric, or an option (``w``, ``out``),
is left as written: it runs as SciPy's where no derivative goes through
it, and is refused at the user's line where one does (``RefusedOption``)."""
import sys

import gast
import numpy as np

from .gastutil import clone, constant
from .normalize_scipy_calls import _Call, _Refused

_METRICS = ("euclidean", "sqeuclidean")


def _which(callee):
    distance = sys.modules.get("scipy.spatial.distance")
    if callee is None or distance is None:
        return None
    for name in ("cdist", "pdist", "squareform"):
        if callee is getattr(distance, name, None):
            return name
    return None


def as_rule_call(normalizer, callee, node):
    """The operation of a distance call of this module's list, written with
    NumPy's functions; None for other calls."""
    name = _which(callee)
    if name is None or getattr(node, "scipy_written", False):
        return None
    if name == "squareform":
        inner = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if not (isinstance(inner, gast.Call) and _which(normalizer.resolver.value_of(inner.func)) == "pdist"):
            return None
        pairs = _Call(normalizer, inner, sys.modules["scipy.spatial.distance"].pdist, "pdist")
        if pairs.arguments is None:
            return None
        node, name, call = inner, "squareform(pdist)", pairs
    else:
        call = _Call(normalizer, node, callee, f"scipy.spatial.distance.{name}")
        if call.arguments is None:
            return None
    try:
        return call.written(_distances(call, name))
    except _Refused as refused:
        node.scipy_written = True
        value, prim, args, kwargs, _, keys = normalizer.call(node)
        return value, prim, args, kwargs, refused.construct, keys


def _distances(call, name):
    metric = call.literal("metric", "euclidean")
    if metric not in _METRICS:
        raise call.refuse(f"metric={metric!r}", "only the Euclidean metrics have a derivative rule here.",
                          "Write the distance with NumPy (np.abs(XA[:, None, :] - XB[None, :, :]).sum(-1) for "
                          "'cityblock'), or use metric='euclidean' or 'sqeuclidean'.")
    options = [k for k in call.arguments if k not in ("XA", "XB", "X", "metric")]
    if options:
        raise call.refuse(f"{options[0]}=", "this option has no derivative rule here.",
                          "Leave it out, or write the distance with NumPy.")
    atom = call.normalizer.atom
    if name == "cdist":
        first, second = atom(call.arguments["XA"]), atom(call.arguments["XB"])
        gaps = gast.BinOp(left=_spread(first, 1), op=gast.Sub(), right=_spread(second, 0))
    elif name == "squareform(pdist)":
        points = atom(call.arguments["X"])
        gaps = gast.BinOp(left=_spread(points, 1), op=gast.Sub(), right=_spread(points, 0))
    else:
        points = atom(call.arguments["X"])
        count = gast.Subscript(value=gast.Attribute(value=clone(points), attr="shape", ctx=gast.Load()),
                               slice=constant(0), ctx=gast.Load())
        pairs = atom(call.call(np.triu_indices, "triu_indices", [count, constant(1)]))
        gaps = gast.BinOp(left=_rows(points, pairs, 0), op=gast.Sub(), right=_rows(points, pairs, 1))
    if metric == "sqeuclidean":
        squares = gast.BinOp(left=gaps, op=gast.Pow(), right=constant(2))
        return call.call(np.sum, "distance_sum", [squares], [("axis", constant(-1))])
    return call.call(np.linalg.norm, "distance_norm", [gaps], [("axis", constant(-1))])


def _spread(points, axis):
    """``points[:, None, :]`` (axis 1) or ``points[None, :, :]`` (axis 0)."""
    whole = gast.Slice(lower=None, upper=None, step=None)
    parts = [whole, constant(None)] if axis == 1 else [constant(None), whole]
    index = gast.Tuple(elts=parts + [gast.Slice(lower=None, upper=None, step=None)], ctx=gast.Load())
    return gast.Subscript(value=clone(points), slice=index, ctx=gast.Load())


def _rows(points, pairs, which):
    """``points[pairs[which]]``."""
    index = gast.Subscript(value=clone(pairs), slice=constant(which), ctx=gast.Load())
    return gast.Subscript(value=clone(points), slice=index, ctx=gast.Load())


