"""What generated code needs to call functions known only at run time:
user rules (``defvjp``), callees passed in as values, ``rt.DYNAMIC``.
"""
import numpy as np

from .broadcasting import _shape
from .indexing import batch_size, rebuild_like, zeros_bar
from .scipy_stats_helpers import frozen_distribution_call


# ----------------------------------------------------------- user rules

#: the transformer, for callees known only when generated code runs (a method
#: of an object passed in, a function passed in): installed by adjoint.api,
#: so that the runtime imports nothing of adjoint (exported modules carry it).
DYNAMIC = {}


def method_forward(name, positions, receiver, *args, **kwargs):
    """Forward pass of ``receiver.name(*args)`` when the object is known only
    at run time: its method is transformed (and cached) for the argument
    ``positions`` that carry derivatives (0 is the object itself)."""
    compiled, call_args, call_kwargs = method_call(name, positions, receiver, args, kwargs)
    result, residuals = compiled.forward(*call_args, **call_kwargs)
    return result, (compiled, residuals)


def method_call(name, positions, receiver, args, kwargs):
    """``(compiled, call_args, call_kwargs)`` for ``method_forward``: the
    transform of the method ``receiver.name`` runs, and the arguments its
    forward pass takes (the object first for a method bound to it; a frozen
    distribution's own arguments after the call's)."""
    get_vjp, compiled_call = DYNAMIC["get_vjp"], DYNAMIC["compiled_call"]
    frozen = frozen_distribution_call(receiver, name, args, kwargs)
    if frozen is not None:  # stats.norm(0, 2) passed in: stats.norm's method, with the frozen arguments
        method, args, kwargs = frozen
        skipped = 1 if 0 in positions else 0
        compiled = compiled_call(method, len(args), tuple(p - 1 for p in positions if p > 0),
                                 for_caller=True, skipped=skipped, keywords=tuple(kwargs))
        return compiled, tuple(args), kwargs
    method = getattr(receiver, name)
    function = getattr(method, "__func__", None)
    if function is None or getattr(method, "__self__", None) is not receiver:
        # Not a method bound to this object: a static method, or a function
        # or callable stored on it. It does not take the object.
        skipped = 1 if 0 in positions else 0
        compiled = compiled_call(method, len(args), tuple(p - 1 for p in positions if p > 0),
                                 for_caller=True, skipped=skipped, keywords=tuple(kwargs))
        return compiled, tuple(args), kwargs
    if not hasattr(function, "__code__"):
        raise TypeError(
            f"cannot differentiate through {type(receiver).__name__}.{name}(): it is not a "
            "Python method with source. Register its derivative with adjoint.defvjp."
        )
    compiled = get_vjp(function, positions, False, for_caller=True,
                       arity=DYNAMIC["arity_of"](function, 1 + len(args), tuple(kwargs)))
    return compiled, (receiver,) + tuple(args), kwargs


def function_forward(positions, function, *args, **kwargs):
    """Forward pass of ``function(*args)`` when the function is known only at
    run time (passed in as an argument): a Python function is transformed (and
    cached) for the argument ``positions`` that carry derivatives; a NumPy
    function with a rule gets a one-line wrapper first."""
    compiled = DYNAMIC["compiled_call"](function, len(args), positions, for_caller=True, keywords=tuple(kwargs))
    result, residuals = compiled.forward(*args, **kwargs)
    return result, (compiled, residuals)


def call_backward(saved, g):
    """Backward pass of a call made by ``method_forward`` or ``function_forward``."""
    compiled, residuals = saved
    return compiled.backward(residuals, g)


def call_vjp(maker, batched, g, ans, *args, **kwargs):
    """Apply a rule registered with ``adjoint.defvjp``.

    An unbatched maker's function sees one cotangent at a time; its results
    are stacked along the batch axis.
    """
    vjp = maker(ans, *args, **kwargs)
    position = getattr(maker, "position", None)  # set by the rule registry
    expected = None if position is None else _shape(args[position])
    if isinstance(ans, (tuple, list)):
        # A function returning several values (np.linalg.slogdet): g is shaped
        # like ans, with zeros for the values that got no cotangent.
        batch = batch_size(g)
        g = rebuild_like(ans, [zeros_bar(a, batch) if b is None else b
                               for a, b in zip(ans, list(g), strict=True)])
        if not batched:
            rows = [rebuild_like(ans, [leaf[row] for leaf in g]) for row in range(batch)]
            return _stack_contributions([vjp(row) for row in rows], maker, expected)
    if batched:
        contribution = vjp(g)
        if expected is not None and _shape(contribution) != (batch_size(g),) + expected:
            raise _contribution_error(maker, _shape(contribution), (batch_size(g),) + expected, batched)
        return contribution
    return _stack_contributions([vjp(row) for row in g], maker, expected)


def _stack_contributions(contributions, maker, expected):
    """An unbatched maker's contributions, one per cotangent row, stacked."""
    rows = []
    for contribution in contributions:
        contribution = np.asarray(contribution)
        if expected is not None and contribution.shape != expected:
            raise _contribution_error(maker, contribution.shape, expected, False)
        rows.append(contribution)
    return np.stack(rows)


def _contribution_error(maker, got, expected, batched):
    """A defvjp maker returned a contribution of the wrong shape (typically
    shaped like the cotangent, for an argument the function broadcast)."""
    shape = "the batch size followed by that argument's shape" if batched else "that argument's shape"
    return ValueError(
        f"the defvjp rule of {maker.rule_name}: the function made by the maker for positional "
        f"argument {maker.position} returned a contribution of shape {got}, but it must have "
        f"{shape}, {expected}. If {maker.rule_name} broadcasts that argument, sum the "
        "cotangent over the broadcast axes."
    )


# ----------------------------------------------------------- *args, **kwargs

def variadic_items(values, count, name):
    """The items of a ``*name`` parameter, for a transform made for calls
    that pass ``count`` of them."""
    if len(values) != count:
        raise TypeError(
            f"this transform was made for calls passing {count} values to *{name}, but this call "
            f"passes {len(values)}; calls with another number of arguments get a transform of "
            "their own when the function is called through adjoint (jacrev, grad, jvp, ...)."
        )
    return values


def keyword_items(mapping, keys, name):
    """The values of a ``**name`` parameter, for a transform made for calls
    that pass exactly the keywords ``keys`` to it."""
    if set(mapping) != set(keys):
        raise TypeError(
            f"this transform was made for calls passing the keywords {sorted(keys)} to **{name}, "
            f"but this call passes {sorted(mapping)}."
        )
    return tuple(mapping[k] for k in keys)


# ----------------------------------------------- calls laid out when they run

def _carries(value):
    """Whether a value can carry a derivative (a float or a complex value,
    or a container of some)."""
    if isinstance(value, (float, complex, np.inexact)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc"
    if isinstance(value, (tuple, list)):
        return any(_carries(v) for v in value)
    if isinstance(value, dict):
        return any(_carries(v) for v in value.values())
    return False


def _layout(spec, active, callee, pieces, sources=None):
    """The call ``callee(...)`` written with the ``pieces`` as ``spec`` says
    (``""`` an argument, ``"*"`` a sequence unpacked, ``"**"`` a mapping
    unpacked, a name: a keyword argument; ``"self"`` first: ``callee`` is the
    name of a method of that piece): ``(function, args, kwargs, wanted)``,
    ``wanted`` listing, for the pieces that are ``active``, which arguments
    carry derivatives: ``(piece, key in it or None, position or keyword)``.
    ``sources``: a dict filled with where each argument comes from (position
    or keyword -> ``(piece, key in it or None)``; ``("value", v)`` for a value
    taken from elsewhere: a frozen distribution's arguments)."""
    function, args, kwargs, wanted = callee, [], {}, []
    where = {} if sources is None else sources
    frozen = None
    for i, (kind, flag, piece) in enumerate(zip(spec, active, pieces, strict=True)):
        if kind == "self" and frozen_distribution_call(piece, callee, (), {}) is not None:
            # a frozen distribution of scipy.stats: the distribution's method, frozen arguments last
            function, frozen, _ = frozen_distribution_call(piece, callee, (), {})
            frozen_kwargs = _
            continue
        if kind == "self":
            method = getattr(piece, callee)
            inner = getattr(method, "__func__", None)
            if getattr(method, "__self__", None) is piece and inner is not None and hasattr(inner, "__code__"):
                function = inner
                if flag and _carries(piece):
                    wanted.append((i, None, len(args)))
                where[len(args)] = (i, None)
                args.append(piece)
            else:
                if flag and _carries(piece):
                    raise TypeError(
                        f"cannot differentiate {type(piece).__name__}.{callee}() with its arguments "
                        "unpacked from a sequence or mapping: it is not a Python method with source. "
                        "Pass the arguments one by one, or call the NumPy function.")
                function = method
        elif kind == "":
            if flag and _carries(piece):
                wanted.append((i, None, len(args)))
            where[len(args)] = (i, None)
            args.append(piece)
        elif kind == "*":
            for j, item in enumerate(piece):
                if flag and _carries(item):
                    wanted.append((i, j, len(args)))
                where[len(args)] = (i, j)
                args.append(item)
        else:
            items = piece.items() if kind == "**" else [(kind, piece)]
            for key, item in items:
                if key in kwargs:
                    raise TypeError(f"{getattr(function, '__name__', function)}() got multiple values for "
                                    f"keyword argument {key!r}")
                if flag and _carries(item):
                    wanted.append((i, key if kind == "**" else None, key))
                where[key] = (i, key if kind == "**" else None)
                kwargs[key] = item
    if frozen is not None:
        if kwargs:
            raise TypeError(f"{callee}() of a frozen distribution of scipy.stats takes its arguments by position")
        for value in frozen:
            where[len(args)] = ("value", value)
            args.append(value)
        for key, value in frozen_kwargs.items():
            where[key] = ("value", value)
            kwargs[key] = value
    return function, args, kwargs, wanted


def starred_forward(spec, active, callee, *pieces):
    """Forward pass of a call whose arguments are laid out only when it runs
    (``f(*seq)``, ``g(**mapping)`` over values built anywhere, see
    ``_layout``): the Python function it runs is transformed then, for the
    arguments that carry derivatives."""
    function, args, kwargs, wanted = _layout(spec, active, callee, pieces)
    if not wanted:
        return function(*args, **kwargs), (None, spec, pieces, wanted, None)
    compiled, call_args, call_kwargs, order = DYNAMIC["transform_call"](
        function, args, kwargs, [w[2] for w in wanted])
    result, residuals = compiled.forward(*call_args, **call_kwargs)
    return result, ((compiled, residuals), spec, pieces, wanted, order)


def _piece_adjoints(spec, active, pieces, wanted, parts, batch):
    """One adjoint per piece (None for pieces that are not active) from the
    adjoints ``parts`` of the arguments in ``wanted``."""
    found = {}
    for (i, key, _), part in zip(wanted, parts, strict=True):
        found[(i, key)] = part
    result = []
    for i, (kind, flag, piece) in enumerate(zip(spec, active, pieces, strict=True)):
        if not flag:
            result.append(None)
        elif kind == "*" or kind == "**":
            keys = list(piece) if kind == "**" else range(len(piece))
            items = {k: found.get((i, k)) for k in keys}
            if isinstance(piece, np.ndarray):
                bar = np.zeros((batch,) + piece.shape, dtype=np.result_type(piece, np.float64))
                for k, part in items.items():
                    if part is not None:
                        bar[:, k] = part
                result.append(bar)
            elif kind == "**":
                result.append({k: zeros_bar(piece[k], batch) if v is None else v for k, v in items.items()})
            else:
                result.append(rebuild_like(piece, [zeros_bar(piece[k], batch) if v is None else v
                                                   for k, v in items.items()]))
        else:
            part = found.get((i, None))
            result.append(zeros_bar(piece, batch) if part is None else part)
    return tuple(result)


def starred_backward(saved, active, g):
    """Backward pass of a call made by ``starred_forward``: one adjoint per
    piece of the call (None for those that are not ``active``)."""
    call, spec, pieces, wanted, order = saved
    parts = []
    if call is not None:
        compiled, residuals = call
        bars = compiled.backward(residuals, g)
        parts = [None] * len(wanted)
        for k, index in enumerate(order):
            parts[index] = bars[k]
    return _piece_adjoints(spec, active, pieces, wanted, parts, batch_size(g))


def starred_jvp(spec, active, callee, batch, tangents, *pieces):
    """Forward mode of a call laid out when it runs (see ``starred_forward``):
    ``(result, tangent of the result)`` from the ``tangents`` of the pieces
    (None for a piece without one)."""
    function, args, kwargs, wanted = _layout(spec, active, callee, pieces)
    if not wanted:
        result = function(*args, **kwargs)
        return result, zeros_bar(result, batch)
    compiled, call_args, call_kwargs, order = DYNAMIC["transform_call"](
        function, args, kwargs, [w[2] for w in wanted], "jvp")
    item_tangents = []
    for i, key, _ in wanted:
        t, piece = tangents[i], pieces[i]
        item = piece if key is None else piece[key]
        if t is not None and key is not None:
            t = t[:, key] if isinstance(t, np.ndarray) else t[key]
        item_tangents.append(zeros_bar(item, batch) if t is None else t)
    ordered = tuple(item_tangents[index] for index in order)
    return compiled.jvp((batch,) + ordered, *call_args, **call_kwargs)


# ----------------------------------------------------------- try statements

class ExceptionInBlock(RuntimeError):
    """An exception that a try statement of differentiated code catches was
    raised inside a block (if, loop, with) of its try body."""


def exception_in_block(location, exception):
    """The error to raise instead of handling ``exception``: which of the
    block's assignments ran before it is not known to the derivative."""
    error = ExceptionInBlock(
        f"{location}: the exception {type(exception).__name__}({exception}) was raised inside an if, a loop "
        "or a with statement of this try block, and adjoint cannot tell which of that block's assignments "
        "ran before it, so the derivative cannot follow the handler. Put the try around the single "
        "statement that may raise (inside the loop or branch).")
    error.__cause__ = exception
    return error
