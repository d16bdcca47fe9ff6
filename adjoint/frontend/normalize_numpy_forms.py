"""NumPy calls rewritten, before they are normalized, as the same numbers
computed by functions that have rules (``Calls.call`` normalizes the
expression given back in the call's place):

- ``np.sum`` / ``np.prod`` / ``np.mean`` / ``np.max`` / ``np.min`` (and
  the array methods ``x.sum()`` ...) with ``where=`` (and ``initial=``): the reduction of ``np.where(where, a, fill)``,
  the fill being the reduction's identity (``initial`` for max and min, which
  NumPy requires with ``where``), ``initial`` joined to the result; a mean
  divides by the count of the elements ``where`` keeps;
- ``np.insert(arr, obj, values, axis)``: the flattened ``arr`` and ``values``
  joined and read at the positions ``np.insert`` gives them
  (``rt.insert_order``, NumPy's own ``np.insert`` run on positions);
- ``np.bincount(x, weights=w, minlength=n)``: ``w`` added at ``x`` into zeros
  (``rt.add_at``, the scatter of ``np.add.at``).

And Python's ``zip`` where its tuples are taken apart: ``ws, bs = zip(a, b)``
as ``ws, bs = list(zip(a, b))``, and ``zip(*rows)`` read whole (``list(...)``,
unpacked) as its columns, ``[tuple([row[j] for row in rows]) for j in
range(rt.zip_length(rows))]``, indexing a list having rules where an
iterator has none.

Calls in forms NumPy refuses, or with ``out=``, ``*args`` or ``**kwargs``,
are left as they are (and refused where they are differentiated)."""
import builtins

import gast
import numpy as np

from .. import runtime as rt
from .gastutil import clone, constant, load, store
from .ir import NONDIFF
from .normalize_iteration import _locate

#: the reductions with ``where=``: their parameters in order, the value a
#: left-out element counts as (None: ``initial``), and how ``initial`` joins.
_REDUCTIONS = {
    np.sum: (("a", "axis", "dtype", "out", "keepdims", "initial", "where"), 0, "add"),
    np.prod: (("a", "axis", "dtype", "out", "keepdims", "initial", "where"), 1, "multiply"),
    np.mean: (("a", "axis", "dtype", "out", "keepdims"), 0, None),
    np.max: (("a", "axis", "out", "keepdims", "initial", "where"), None, "maximum"),
    np.min: (("a", "axis", "out", "keepdims", "initial", "where"), None, "minimum"),
}
_REDUCTIONS[np.amax] = _REDUCTIONS[np.max]
_REDUCTIONS[np.amin] = _REDUCTIONS[np.min]


def _bound(node, names, keyword_only=()):
    """The call's arguments by parameter name, or None for a form this
    module leaves alone (``*args``, ``**kwargs``, an unknown or repeated
    name, too many positional arguments)."""
    if len(node.args) > len(names) or any(isinstance(a, gast.Starred) for a in node.args):
        return None
    given = dict(zip(names, node.args))
    for keyword in node.keywords:
        if keyword.arg is None or keyword.arg in given or keyword.arg not in names + tuple(keyword_only):
            return None
        given[keyword.arg] = keyword.value
    return given


def _is_none(node):
    return node is None or (isinstance(node, gast.Constant) and node.value is None)


class NumpyForms:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def _np(self, name, *args, **kwargs):
        func = gast.Attribute(value=load(self.np_name), attr=name, ctx=gast.Load())
        return gast.Call(func=func, args=list(args),
                         keywords=[gast.keyword(arg=k, value=v) for k, v in kwargs.items()])

    def _rt(self, helper, *args):
        func = gast.Attribute(value=load(self.rt_name), attr=helper.__name__, ctx=gast.Load())
        return gast.Call(func=func, args=list(args), keywords=[])

    def _dtype(self, *atoms):
        """``np.result_type`` of the atoms, emitted as ``rt.result_dtype`` (one dtype for a whole batch)."""
        return self.emit(self._rt(rt.result_dtype, *[clone(a) for a in atoms]), NONDIFF,
                         [clone(a) for a in atoms], construct="dtype")

    def numpy_form(self, callee, node):
        """The operation computing ``node`` (a call of ``callee``) with
        functions that have rules (what ``Calls.call`` gives), or None to
        normalize the call as written."""
        try:
            hash(callee)
        except TypeError:
            return None
        if callee in _REDUCTIONS:
            expression = self._where_reduction(callee, node)
        elif callee is np.insert:
            expression = self._insert(node)
        elif callee is np.bincount:
            return self._bincount(node)
        else:
            return None
        return None if expression is None else self.operation(expression)

    def method_form(self, node, receiver, function):
        """``x.sum(where=m)`` (a method of ARRAY_METHODS with the meaning of
        ``function``, on the atom ``receiver``) as ``numpy_form`` gives
        ``np.sum(x, where=m)``, else None."""
        if function not in _REDUCTIONS or not any(k.arg in ("where", "initial") for k in node.keywords):
            return None
        func = gast.Attribute(value=load(self.np_name), attr=function.__name__, ctx=gast.Load())
        return self.numpy_form(function, gast.Call(func=func, args=[receiver] + list(node.args),
                                                   keywords=list(node.keywords)))

    def _where_reduction(self, callee, node):
        names, fill, join = _REDUCTIONS[callee]
        given = _bound(node, names, keyword_only=("where",) if callee is np.mean else ())
        if given is None or "a" not in given or not _is_none(given.get("out")):
            return None
        where, initial = given.get("where"), given.get("initial")
        if where is None and initial is None:
            return None
        if fill is None and initial is None:
            return None  # NumPy refuses max / min with where= and no initial
        a = self.atom(given["a"])
        passed = {k: v for k, v in given.items() if k in ("axis", "dtype", "keepdims")}
        if initial is not None:
            initial = self.atom(initial)
        if where is not None:
            where = self.atom(where)
            kept = self._np("where", clone(where), clone(a), clone(initial) if fill is None else constant(fill))
        else:
            kept = clone(a)
        name = callee.__name__ if callee not in (np.amax, np.amin) else callee.__name__[1:]
        if callee is np.mean:
            total = self._np("sum", kept, **passed)
            counted = {k: clone(v) for k, v in passed.items() if k != "dtype"}
            # counted in the mean's own dtype: float64 for integers, the input's float type, or dtype=
            counted["dtype"] = clone(passed["dtype"]) if "dtype" in passed else self._dtype(a, constant(1.0))
            count = self._np("sum", self._np("broadcast_to", clone(where), self._np("shape", clone(a))), **counted)
            return gast.BinOp(left=total, op=gast.Div(), right=count)
        reduced = self._np(name, kept, **passed)
        if initial is None:
            return reduced
        return self._np(join, reduced, clone(initial))

    def _insert(self, node):
        given = _bound(node, ("arr", "obj", "values", "axis"))
        if given is None or not {"arr", "obj", "values"} <= set(given):
            return None
        arr = self.atom(self._np("asarray", given["arr"]))
        obj, values = self.atom(given["obj"]), self.atom(given["values"])
        axis = self.atom(given["axis"]) if "axis" in given else constant(None)
        # np.insert casts the values to arr's dtype
        values = self._np("asarray", values, dtype=self._dtype(arr))
        values = self.atom(values)
        shapes = [self.atom(self._np("shape", clone(arr))), self.atom(self._np("shape", clone(values)))]
        args = [shapes[0], clone(obj), shapes[1], clone(axis)]
        order = self.emit(self._rt(rt.insert_order, *args), NONDIFF, [clone(a) for a in args],
                          construct="np.insert's positions")
        joined = self._np("concatenate", gast.Tuple(elts=[self._np("ravel", clone(arr)),
                                                          self._np("ravel", clone(values))], ctx=gast.Load()))
        return gast.Subscript(value=joined, slice=order, ctx=gast.Load())

    def _bincount(self, node):
        given = _bound(node, ("x", "weights", "minlength"))
        if given is None or "x" not in given or _is_none(given.get("weights")):
            return None
        x = self.atom(given["x"])
        minlength = self.atom(given["minlength"]) if "minlength" in given else constant(0)
        # np.bincount adds the weights as float64
        weights = self.atom(self._np("asarray", given["weights"], dtype=gast.Attribute(
            value=load(self.np_name), attr="float64", ctx=gast.Load())))
        length = self.emit(self._rt(rt.bincount_length, clone(x), clone(minlength)), NONDIFF,
                           [clone(x), clone(minlength)], construct="np.bincount's length")
        args = [self.atom(self._np("zeros", length)), clone(x), weights]
        value = self._rt(rt.add_at, *[clone(a) for a in args])
        return value, rt.add_at, args, {}, "np.bincount", None

    def _builtin(self, name):
        """``name`` loaded, if it is Python's builtin there (not shadowed), else None."""
        return load(name) if self.resolver.value_of(load(name)) is getattr(builtins, name) else None

    def unpacked_iterator(self, value):
        """The value of ``a, b = value``: a zip / enumerate / reversed / items
        call made a list (unpacking reads all its items anyway), else ``value``."""
        as_list = self._builtin("list")
        if as_list is None or not self.makes_iterator(value):
            return value
        return _locate(gast.Call(func=as_list, args=[value], keywords=[]), value)

    def is_zip_of_rows(self, node):
        """Whether ``node`` is ``zip(*rows)`` (one starred argument, no keywords)."""
        return (isinstance(node, gast.Call) and self.resolver.value_of(node.func) is builtins.zip
                and len(node.args) == 1 and isinstance(node.args[0], gast.Starred) and not node.keywords
                and self._builtin("tuple") is not None and self._builtin("range") is not None)

    def zip_columns(self, node):
        """``zip(*rows)`` (``is_zip_of_rows``) as the list of its columns, to be read whole."""
        as_tuple, as_range = self._builtin("tuple"), self._builtin("range")
        rows = self.atom(node.args[0].value)
        count = self.emit(self._rt(rt.zip_length, clone(rows)), NONDIFF, [clone(rows)], construct="zip(*...)'s length")
        item = gast.Subscript(value=load("zip_row"), slice=load("zip_column"), ctx=gast.Load())
        over_rows = gast.comprehension(target=store("zip_row"), iter=clone(rows), ifs=[], is_async=0)
        column = gast.Call(func=as_tuple, args=[gast.ListComp(elt=item, generators=[over_rows])], keywords=[])
        columns = gast.comprehension(target=store("zip_column"),
                                     iter=gast.Call(func=as_range, args=[count], keywords=[]), ifs=[], is_async=0)
        return _locate(gast.ListComp(elt=column, generators=[columns]), node)
