"""Calls rewritten to the form the rules take, before they are normalized
(``Calls.call`` hands them here): ``dict(a=u)`` and ``dict(zip(...))`` as
the dict literal they build, ``np.einsum``'s operand / sublist form as its
subscripts string, a function of ``CALLS_AS_HELPERS`` with its ``*varargs``
packed into one tuple, SciPy's ``xp_promote`` as ``np.asarray``, and the
ufunc methods with the meaning of a reduction or scan (``np.add.reduce``) as
that function (``np.sum``)."""
import builtins

import gast
import numpy as np

from .. import runtime as rt
from .gastutil import clone, load
from .ir import NONDIFF, dotted


def _ufunc_method(value):
    """``(ufunc, method name)`` for a method of a ufunc (``np.add.reduce``), else None."""
    owner = getattr(value, "__self__", None)
    if isinstance(owner, np.ufunc):
        return owner, getattr(value, "__name__", None)
    return None


#: ufunc methods with the meaning of a reduction or a scan: the function
#: computed instead, and whether it takes dtype as its third positional argument.
_UFUNC_METHODS = {
    (np.add, "reduce"): (np.sum, True),
    (np.multiply, "reduce"): (np.prod, True),
    (np.maximum, "reduce"): (np.max, False),
    (np.minimum, "reduce"): (np.min, False),
    (np.add, "accumulate"): (np.cumsum, True),
    (np.multiply, "accumulate"): (np.cumprod, True),
}


#: functions whose ``*varargs`` a rule template cannot name, called as a
#: runtime helper that takes them as one tuple (``np.gradient(f, dx, dy,
#: axis=a)`` is ``rt.numpy_gradient(f, (dx, dy), axis=a)``): the rules are the helper's.
CALLS_AS_HELPERS = {np.gradient: rt.numpy_gradient}


def _helper_for(value):
    """The helper of CALLS_AS_HELPERS that ``value`` is called as, else None."""
    return next((helper for function, helper in CALLS_AS_HELPERS.items() if function is value), None)


def _array_api_function(value, name):
    """Whether ``value`` is the function ``name`` of SciPy's array API
    support (scipy._lib._array_api, or the array_api_compat it wraps)."""
    module = getattr(value, "__module__", None) or ""
    return (getattr(value, "__name__", None) == name
            and module.startswith(("scipy._lib", "array_api_compat")))


def is_array_namespace(value):
    """``array_namespace(x)``, which gives NumPy's namespace for NumPy arrays."""
    return _array_api_function(value, "array_namespace")


def _sublist_term(node):
    """One einsum sublist (a literal list or tuple of integers and ``...``)
    as its letters (0-25 are A-Z, 26-51 a-z, NumPy's order), else None."""
    if not isinstance(node, (gast.List, gast.Tuple)):
        return None
    letters = []
    for element in node.elts:
        if isinstance(element, gast.Name) and element.id == "Ellipsis":
            letters.append("...")
            continue
        if not isinstance(element, gast.Constant):
            return None
        if element.value is Ellipsis:
            letters.append("...")
        elif type(element.value) is int and 0 <= element.value < 52:
            letters.append(chr(ord("A") + element.value) if element.value < 26
                           else chr(ord("a") + element.value - 26))
        else:
            return None
    return "".join(letters)


def ufunc_reduction(value):
    """``(function, takes dtype third)`` of ``_UFUNC_METHODS`` for a ufunc
    method with the meaning of a reduction or scan (``np.add.reduce``), else None."""
    return _UFUNC_METHODS.get(_ufunc_method(value))


def is_xp_promote(value):
    """SciPy's ``xp_promote`` (its array API support)."""
    return _array_api_function(value, "xp_promote")


class CallForms:
    """Methods of ``normalize.Normalizer``; see its docstring for the state they share."""

    def dict_call_as_literal(self, callee, node):
        """``dict(a=u, b=v)``, ``dict(zip([k1, k2], [u, v]))`` and
        ``dict([(k1, u), (k2, v)])`` as the dict literal they build (the
        keys and values written out, evaluated in the same order)."""
        if callee is not builtins.dict:
            return None
        if not node.args and node.keywords:
            return gast.Dict(keys=[gast.Constant(value=k.arg, kind=None) for k in node.keywords],
                             values=[k.value for k in node.keywords])
        if len(node.args) != 1 or node.keywords:
            return None
        arg = node.args[0]
        sequences = (gast.List, gast.Tuple)
        if (isinstance(arg, gast.Call) and self.resolver.value_of(arg.func) is builtins.zip
                and len(arg.args) == 2 and not arg.keywords and all(isinstance(a, sequences) for a in arg.args)
                and len(arg.args[0].elts) == len(arg.args[1].elts)
                and all(isinstance(k, gast.Constant) for k in arg.args[0].elts)):
            return gast.Dict(keys=list(arg.args[0].elts), values=list(arg.args[1].elts))
        if (isinstance(arg, sequences) and arg.elts
                and all(isinstance(e, sequences) and len(e.elts) == 2 and isinstance(e.elts[0], gast.Constant)
                        for e in arg.elts)):
            return gast.Dict(keys=[e.elts[0] for e in arg.elts], values=[e.elts[1] for e in arg.elts])
        return None

    def einsum_with_subscripts(self, node):
        """``np.einsum(x, [0, 1], y, [1, 2], [0, 2])``, the operand / sublist
        form, as the same call with a subscripts string
        (``np.einsum('AB,BC->AC', x, y)``): the rules take that form. Sublists
        must be literal lists of integers (and ``...``); any other form is
        left as it is (and refused where it is differentiated)."""
        args = node.args
        if len(args) < 2 or (isinstance(args[0], gast.Constant) and isinstance(args[0].value, str)):
            return node
        operands, sublists = args[0::2], args[1::2]
        output = None
        if len(args) % 2:  # an output sublist last
            output, operands = operands[-1], operands[:-1]
        terms = [_sublist_term(sublist) for sublist in sublists]
        if output is not None:
            terms.append(_sublist_term(output))
        if any(term is None for term in terms):
            return node
        subscripts = ",".join(terms[:len(operands)])
        if output is not None:
            subscripts += "->" + terms[-1]
        return gast.Call(func=node.func, args=[gast.Constant(value=subscripts, kind=None)] + list(operands),
                         keywords=node.keywords)

    def packed_varargs(self, node):
        """A call of a function of CALLS_AS_HELPERS with its ``*varargs``
        packed into one tuple (``np.gradient(f, dx, dy)`` as
        ``np.gradient(f, (dx, dy))``, ``np.gradient(f, *h)`` as
        ``np.gradient(f, tuple(h))``), the helper it is then called as, and
        the name the user wrote; None for other calls and forms (a starred
        first argument, ``**`` keywords, several ``*`` items)."""
        helper = _helper_for(self.resolver.value_of(node.func))
        first = next((k for k in node.keywords if k.arg == "f"), None)
        if helper is not None and not node.args and first is not None:  # np.gradient(f=x)
            node = gast.Call(func=node.func, args=[first.value],
                             keywords=[k for k in node.keywords if k is not first])
        if (helper is None or not node.args or isinstance(node.args[0], gast.Starred)
                or any(k.arg is None for k in node.keywords)):
            return None
        rest = list(node.args[1:])
        if not any(isinstance(arg, gast.Starred) for arg in rest):
            packed = gast.Tuple(elts=rest, ctx=gast.Load())
        elif len(rest) == 1 and self.resolver.value_of(load("tuple")) is builtins.tuple:
            packed = gast.Call(func=load("tuple"), args=[rest[0].value], keywords=[])
        else:
            return None
        call = gast.Call(func=node.func, args=[node.args[0], packed], keywords=list(node.keywords))
        return call, helper, dotted(node.func)

    def as_promoted(self, node):
        """SciPy's ``xp_promote(x, force_floating=True, xp=xp)`` of one array:
        ``np.asarray(x, dtype=rt.floating_type(x))`` (``np.asarray(x)``
        without force_floating), which the rules of np.asarray take."""
        keywords = []
        value = self.atom(node.args[0])
        force = next((k.value for k in node.keywords if k.arg == "force_floating"), None)
        if force is not None:
            force = self.atom(force)
            dtype = gast.Call(func=gast.Attribute(value=load(self.rt_name), attr="floating_type", ctx=gast.Load()),
                              args=[clone(value), clone(force)], keywords=[])
            dtype = self.emit(dtype, NONDIFF, [clone(value), clone(force)], construct="xp_promote's dtype")
            keywords.append(gast.keyword(arg="dtype", value=dtype))
        func = gast.Attribute(value=load(self.np_name), attr="asarray", ctx=gast.Load())
        return gast.Call(func=func, args=[value], keywords=keywords)

    def as_reduction(self, node, reduction):
        """``np.add.reduce(x, axis)`` and the other ufunc methods with the
        meaning of a reduction (``_UFUNC_METHODS``), as that reduction:
        ``np.sum(x, axis)``. Their ``axis`` defaults to 0, the functions' to
        None, so it is passed explicitly. Forms the function does not take
        (np.maximum.reduce's dtype by position) are left as they are."""
        function, takes_dtype = reduction
        if not node.args or len(node.args) > (3 if takes_dtype else 2) or any(
                isinstance(a, gast.Starred) for a in node.args):
            return node, self.resolver.value_of(node.func)
        keywords = list(node.keywords)
        if len(node.args) < 2 and not any(k.arg == "axis" for k in keywords):
            keywords.append(gast.keyword(arg="axis", value=gast.Constant(value=0, kind=None)))
        func = gast.Attribute(value=load(self.np_name), attr=function.__name__, ctx=gast.Load())
        return gast.Call(func=func, args=list(node.args), keywords=keywords), function
