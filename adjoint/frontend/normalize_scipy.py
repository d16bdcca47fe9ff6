"""SciPy calls the normalizer writes as other calls (a thin hook in
normalize_calls.py):

``scipy.special.logsumexp(a, axis, b, keepdims, return_sign=True)`` returns
the pair ``(log|s|, sign(s))`` of ``s = sum(b * exp(a))``. The sign is
piecewise constant (no derivative); ``log|s|`` is ``logsumexp(a, axis,
b=b * sign, keepdims)``, whose weighted sum is then positive (or 0, where
SciPy's result is -inf too), so the pair is written

    sign = rt.logsumexp_sign(a, axis, b)        # reduced axes kept
    value = logsumexp(a, axis=axis, b=b * sign, keepdims=keepdims)
    (value, rt.logsumexp_sign_shaped(sign, axis, keepdims))

and differentiated, at any order and under vmap, by logsumexp's own rules.
Only a literal ``return_sign=True`` is rewritten (``return_sign=False`` is
dropped); any other value is left to the rule, which refuses it at the
user's line."""
import sys

import gast

from .. import runtime as rt
from .gastutil import clone, constant, load

#: logsumexp's parameters, in order
_LOGSUMEXP = ("a", "axis", "b", "keepdims", "return_sign")


def _logsumexp():
    special = sys.modules.get("scipy.special")
    return getattr(special, "logsumexp", None) if special is not None else None


def signed_logsumexp(normalizer, callee, node):
    """The ops of ``logsumexp(..., return_sign=True)`` and the operation of
    its pair (what ``Normalizer.operation`` returns), or the call without
    ``return_sign=False``, or None for other calls."""
    if callee is None or callee is not _logsumexp():
        return None
    bound = dict(zip(_LOGSUMEXP, node.args))
    if len(node.args) > len(_LOGSUMEXP) or any(isinstance(a, gast.Starred) for a in node.args):
        return None
    for keyword in node.keywords:
        if keyword.arg is None or keyword.arg in bound:
            return None
        bound[keyword.arg] = keyword.value
    flag = bound.get("return_sign")
    if not isinstance(flag, gast.Constant) or flag.value not in (True, False) or set(bound) - set(_LOGSUMEXP):
        return None
    rest = [gast.keyword(arg=k, value=bound[k]) for k in ("axis", "b", "keepdims") if k in bound]
    if flag.value is False:  # the plain call
        return normalizer.operation(gast.Call(func=clone(node.func), args=[bound["a"]], keywords=rest))
    a = normalizer.atom(bound["a"])
    axis = normalizer.atom(bound.get("axis", constant(None)))
    b = normalizer.atom(bound["b"]) if "b" in bound else None
    keepdims = normalizer.atom(bound.get("keepdims", constant(False)))
    helper = lambda name: gast.Attribute(value=load(normalizer.rt_name), attr=name, ctx=gast.Load())  # noqa: E731
    sign_args = [a, axis, b if b is not None else constant(None)]
    sign = normalizer.emit(gast.Call(func=helper("logsumexp_sign"), args=sign_args, keywords=[]),
                           rt.logsumexp_sign, sign_args, construct="logsumexp's sign")
    weights = sign if b is None else normalizer.atom(gast.BinOp(left=b, op=gast.Mult(), right=sign))
    value = normalizer.atom(gast.Call(func=clone(node.func), args=[a], keywords=[
        gast.keyword(arg="axis", value=axis), gast.keyword(arg="b", value=weights),
        gast.keyword(arg="keepdims", value=keepdims)]))
    shaped_args = [sign, axis, keepdims]
    shaped = normalizer.emit(gast.Call(func=helper("logsumexp_sign_shaped"), args=shaped_args, keywords=[]),
                             rt.logsumexp_sign_shaped, shaped_args, construct="logsumexp's sign")
    return normalizer.operation(gast.Tuple(elts=[value, shaped], ctx=gast.Load()))

