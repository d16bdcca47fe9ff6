"""Derivatives of user rules at a higher order.

Generated code applies a rule registered with ``adjoint.defvjp`` or
``adjoint.defjvp`` through a runtime helper (``rt.call_vjp``,
``rt.call_jvp``, ``rt.jvp_from_vjp``) that receives the maker as a value.
Differentiating that code again (``hessian``, ``jacrev(jacrev(f))``,
``jacfwd(jacfwd(f))``) must differentiate the maker's own source (SPEC.md
section 5), which the helper's source cannot show: there the maker is a
parameter and the function it returns a closure over differentiated
values. So forward mode, meeting such a helper with a known maker, calls
instead a small Python function written here for that maker, with the
maker as a global: ``vjp = maker(ans, a0, a1); return np.stack([vjp(g[i])
...])``. It is transformed like a function of the user's, which follows
the maker into the user's file.
"""
import ast
import itertools
import linecache
import types

import gast
import numpy as np

from .. import errors, rules
from .. import runtime as rt

_MADE = {}
_COUNTER = itertools.count()



def helpers():
    """The runtime helpers this module stands in for."""
    return (rt.call_vjp, rt.call_jvp, rt.jvp_from_vjp)


def rule_function(helper, maker, batched, nargs, keywords):
    """A Python function with source computing ``helper(maker, [batched,]
    g, ans, *args, **kwargs)`` for an array result, called as
    ``function(g, ans, *args, **kwargs)``; a string saying why not when
    the maker's source cannot be written into it (a closure, no source, no
    NumPy in its module).

    The maker's own definition is copied into the function, which runs in
    the maker's module globals: the closure the maker returns is then a
    nested function's, which the transform inlines where it is called."""
    position = getattr(maker, "position", None)  # (rules.Maker: the user's maker, its argument's position)
    maker = getattr(maker, "maker", maker)
    key = (helper, maker, batched, nargs, tuple(keywords), position)
    if key not in _MADE:
        _MADE[key] = _write(helper, maker, batched, nargs, keywords, position)
    return _MADE[key]


def _write(helper, maker, batched, nargs, keywords, position):
    from ..frontend.parse import parse_function

    if not isinstance(maker, types.FunctionType):
        return "its maker is not a Python function"
    if maker.__closure__:
        return "its maker is a closure (defined inside another function)"
    numpy = [name for name, value in maker.__globals__.items() if value is np]
    if not numpy:
        return "the maker's module does not import NumPy under a name"
    try:
        node = parse_function(maker).node
    except errors.AdjointError:
        return "the maker's source cannot be read"
    node.name = "_adjoint_maker"
    # the maker's defaults are the values it holds, not its default expressions evaluated again
    defaults = list(maker.__defaults__ or ())
    node.args.defaults = [gast.Name(id=f"_adjoint_default_{i}", ctx=gast.Load(), annotation=None, type_comment=None)
                          for i in range(len(node.args.defaults))]
    kwdefaults = maker.__kwdefaults__ or {}
    node.args.kw_defaults = [None if arg.id not in kwdefaults else
                             gast.Name(id=f"_adjoint_kwdefault_{arg.id}", ctx=gast.Load(), annotation=None,
                                       type_comment=None) for arg in node.args.kwonlyargs]
    held = {f"_adjoint_default_{i}": value for i, value in enumerate(defaults)}
    held.update({f"_adjoint_kwdefault_{name}": value for name, value in kwdefaults.items()})
    definition = ast.unparse(gast.gast_to_ast(node))
    np_ = numpy[0]
    params = [f"_adjoint_a{i}" for i in range(nargs)]
    passed = ", ".join(["_adjoint_ans"] + params + [f"{k}={k}" for k in keywords])
    signature = ", ".join(["_adjoint_g", "_adjoint_ans"] + params + (["*"] + list(keywords) if keywords else []))
    name = f"_adjoint_rule_{next(_COUNTER)}"
    g, ans = "_adjoint_g", "_adjoint_ans"
    lines = [f"def {name}({signature}):", f"    {g} = {g} * _adjoint_one_result({ans})"]
    lines += ["    " + line for line in definition.splitlines()]
    lines.append(f"    _adjoint_rule = _adjoint_maker({passed})")
    if helper is rt.call_jvp:
        lines.append(f"    return {np_}.stack([{np_}.broadcast_to(_adjoint_rule({g}[_adjoint_i]), {np_}.shape({ans})) "
                     f"for _adjoint_i in range({g}.shape[0])])")
    else:
        # each contribution has its argument's shape (rt.call_vjp refuses any other: reshape fails loudly)
        shape = "()" if position is None or helper is not rt.call_vjp else f"{np_}.shape(_adjoint_a{position})"
        rows = (f"{np_}.reshape(_adjoint_rule({g}), ({g}.shape[0],) + {shape})" if batched else
                f"{np_}.stack([{np_}.reshape(_adjoint_rule({g}[_adjoint_i]), {shape}) "
                f"for _adjoint_i in range({g}.shape[0])])")
        if shape == "()":
            rows = (f"_adjoint_rule({g})" if batched else
                    f"{np_}.stack([_adjoint_rule({g}[_adjoint_i]) for _adjoint_i in range({g}.shape[0])])")
        if helper is rt.call_vjp:
            lines.append(f"    return {rows}")
        else:  # jvp_from_vjp: the Jacobian's rows are the VJPs of the basis
            lines += [f"    _adjoint_t = {g}",
                      f"    _adjoint_size = {np_}.size({ans})",
                      f"    {g} = {np_}.reshape({np_}.eye(_adjoint_size), (_adjoint_size,) + {np_}.shape({ans}))",
                      f"    _adjoint_rows = {np_}.reshape({rows}, (_adjoint_size, -1))",
                      f"    _adjoint_flat = {np_}.reshape(_adjoint_t, (_adjoint_t.shape[0], -1)) @ _adjoint_rows.T",
                      f"    return {np_}.reshape(_adjoint_flat, (_adjoint_t.shape[0],) + {np_}.shape({ans}))"]
    # the function is a closure over _adjoint_one_result (the maker's module
    # globals stay as they are)
    outer = ", ".join(["_adjoint_one_result"] + list(held))
    lines = [f"def _adjoint_outer({outer}):"] + ["    " + line for line in lines] + [f"    return {name}"]
    text = "\n".join(lines) + "\n"
    filename = f"<adjoint: the rule {getattr(maker, '__qualname__', 'maker')} ({name})>"
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    made = {}
    exec(compile(text, filename, "exec"), maker.__globals__, made)  # (the maker's globals, unchanged)
    return made["_adjoint_outer"](_one_result, *held.values())


def _one_result(ans):
    """1.0, after refusing a rule of a function returning several values,
    whose cotangent is a tuple that the function written here does not
    unpack (a factor of the cotangent, so that the call is not dropped)."""
    if isinstance(ans, (tuple, list)):
        raise errors.TransformError(
            None, "a rule registered with adjoint.defvjp or adjoint.defjvp",
            "a derivative of second order through the rule of a function returning several values "
            "is not supported yet.",
            "Differentiate a Python function that computes those values instead of registering a rule, "
            "or take a first derivative only.")
    return 1.0


rules.NONDIFFERENTIABLE.add(_one_result)
