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
from . import ADJOINT_RULES, CUSTOM_JVPS, CUSTOM_VJPS, TANGENT_RULES, CustomJVP, CustomVJP

#: the API's jacrev and jacfwd, handed in when the API is imported (api/__init__.py)
API = {}
#: the leading parameters of vmap_loop: batch, function, batched, keyword_batched
_LEADING = 4
#: positional arguments of the looped call given a rule (generated calls
#: pass a helper's arguments one by one: a handful)
_MOST = 64


#: (helper, mode, number of arguments) -> a function calling it, whose
#: derivative uses the helper's rules
_CALLERS = {}


def _caller(function, count):
    """A function calling ``function`` with ``count`` positional arguments,
    named one by one (so that the arguments not differentiated are known
    as such: through ``*args`` every one would be read as differentiated,
    and a rule that has no derivative for one, np.interp's ``xp``, say,
    would refuse the call)."""
    if count == 1:
        def call(a0, **options):
            return function(a0, **options)
    elif count == 2:
        def call(a0, a1, **options):
            return function(a0, a1, **options)
    elif count == 3:
        def call(a0, a1, a2, **options):
            return function(a0, a1, a2, **options)
    elif count == 4:
        def call(a0, a1, a2, a3, **options):
            return function(a0, a1, a2, a3, **options)
    elif count == 5:
        def call(a0, a1, a2, a3, a4, **options):
            return function(a0, a1, a2, a3, a4, **options)
    elif count == 6:
        def call(a0, a1, a2, a3, a4, a5, **options):
            return function(a0, a1, a2, a3, a4, a5, **options)
    else:
        def call(*args, **options):
            return function(*args, **options)
    return call


def _through_rules(function, transform, count):
    """``function`` as adjoint's jacrev / jacfwd should read it: a helper
    with a rule of that mode is called from a small function (so the rule
    is used: the API reads a function's own source), kept per helper so
    that its transform is cached; anything else as it is."""
    from . import lookup, lookup_tangent

    try:
        has_rule = (lookup_tangent if transform == "jacfwd" else lookup)(function) is not None
    except TypeError:
        return function
    if not has_rule:
        return function
    key = (function, transform, count)
    if key not in _CALLERS:
        _CALLERS[key] = _caller(function, count)
    return _CALLERS[key]


def _example_jacobians(transform, index, batch, function, batched, keyword_batched, args, kwargs):
    """Per example: the Jacobian of ``function`` with respect to its argument
    ``index`` (``out.shape + arg.shape``; a tuple for a tuple result)."""
    jacobian = API[transform](_through_rules(function, transform, len(args)), argnums=index)
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
        None, f"rt.{getattr(function, '__name__', function)} of every example (in vmap's code)",
        f"a derivative of it, taken example by example, {what} is not supported.",
        "Compute one order less with adjoint (vmap(jacrev(f)), say) and take the last derivative "
        "example by example (a Python loop) or by finite differences.")


def _leaves(value):
    return list(value) if isinstance(value, (tuple, list)) else [value]


def _loop_layout(args):
    """vmap_loop's arguments: (batch, function, batched, keyword_batched, call's args)."""
    return args[0], args[1], args[2], args[3], args[_LEADING:]


def _array_leaves(tree):
    if isinstance(tree, dict):
        tree = list(tree.values())
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _array_leaves(item)]
    return [tree] if _kind(tree) == "array" and np.ndim(tree) else []


def _each_layout(base):
    """The arguments of a helper that is ``base`` of every example (its
    arrays all carry the vmap axis first; other arguments are options)."""

    def layout(args):
        batch = next(np.shape(a)[0] for a in _array_leaves(args))
        return batch, base, tuple(_kind(a) != "data" for a in args), {}, args

    return layout


def _vjp_maker(position, layout, leading):
    index = position - leading

    def maker(ans, /, *all_args, **kwargs):
        batch, function, batched, keyword_batched, args = layout(all_args)
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


def _jvp_maker(position, layout, leading):
    index = position - leading

    def maker(ans, /, *all_args, **kwargs):
        batch, function, batched, keyword_batched, args = layout(all_args)
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


def _register(helper, layout, leading):
    positions = range(leading, leading + _MOST)
    CUSTOM_VJPS[helper] = CustomVJP(helper, [None] * leading + [_vjp_maker(p, layout, leading) for p in positions],
                                    True)
    CUSTOM_JVPS[helper] = CustomJVP(helper, [None] * leading + [_jvp_maker(p, layout, leading) for p in positions])


def register_per_example(helper, base=None, layout=None, leading=0):
    """Give ``helper``, which is ``base`` of every example (its arrays all
    batched along axis 0), the per-example rules of ``rt.vmap_loop``; a
    helper laid out otherwise passes its own ``layout`` (arguments ->
    batch, function, batched flags, keyword flags, the call's arguments)
    and the number of ``leading`` arguments that are not the call's."""
    _register(helper, layout or _each_layout(base), leading)


_register(rt.vmap_loop, _loop_layout, _LEADING)
_register(rt.vmap_loop_announced, _loop_layout, _LEADING)  # (the same call, announced: its source would be differentiated)


def _register_each():
    """The helpers of runtime/batched_decompositions.py: ``vNAME(*args)`` is
    ``NAME`` of every example (their fallback, ``_vd_each``, says so), their
    fast paths write into arrays or loop over lists, which a transform of
    their source refuses."""
    from ..runtime import batched_decompositions

    for name in dir(batched_decompositions):
        helper = getattr(batched_decompositions, name)
        base = getattr(rt, name[1:], None) if name.startswith("v") else None
        if (callable(helper) and callable(base) and getattr(helper, "__module__", "") == batched_decompositions.__name__
                and helper not in CUSTOM_VJPS and helper not in ADJOINT_RULES and helper not in TANGENT_RULES):
            _register(helper, _each_layout(base), 0)


_register_each()
