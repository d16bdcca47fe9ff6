"""Rules of ``rt.vmap_loop``, the per-example loop vmap writes for a call it
cannot batch (a helper of generated code with no batching rule), so that the
batched code can be differentiated again: ``vmap(jacrev(vmap(jacrev(f))))``,
``jacfwd(vmap(...))``.

``rt.vmap_loop(batch, function, batched, keyword_batched, *args, **kwargs)``
runs ``function`` once per example. Its derivative with respect to one of
``args`` is, example by example, the Jacobian of ``function`` at that
example's arguments (adjoint's own ``jacrev`` / ``jacfwd`` of ``function``:
its rules, or its source), contracted with the cotangent or tangent of that
example. Exact; a loop over the examples like the call it differentiates.
An argument the examples share (not batched) gets the sum of every
example's contribution.

The rules are registered as custom rules (one maker per positional
argument: the call's own arguments come after the four leading ones), since
a rule template cannot name ``*args``.
"""
import numpy as np

from .. import runtime as rt
from . import CUSTOM_JVPS, CUSTOM_VJPS, CustomJVP, CustomVJP

#: the leading parameters of vmap_loop: batch, function, batched, keyword_batched
_LEADING = 4
#: positional arguments of the looped call given a rule (generated calls
#: pass a helper's arguments one by one: a handful)
_MOST = 64


def _example_jacobians(transform, index, batch, function, batched, keyword_batched, args, kwargs):
    """Per example: the Jacobian of ``function`` with respect to its argument
    ``index`` (``out.shape + arg.shape``; a tuple for a tuple result)."""
    from ..api.forward import jacfwd
    from ..api.reverse import jacrev

    jacobian = (jacrev if transform == "jacrev" else jacfwd)(function, argnums=index)
    found = []
    for row in range(batch):
        example_args = [rt.example(a, row) if b else a for a, b in zip(args, batched, strict=True)]
        example_kwargs = {k: rt.example(v, row) if keyword_batched.get(k) else v for k, v in kwargs.items()}
        found.append(jacobian(*example_args, **example_kwargs))
    return found


def _kind(value):
    """'array' for a value the rules differentiate (a float array or
    number), 'container' for a list, tuple or dict (refused), else 'data'
    (a function, an integer, None: no derivative, a zero contribution)."""
    if isinstance(value, (tuple, list, dict)):
        return "container"
    if isinstance(value, (float, complex)) or (
            isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.inexact)):
        return "array"
    return "data"


def _refuse(function, what):
    from .. import errors

    raise errors.NoRuleError(
        None, f"rt.vmap_loop of {getattr(function, '__name__', function)}",
        f"a derivative through vmap's per-example loop {what} is not supported.",
        "Compute one order less with adjoint (vmap(jacrev(f)), say) and take the last derivative "
        "example by example (a Python loop) or by finite differences.")


def _leaves(value):
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _vjp_maker(position):
    index = position - _LEADING

    def maker(ans, batch, function, batched, keyword_batched, /, *args, **kwargs):
        kind = _kind(args[index])
        if kind == "container":
            _refuse(function, "with respect to a list, tuple or dict argument")
        if kind == "data":
            return lambda g: np.zeros((np.shape(_leaves(g)[0])[0],) + np.shape(args[index]))
        jacobians = _example_jacobians("jacrev", index, batch, function, batched, keyword_batched, args, kwargs)
        arg_ndim = np.ndim(args[index]) - (1 if batched[index] else 0)

        def pull(g):  # g: (B, V) + out.shape, or a tuple of them for a tuple result
            rows = []
            for row, jacobian in enumerate(jacobians):
                total = 0.0
                for g_item, j_item in zip(_leaves(g), _leaves(jacobian), strict=True):
                    g_row = np.asarray(g_item)[:, row]
                    j_item = np.asarray(j_item)
                    total = total + np.tensordot(g_row, j_item, axes=j_item.ndim - arg_ndim)
                rows.append(np.asarray(total))
            if batched[index]:
                return np.stack(rows, axis=1)
            return np.sum(rows, axis=0)

        return pull

    return maker


def _jvp_maker(position):
    index = position - _LEADING

    def maker(ans, batch, function, batched, keyword_batched, /, *args, **kwargs):
        if isinstance(ans, (tuple, list, dict)):
            _refuse(function, "in forward mode, of a function returning several values,")
        kind = _kind(args[index])
        if kind == "container":
            _refuse(function, "with respect to a list, tuple or dict argument")
        if kind == "data":
            return lambda t: np.zeros(np.shape(ans))
        jacobians = _example_jacobians("jacfwd", index, batch, function, batched, keyword_batched, args, kwargs)
        arg_ndim = np.ndim(args[index]) - (1 if batched[index] else 0)

        def push(t):  # t: one tangent of args[index], (V,) + shape when batched
            t = np.asarray(t)
            return np.stack([np.tensordot(np.asarray(jacobian), t[row] if batched[index] else t, axes=arg_ndim)
                             for row, jacobian in enumerate(jacobians)])

        return push

    return maker


def _register(loop):
    CUSTOM_VJPS[loop] = CustomVJP(loop, [None] * _LEADING + [_vjp_maker(p) for p in range(_LEADING, _MOST)],
                                  True)
    CUSTOM_JVPS[loop] = CustomJVP(loop, [None] * _LEADING + [_jvp_maker(p) for p in range(_LEADING, _MOST)])


_register(rt.vmap_loop)
_register(rt.vmap_loop_announced)  # (the same call, announced: its source would be differentiated)
