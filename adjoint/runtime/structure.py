"""Helpers of syntax that is not a function call: tuples, lists, dicts,
unpacking, identity.
"""
import numpy as np


# ----------------------------------------------------------- primitives
# Syntax that is not a function call (``x[i]``, ``(a, b)``, ``y = x``) is
# looked up in the rule registry under these functions. Generated code keeps
# the original syntax; these exist so every primitive has one identity.

def loop_length(*sequences):
    """How many times ``for`` runs over ``sequences`` (zip stops at the shortest).
    The loop reads ``sequence[i]``, which is the i-th item only of a sequence."""
    for sequence in sequences:
        if not isinstance(sequence, (list, tuple, range, np.ndarray)):
            raise TypeError(
                f"a for loop over a {type(sequence).__name__} that holds differentiated values: "
                "adjoint loops over lists, tuples and arrays by position. For a dict, loop over "
                "d.keys() and index it (for k in d.keys(): ... d[k] ...)."
            )
    return min(len(sequence) for sequence in sequences)


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


def cast_adjoint(g, dtype):
    """Adjoint of a cast: the cotangent itself to a floating type; nothing
    through a cast to integers or booleans, which is flat."""
    if np.issubdtype(np.dtype(dtype), np.floating):
        return g
    return np.zeros_like(g)


def attribute(value, name):
    return getattr(value, name)


def transpose_attribute(value):
    return value.T
