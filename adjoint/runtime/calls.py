"""What generated code needs to call functions known only at run time:
user rules (``defvjp``), callees passed in as values, ``rt.DYNAMIC``.
"""
import numpy as np

from .broadcasting import _shape
from .indexing import batch_size, rebuild_like, zeros_bar


# ----------------------------------------------------------- user rules

#: the transformer, for callees known only when generated code runs (a method
#: of an object passed in, a function passed in): installed by adjoint.api,
#: so that the runtime imports nothing of adjoint (exported modules carry it).
DYNAMIC = {}


def method_forward(name, positions, receiver, *args, **kwargs):
    """Forward pass of ``receiver.name(*args)`` when the object is known only
    at run time: its method is transformed (and cached) for the argument
    ``positions`` that carry derivatives (0 is the object itself)."""
    get_vjp, compiled_call = DYNAMIC["get_vjp"], DYNAMIC["compiled_call"]
    method = getattr(receiver, name)
    function = getattr(method, "__func__", None)
    if function is None or getattr(method, "__self__", None) is not receiver:
        # Not a method bound to this object: a static method, or a function
        # or callable stored on it. It does not take the object.
        skipped = 1 if 0 in positions else 0
        compiled = compiled_call(method, len(args), tuple(p - 1 for p in positions if p > 0),
                                 for_caller=True, skipped=skipped, keywords=tuple(kwargs))
        result, residuals = compiled.forward(*args, **kwargs)
        return result, (compiled, residuals)
    if not hasattr(function, "__code__"):
        raise TypeError(
            f"cannot differentiate through {type(receiver).__name__}.{name}(): it is not a "
            "Python method with source. Register its derivative with adjoint.defvjp."
        )
    compiled = get_vjp(function, positions, False, for_caller=True)
    result, residuals = compiled.forward(receiver, *args, **kwargs)
    return result, (compiled, residuals)


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
