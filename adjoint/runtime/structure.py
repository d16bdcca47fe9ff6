"""Helpers of syntax that is not a function call: tuples, lists, dicts,
unpacking, identity, ``with no_grad():`` blocks.
"""
import collections.abc

import numpy as np


# ----------------------------------------------------------- primitives
# Syntax that is not a function call (``x[i]``, ``(a, b)``, ``y = x``) is
# looked up in the rule registry under these functions. Generated code keeps
# the original syntax; these exist so every primitive has one identity.

def loop_length(*sequences):
    """How many times ``for`` runs over ``sequences`` (zip stops at the shortest).
    The loop reads ``sequence[i]``, which is the i-th item only of a sequence."""
    for sequence in sequences:
        # (a str, a range or any other Sequence: its i-th item is sequence[i])
        if not isinstance(sequence, (np.ndarray, collections.abc.Sequence)):
            raise TypeError(
                f"a for loop over a {type(sequence).__name__} that holds differentiated values: "
                "adjoint loops over lists, tuples and arrays by position. For a dict, loop over "
                "d.keys() or d.items() (for k in d.keys(): ... d[k] ...)."
            )
    return min(len(sequence) for sequence in sequences)


def mapping_keys(mapping):
    """The keys a loop over ``d.items()``, ``d.values()`` or ``d.keys()``
    visits, in order: the loop reads ``d[k]`` for each, which is what
    Python's views yield."""
    if not (hasattr(mapping, "keys") and hasattr(mapping, "__getitem__")):
        raise TypeError(
            f"a for loop over .items(), .values() or .keys() of a {type(mapping).__name__}: adjoint reads these "
            "loops as loops over a dict's keys (d[k] for each key), and this value has no keys()."
        )
    return list(mapping.keys())


def loop_keys(sequence):
    """The items of ``for k in d`` whose body reads ``d[k]``: a dict's keys,
    or the integers (or strings) of a sequence used as its own indices. They
    carry no derivative, so a sequence of differentiable numbers is refused."""
    if hasattr(sequence, "keys") and hasattr(sequence, "__getitem__") and not isinstance(sequence, np.ndarray):
        return list(sequence.keys())
    items = list(sequence)
    for item in items:
        if isinstance(item, (float, complex, np.inexact)) or (
                isinstance(item, np.ndarray) and np.issubdtype(item.dtype, np.inexact)):
            raise TypeError(
                f"a for loop over a {type(sequence).__name__} of numbers whose items index it (for k in d: "
                "... d[k] ...): adjoint reads such a loop as one over a dict's keys or over indices, which "
                "carry no derivative, but these items are floating-point values. Loop over "
                "range(len(...)) and index the sequence instead."
            )
    return items


def check_keys_unchanged(mapping, keys):
    """Python's dict iterators refuse to go on once the dict gained or lost
    keys; a loop over the keys adjoint took first checks it the same way."""
    if not hasattr(mapping, "keys"):
        return  # a sequence indexed by its own items: Python does not check lists
    if len(mapping) != len(keys):
        raise RuntimeError("dictionary changed size during iteration")
    if list(mapping) != keys:
        raise RuntimeError("dictionary keys changed during iteration")


def check_bound(value, message):
    """Raise UnboundLocalError(message) where a loop reads a name that it
    binds later in its body and no iteration has bound yet (its loop-carried
    value is still the None it starts with): Python fails there too."""
    if value is None:
        raise UnboundLocalError(message)


def sort_order(items, key, reverse):
    """The positions of ``items`` in the order ``sorted(items, key=key,
    reverse=reverse)`` puts them (Python's stable sort, the same comparisons)."""
    if key is None:
        return sorted(range(len(items)), key=items.__getitem__, reverse=reverse)
    return sorted(range(len(items)), key=lambda position: key(items[position]), reverse=reverse)


def extremum_position(items, key, largest):
    """The position of the item ``max(items, key=key)`` (or ``min``) returns:
    the first one whose key is largest (smallest)."""
    if not len(items):
        raise ValueError(f"{'max' if largest else 'min'}() iterable argument is empty")
    choose = max if largest else min
    return choose(range(len(items)), key=lambda position: key(items[position]))


def check_aux_result(result):
    """With has_aux, the function must return ``(output, aux)``."""
    if not (isinstance(result, tuple) and len(result) == 2):
        from ..errors import aux_error

        raise aux_error(result)


def getitem(value, index):
    return value[index]


def identity(value):
    return value


def make_tuple(*items):
    return tuple(items)


def make_list(*items):
    return list(items)


def make_dict(keys, *values):
    return dict(zip(keys, values, strict=True))


def astype(value, dtype):
    """``value.astype(dtype)``, the primitive of the array method."""
    return value.astype(dtype)


def floating_type(x, force_floating=True):
    """The dtype SciPy's ``xp_promote(x, force_floating=...)`` gives one
    array: its own if inexact (or not forced), else the default float."""
    dtype = np.asarray(x).dtype
    if not force_floating or np.issubdtype(dtype, np.inexact):
        return dtype
    return np.dtype(np.float64)


def cast_adjoint(g, dtype):
    """Adjoint of a cast: the cotangent itself to a floating or complex type
    (the rule of the cast's input takes the real part for a real one);
    nothing through a cast to integers or booleans, which is flat."""
    if np.issubdtype(np.dtype(dtype), np.inexact):
        return g
    return np.zeros_like(g)


def attribute(value, name):
    return getattr(value, name)


def set_attribute(value, name, item):
    """``value.name = item`` (an attribute that carries no derivative)."""
    setattr(value, name, item)


def transpose_attribute(value):
    return value.T


class no_grad:  # noqa: N801 (torch's name)
    """``with adjoint.no_grad():`` inside a differentiated function makes
    everything computed in the block a constant for differentiation (torch's
    ``no_grad`` inside a function). Outside of one it does nothing: transforms
    are pure functions of their inputs.

    Generated code keeps the block as ``with rt.no_grad():`` (this class is
    one of the runtime's helpers), so a transform of the generated code (a
    Hessian, ``jacrev(vmap(f))``) treats its values as constants too.

    Examples:
        >>> import numpy as np, adjoint
        >>> def f(x):
        ...     with adjoint.no_grad():
        ...         scale = np.sum(x)
        ...     return np.sum(x) * scale
        >>> adjoint.grad(f)(np.array([1.0, 2.0]))
        array([3., 3.])
    """

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> bool:
        return False
