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

from .. import errors
from .. import runtime as rt
from .gastutil import clone, constant, load, walk as walk_tree

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



# ----------------------------------------------------------------- frozen distributions
#
# A frozen distribution's methods call the distribution's own with the
# frozen arguments after the user's: ``d = stats.norm(loc, scale);
# d.logpdf(x)`` is ``stats.norm.logpdf(x, loc, scale)``. The call is written
# that way, so that the rules of stats.norm.logpdf (or the refusal naming the
# argument without one) apply, at the user's line, for
#
# - ``d`` bound in this function by a call of the distribution, in the
#   same block (its arguments are SSA names, so they still hold the values
#   it was made from);
# - ``stats.norm(loc, scale).logpdf(x)`` written in one expression;
# - ``d`` a frozen distribution of the module or a closure (its ``args``
#   and ``kwds`` are read from it when the code runs).
#
# The frozen object itself is still made as written: a use of it other than
# these methods (passed to a function, another method) with differentiated
# parameters is refused at the line that made it (no rule for freezing).

#: methods of univariate frozen distributions that take the user's positional
#: arguments, then the frozen ones (rv_frozen's own definitions)
_UNIVARIATE = frozenset({"pdf", "logpdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "pmf", "logpmf",
                         "mean", "var", "std", "median", "entropy", "support", "moment", "interval", "stats"})
#: ... of the multivariate ones with rules (their freezing arguments, then ``seed``)
_MULTIVARIATE = {"multivariate_normal": (frozenset({"logpdf", "pdf"}), ("mean", "cov", "allow_singular")),
                 "dirichlet": (frozenset({"logpdf", "pdf"}), ("alpha",))}


def _stats():
    return sys.modules.get("scipy.stats")


def _distribution(value):
    """(kind, canonical instance) of a distribution of scipy.stats (the
    object users call to freeze it), else None."""
    stats = _stats()
    if stats is None:
        return None
    if isinstance(value, (stats.rv_continuous, stats.rv_discrete)):
        return "univariate", value
    for name in _MULTIVARIATE:
        if value is getattr(stats, name, None):
            return name, value
    return None


def _canonical_of_frozen(value):
    """The distribution of scipy.stats a univariate frozen object is of
    (its ``dist`` is a copy; the rules are registered on the module's), else None."""
    stats = _stats()
    frozen = getattr(getattr(stats, "_distn_infrastructure", None), "rv_frozen", None)
    if frozen is None or not isinstance(value, frozen):
        return None
    name = getattr(value.dist, "name", None)
    canonical = getattr(stats, name, None) if isinstance(name, str) else None
    return canonical if type(canonical) is type(value.dist) else None


def _freezing_op(normalizer, name):
    for op in reversed(normalizer.ops):
        if name in op.targets:
            return op if op.kind == "assign" and op.targets == [name] else None
    return None


def frozen_in_branches_error(location, method, name):
    """``d.logpdf(x)`` after ``d = stats.norm(loc, scale)`` in a branch, with
    differentiated parameters (frontend/normalize_scipy)."""
    return errors.UnsupportedSyntaxError(
        location, f"method .{method}() of a frozen distribution made in a branch",
        f"{name} is a scipy.stats distribution frozen with differentiated parameters inside an if/else, a "
        "loop or a with block, and adjoint follows a frozen distribution's parameters only from a freeze "
        "in the same block as its use, so they would get no derivative here.",
        f"Choose the parameters in the branches and freeze once after them ({name} = stats.norm(loc, "
        f"scale)), or call {name}.{method}(...) inside each branch.")


def _frozen_in_branches(normalizer, name):
    """Whether the user's ``name`` was bound to a frozen distribution inside
    an if/else, a loop or a with block above: its merged value is not known
    to be the distribution made there, so ``name.logpdf(x)`` is a call of a
    method of an object (fine if its parameters are constants)."""
    def frozen_in(ops):
        for op in ops:
            if (op.kind == "assign" and len(op.targets) == 1 and _distribution(op.prim) is not None
                    and normalizer.user_versions.get(op.targets[0], op.targets[0]) == name):
                return True
            if any(frozen_in(getattr(op, part, None) or ()) for part in ("body", "orelse")):
                return True
        return False

    return frozen_in(op for op in normalizer.ops if op.kind != "assign")


def frozen_method_call(normalizer, node):
    """The operation of ``d.method(args)`` on a frozen distribution,
    written as the distribution's method with the frozen arguments; None
    for other calls."""
    func = node.func
    if (_stats() is None or not isinstance(func, gast.Attribute) or node.keywords
            or any(isinstance(a, gast.Starred) for a in node.args)):
        return None
    receiver = func.value
    live = normalizer.resolver.value_of(receiver)
    if live is not normalizer_unresolved():
        canonical = _canonical_of_frozen(live)
        if canonical is None or func.attr not in _UNIVARIATE:
            return None
        frozen_args = [gast.Subscript(value=gast.Attribute(value=clone(receiver), attr="args", ctx=gast.Load()),
                                      slice=constant(i), ctx=gast.Load()) for i in range(len(live.args))]
        frozen_kwargs = [gast.keyword(arg=k, value=gast.Subscript(
            value=gast.Attribute(value=clone(receiver), attr="kwds", ctx=gast.Load()), slice=constant(k),
            ctx=gast.Load())) for k in live.kwds]
        kind = "univariate"
    else:
        if isinstance(receiver, gast.Name) and receiver.id in normalizer.version:
            op = _freezing_op(normalizer, normalizer.read(receiver.id))
            if op is None and _frozen_in_branches(normalizer, receiver.id):
                # (refused by activity if its parameters are differentiated: errors.frozen_in_branches)
                normalizer.frozen_in_branches.add(normalizer.read(receiver.id))
            if op is None or not isinstance(op.value, gast.Call):
                return None
            made = _distribution(op.prim)
            args, keywords = list(op.value.args), list(op.value.keywords)
        elif isinstance(receiver, gast.Call):
            made = _distribution(normalizer.resolver.value_of(receiver.func))
            args, keywords = list(receiver.args), list(receiver.keywords)
        else:
            return None
        if made is None:
            return None
        kind, canonical = made
        if any(isinstance(a, gast.Starred) for a in args) or any(k.arg is None for k in keywords):
            return None
        if kind == "univariate":
            if func.attr not in _UNIVARIATE:
                return None
        else:
            methods, parameters = _MULTIVARIATE[kind]
            if func.attr not in methods:
                return None
            args = args[:len(parameters)]  # (seed, last, does not change a density)
            keywords = [k for k in keywords if k.arg != "seed"]
        frozen_args = [clone(a) for a in args]
        frozen_kwargs = [gast.keyword(arg=k.arg, value=clone(k.value)) for k in keywords]
    holder = normalizer.namer.fresh(f"stats_{getattr(canonical, 'name', kind)}")
    normalizer.resolver.constants[holder] = canonical
    call = gast.Call(func=gast.Attribute(value=load(holder), attr=func.attr, ctx=gast.Load()),
                     args=list(node.args) + frozen_args, keywords=frozen_kwargs)
    for child in walk_tree(call):
        if "lineno" in child._attributes:
            gast.copy_location(child, node)
    return normalizer.call(call)


def normalizer_unresolved():
    from .resolve import UNRESOLVED

    return UNRESOLVED
