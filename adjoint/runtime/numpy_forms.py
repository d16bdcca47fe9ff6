"""Helpers of the NumPy calls the normalizer rewrites to forms that have
rules (frontend/normalize_numpy_forms): the positions ``np.insert`` puts
each element at, the length of ``np.bincount``'s result, and ``x.item()``
(with its batched form), and how many columns ``zip(*rows)`` makes. The positions and lengths are integers read from
shapes and indices: they carry no derivative."""
import numpy as np


def insert_order(arr_shape, obj, values_shape, axis=None):
    """Where each element of ``np.insert(arr, obj, values, axis)`` comes
    from, as positions into ``np.concatenate((np.ravel(arr), np.ravel(values)))``:
    ``np.insert`` itself run on the positions (``arr``'s are ``0 .. arr.size - 1``,
    ``values``' follow), so every form of ``obj`` (an integer, a slice, a
    list) and every broadcast of ``values`` is NumPy's own."""
    size = int(np.prod(arr_shape, dtype=np.int64))
    arr_positions = np.arange(size, dtype=np.intp).reshape(arr_shape)
    value_positions = np.arange(size, size + int(np.prod(values_shape, dtype=np.int64)),
                                dtype=np.intp).reshape(values_shape)
    return np.insert(arr_positions, obj, value_positions, axis=axis)


def result_dtype(*arrays_and_scalars):
    """``np.result_type(...)``: the same for every example of a batch, which
    vmap reads once (transforms/batching's SHAPE_RESULTS)."""
    return np.result_type(*arrays_and_scalars)


def bincount_length(x, minlength=0):
    """The length of ``np.bincount(x, minlength=minlength)`` (NumPy checks
    ``x``: one axis of non-negative integers)."""
    return np.bincount(x, minlength=minlength).shape[0]


def zip_length(rows):
    """How many tuples ``zip(*rows)`` makes: the length of the shortest row
    (none without rows)."""
    return min((len(row) for row in rows), default=0)


def item(a, *position):
    """``a.item()``: the one element of a size-1 array, as a Python number
    (``a.item(i)``, the element at a position, is called as it is; its
    derivative is refused)."""
    return np.asarray(a).item(*position)


def vitem(b):
    """``item`` of every example of ``b`` (``(N,) + shape``): an array ``(N,)``."""
    b = np.asarray(b)
    if b.shape[1:] and int(np.prod(b.shape[1:])) != 1:
        raise ValueError("can only convert an array of size 1 to a Python scalar (vmap of .item())")
    return np.reshape(b, (b.shape[0],))
